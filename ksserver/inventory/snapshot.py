"""An in-memory, read-only view of what kickstart serving needs, kept current by the change log.

The server answers a boot storm from memory: one cheap ``max(seq)`` query per request tells whether
anything changed; host-scoped changes reload just those hosts, shared changes reload everything.
Attribute resolution gives exactly what ``inventory.context.host_attrs`` gives from the database.
"""

from __future__ import annotations

import gc
import ipaddress
import threading
import time
from dataclasses import dataclass, field, replace

from sqlalchemy import bindparam, select, text
from sqlalchemy.engine import Engine

from ksserver import __version__
from ksserver.db import changes
from ksserver.db import models as m
from ksserver.db.session import Database, make_engine


def _pair(query, key):  # type: ignore[no-untyped-def]
    """(all rows, only the rows whose ``key`` is in :ids), built once: nothing is compiled per request.
    Indexed with a bool: ``_HOSTS[some_ids]``."""
    return query, query.where(key.in_(bindparam("ids", expanding=True)))


_HOSTS = _pair(select(m.Host.id, m.Host.name, m.Host.membership_id, m.Host.rack, m.Host.rank, m.Host.cpus,
                      m.Host.arch, m.Host.os), m.Host.id)
_IFACES = _pair(select(m.Interface.host_id, m.Interface.device, m.Interface.ip, m.Interface.mac, m.Subnet.name,
                       m.Subnet.netmask, m.Subnet.provisioning).outerjoin(m.Subnet, m.Interface.subnet_id == m.Subnet.id)
                .order_by(m.Interface.device), m.Interface.host_id)
_ATTRS = _pair(select(m.HostAttribute.host_id, m.HostAttribute.attr, m.HostAttribute.value), m.HostAttribute.host_id)
_TOKENS = _pair(select(m.InstallToken.token_hash, m.InstallToken.host_id, m.InstallToken.expires_at,
                       m.InstallToken.revoked), m.InstallToken.host_id)


@dataclass(frozen=True)
class IfaceView:
    device: str
    ip: str | None
    mac: str | None
    subnet: str | None
    netmask: str | None
    provisioning: bool = False   # on a network where installers are believed by address


@dataclass(frozen=True)
class NetworkView:
    network: ipaddress.IPv4Network
    name: str
    provisioning: bool
    discovery: bool


@dataclass
class HostView:
    id: int
    name: str
    membership: str
    appliance: str
    root: str
    graph: str
    distribution: str
    rack: int
    rank: int
    cpus: int
    arch: str
    os: str
    appliance_id: int
    interfaces: list[IfaceView] = field(default_factory=list)
    own: dict[str, str] = field(default_factory=dict)
    merged: dict[str, str] | None = None
    # The recorded layout for the installer plugin, read once per view: a partition write replaces the view
    # (a report with a copy that has only this cleared, see ksserver.db.changes.note_partitioning).
    partitioning: tuple[str, bool] | None = None   # (DbInfo JSON, a stale plan to clear)

    def private_interface(self) -> IfaceView | None:
        with_ip = [i for i in self.interfaces if i.ip]
        for iface in with_ip:
            if iface.subnet == "private":
                return iface
        return with_ip[0] if with_ip else (self.interfaces[0] if self.interfaces else None)

    def intrinsic(self) -> dict[str, str]:
        values = {"hostname": self.name, "membership": self.membership, "appliance": self.appliance,
                  "rack": str(self.rack), "rank": str(self.rank), "cpus": str(self.cpus), "arch": self.arch,
                  "os": self.os, "distribution": self.distribution, "graph": self.graph, "root": self.root,
                  "version": __version__}
        iface = self.private_interface()
        if iface is not None:
            values.update(hostaddr=iface.ip or "", ksmac=iface.mac or "", ksdevice=iface.device,
                          netmask=iface.netmask or "")
        return values


def view_of(host: m.Host) -> HostView:
    """The view the server builds from rows, made from an ORM host: the CLI and the server derive a
    host's intrinsic attributes through the same code."""
    membership, appliance = host.membership, host.membership.appliance
    view = HostView(host.id, host.name, membership.name, appliance.name, appliance.node, appliance.graph,
                    membership.distribution.name, host.rack, host.rank, host.cpus, host.arch, host.os, appliance.id)
    view.interfaces = [IfaceView(i.device, i.ip, i.mac, i.subnet.name if i.subnet else None,
                                 i.subnet.netmask if i.subnet else None, bool(i.subnet and i.subnet.provisioning))
                       for i in sorted(host.interfaces, key=lambda i: i.device)]
    return view


