"""Hosts for the REST API and web console: a filtered, paged table that stays fast at 10,000 hosts,
one host with everything known about it, and a change guarded by the version the admin last saw (ETag).

The version is a digest of what an admin sees and edits (fields, interfaces, own attributes, boot
state): two admins who both read version V cannot both write on top of it.  Secret values enter the
digest only through a keyed hash, so a read-only user cannot test guesses of a secret against it."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from ksserver.db.models import AdminToken, Appliance, Boot, Host, Interface, Membership, VmNode
from ksserver.errors import Conflict, InvalidArgument
from ksserver.inventory import attributes, boot, context, hosts, partitions
from ksserver.services import Cluster
from ksserver.services.attrs import AttrRow
from ksserver.services.bootfiles import BootFileChanges
from ksserver.services.hosts import HOST_FIELDS
from ksserver.values import is_secret_attr

MAX_PER_PAGE = 500


class PreconditionRequired(Conflict):
    status = 428


@dataclass(frozen=True)
class HostQuery:
    page: int = 1
    per_page: int = 50
    search: str = ""             # part of a name, or an IP or MAC (prefix)
    appliance: str | None = None
    membership: str | None = None
    rack: int | None = None
    boot: str | None = None      # install | os
    stage: str | None = None     # install stage: issued, kickstart ... finished, failed


@dataclass(frozen=True)
class HostSummary:
    name: str
    membership: str
    appliance: str
    rack: int
    rank: int
    cpus: int
    arch: str
    os: str
    boot: str
    ip: str | None
    mac: str | None


@dataclass(frozen=True)
class HostPage:
    total: int
    page: int
    per_page: int
    hosts: list[HostSummary]


@dataclass(frozen=True)
class InterfaceInfo:
    device: str
    mac: str | None
    ip: str | None
    network: str | None
    name: str | None
    vlan: int | None
    module: str | None
    options: str | None


@dataclass(frozen=True)
class PartitionInfo:
    device: str
    mountpoint: str
    size: str
    fstype: str
    partition_id: str
    flags: str


@dataclass(frozen=True)
class HostDetail:
    summary: HostSummary
    comment: str
    run_action: str
    install_action: str
    is_vm: bool
    container: str | None
    interfaces: list[InterfaceInfo]
    attributes: list[AttrRow]
    partitions: list[PartitionInfo]
    etag: str


@dataclass(frozen=True)
class HostUpdate:
    """Fields as ``rocks set host`` names them; attributes: value to set, None to remove."""

    fields: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, str | None] = field(default_factory=dict)
    boot: str | None = None


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def query_hosts(cluster: Cluster, q: HostQuery) -> HostPage:
    """One page of hosts in rack/rank/name order; the filtering and paging happen in the database."""
    if q.page < 1 or not 1 <= q.per_page <= MAX_PER_PAGE:
        raise InvalidArgument(f"page must be >= 1 and per_page between 1 and {MAX_PER_PAGE}")
    if q.boot not in (None, "install", "os"):
        raise InvalidArgument(f"boot must be install or os, not {q.boot!r}")
    conds = []
    if q.search:
        text = q.search.strip().lower()
        inside, prefix = f"%{_escaped(text)}%", f"{_escaped(text)}%"
        conds.append(or_(Host.name.like(inside, escape="\\"),
                         exists().where(and_(Interface.host_id == Host.id,
                                             or_(Interface.ip.like(prefix, escape="\\"),
                                                 Interface.mac.like(prefix, escape="\\"))))))
    if q.appliance:
        conds.append(Appliance.name == q.appliance)
    if q.membership:
        conds.append(Membership.name == q.membership)
    if q.rack is not None:
        conds.append(Host.rack == q.rack)
    if q.stage:
        from ksserver.db.models import InstallStatus
        from ksserver.inventory.lifecycle import STAGES

        if q.stage not in ("issued", *STAGES):
            raise InvalidArgument(f"stage must be one of issued, {', '.join(STAGES)}; not {q.stage!r}")
        conds.append(exists().where(and_(InstallStatus.host_id == Host.id, InstallStatus.stage == q.stage)))
    if q.boot == "install":
        conds.append(Boot.action == "install")
    elif q.boot == "os":
        conds.append(or_(Boot.action.is_(None), Boot.action != "install"))
    base = (select(Host.id).join(Membership, Host.membership_id == Membership.id)
            .join(Appliance, Membership.appliance_id == Appliance.id)
            .outerjoin(Boot, Boot.host_id == Host.id).where(*conds))
    with cluster.db.session() as session:
        total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
        rows = session.execute(
            select(Host, Boot.action).join(Membership, Host.membership_id == Membership.id)
            .join(Appliance, Membership.appliance_id == Appliance.id)
            .outerjoin(Boot, Boot.host_id == Host.id).where(*conds)
            .order_by(Host.rack, Host.rank, Host.name).offset((q.page - 1) * q.per_page).limit(q.per_page)).all()
        ids = [h.id for h, _ in rows]
        first: dict[int, Interface] = {}
        for iface in session.scalars(select(Interface).where(Interface.host_id.in_(ids))
                                     .order_by(Interface.device)):
            first.setdefault(iface.host_id, iface)
        summaries = [_summary(h, action, first.get(h.id)) for h, action in rows]
    return HostPage(total, q.page, q.per_page, summaries)


def _summary(h: Host, action: str | None, iface: Interface | None) -> HostSummary:
    return HostSummary(h.name, h.membership.name, h.membership.appliance.name, h.rack, h.rank, h.cpus, h.arch,
                       h.os, action or "os", iface.ip if iface else None, iface.mac if iface else None)


def _version(session: Session, host: Host) -> str:
    key = "".join(sorted(session.scalars(select(AdminToken.token_hash)))).encode() or b"ksserver"
    own = attributes.host_own_attrs(session, host)
    shown = {k: (hmac.new(key, v.encode(), "sha256").hexdigest() if is_secret_attr(k) else v)
             for k, v in sorted(own.items())}
    state = {"host": [host.name, host.membership_id, host.cpus, host.rack, host.rank, host.arch, host.os,
                      host.run_action, host.install_action, host.comment],
             "interfaces": [[i.device, i.mac, i.ip, i.subnet_id, i.name, i.vlan, i.module, i.options]
                            for i in sorted(host.interfaces, key=lambda i: i.device)],
             "attrs": shown, "boot": boot.boot_state(session, host)}
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()[:32]


def host_detail(cluster: Cluster, name: str, reveal: bool = False) -> HostDetail:
    """Everything about one host; secret attribute values masked unless ``reveal``."""
    with cluster.db.session() as session:
        host = hosts.get_host(session, name)
        vm = session.scalar(select(VmNode).where(VmNode.host_id == host.id))
        first = min(host.interfaces, key=lambda i: i.device) if host.interfaces else None
        summary = _summary(host, boot.boot_state(session, host), first)
        ifaces = [InterfaceInfo(i.device, i.mac, i.ip, i.subnet.name if i.subnet else None, i.name, i.vlan,
                                i.module, i.options) for i in host.interfaces]
        attrs = [AttrRow(host.name, r.attr, r.value, r.source).masked(reveal)
                 for r in sorted(context.resolved_attrs(session, host).values(), key=lambda r: r.attr)]
        parts = [PartitionInfo(p.device, p.mountpoint, p.size, p.fstype, p.partition_id, p.flags)
                 for p in partitions.list_partitions(session, [host])]
        return HostDetail(summary, host.comment or "", host.run_action, host.install_action, vm is not None,
                          vm.phys_host.name if vm else None, ifaces, attrs, parts, _version(session, host))


def update_host(cluster: Cluster, name: str, change: HostUpdate, if_match: str | None) -> str:
    """Apply ``change`` if the host is still at version ``if_match``; returns the new version.

    The check and the change are one write transaction (the host row locked on PostgreSQL; SQLite
    writers are exclusive), so of two admins who read the same version only the first one wins."""
    if if_match is None:
        raise PreconditionRequired(f"changing host {name} needs the version you read (If-Match: its ETag)")
    for key in change.fields:
        if key not in HOST_FIELDS:
            raise InvalidArgument(f"cannot set host field {key!r} (settable: {', '.join(HOST_FIELDS)})")
    files = BootFileChanges(cluster.settings)
    with cluster.db.session(write=True) as session:
        # lock the row first (FOR UPDATE may not touch the outer-joined membership); then load it
        session.execute(select(Host.id).where(Host.name == name.lower()).with_for_update())
        host = hosts.get_host(session, name)
        if not hmac.compare_digest(_version(session, host), if_match.strip('"')):
            raise Conflict(f"host {host.name} was changed by someone else since you read it: reload and retry")
        files.track(session, host)
        for key, value in change.fields.items():
            hosts.set_host_field(session, host, key, value)
        for attr, value in change.attributes.items():
            if value is None:
                attributes.remove_host_attr(session, host, attr)
            else:
                attributes.set_host_attr(session, host, attr, value)
        if change.boot is not None:
            boot.set_boot(session, host, change.boot)
        files.settle(session, host)
        session.flush()
        session.expire(host, ["interfaces"])
        version = _version(session, host)
    files.apply(cluster.settings.tftp_dir)
    return version
