"""Adding many hosts at once (``rocks add host file=hosts.csv``): validate everything first,
allocate ranks and IPs in one pass, insert with bulk statements.  All or nothing."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from ksserver.db.models import Host, Interface, Membership
from ksserver.db.session import allocation_lock
from ksserver.errors import InvalidArgument
from ksserver.inventory import appliances, networks
from ksserver.inventory.hosts import HostRequest, normalize, parse_host_name

FIELDS = ("name", "membership", "rack", "rank", "cpus", "os", "arch", "ip", "mac", "subnet", "iface")
MAX_ERRORS = 10


def read_host_file(path: str | Path) -> list[dict[str, str]]:
    """A CSV file with a header row naming FIELDS, or a JSON list of objects."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise InvalidArgument(f"cannot read {path}: {exc.strerror}") from None
    if text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidArgument(f"{path}: bad JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
        if not all(isinstance(r, dict) for r in rows):
            raise InvalidArgument(f"{path}: JSON must be a list of objects")
        return [{k: ("" if v is None else str(v)) for k, v in r.items()} for r in rows]
    reader = csv.DictReader(io.StringIO(text))
    unknown = set(reader.fieldnames or ()) - set(FIELDS)
    if unknown:
        raise InvalidArgument(f"{path}: unknown column(s) {', '.join(sorted(unknown))} (known: {', '.join(FIELDS)})")
    return [{k: (v or "").strip() for k, v in row.items()} for row in reader]


class _Errors:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, row: int, message: str) -> None:
        self.items.append(f"row {row}: {message}")

    def raise_if_any(self) -> None:
        if self.items:
            more = f" (and {len(self.items) - MAX_ERRORS} more)" if len(self.items) > MAX_ERRORS else ""
            raise InvalidArgument("nothing added: " + "; ".join(self.items[:MAX_ERRORS]) + more)


def add_hosts(session: Session, rows: list[dict[str, str]]) -> int:
    unknown = {k for r in rows for k in r} - set(FIELDS)
    if unknown:
        raise InvalidArgument(f"unknown field(s) {', '.join(sorted(unknown))} (known: {', '.join(FIELDS)})")
    allocation_lock(session, "bulk-hosts")
    errors = _Errors()
    memberships: dict[str, Membership] = {}
    names = set(session.scalars(select(Host.name)))
    macs = set(session.scalars(select(Interface.mac).where(Interface.mac.is_not(None))))
    subnets = {s.name: s for s in networks.list_networks(session)}
    used_ips = {name: networks.used_ips(session, s) for name, s in subnets.items()}
    ranks: dict[tuple[int, int], int] = {}
    plans = []
    for n, row in enumerate(rows, start=1):
        try:
            plans.append(_plan(session, row, memberships, names, macs, subnets, used_ips, ranks))
        except InvalidArgument as exc:
            errors.add(n, str(exc))
    errors.raise_if_any()
    pending_auto = defaultdict(list)
    for plan in plans:
        if plan["ip"] == "auto":
            pending_auto[plan["subnet"]].append(plan)
    for subnet_name, items in pending_auto.items():
        free = networks.next_free_ips(subnets[subnet_name], used_ips[subnet_name], len(items))
        for plan, ip in zip(items, free):
            plan["ip"] = ip
    host_rows = [{k: p[k] for k in ("name", "membership_id", "cpus", "rack", "rank", "os", "arch")} |
                 {"run_action": "os", "install_action": "install", "comment": ""} for p in plans]
    ids = list(session.scalars(insert(Host).returning(Host.id, sort_by_parameter_order=True), host_rows))
    iface_rows = [{"host_id": hid, "device": p["iface"], "mac": p["mac"], "ip": p["ip"],
                   "subnet_id": subnets[p["subnet"]].id, "name": p["name"], "module": None, "vlan": None,
                   "options": None}
                  for hid, p in zip(ids, plans) if p["ip"] or p["mac"]]
    if iface_rows:
        session.execute(insert(Interface), iface_rows)
    return len(ids)


def _plan(session, row, memberships, names, macs, subnets, used_ips, ranks):  # type: ignore[no-untyped-def]
    req = normalize(HostRequest.from_row(row))  # the same rules as 'rocks add host'
    name = req.name
    parsed = parse_host_name(name) if name else None
    memb_name = req.membership or (parsed[0] if parsed else "")
    if not memb_name:
        raise InvalidArgument("give membership (or a name like compute-0-3)")
    key = memb_name.lower()
    if key not in memberships:
        memberships[key] = appliances.find_membership(session, memb_name)
    membership = memberships[key]
    rack = req.rack if req.rack is not None else (parsed[1] if parsed else 0)
    if name:
        rank = req.rank if req.rank is not None else (parsed[2] if parsed else 0)
    else:
        slot = (membership.appliance_id, rack)
        if slot not in ranks:
            current = session.scalar(select(func.max(Host.rank)).join(Membership).where(
                Membership.appliance_id == membership.appliance_id, Host.rack == rack))
            ranks[slot] = 0 if current is None else current + 1
        while f"{membership.appliance.name}-{rack}-{ranks[slot]}" in names:
            ranks[slot] += 1
        rank = ranks[slot]
        name = f"{membership.appliance.name}-{rack}-{rank}"
    if name in names:
        raise InvalidArgument(f"host {name} already exists")
    names.add(name)
    if req.subnet not in subnets:
        raise InvalidArgument(f"unknown network {req.subnet!r}")
    if req.mac:
        if req.mac in macs:
            raise InvalidArgument(f"MAC {req.mac} is already used")
        macs.add(req.mac)
    ip = req.ip or ("auto" if req.mac else None)
    if ip and ip != "auto":
        networks.check_ip_in_subnet(ip, subnets[req.subnet])
        if ip in used_ips[req.subnet]:
            raise InvalidArgument(f"IP {ip} is already used")
        used_ips[req.subnet].add(ip)
    return {"name": name, "membership_id": membership.id, "rack": rack, "rank": rank, "cpus": req.cpus,
            "os": req.os, "arch": req.arch, "ip": ip, "mac": req.mac, "subnet": req.subnet, "iface": req.iface}
