"""Partition layouts of hosts as the installer plugin sees them: reports in, the recorded layout out.

The wire format is ``rocks_partition.records`` (one definition shared with the installer): JSON reports
(``POST /install/sbin/public/partitions``) and Rocks' ``X-Rocks-PartitionInfo`` header, which is parsed as a
literal and never evaluated. Rows keep Rocks' string columns (``rocks list host partition``) and the typed
fields (sectors, sector size, type, RAID level and members) that the decision compares against the disk."""

from __future__ import annotations

import functools
import json
import time
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from ksserver.db import changes
from ksserver.db.models import HostPartitioning, Partition
from ksserver.errors import InvalidArgument
from rocks_partition.records import (
    DbInfo,
    DiskRecord,
    Layout,
    PartitionRecord,
    ReportError,
    disk_of,
    layout_from_dict,
    parse_report_json,
    parse_rocks_header,
)

MAX_PLAN = 256 * 1024  # characters of a stored plan (JSON) and of its text


def parse_json(body: str | bytes) -> Layout:
    try:
        return parse_report_json(body)
    except ReportError as exc:
        raise InvalidArgument(f"partition report: {exc}") from None


def parse_header(text: str) -> Layout:
    try:
        return parse_rocks_header(text)
    except ReportError as exc:
        raise InvalidArgument(f"partition report: {exc}") from None


def _row(host_id: int, disk: str, part: PartitionRecord) -> dict[str, object]:
    device, start, size, _pid, fstype, flags, format_flags, mountpoint = part.to_rocks_tuple()
    if len(disk) > 64 or len(" ".join(part.members)) > 1024:
        raise InvalidArgument(f"partition report: {part.device}: disk name or RAID member list too long")
    return {"host_id": host_id, "device": device, "mountpoint": mountpoint, "start": start, "size": size,
            "size_mb": part.size_mib, "partition_id": "", "fstype": fstype, "flags": flags[:128],
            "format_flags": format_flags, "disk": disk, "start_sector": part.start, "size_sector": part.size,
            "sector_size": part.sector_size, "part_type": part.part_type, "level": part.level,
            "members": " ".join(part.members)}


def _empty_disk_row(host_id: int, disk: DiskRecord) -> dict[str, object]:
    """Rocks' '<disk>,,,,,,,': a disk without partitions is recorded, not thrown away."""
    return {"host_id": host_id, "device": disk.name, "mountpoint": "", "start": "", "size": "", "size_mb": 0,
            "partition_id": "", "fstype": "", "flags": "", "format_flags": "", "disk": disk.name,
            "start_sector": 0, "size_sector": 0, "sector_size": disk.sector_size, "part_type": "",
            "level": "", "members": ""}


def state(session: Session, host_id: int) -> HostPartitioning:
    row = session.get(HostPartitioning, host_id)
    if row is None:
        row = HostPartitioning(host_id=host_id, reset=False, report="", reported_at=0.0, plan="",
                               plan_text="", plan_at=0.0)
        session.add(row)
    return row


def report_rows(host_id: int, layout: Layout) -> list[dict[str, object]]:
    """The partition rows a report stands for; refuses (InvalidArgument) what the columns cannot hold,
    before anything is written."""
    rows = []
    for disk in layout.disks:
        rows += [_row(host_id, disk.name, p) for p in disk.partitions] or [_empty_disk_row(host_id, disk)]
    rows += [_row(host_id, raid.device, raid) for raid in layout.raids]
    return rows


@dataclass(frozen=True)
class Report:
    """One host's report, checked and turned into rows, ready to store."""

    host_id: int
    rows: list[dict[str, object]]
    layout_json: str


def prepare(host_id: int, layout: Layout) -> Report:
    return Report(host_id, report_rows(host_id, layout), layout.to_json())