@dataclass(frozen=True)
class TokenView:
    host_id: int
    expires_at: float
    revoked: bool


class InventorySnapshot:
    def __init__(self, db: Database, check_interval: float = 0.0):
        self.db = db
        self.check_interval = check_interval
        self._checked = 0.0
        self._local = threading.local()
        self._probe: Engine | None = None  # unpooled: the per-thread probe connections stay out of the pool
        self._lock = threading.Lock()
        self._seq = -1
        self.hosts: dict[int, HostView] = {}
        self.by_name: dict[str, int] = {}
        self.by_ip: dict[str, int] = {}
        # Every interface address, provisioning or not: "does a host own this address?" in O(1).
        self.owned_ips: dict[str, int] = {}
        self.by_mac: dict[str, int] = {}
        self.tokens: dict[str, TokenView] = {}
        self.networks: list[NetworkView] = []
        self._shared: tuple[dict, dict, dict] = ({}, {}, {})
        self._memberships: dict[int, tuple] = {}
        self.generation: str | None = None  # the published node/graph generation (None: stock files)
        self.loaded_at = 0.0

    # -- keeping current ------------------------------------------------------------------------

    def _latest_seq(self) -> int:
        """max(seq) through a raw DB-API connection kept per thread: this runs on every request,
        and SQLAlchemy's connection checkout costs more than the query itself."""
        raw = getattr(self._local, "raw", None)
        if raw is None:
            if self._probe is None:
                self._probe = make_engine(self.db.engine.url.render_as_string(hide_password=False), pooled=False)
            raw = self._local.raw = self._probe.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("SELECT max(seq) FROM changes")
            value = cur.fetchone()[0]
            cur.close()
            if not self.db.is_sqlite:
                raw.rollback()  # never sit "idle in transaction" on PostgreSQL
            return value or 0
        except Exception:
            self._local.raw = None
            raw.invalidate()
            raise

    def sync(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < self.check_interval:
            return
        self._checked = now
        top = self._latest_seq()
        if top == self._seq:
            return
        with self._lock:
            if top == self._seq:
                return
            with self.db.engine.connect() as conn:
                changed = conn.execute(text("SELECT seq, host_id FROM changes WHERE seq > :s ORDER BY seq"),
                                       {"s": self._seq}).all()
                oldest = conn.execute(text("SELECT min(seq) FROM changes")).scalar() or 0
            everything = self._seq < 0 or oldest > self._seq + 1 or any(h is None for _, h in changed)
            if everything:
                self._load_all()
            else:
                reload, partitioning = changes.partitioning_only(h for _, h in changed)
                if reload:
                    self._load_hosts(reload)
                self._forget_partitioning(partitioning)
            self._seq = max([top] + [s for s, _ in changed])

    def _load_all(self) -> None:
        with self.db.session() as s:
            glob = {a: v for a, v in s.execute(select(m.GlobalAttribute.attr, m.GlobalAttribute.value))}
            os_attrs: dict[str, dict[str, str]] = {}
            for os_name, attr, value in s.execute(select(m.OsAttribute.os, m.OsAttribute.attr, m.OsAttribute.value)):
                os_attrs.setdefault(os_name, {})[attr] = value
            app_attrs: dict[int, dict[str, str]] = {}
            for app_id, attr, value in s.execute(select(m.ApplianceAttribute.appliance_id, m.ApplianceAttribute.attr,
                                                        m.ApplianceAttribute.value)):
                app_attrs.setdefault(app_id, {})[attr] = value
            memberships = {
                mid: (mname, app_id, aname, anode, agraph, dname)
                for mid, mname, app_id, aname, anode, agraph, dname in s.execute(
                    select(m.Membership.id, m.Membership.name, m.Appliance.id, m.Appliance.name, m.Appliance.node,
                           m.Appliance.graph, m.Distribution.name)
                    .join(m.Appliance, m.Membership.appliance_id == m.Appliance.id)
                    .join(m.Distribution, m.Membership.distribution_id == m.Distribution.id))}
            # Publishing a generation is a shared change, so every process re-reads it here, together.
            generation = s.scalar(select(m.Generation.digest).order_by(m.Generation.id.desc()).limit(1))
            networks = [NetworkView(ipaddress.IPv4Network(f"{a}/{n}", strict=False), name, bool(prov), bool(disc))
                        for a, n, name, prov, disc in s.execute(select(m.Subnet.address, m.Subnet.netmask,
                                                                       m.Subnet.name, m.Subnet.provisioning,
                                                                       m.Subnet.discovery))]
            self._memberships = memberships
            hosts = self._query_hosts(s.connection(), None)
        self._shared = (glob, os_attrs, app_attrs)
        self.networks = networks
        self.generation = generation
        self.hosts = {h.id: h for h in hosts}
        self._reindex()
        self.loaded_at = time.time()
        # Tens of thousands of long-lived objects: keep them out of the cyclic GC's full passes,
        # which otherwise stall every thread of the worker for tens of milliseconds in a storm.
        gc.collect()
        gc.freeze()

    def _load_hosts(self, ids: set[int]) -> None:
        """Reload a few hosts in place: O(changed hosts), whatever the cluster size.  Single dict
        stores are atomic, and readers only look keys up, so they need no lock."""
        with self.db.engine.connect() as conn:
            fresh = {h.id: h for h in self._query_hosts(conn, ids)}
        # Unindex every changed host before indexing any: an address that moved from one changed host
        # to another must end up with its new owner, whatever the order of the ids.
        for hid in ids:
            old = self.hosts.get(hid)
            if old is not None:
                self._unindex(old)
        for hid in ids:
            new = fresh.get(hid)
            if new is None:
                self.hosts.pop(hid, None)
            else:
                self.hosts[hid] = new
                self._index(new)

    def _forget_partitioning(self, ids: set[int]) -> None:
        """A fresh copy of each view without its cached partition layout: a kickstart still holding the old
        view may fill that one in from what it read before the change, never the view now served."""
        for hid in ids:
            view = self.hosts.get(hid)
            if view is not None:
                self.hosts[hid] = replace(view, partitioning=None)

    def _query_hosts(self, conn, ids: set[int] | None) -> list[HostView]:  # type: ignore[no-untyped-def]
        params = {} if ids is None else {"ids": sorted(ids)}
        some = ids is not None
        views: dict[int, HostView] = {}
        for hid, name, mid, rack, rank, cpus, arch, os_name in conn.execute(_HOSTS[some], params):
            mname, app_id, aname, anode, agraph, dname = self._memberships[mid]
            views[hid] = HostView(hid, name, mname, aname, anode, agraph, dname, rack, rank, cpus, arch, os_name,
                                  app_id)
        for hid, dev, ip, mac, sname, mask, prov in conn.execute(_IFACES[some], params):
            if hid in views:
                views[hid].interfaces.append(IfaceView(dev, ip, mac, sname, mask, bool(prov)))
        for hid, attr, value in conn.execute(_ATTRS[some], params):
            if hid in views:
                views[hid].own[attr] = value
        tokens = {h: TokenView(hid, exp, bool(rev)) for h, hid, exp, rev in conn.execute(_TOKENS[some], params)}
        if ids is None:
            self.tokens = tokens
        else:
            for token_hash in [h for h, t in self.tokens.items() if t.host_id in ids]:
                self.tokens.pop(token_hash, None)
            self.tokens.update(tokens)
        return list(views.values())

    def _reindex(self) -> None:
        self.by_name, self.by_ip, self.by_mac, self.owned_ips = {}, {}, {}, {}
        for host in self.hosts.values():
            self._index(host)

    def _index(self, host: HostView) -> None:
        self.by_name[host.name] = host.id
        for iface in host.interfaces:
            if iface.ip:
                self.owned_ips[iface.ip] = host.id
            if iface.ip and iface.provisioning:  # only there does an address identify an installer
                self.by_ip[iface.ip] = host.id
            if iface.mac:
                self.by_mac[iface.mac] = host.id

    def _unindex(self, host: HostView) -> None:
        for index, key in [(self.by_name, host.name)] + [(self.by_ip, i.ip) for i in host.interfaces if i.ip] + \
                [(self.owned_ips, i.ip) for i in host.interfaces if i.ip] + \
                [(self.by_mac, i.mac) for i in host.interfaces if i.mac]:
            if index.get(key) == host.id:
                del index[key]

    # -- reading --------------------------------------------------------------------------------

    def attrs(self, host: HostView) -> dict[str, str]:
        """global < os < appliance < host < intrinsic, as inventory.context.host_attrs."""
        if host.merged is None:
            glob, os_attrs, app_attrs = self._shared
            merged = dict(glob)
            merged.update(os_attrs.get(host.os, {}))
            merged.update(app_attrs.get(host.appliance_id, {}))
            merged.update(host.own)
            merged.update(host.intrinsic())
            host.merged = merged
        return host.merged

    def host(self, host_id: int | None) -> HostView | None:
        return None if host_id is None else self.hosts.get(host_id)
