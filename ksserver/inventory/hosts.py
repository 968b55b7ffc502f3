"""Hosts: add (with name inference and rank/IP allocation), list, remove, set fields."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ksserver.db.models import Appliance, Host, Membership, VmNode
from ksserver.db.session import allocation_lock
from ksserver.errors import AlreadyExists, HostNotFound, InvalidArgument
from ksserver.inventory import appliances, interfaces, validate

_NAME_RE = re.compile(r"^(?P<base>[a-z][a-z0-9\-]*?)-(?P<rack>\d+)-(?P<rank>\d+)$")


@dataclass(frozen=True)
class HostRequest:
    """What ``rocks add host`` asks for; ``None`` fields are inferred or allocated."""

    name: str | None = None
    membership: str | None = None
    rack: int | None = None
    rank: int | None = None
    cpus: int = 1
    os: str = "linux"
    arch: str = "x86_64"
    ip: str | None = None        # an address, or "auto"
    mac: str | None = None
    subnet: str = "private"
    iface: str = "eth0"

    @classmethod
    def from_row(cls, row: dict[str, str]) -> HostRequest:
        """A request from one row of a host file (all values text; empty means default)."""
        def num(key: str) -> int | None:
            return validate.integer(key, row[key]) if row.get(key) else None
        return cls(name=row.get("name") or None, membership=row.get("membership") or None, rack=num("rack"),
                   rank=num("rank"), cpus=1 if not row.get("cpus") else validate.integer("cpus", row["cpus"]), os=row.get("os") or "linux",
                   arch=row.get("arch") or "x86_64", ip=row.get("ip") or None, mac=row.get("mac") or None,
                   subnet=row.get("subnet") or "private", iface=row.get("iface") or "eth0")


def normalize(req: HostRequest) -> HostRequest:
    """The one set of rules for a new host, shared by single and bulk add: every field checked and
    normalised (lower-case name, canonical MAC and IP); membership and allocation come later."""
    return replace(
        req, name=validate.hostname(req.name) if req.name else None,
        rack=None if req.rack is None else validate.integer("rack", req.rack),
        rank=None if req.rank is None else validate.integer("rank", req.rank),
        cpus=validate.integer("cpus", req.cpus, 1), os=validate.os_name(req.os), arch=validate.arch(req.arch),
        mac=validate.mac(req.mac) if req.mac else None,
        ip=None if not req.ip else ("auto" if req.ip == "auto" else validate.ipv4(req.ip)),
        subnet=validate.word("network name", req.subnet, r"^[A-Za-z0-9_\-]{1,32}$"),
        iface=validate.device(req.iface))


def get_host(session: Session, name: str) -> Host:
    host = session.scalar(select(Host).where(Host.name == name.lower()))
    if host is None:
        raise HostNotFound(f"unknown host {name!r}")
    return host


def get_hosts(session: Session, names: list[str]) -> list[Host]:
    """Hosts by name, or all hosts when ``names`` is empty."""
    if not names:
        return list_hosts(session)
    return [get_host(session, n) for n in names]


def list_hosts(session: Session) -> list[Host]:
    return list(session.scalars(select(Host).order_by(Host.rack, Host.rank, Host.name)))


def parse_host_name(name: str) -> tuple[str, int, int] | None:
    """``compute-0-3`` -> ("compute", 0, 3), as Rocks inferred appliance, rack and rank."""
    m = _NAME_RE.match(name)
    if not m:
        return None
    return m["base"], int(m["rack"]), int(m["rank"])


def _next_rank(session: Session, appliance: Appliance, rack: int) -> int:
    current = session.scalar(select(func.max(Host.rank)).join(Membership).where(
        Membership.appliance_id == appliance.id, Host.rack == rack))
    return 0 if current is None else current + 1


def add_host(session: Session, req: HostRequest) -> Host:
    """Add one host (and its primary interface when ip or mac is given), in the caller's transaction."""
    req = normalize(req)
    parsed = parse_host_name(req.name.lower()) if req.name else None
    if req.membership:
        membership = appliances.find_membership(session, req.membership)
    elif parsed:
        membership = appliances.membership_for_appliance(session, parsed[0])
        if membership is None:
            raise InvalidArgument(f"cannot infer a membership from host name {req.name!r}: "
                                  f"no appliance named {parsed[0]!r}; give membership=")
    else:
        raise InvalidArgument("give membership= (or a name like compute-0-3 to infer it from)")
    appliance = membership.appliance
    rack = req.rack if req.rack is not None else (parsed[1] if parsed else 0)
    allocation_lock(session, f"rank:{appliance.id}:{rack}")
    if req.name:
        name = req.name
        rank = req.rank if req.rank is not None else (parsed[2] if parsed else 0)
        if session.scalar(select(Host.id).where(Host.name == name)) is not None:
            raise AlreadyExists(f"host {name!r} already exists")
    else:
        rank = req.rank if req.rank is not None else _next_rank(session, appliance, rack)
        name = f"{appliance.name}-{rack}-{rank}"
        while session.scalar(select(Host.id).where(Host.name == name)) is not None:
            if req.rank is not None:
                raise AlreadyExists(f"host {name!r} already exists")
            rank += 1
            name = f"{appliance.name}-{rack}-{rank}"
    host = Host(name=name, membership_id=membership.id, cpus=req.cpus, rack=rack, rank=rank,
                os=req.os, arch=req.arch)
    host.membership = membership
    session.add(host)
    session.flush()
    if req.ip or req.mac:
        interfaces.add_interface(session, host, req.iface, mac=req.mac, ip=req.ip or "auto", subnet=req.subnet)
    return host


def remove_host(session: Session, host: Host) -> None:
    as_container = session.scalar(select(func.count()).select_from(VmNode).where(VmNode.phys_host_id == host.id))
    if as_container:
        raise InvalidArgument(f"host {host.name} still houses {as_container} VM(s); remove or move them first")
    vm = session.scalar(select(VmNode).where(VmNode.host_id == host.id))
    if vm is not None:
        session.delete(vm)
    session.delete(host)
    session.flush()


def set_host_field(session: Session, host: Host, field: str, value: str) -> None:
    if field == "membership":
        membership = appliances.find_membership(session, value)
        host.membership_id = membership.id
        host.membership = membership
    elif field in ("cpus", "rack", "rank"):
        setattr(host, field, validate.integer(field, value, 1 if field == "cpus" else 0))
    elif field == "arch":
        host.arch = validate.arch(value)
    elif field == "os":
        host.os = validate.os_name(value)
    elif field in ("runaction", "installaction"):
        setattr(host, field.replace("action", "_action"), validate.action_name(value))
    elif field == "comment":
        host.comment = validate.attr_value("comment", value)[:140]
    else:
        raise InvalidArgument(f"cannot set host field {field!r}")
    session.flush()


def record_install_report(session: Session, host: Host, arch: str | None, cpus: int | None) -> None:
    """What the installer told us about itself (kickstart.cgi's arch= and np=)."""
    if arch is not None:
        host.arch = arch
    if cpus is not None:
        host.cpus = cpus
    session.flush()