def store_reports(session: Session, reports: list[Report]) -> list[int]:
    """Each host's partition records become exactly its reported rows, its last report the report, and its
    one-shot reset is used up; a plan its install sent stays for the admin until the next install starts.
    A report identical to what is recorded (same rows, same disk headers, no reset pending) writes nothing.
    Returns the hosts whose records changed.

    Set-based Core statements on the session's connection, a few per call whatever the number of reports
    (the ORM's unit of work costs more than the work).  The state rows are written first, in host order:
    on PostgreSQL their row locks order concurrent reports of one host, so the later DELETE sees the
    earlier report's rows."""
    latest = {r.host_id: r for r in reports}  # one host twice in a batch: the later report stands
    session.flush()  # ORM changes pending in the caller's session go first, not over ours
    conn = session.connection()
    ids = sorted(latest)
    states = {h: (reset, report) for h, reset, report in conn.execute(_STATES, {"hosts": ids})}
    same = [h for h in ids if h in states and not states[h][0] and states[h][1] == latest[h].layout_json]
    if same:
        have: dict[int, list[tuple]] = {h: [] for h in same}
        for row in conn.execute(_ROWS, {"hosts": same}):
            have[row[0]].append(tuple(row[1:]))
        same = [h for h in same if sorted(have[h]) == sorted(tuple(r[c] for c in _COMPARED)
                                                             for r in latest[h].rows)]
    unchanged = set(same)
    changed = [h for h in ids if h not in unchanged]
    if not changed:
        return []
    changes.note_partitioning(session, changed)  # Core DML: the ORM hooks do not see it
    now = time.time()
    conn.execute(_upsert_state(conn.dialect.name),
                 [{"host_id": h, "report": latest[h].layout_json, "now": now} for h in changed])
    conn.execute(_DELETE, {"hosts": changed})
    rows = [row for h in changed for row in latest[h].rows]
    if rows:
        conn.execute(_INSERT, rows)
    for h in changed:
        loaded = session.identity_map.get(identity_key(HostPartitioning, h))
        if loaded is not None:  # the caller's session holds the state row: it must not serve the old one
            session.expire(loaded)
    return changed


def store_report(session: Session, host_id: int, layout: Layout) -> int:
    """Record ``layout`` as the host's partitions (see ``store_reports``); returns the rows it stands for."""
    report = prepare(host_id, layout)
    store_reports(session, [report])
    return len(report.rows)


def store_plan(session: Session, host_id: int, body: object) -> None:
    """``{"plan": {...}, "text": "..."}`` sent by an installer on a stop or a refusal."""
    if not isinstance(body, dict) or set(body) - {"plan", "text"} or not isinstance(body.get("plan"), dict) \
            or not isinstance(body.get("text", ""), str):
        raise InvalidArgument('partition plan must be a JSON object {"plan": {...}, "text": "..."}')
    plan = json.dumps(body["plan"], sort_keys=True)
    text = body.get("text", "")
    if len(plan) > MAX_PLAN or len(text) > MAX_PLAN:
        raise InvalidArgument(f"partition plan larger than {MAX_PLAN} characters")
    st = state(session, host_id)
    st.plan, st.plan_text, st.plan_at = plan, text, time.time()


def _record(row: Partition) -> PartitionRecord:
    return PartitionRecord(device=row.device, start=row.start_sector, size=row.size_sector,
                           sector_size=row.sector_size or 512, fstype=row.fstype, mountpoint=row.mountpoint,
                           flags=tuple(row.flags.split()) if not row.members else (),
                           part_type=row.part_type or ("raid" if row.level else "primary"), level=row.level,
                           members=tuple(row.members.split()))


def _is_empty_disk(row: Partition) -> bool:
    return row.device == (row.disk or row.device) and not row.size_sector and not row.mountpoint \
        and not row.fstype and not row.start


def recorded_layout(session: Session, host_id: int) -> Layout:
    """The host's partition rows as a Layout (disk sizes and labels from the last report, if any)."""
    rows = session.scalars(select(Partition).where(Partition.host_id == host_id).order_by(Partition.device))
    return _layout(list(rows), session.get(HostPartitioning, host_id))


def _layout(rows: list[Partition], st: HostPartitioning | None) -> Layout:
    headers = {}
    if st is not None and st.report:
        headers = {d.name: d for d in last_report_layout(st).disks}
    disks: dict[str, list[PartitionRecord]] = {}
    raids = []
    for row in rows:
        disk = row.disk or disk_of(row.device)
        if row.device.startswith("md") and disk == row.device and not _is_empty_disk(row):
            raids.append(_record(row))
            continue
        disks.setdefault(disk, [])
        if not _is_empty_disk(row):
            disks[disk].append(_record(row))
    out = []
    for name, parts in sorted(disks.items()):
        head = headers.get(name)
        out.append(DiskRecord(name=name, size=head.size if head else 0,
                              sector_size=head.sector_size if head else 512, label=head.label if head else "",
                              partitions=tuple(sorted(parts, key=lambda p: (p.start, p.device)))))
    return Layout(disks=tuple(out), raids=tuple(raids))


def last_report_layout(st: HostPartitioning) -> Layout:
    return layout_from_dict(json.loads(st.report)) if st.report else Layout()


def db_info(session: Session, host_id: int) -> DbInfo:
    """What the kickstart hands the installer: the recorded layout and the one-shot reset."""
    st = session.get(HostPartitioning, host_id)
    return DbInfo(recorded=recorded_layout(session, host_id), reset=bool(st and st.reset))




