"""What kickstart serving needs from the inventory, kept current by the change log.

The cost is proportional to what is asked, not to the cluster (issue #13: 100,000 hosts): the
lookups that identify a requester (address, MAC, name, token -> host id) are single indexed
queries on a per-thread DB-API connection, a host's view is read on first use and kept in a
bounded cache, and only the shared layer (global/os/appliance attributes, networks, the published
generation) is held eagerly.  One cheap ``max(seq)`` query per request tells whether anything
changed: host-scoped changes drop those hosts' views, shared changes reload the shared layer and
drop every view.  Attribute resolution gives exactly what ``inventory.context.host_attrs`` gives.
"""

from __future__ import annotations

import gc
import ipaddress
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from ksserver import __version__
from ksserver.db import changes
from ksserver.db import models as m
from ksserver.db.session import Database, make_engine
from ksserver.db.walindex import WalIndexHeader

# Host views kept per process (~1.4 KB each): a storm over 10,000 hosts stays in memory; beyond, views
# are re-read (three indexed queries, ~40 µs).
VIEW_CACHE_SIZE = 10240
# How long an unchanged wal-index header is taken at its word before the change log is read anyway: a
# bound on what a file this process cannot see (a replaced -shm) could hide, never a wait for a change.
WAL_TRUSTED_FOR = 1.0

_HOST_SQL = ("SELECT h.id, h.name, ms.name, ap.name, ap.node, ap.graph, d.name, h.rack, h.rank, h.cpus, h.arch, "
             "h.os, ap.id FROM hosts h JOIN memberships ms ON h.membership_id = ms.id "
             "JOIN appliances ap ON ms.appliance_id = ap.id JOIN distributions d ON ms.distribution_id = d.id "
             "WHERE h.id = ?")
_IFACES_SQL = ("SELECT i.device, i.ip, i.mac, s.name, s.netmask, s.provisioning FROM interfaces i "
               "LEFT JOIN subnets s ON i.subnet_id = s.id WHERE i.host_id = ? ORDER BY i.device")
_ATTRS_SQL = "SELECT attr, value FROM host_attributes WHERE host_id = ?"

@dataclass(frozen=True, slots=True)
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


@dataclass(slots=True)   # slots: smaller cached views, cheaper to build 100,000 of
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
    # The recorded layout for the installer plugin, read once per view: a partition write replaces the view
    # (a report with a copy that has only this cleared, see ksserver.db.changes.note_partitioning).
    partitioning: tuple[str, bool] | None = None   # (DbInfo JSON, a stale plan to clear)

    def private_interface(self) -> IfaceView | None:
        first_with_ip = None
        for iface in self.interfaces:
            if iface.ip:
                if iface.subnet == "private":
                    return iface
                if first_with_ip is None:
                    first_with_ip = iface
        return first_with_ip or (self.interfaces[0] if self.interfaces else None)

    def intrinsic(self) -> dict[str, str]:
        values = {"hostname": self.name, "membership": self.membership, "appliance": self.appliance,
                  "rack": str(self.rack), "rank": str(self.rank), "cpus": str(self.cpus), "arch": self.arch,
                  "os": self.os, "distribution": self.distribution, "graph": self.graph, "root": self.root,
                  "version": __version__}
        iface = self.private_interface()
        if iface is not None:
            values["hostaddr"], values["ksmac"] = iface.ip or "", iface.mac or ""
            values["ksdevice"], values["netmask"] = iface.device, iface.netmask or ""
        return values


def views_of_rows(rows: Iterable[tuple], iface_rows: Iterable[tuple],
                  attr_rows: Iterable[tuple]) -> dict[int, HostView]:
    """Host views, by id in the order of ``rows``, from host rows (``_HOST_SQL``'s columns), interface rows
    (host id first, then ``IfaceView``'s fields, in any order) and own-attribute rows (host id, attr, value):
    what every bulk reader of hosts assembles."""
    ifaces: dict[int, list[IfaceView]] = {}
    for hid, dev, ip, mac, sname, mask, prov in iface_rows:
        ifaces.setdefault(hid, []).append(IfaceView(dev, ip, mac, sname, mask, bool(prov)))
    # Sorted here (sorting 100,000 rows costs SQLite more than Python sorting the few hosts with two), as
    # view_of and _IFACES_SQL order them: the private interface depends on it.
    for several in (found for found in ifaces.values() if len(found) > 1):
        several.sort(key=lambda i: i.device)
    own: dict[int, dict[str, str]] = {}
    for hid, attr, value in attr_rows:
        own.setdefault(hid, {})[attr] = value
    views: dict[int, HostView] = {}
    for row in rows:
        if row[0] not in views:
            view = views[row[0]] = HostView(*row)
            view.interfaces = ifaces.get(view.id, [])
            view.own = own.get(view.id, {})
    return views


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


