"""Partition layouts reported by installers: JSON (``POST /install/sbin/public/partitions``) or Rocks'
``X-Rocks-PartitionInfo`` header (a Python literal of {disk: [8-tuples]}, §2.6), parsed with a literal
parser and checked field by field; never evaluated."""

from __future__ import annotations

import ast
from typing import Any

from sqlalchemy import bindparam, delete, insert
from sqlalchemy.orm import Session

from ksserver.db.models import Partition
from ksserver.errors import InvalidArgument
from ksserver.inventory.partitions import PartitionSpec, check_spec, size_to_mb

MAX_PARTITIONS = 256
MAX_HEADER = 65536
FIELDS = ("device", "start", "size", "id", "fstype", "flags", "format_flags", "mountpoint")


def _record(values: dict[str, Any]) -> PartitionSpec:
    for key, value in values.items():
        if not isinstance(value, str) or len(value) > 128:
            raise InvalidArgument(f"partition field {key} must be a string of at most 128 characters")
    spec = PartitionSpec(device=values["device"], mountpoint=values.get("mountpoint", ""),
                         size=values.get("size", ""), fstype=values.get("fstype", ""), start=values.get("start", ""),
                         flags=values.get("flags", ""), format_flags=values.get("format_flags", ""))
    check_spec(spec)
    return spec


def parse_json_report(data: Any) -> list[PartitionSpec]:
    """{"disks": {"sda": [{"device": "sda1", "mountpoint": "/", "size": "16.8GB", ...}, ...]}}"""
    disks = data.get("disks") if isinstance(data, dict) else None
    if not isinstance(disks, dict):
        raise InvalidArgument('partition report must be a JSON object with a "disks" object')
    specs = []
    for disk, parts in disks.items():
        if not isinstance(parts, list):
            raise InvalidArgument(f"disk {disk!r}: expected a list of partitions")
        for part in parts:
            if not isinstance(part, dict) or "device" not in part:
                raise InvalidArgument(f"disk {disk!r}: each partition is an object with a device")
            unknown = set(part) - set(FIELDS)
            if unknown:
                raise InvalidArgument(f"unknown partition field(s) {', '.join(sorted(unknown))}")
            specs.append(_record(part))
    return _checked(specs)


def parse_rocks_header(text: str) -> list[PartitionSpec]:
    """Rocks' header: {'sda': [('sda1','32.3kB','16.8GB','','ext3','boot','','/'), ...]}."""
    if len(text) > MAX_HEADER:
        raise InvalidArgument("X-Rocks-PartitionInfo header is too long")
    try:
        data = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise InvalidArgument("X-Rocks-PartitionInfo is not a literal {disk: [(8 strings), ...]}") from None
    if not isinstance(data, dict):
        raise InvalidArgument("X-Rocks-PartitionInfo must be a dict of disks")
    specs = []
    for disk, parts in data.items():
        if not isinstance(parts, (list, tuple)):
            raise InvalidArgument(f"disk {disk!r}: expected a list of partition tuples")
        for part in parts:
            if not isinstance(part, (list, tuple)) or len(part) != 8:
                raise InvalidArgument(f"disk {disk!r}: each partition is a tuple of 8 strings")
            values = dict(zip(FIELDS, part, strict=True))
            if not any(values[k] for k in FIELDS if k != "device"):
                continue  # Rocks' record for a disk without partitions: '<disk>,,,,,,,'
            values.pop("id")
            specs.append(_record(values))
    return _checked(specs)


def _checked(specs: list[PartitionSpec]) -> list[PartitionSpec]:
    if len(specs) > MAX_PARTITIONS:
        raise InvalidArgument(f"more than {MAX_PARTITIONS} partitions in one report")
    devices = [s.device for s in specs]
    if len(devices) != len(set(devices)):
        raise InvalidArgument("a device appears twice in the partition report")
    return specs


def replace_partitions(session: Session, host_id: int, specs: list[PartitionSpec]) -> int:
    """The host's partition records become exactly the reported layout (one transaction)."""
    rows = [{"host_id": host_id, "device": s.device, "mountpoint": s.mountpoint, "start": s.start, "size": s.size,
             "size_mb": size_to_mb(s.size) if s.size else 0, "partition_id": "", "fstype": s.fstype,
             "flags": s.flags, "format_flags": s.format_flags} for s in specs]
    # Core statements on the session's connection: the ORM's bulk machinery costs more than the work.
    conn = session.connection()
    conn.execute(_DELETE, {"host": host_id})
    if rows:
        conn.execute(_INSERT, rows)
    return len(rows)


_DELETE = delete(Partition.__table__).where(Partition.__table__.c.host_id == bindparam("host"))
_INSERT = insert(Partition.__table__)
