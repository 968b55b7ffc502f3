"""Partition records of hosts (entered by an admin, or reported by installers: partition_reports)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ksserver.db import changes
from ksserver.db.models import Host, Partition
from ksserver.errors import AlreadyExists, InvalidArgument, NotFound
from ksserver.inventory import validate
from rocks_partition.records import disk_of

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1.0, "b": 1 / 1e6, "k": 1e-3, "m": 1.0, "g": 1e3, "t": 1e6, "p": 1e9}
_DEVICE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_.\-]{0,63}$")
_MOUNT_RE = re.compile(r"^(/[A-Za-z0-9_.\-/]*|swap|raid\.[A-Za-z0-9_.\-]+|)$")


@dataclass(frozen=True)
class PartitionSpec:
    device: str
    mountpoint: str = ""
    size: str = ""
    fstype: str = ""
    start: str = ""
    flags: str = ""
    format_flags: str = ""


_SECTORS_RE = re.compile(r"^\s*(\d{1,20})s\s*$")


def size_to_mb(size: str) -> int:
    """'16.8GB' / '512MB' / '1000' (MB, Rocks default unit) / '2TiB' / '2048s' (sectors) -> megabytes."""
    if _SECTORS_RE.match(size or ""):
        return to_sectors(size) // 2048
    m = _SIZE_RE.match(size or "")
    if not m:
        raise InvalidArgument(f"invalid size {size!r}: use a number of MB or a value like 16.8GB")
    unit = (m[2] or "").lower()
    scale = _UNITS[unit[0]] if unit and unit[0] in "kmgtp" else _UNITS["b" if unit == "b" else ""]
    if unit.startswith(("ki", "mi", "gi", "ti", "pi")):
        scale *= {"k": 1.024, "m": 1.048576, "g": 1.073741824, "t": 1.099511627776, "p": 1.125899906842624}[unit[0]]
    return int(float(m[1]) * scale)


def to_sectors(size: str) -> int:
    """512-byte sectors: '2048s' exactly; other sizes from their megabytes (parted's sizes are rounded, so
    a record entered that way will not match a disk exactly: give sectors for a host installed elsewhere)."""
    m = _SECTORS_RE.match(size or "")
    if m:
        return int(m[1])
    return size_to_mb(size) * 2048 if size else 0


def check_spec(spec: PartitionSpec) -> None:
    if not _DEVICE_RE.match(spec.device) or ".." in spec.device:
        raise InvalidArgument(f"invalid partition device {spec.device!r}")
    if not _MOUNT_RE.match(spec.mountpoint) or ".." in spec.mountpoint:
        raise InvalidArgument(f"invalid mountpoint {spec.mountpoint!r}")
    if spec.size:
        size_to_mb(spec.size)
    for name in ("fstype", "start", "flags", "format_flags"):
        validate.attr_value(name, getattr(spec, name))


def add_partition(session: Session, host: Host, spec: PartitionSpec) -> Partition:
    check_spec(spec)
    if session.scalar(select(Partition.id).where(Partition.host_id == host.id, Partition.device == spec.device)):
        raise AlreadyExists(f"host {host.name} already has a partition record for {spec.device}")
    part = Partition(host_id=host.id, device=spec.device, mountpoint=spec.mountpoint, size=spec.size,
                     size_mb=size_to_mb(spec.size) if spec.size else 0, fstype=spec.fstype, start=spec.start,
                     flags=spec.flags, format_flags=spec.format_flags, disk=disk_of(spec.device),
                     start_sector=to_sectors(spec.start) if spec.start else 0, size_sector=to_sectors(spec.size),
                     sector_size=512, part_type="raid" if spec.device.startswith("md") else "primary",
                     level=spec.format_flags.removeprefix("--level=") if spec.device.startswith("md") else "",
                     members="")
    session.add(part)
    session.flush()
    return part


def list_partitions(session: Session, hosts: list[Host]) -> list[Partition]:
    ids = [h.id for h in hosts]
    return list(session.scalars(select(Partition).where(Partition.host_id.in_(ids))
                                .order_by(Partition.host_id, Partition.device)))


def remove_partitions(session: Session, host: Host, mountpoint: str | None = None) -> int:
    query = delete(Partition).where(Partition.host_id == host.id)
    if mountpoint:
        query = query.where(Partition.mountpoint == mountpoint)
    with changes.host_scoped(session, [host.id]):
        count = session.execute(query).rowcount
    if mountpoint and not count:
        raise NotFound(f"host {host.name} has no partition mounted on {mountpoint}")
    return count


def largest_data_partition(session: Session, host: Host) -> Partition | None:
    """The largest recorded partition with a real mountpoint (not swap): where VM disks go (Rocks §3.2)."""
    parts = [p for p in list_partitions(session, [host]) if p.mountpoint.startswith("/")]
    return max(parts, key=lambda p: (p.size_mb, p.mountpoint), default=None)