log = logging.getLogger("ksserver.inventory")
_MISSING = object()
LOOKUP_MEMO_SIZE = 65536  # answers kept per lookup; over that the memo starts again


class _Lookup:
    """A read-only ``key -> host id`` mapping answered by one indexed query per key (``get``, ``in``,
    ``[]``): nothing is loaded up front.  Answers are memoized until the change log shows a change that
    could alter one (any but a partition report), so a host asking again costs a dict lookup."""

    def __init__(self, snap: InventorySnapshot, sql: str):
        self._snap, self._sql = snap, sql
        self._memo: dict[Any, Any] = {}
        snap._lookups.append(self)

    def _fetch(self, key: Any) -> Any:
        row = self._snap._query_one(self._sql, (key,))
        return None if row is None else row[0]

    def get(self, key: Any, default: Any = None) -> Any:
        if key is None:
            return default
        value = self._memo.get(key, _MISSING)
        if value is _MISSING:
            snap = self._snap
            epoch = snap._epoch
            value = self._fetch(key)
            with snap._lock:  # a sync clears memos under this lock: never store what predates it
                if epoch == snap._epoch:
                    if len(self._memo) >= LOOKUP_MEMO_SIZE:
                        self._memo.clear()
                    self._memo[key] = value
        return default if value is None else value

    def forget(self) -> None:
        self._memo = {}

    def __contains__(self, key: Any) -> bool:
        return self.get(key) is not None

    def __getitem__(self, key: Any) -> Any:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value


def _remember(lookup: _Lookup, key: Any, host_id: int) -> None:
    """Seed ``lookup``'s memo (under the snapshot's lock) unless it already answers ``key`` or is full."""
    if key not in lookup._memo and len(lookup._memo) < LOOKUP_MEMO_SIZE:
        lookup._memo[key] = host_id


class _Tokens(_Lookup):
    def _fetch(self, key: Any) -> Any:
        row = self._snap._query_one(self._sql, (key,))
        return None if row is None else TokenView(row[0], row[1] or 0.0, bool(row[2]))


class _Hosts:
    """``host id -> HostView`` for code that reads ``snap.hosts`` like a dict: views come from the
    snapshot's bounded cache (``InventorySnapshot.host``).  Iterating reads every host: tests and tools."""

    def __init__(self, snap: InventorySnapshot):
        self._snap = snap

    def get(self, host_id: int | None, default: Any = None) -> Any:
        view = self._snap.host(host_id)
        return default if view is None else view

    def __contains__(self, host_id: Any) -> bool:
        return self._snap.host(host_id) is not None

    def __getitem__(self, host_id: int) -> HostView:
        view = self._snap.host(host_id)
        if view is None:
            raise KeyError(host_id)
        return view

    def keys(self) -> list[int]:
        with self._snap.db.engine.connect() as conn:
            return [hid for (hid,) in conn.execute(select(m.Host.id).order_by(m.Host.id))]

    def __iter__(self) -> Iterator[int]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def values(self) -> Iterator[HostView]:
        for hid in self.keys():
            view = self._snap.host(hid)
            if view is not None:
                yield view


