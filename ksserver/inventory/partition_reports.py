"""Partition layouts of hosts as the installer plugin sees them: reports in, the recorded layout out.

The wire format is ``rocks_partition.records`` (one definition shared with the installer): JSON reports
(``POST /install/sbin/public/partitions``) and Rocks' ``X-Rocks-PartitionInfo`` header, which is parsed as a
literal and never evaluated. Rows keep Rocks' string columns (``rocks list host partition``) and the typed
fields (sectors, sector size, type, RAID level and members) that the decision compares against the disk."""

from __future__ import annotations

import json
import time

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.orm import Session

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


def store_report(session: Session, host_id: int, layout: Layout) -> int:
    """The host's partition records become exactly the reported layout and the one-shot reset is used up.
    A plan this install sent (refused directives) stays for the admin until the next install starts.
    Returns the rows stored."""
    rows = []
    for disk in layout.disks:
        rows += [_row(host_id, disk.name, p) for p in disk.partitions] or [_empty_disk_row(host_id, disk)]
    rows += [_row(host_id, raid.device, raid) for raid in layout.raids]
    # Core statements on the session's connection: the ORM's bulk machinery costs more than the work.
    changes.note_hosts(session, [host_id])  # Core DML below: the ORM hooks do not see it
    conn = session.connection()
    conn.execute(_DELETE, {"host": host_id})
    if rows:
        conn.execute(_INSERT, rows)
    st = state(session, host_id)
    st.reset, st.report, st.reported_at = False, layout.to_json(), time.time()
    return len(rows)


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


_BULK = 500  # host ids per IN (...): well under SQLite's and PostgreSQL's parameter limits


def db_infos(session: Session, host_ids: list[int]) -> dict[int, tuple[str, bool]]:
    """``{host id: (db_info(...).to_json(), has_plan(...))}`` for many hosts in a few queries: the
    kickstart path fills every host view of a fresh snapshot at once, not one query per host."""
    out: dict[int, tuple[str, bool]] = {}
    for k in range(0, len(host_ids), _BULK):
        chunk = host_ids[k:k + _BULK]
        states = {st.host_id: st for st in session.scalars(
            select(HostPartitioning).where(HostPartitioning.host_id.in_(chunk)))}
        rows: dict[int, list[Partition]] = {}
        for row in session.scalars(select(Partition).where(Partition.host_id.in_(chunk))
                                   .order_by(Partition.host_id, Partition.device)):
            rows.setdefault(row.host_id, []).append(row)
        for hid in chunk:
            st = states.get(hid)
            info = DbInfo(recorded=_layout(rows.get(hid, []), st), reset=bool(st and st.reset))
            out[hid] = (info.to_json(), bool(st and st.plan_text))
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


_DELETE = delete(Partition.__table__).where(Partition.__table__.c.host_id == bindparam("host"))
_INSERT = insert(Partition.__table__)