# The same reading with two plain statements, for the kickstart path (a DB-API ``query(sql, params) -> rows``
# with ``?`` parameters): a cold host's first kickstart costs two indexed reads, not an ORM session.
_PART_COLUMNS = tuple(c.name for c in Partition.__table__.columns)
_PartRow = namedtuple("_PartRow", _PART_COLUMNS)  # type: ignore[misc]  # the attributes _layout reads
_StateRow = namedtuple("_StateRow", "report reset plan_text")
_PARTS_SQL = f"SELECT {', '.join(_PART_COLUMNS)} FROM partitions WHERE host_id = ? ORDER BY device"
_STATE_SQL = "SELECT report, reset, plan_text FROM host_partitioning WHERE host_id = ?"


def db_info_by_query(query: Callable[[str, tuple], list[tuple]], host_id: int) -> tuple[str, bool]:
    """(``db_info(...).to_json()``, ``has_plan(...)``) for one host."""
    found = query(_STATE_SQL, (host_id,))
    st = _StateRow(*found[0]) if found else None
    rows = [_PartRow(*row) for row in query(_PARTS_SQL, (host_id,))]
    info = DbInfo(recorded=_layout(rows, st), reset=bool(st and st.reset))  # type: ignore[arg-type]
    return info.to_json(), bool(st and st.plan_text)


def db_info_up_to(query: Callable[[str, tuple], list[tuple]], last_id: int) -> dict[int, tuple[str, bool]]:
    """``db_info_by_query`` of every host with an id up to ``last_id``, in two statements (a server warming its
    cache); a host without records is absent (``db_info_by_query`` gives it the empty layout).  Hosts of the
    same hardware have the same records: each distinct layout is built and encoded once."""
    states = {row[0]: _StateRow(*row[1:]) for row in query(
        _STATE_SQL.replace("SELECT ", "SELECT host_id, ", 1).replace("host_id = ?", "host_id <= ?"), (last_id,))}
    rows: dict[int, list[_PartRow]] = {}
    for row in query(_PARTS_SQL.replace("host_id = ?", "host_id <= ?").replace("ORDER BY device",
                                                                             "ORDER BY host_id, device"),
                     (last_id,)):
        part = _PartRow(*row)
        rows.setdefault(part.host_id, []).append(part)
    built: dict[tuple, str] = {}
    out: dict[int, tuple[str, bool]] = {}
    for host_id in states.keys() | rows.keys():
        st, parts = states.get(host_id), rows.get(host_id, [])
        key = (st and (st.report, bool(st.reset)),
               tuple(tuple(v for k, v in p._asdict().items() if k not in ("id", "host_id")) for p in parts))
        text = built.get(key)
        if text is None:
            info = DbInfo(recorded=_layout(parts, st), reset=bool(st and st.reset))  # type: ignore[arg-type]
            text = built[key] = info.to_json()
        out[host_id] = (text, bool(st and st.plan_text))
    return out


def has_plan(session: Session, host_id: int) -> bool:
    st = session.get(HostPartitioning, host_id)
    return bool(st and st.plan_text)


def clear_plan(session: Session, host_id: int) -> None:
    """A new install starts: the previous install's plan is history."""
    st = state(session, host_id)
    st.plan, st.plan_text, st.plan_at = "", "", 0.0


def set_reset(session: Session, host_id: int, reset: bool) -> None:
    state(session, host_id).reset = reset


_PARTS = Partition.__table__
_STATE_T = HostPartitioning.__table__
_DELETE = delete(_PARTS).where(_PARTS.c.host_id.in_(bindparam("hosts", expanding=True)))
_INSERT = insert(_PARTS)
_COMPARED = ("device", "mountpoint", "start", "size", "size_mb", "partition_id", "fstype", "flags",
             "format_flags", "disk", "start_sector", "size_sector", "sector_size", "part_type", "level",
             "members")
_ROWS = select(_PARTS.c.host_id, *(_PARTS.c[c] for c in _COMPARED)) \
    .where(_PARTS.c.host_id.in_(bindparam("hosts", expanding=True)))
_STATES = select(_STATE_T.c.host_id, _STATE_T.c.reset, _STATE_T.c.report) \
    .where(_STATE_T.c.host_id.in_(bindparam("hosts", expanding=True)))


@functools.cache
def _upsert_state(dialect: str):  # type: ignore[no-untyped-def]
    """INSERT .. ON CONFLICT DO UPDATE of the report columns (SQLite and PostgreSQL spell it alike)."""
    dialect_insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    stmt = dialect_insert(_STATE_T).values(host_id=bindparam("host_id"), reset=False,
                                           report=bindparam("report"), reported_at=bindparam("now"),
                                           plan="", plan_text="", plan_at=0.0)
    return stmt.on_conflict_do_update(index_elements=[_STATE_T.c.host_id],
                                      set_={"reset": False, "report": stmt.excluded.report,
                                            "reported_at": stmt.excluded.reported_at})