class InventorySnapshot:
    def __init__(self, db: Database, check_interval: float = 0.0, cache_size: int = VIEW_CACHE_SIZE,
                 warm: bool = False, on_warm: Callable[[list[HostView]], None] | None = None):
        self.db = db
        # A server's snapshot refills its cache in the background after a load or a shared change (``warm``),
        # so a storm's first requests find their host in memory instead of reading it (six statements).
        self.warm = warm
        self.on_warm = on_warm  # then called with the views read, in the warming thread (compile their graphs)
        self._warm_wanted = False
        self._warming = threading.Lock()
        self.check_interval = check_interval
        self.cache_size = cache_size
        self._checked = 0.0
        # SQLite: a commit anywhere changes the wal-index header, so an unchanged header skips the read
        # of the change log that every request otherwise makes (the header it confirmed, and when).
        path = db.engine.url.database if db.is_sqlite else None
        self._wal = WalIndexHeader(path) if path and path != ":memory:" else None
        self._confirmed: tuple[bytes | None, float] = (None, 0.0)
        self._local = threading.local()
        self._probe: Engine | None = None  # unpooled: the per-thread probe connections stay out of the pool
        self._qmark = True                 # the DB-API's parameter style: ? (sqlite3) or %s (psycopg)
        self._lock = threading.Lock()
        self._seq = -1
        # Bumped under the lock by every invalidation: a view read while one happened is not cached
        # (it may predate the change that dropped it).
        self._epoch = 0
        self._views: dict[int, HostView] = {}
        self._lookups: list[_Lookup] = []
        self.hosts = _Hosts(self)
        self.by_name = _Lookup(self, "SELECT id FROM hosts WHERE name = ?")
        # Only on a provisioning network does an address identify an installer.
        self.by_ip = _Lookup(self, "SELECT i.host_id FROM interfaces i JOIN subnets s ON i.subnet_id = s.id "
                                   "WHERE i.ip = ? AND s.provisioning ORDER BY i.host_id LIMIT 1")
        # Every interface address, provisioning or not: "does a host own this address?"
        self.owned_ips = _Lookup(self, "SELECT host_id FROM interfaces WHERE ip = ? ORDER BY host_id LIMIT 1")
        self.by_mac = _Lookup(self, "SELECT host_id FROM interfaces WHERE mac = ?")
        self.tokens = _Tokens(self, "SELECT host_id, expires_at, revoked FROM install_tokens WHERE token_hash = ?")
        self.networks: list[NetworkView] = []
        # Answers of ``discovery_source`` for the networks they were computed from: replaced with them.
        self._discovery: tuple[list[NetworkView], dict[str, bool | None]] = ([], {})
        self._shared: tuple[dict, dict, dict] = ({}, {}, {})
        self._shared_merged: tuple[tuple, dict[tuple[str, int], dict[str, str]]] = ((), {})  # (of _shared, merged)
        self.generation: str | None = None  # the published node/graph generation (None: stock files)
        self.loaded_at = 0.0

    # -- the per-thread connection ---------------------------------------------------------------

    def _raw(self) -> Any:
        raw = getattr(self._local, "raw", None)
        if raw is None:
            if self._probe is None:
                self._probe = make_engine(self.db.engine.url.render_as_string(hide_password=False), pooled=False)
                self._qmark = self._probe.dialect.paramstyle == "qmark"
            raw = self._local.raw = self._probe.raw_connection()
        return raw

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Rows of ``sql`` through a raw DB-API connection kept per thread: this runs on every
        request, and SQLAlchemy's connection checkout costs more than the query itself."""
        raw = self._raw()
        try:
            cur = raw.cursor()
            cur.execute(sql if self._qmark else sql.replace("?", "%s"), params)
            rows = cur.fetchall()
            cur.close()
            if not self.db.is_sqlite:
                raw.rollback()  # never sit "idle in transaction" on PostgreSQL
            return rows
        except Exception:
            self._local.raw = None
            raw.invalidate()
            raise

    def close(self) -> None:
        """Close this thread's connection (others close with their threads)."""
        raw, self._local.raw = getattr(self._local, "raw", None), None
        if raw is not None:
            raw.close()

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Rows of a read-only statement (``?`` parameters) on this thread's connection: for readers on
        the kickstart path that must not pay for an ORM session."""
        return self._query(sql, params)

    def _query_one(self, sql: str, params: tuple) -> tuple | None:
        rows = self._query(sql, params)
        return rows[0] if rows else None

    # -- keeping current ------------------------------------------------------------------------

    def _latest_seq(self) -> int:
        return self._query("SELECT max(seq) FROM changes")[0][0] or 0

    def sync(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < self.check_interval:
            return
        # Read before the change log, so that whatever it shows is in what the log is read for.
        head = self._wal.header() if self._wal is not None else None
        confirmed, at = self._confirmed
        if not force and head is not None and head == confirmed and now - at < WAL_TRUSTED_FOR:
            return
        if self._wal is not None and now - at >= WAL_TRUSTED_FOR:
            self._wal.revalidate()
        self._checked = now
        self._follow_log()
        self._confirmed = (head, now)  # only once what it vouches for is in place

    def _follow_log(self) -> None:
        top = self._latest_seq()
        if top == self._seq:
            return
        with self._lock:
            if top == self._seq:
                return
            changed = self._query("SELECT seq, host_id FROM changes WHERE seq > ? ORDER BY seq", (self._seq,))
            oldest = self._query("SELECT min(seq) FROM changes")[0][0] or 0
            first = self._seq < 0
            if first or oldest > self._seq + 1 or any(h is None for _, h in changed):
                self._load_shared()
                self._epoch += 1
                self._views = {}
                self._forget_lookups()
                self._warm_wanted = self.warm
            else:
                reload, partitioning = changes.partitioning_only(h for _, h in changed)
                self._epoch += 1
                for hid in reload:
                    self._views.pop(hid, None)
                if reload:  # a host change may move an address, a MAC, a name or a token
                    self._forget_lookups()
                self._forget_partitioning(partitioning)
            self._seq = max([top] + [s for s, _ in changed])
        if first:
            # What the process has imported lives as long as it does: keep it out of the cyclic GC's
            # full passes, which otherwise stall every thread of the worker in a storm.  (No collect
            # first: a full pass costs a cold worker tens of milliseconds for little garbage.)
            gc.freeze()

    def _load_shared(self) -> None:
        """The layer every host shares: a few rows, whatever the cluster size (raw queries: the ORM's
        first statement compilations cost a cold worker a fifth of a second)."""
        glob = dict(self._query("SELECT attr, value FROM global_attributes"))
        os_attrs: dict[str, dict[str, str]] = {}
        for os_name, attr, value in self._query("SELECT os, attr, value FROM os_attributes"):
            os_attrs.setdefault(os_name, {})[attr] = value
        app_attrs: dict[int, dict[str, str]] = {}
        for app_id, attr, value in self._query("SELECT appliance_id, attr, value FROM appliance_attributes"):
            app_attrs.setdefault(app_id, {})[attr] = value
        # Publishing a generation is a shared change, so every process re-reads it here, together.
        newest = self._query("SELECT digest FROM generations ORDER BY id DESC LIMIT 1")
        networks = [NetworkView(ipaddress.IPv4Network(f"{a}/{n}", strict=False), name, bool(prov), bool(disc))
                    for a, n, name, prov, disc in self._query("SELECT address, netmask, name, provisioning, "
                                                              "discovery FROM subnets")]
        self._shared = (glob, os_attrs, app_attrs)
        self.networks = networks
        self._discovery = (networks, {})
        self.generation = newest[0][0] if newest else None
        self.loaded_at = time.time()

    def discovery_source(self, client_ip: str) -> bool | None:
        """Is ``client_ip`` in a provisioning network in discovery mode (None: not an address)?  Remembered
        per address until the networks are re-read: a storm from one DHCP pool asks this per request."""
        networks, memo = self._discovery
        answer = memo.get(client_ip, _MISSING)
        if answer is _MISSING:
            try:
                addr = ipaddress.ip_address(client_ip)
            except ValueError:
                answer = None
            else:
                answer = any(n.discovery and n.provisioning and addr in n.network for n in networks)
            if len(memo) >= LOOKUP_MEMO_SIZE:
                memo.clear()
            memo[client_ip] = answer
        return answer

    def _read_view(self, host_id: int) -> HostView | None:
        row = self._query_one(_HOST_SQL, (host_id,))
        if row is None:
            return None
        view = HostView(*row)
        view.interfaces = [IfaceView(dev, ip, mac, sname, mask, bool(prov))
                           for dev, ip, mac, sname, mask, prov in self._query(_IFACES_SQL, (host_id,))]
        view.own = dict(self._query(_ATTRS_SQL, (host_id,)))
        return view

    # -- warming the cache ------------------------------------------------------------------------

    def start_warming(self) -> None:
        """Refill the host cache in a background thread (``preload``) if a load or a shared change asked for
        it; otherwise nothing.  The server calls this after answering a kickstart (so the warming never holds
        up an answer it could delay) and once a new worker has been idle a moment."""
        if not self._warm_wanted:
            return
        self._warm_wanted = False
        if self._warming.acquire(blocking=False):
            threading.Thread(target=self._warm_in_thread, name="ksserver-snapshot-warm", daemon=True).start()
        else:  # one is running: it reads again when done
            self._warm_wanted = True

    def _warm_in_thread(self) -> None:
        try:
            self.preload()
            if self.on_warm is not None:
                self.on_warm(self.cached_views())
        except Exception:  # a cache that stays cold is slower, not wrong
            log.exception("warming the host cache failed")
        finally:
            self.close()
            self._warming.release()

    def preload(self) -> int:
        """Read the views of the first ``cache_size`` hosts (by id) with their recorded layouts, in bulk, into
        the cache, with the address and MAC answers they give; how many were added.  Nothing is kept if the
        change log moved meanwhile (a later warming reads again)."""
        from ksserver.inventory import partition_reports

        epoch = self._epoch
        rows = self._query(_HOST_SQL.replace(" WHERE h.id = ?", " ORDER BY h.id LIMIT ?"), (self.cache_size,))
        if not rows:
            return 0
        last = rows[-1][0]
        views = list(views_of_rows(
            rows,
            self._query(_IFACES_SQL.replace("SELECT ", "SELECT i.host_id, ", 1)
                        .replace("i.host_id = ?", "i.host_id <= ?").replace(" ORDER BY i.device", ""), (last,)),
            self._query(_ATTRS_SQL.replace("SELECT ", "SELECT host_id, ", 1).replace("host_id = ?", "host_id <= ?"),
                        (last,))).values())
        layouts = partition_reports.db_info_up_to(self._query, last)
        empty = partition_reports.db_info_by_query(lambda sql, params: [], 0)
        for view in views:
            view.partitioning = layouts.get(view.id, empty)
        with self._lock:
            if epoch != self._epoch:
                return 0
            added = 0
            for view in views:
                if len(self._views) >= self.cache_size:
                    break
                if self._views.setdefault(view.id, view) is view:
                    added += 1
            # The lookups' answers for these hosts, as their queries would give them (ids ascending: the
            # lowest id first, like ORDER BY host_id LIMIT 1; MACs are unique).
            for view in views:
                for iface in view.interfaces:
                    if iface.mac:
                        _remember(self.by_mac, iface.mac, view.id)
                    if iface.ip:
                        _remember(self.owned_ips, iface.ip, view.id)
                        if iface.provisioning:
                            _remember(self.by_ip, iface.ip, view.id)
        gc.freeze()  # long-lived: out of the cyclic GC's full passes, as at the first load
        return added

    def every_view(self) -> Iterator[HostView]:
        """Every host's view, by name, read with three queries and not cached (``rocks-dist``)."""
        self.sync(force=True)
        rows = self._query(_HOST_SQL.replace(" WHERE h.id = ?", " ORDER BY h.name"))
        yield from views_of_rows(
            rows,
            self._query(_IFACES_SQL.replace("SELECT ", "SELECT i.host_id, ", 1).replace(" WHERE i.host_id = ?", "")
                        .replace(" ORDER BY i.device", "")),
            self._query(_ATTRS_SQL.replace("SELECT ", "SELECT host_id, ", 1).replace(" WHERE host_id = ?", ""))
        ).values()

    def _forget_lookups(self) -> None:
        for lookup in self._lookups:
            lookup.forget()

    def _forget_partitioning(self, ids: set[int]) -> None:
        """A fresh copy of each cached view without its partition layout: a kickstart still holding the old
        view may fill that one in from what it read before the change, never the view now served."""
        for hid in ids:
            view = self._views.get(hid)
            if view is not None:
                self._views[hid] = replace(view, partitioning=None)

    # -- reading --------------------------------------------------------------------------------

    def host(self, host_id: int | None) -> HostView | None:
        """The host's view: from the cache, else read (three indexed queries) and cached."""
        if host_id is None:
            return None
        view = self._views.get(host_id)
        if view is not None:
            return view
        epoch = self._epoch
        view = self._read_view(host_id)
        if view is None:
            return None
        with self._lock:
            if epoch == self._epoch:
                while len(self._views) >= self.cache_size:  # oldest first: dicts keep insertion order
                    del self._views[next(iter(self._views))]
                self._views[host_id] = view
        return view

    def cached_views(self) -> list[HostView]:
        """The views this process holds now (a copy: the cache may change meanwhile)."""
        return list(self._views.values())

    def shared_attrs(self, host: HostView) -> dict[str, str]:
        """global < os < appliance: the part of a host's attributes its appliance and os decide (a copy)."""
        return dict(self._merged_shared(host.os, host.appliance_id))

    def _merged_shared(self, os_name: str, appliance_id: int) -> dict[str, str]:
        # Merged once per (os, appliance) and shared layer: a cluster has a handful of such groups.
        shared = self._shared
        merged_by_group = self._shared_merged
        if merged_by_group[0] is not shared:
            merged_by_group = self._shared_merged = (shared, {})
        merged = merged_by_group[1].get((os_name, appliance_id))
        if merged is None:
            glob, os_attrs, app_attrs = shared
            merged = dict(glob)
            merged.update(os_attrs.get(os_name, {}))
            merged.update(app_attrs.get(appliance_id, {}))
            if len(merged_by_group[1]) < 1024:
                merged_by_group[1][(os_name, appliance_id)] = merged
        return merged

    def attrs(self, host: HostView) -> dict[str, str]:
        """global < os < appliance < host < intrinsic, as inventory.context.host_attrs.  Merged per call
        (~2 µs), not kept: cached on the view it would double what each cached view holds."""
        merged = self.shared_attrs(host)
        merged.update(host.own)
        merged.update(host.intrinsic())
        return merged
