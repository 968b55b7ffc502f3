"""Typed partition records: the one wire format between installer and server.

Runs in the installer (Python 3.9, stdlib only) and is imported by the server to parse reports, so a
report is defined here once. Sizes are integers (sectors, with the sector size alongside), never parted's
"16.8GB" strings. Two encodings:

- JSON (``to_json`` / ``parse_report_json``): {"version": 1, "disks": {...}, "raids": {...}}.
- Rocks' ``X-Rocks-PartitionInfo`` header (``parse_rocks_header``): a Python literal of
  {disk: [8-tuples of strings]}, parsed with ``ast.literal_eval`` after size and depth checks, never
  evaluated. Its parted size strings are converted to sectors (approximately: parted rounds them).
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from typing import Any

FORMAT_VERSION = 1
MAX_INPUT = 1 << 20  # bytes of one report
MAX_HEADER = 65536
MAX_DEPTH = 8  # the format nests 5 deep; anything deeper is an attack or a bug
MAX_DISKS = 64
MAX_PARTITIONS = 256
MAX_FIELD = 128

_DEVICE = re.compile(r"^[a-z][a-z0-9_-]{0,31}(/[a-z0-9_-]{1,32})?$")  # sda1, nvme0n1p2, md0, cciss/c0d0p1
_FSTYPE = re.compile(r"^[a-z0-9_.()-]{0,32}$")  # ext4, xfs, linux-swap(v1), fat32
_FLAG = re.compile(r"^[a-z_]{1,32}$")
_MOUNTPOINT = re.compile(r"^(/[^\s,'\"\\]*|swap|(raid|pv)\.[A-Za-z0-9_.-]{1,32}|)$")
LABELS = ("", "msdos", "gpt", "loop")
PART_TYPES = ("primary", "logical", "extended", "raid")


class PartitionError(ValueError):
    """Any bad partition data or directive; the message says where."""


class ReportError(PartitionError):
    """A report (JSON or Rocks header) that is malformed, too big or inconsistent."""


@dataclass(frozen=True)
class PartitionRecord:
    device: str  # sda1, md0
    start: int = 0  # sectors
    size: int = 0  # sectors
    sector_size: int = 512
    fstype: str = ""  # as probed: ext4, xfs, swap, "" when unknown
    mountpoint: str = ""  # "/", "swap", "raid.sda3", "" when unknown
    flags: tuple[str, ...] = ()  # boot, raid, lvm, bios_grub
    part_type: str = "primary"  # primary, logical, extended; "raid" for md devices
    marker: bool = False  # carries /.rocks-release
    level: str = ""  # md devices: RAID level ("1")
    members: tuple[str, ...] = ()  # md devices: member partitions

    @property
    def start_bytes(self) -> int:
        return self.start * self.sector_size

    @property
    def size_bytes(self) -> int:
        return self.size * self.sector_size

    @property
    def size_mib(self) -> int:
        return self.size_bytes // (1 << 20)

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.device, "start": self.start, "size": self.size,
                "sector_size": self.sector_size,
                "fstype": self.fstype, "mountpoint": self.mountpoint, "flags": list(self.flags),
                "part_type": self.part_type, "marker": self.marker, "level": self.level,
                "members": list(self.members)}

    def to_rocks_tuple(self) -> tuple[str, ...]:
        """Rocks' 8-tuple; start/size as exact parted sector strings ("2048s")."""
        flags = " ".join(self.members) if self.members else " ".join(self.flags)
        return (self.device, "%ds" % self.start, "%ds" % self.size, "", self.fstype, flags,
                "--level=%s" % self.level if self.level else "", self.mountpoint)


@dataclass(frozen=True)
class DiskRecord:
    name: str  # sda
    size: int = 0  # sectors
    sector_size: int = 512
    label: str = ""  # msdos, gpt, "" (no partition table)
    partitions: tuple[PartitionRecord, ...] = ()

    @property
    def marker(self) -> bool:
        return any(p.marker for p in self.partitions)

    @property
    def size_bytes(self) -> int:
        return self.size * self.sector_size

    def partition(self, device: str) -> PartitionRecord | None:
        for part in self.partitions:
            if part.device == device:
                return part
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"size": self.size, "sector_size": self.sector_size, "label": self.label,
                "partitions": [p.to_dict() for p in self.partitions]}

    def to_rocks_tuples(self) -> list[tuple[str, ...]]:
        if not self.partitions:
            return [(self.name, "", "", "", "", "", "", "")]  # Rocks' "<disk>,,,,,,," empty disk
        return [p.to_rocks_tuple() for p in self.partitions]


@dataclass(frozen=True)
class Layout:
    disks: tuple[DiskRecord, ...] = ()
    raids: tuple[PartitionRecord, ...] = ()

    def disk(self, name: str) -> DiskRecord | None:
        for disk in self.disks:
            if disk.name == name:
                return disk
        return None

    def all_partitions(self) -> list[PartitionRecord]:
        return [p for d in self.disks for p in d.partitions] + list(self.raids)

    def to_dict(self) -> dict[str, Any]:
        return {"version": FORMAT_VERSION, "disks": {d.name: d.to_dict() for d in self.disks},
                "raids": {r.device: r.to_dict() for r in self.raids}}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def to_rocks(self) -> dict[str, list[tuple[str, ...]]]:
        """{disk: [8-tuples]} as Rocks' getNodePartInfo returned it (md devices under their own name)."""
        out = {d.name: d.to_rocks_tuples() for d in self.disks}
        for raid in self.raids:
            out[raid.device] = [raid.to_rocks_tuple()]
        return out


def disk_of(device: str) -> str:
    """sda5 -> sda; nvme0n1p2 -> nvme0n1; cciss/c0d0p1 -> cciss/c0d0; md0 -> md0."""
    device = device.removeprefix("/dev/")
    if device.startswith("md"):
        return device
    base = device.rstrip("0123456789")
    if base.endswith("p") and base[:-1] and base[-2].isdigit():
        return base[:-1]
    return base


# ---- parsing -------------------------------------------------------------------------------------------

def _fail(where: str, message: str) -> ReportError:
    return ReportError("%s: %s" % (where, message) if where else message)


def check_depth(text: str, limit: int = MAX_DEPTH) -> None:
    """Refuse nesting deeper than ``limit`` before any parser recurses into it (brackets inside strings
    do not count)."""
    depth, quote, escaped = 0, "", False
    for ch in text:
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "[{(":
            depth += 1
            if depth > limit:
                raise ReportError("input nests deeper than %d levels" % limit)
        elif ch in "]})":
            depth -= 1


def _str(value: Any, where: str, pattern: re.Pattern[str]) -> str:
    if not isinstance(value, str) or len(value) > MAX_FIELD:
        raise _fail(where, "expected a string of at most %d characters" % MAX_FIELD)
    if not pattern.match(value):
        raise _fail(where, "invalid value %r" % value)
    return value


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value >= 1 << 63:
        raise _fail(where, "expected a non-negative integer")
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(where, "expected true or false")
    return value


def _obj(value: Any, where: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(where, "expected an object")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise _fail(where, "unknown field(s) %s" % ", ".join(map(str, unknown)))
    return value


_PART_FIELDS = ("device", "start", "size", "sector_size", "fstype", "mountpoint", "flags", "part_type",
                "marker", "level", "members")


def partition_from_dict(value: Any, where: str = "partition") -> PartitionRecord:
    data = _obj(value, where, _PART_FIELDS)
    if "device" not in data:
        raise _fail(where, "device is required")
    flags = data.get("flags", [])
    members = data.get("members", [])
    if not isinstance(flags, list) or len(flags) > 16 or not isinstance(members, list) or len(members) > 64:
        raise _fail(where, "flags and members are short lists of strings")
    sector_size = _int(data.get("sector_size", 512), where + ".sector_size")
    if sector_size not in (512, 1024, 2048, 4096):
        raise _fail(where + ".sector_size", "must be 512, 1024, 2048 or 4096")
    part_type = data.get("part_type", "primary")
    if part_type not in PART_TYPES:
        raise _fail(where + ".part_type", "must be one of %s" % ", ".join(PART_TYPES))
    level = data.get("level", "")
    if not isinstance(level, str) or not re.match(r"^[0-9]{0,2}$", level):
        raise _fail(where + ".level", "expected a RAID level such as \"1\"")
    return PartitionRecord(
        device=_str(data["device"], where + ".device", _DEVICE),
        start=_int(data.get("start", 0), where + ".start"),
        size=_int(data.get("size", 0), where + ".size"),
        sector_size=sector_size,
        fstype=_str(data.get("fstype", ""), where + ".fstype", _FSTYPE),
        mountpoint=_str(data.get("mountpoint", ""), where + ".mountpoint", _MOUNTPOINT),
        flags=tuple(_str(f, where + ".flags", _FLAG) for f in flags),
        part_type=part_type,
        marker=_bool(data.get("marker", False), where + ".marker"),
        level=level,
        members=tuple(_str(m, where + ".members", _DEVICE) for m in members),
    )


def layout_from_dict(value: Any) -> Layout:
    data = _obj(value, "report", ("version", "disks", "raids", "reset"))
    if data.get("version", FORMAT_VERSION) != FORMAT_VERSION:
        raise _fail("report.version", "unsupported version %r (expected %d)" % (data.get("version"),
                                                                               FORMAT_VERSION))
    disks_in = data.get("disks", {})
    raids_in = data.get("raids", {})
    if not isinstance(disks_in, dict) or not isinstance(raids_in, dict):
        raise _fail("report", "disks and raids are objects keyed by device name")
    if len(disks_in) > MAX_DISKS:
        raise _fail("report.disks", "more than %d disks" % MAX_DISKS)
    disks = []
    for name, disk_in in disks_in.items():
        where = "disks.%s" % name
        _str(name, where, _DEVICE)
        disk = _obj(disk_in, where, ("size", "sector_size", "label", "partitions"))
        label = disk.get("label", "")
        if label not in LABELS:
            raise _fail(where + ".label", "must be one of msdos, gpt or empty")
        parts_in = disk.get("partitions", [])
        if not isinstance(parts_in, list):
            raise _fail(where + ".partitions", "expected a list")
        parts = tuple(partition_from_dict(p, "%s.partitions[%d]" % (where, i))
                      for i, p in enumerate(parts_in))
        disks.append(DiskRecord(name=name, size=_int(disk.get("size", 0), where + ".size"),
                                sector_size=_int(disk.get("sector_size", 512), where + ".sector_size"),
                                label=label, partitions=parts))
    raids = []
    for name, raid_in in raids_in.items():
        raid = partition_from_dict(raid_in, "raids.%s" % name)
        if raid.device != name:
            raise _fail("raids.%s" % name, "device %r does not match its key" % raid.device)
        raids.append(raid)
    return _checked(Layout(disks=tuple(disks), raids=tuple(raids)))


def _checked(layout: Layout) -> Layout:
    parts = layout.all_partitions()
    if len(parts) > MAX_PARTITIONS:
        raise ReportError("more than %d partitions in one report" % MAX_PARTITIONS)
    seen = set()
    for part in parts:
        if part.device in seen:
            raise ReportError("device %s appears twice in the report" % part.device)
        seen.add(part.device)
    return layout


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ReportError("duplicate key %r" % key)
        out[key] = value
    return out


def parse_report_json(text: str | bytes) -> Layout:
    """Strictly parse a JSON report (``Layout.to_json``); raises ReportError naming the bad field."""
    if isinstance(text, bytes):
        if len(text) > MAX_INPUT:
            raise ReportError("report is larger than %d bytes" % MAX_INPUT)
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise ReportError("report is not UTF-8") from None
    if len(text) > MAX_INPUT:
        raise ReportError("report is larger than %d bytes" % MAX_INPUT)
    check_depth(text)
    try:
        data = json.loads(text, object_pairs_hook=_reject_duplicates)
    except ReportError:
        raise
    except (ValueError, RecursionError) as exc:
        raise ReportError("report is not valid JSON: %s" % exc) from None
    return layout_from_dict(data)


# ---- Rocks' 8-tuple forms ------------------------------------------------------------------------------

_UNITS = {"b": 1, "kb": 1000, "mb": 1000 ** 2, "gb": 1000 ** 3, "tb": 1000 ** 4,
          "kib": 1024, "mib": 1024 ** 2, "gib": 1024 ** 3, "tib": 1024 ** 4}
_SIZE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([a-zA-Z]*)$")


def parted_size_to_sectors(text: str, sector_size: int = 512, where: str = "size") -> int:
    """'2048s' -> 2048; '16.8GB' -> 32812500 (parted's rounded display, so approximate); '' -> 0."""
    if text == "":
        return 0
    match = _SIZE.match(text)
    if not match:
        raise _fail(where, "invalid size %r" % text)
    number, unit = match.group(1), match.group(2).lower()
    if len(number) > 20:
        raise _fail(where, "size %r is out of range" % text)
    if unit == "s":
        if "." in number:
            raise _fail(where, "sector counts are whole numbers: %r" % text)
        return int(number)
    if unit not in _UNITS:
        raise _fail(where, "unknown unit in %r" % text)
    return int(round(float(number) * _UNITS[unit] / sector_size))


def partition_from_rocks_tuple(values: Any, where: str = "partition") -> PartitionRecord:
    """One 8-tuple (device, start, size, id, fstype, flags, partflags, mountpoint) of strings."""
    if not isinstance(values, (list, tuple)) or len(values) != 8:
        raise _fail(where, "expected a tuple of 8 strings")
    for i, value in enumerate(values):
        if not isinstance(value, str) or len(value) > MAX_FIELD:
            raise _fail("%s[%d]" % (where, i), "expected a string of at most %d characters" % MAX_FIELD)
    device, start, size, _pid, fstype, flags, partflags, mountpoint = values
    words = flags.split()
    members = tuple(w[len("raid."):] for w in words if w.startswith("raid."))
    level = ""
    if partflags:
        match = re.match(r"^--level=(?:raid)?([0-9]{1,2})$", partflags)
        if not match:
            raise _fail(where + "[6]", "expected --level=N, got %r" % partflags)
        level = match.group(1)
    return PartitionRecord(
        device=_str(device, where + "[0]", _DEVICE),
        start=parted_size_to_sectors(start, where=where + "[1]"),
        size=parted_size_to_sectors(size, where=where + "[2]"),
        fstype=_str(fstype, where + "[4]", _FSTYPE),
        mountpoint=_str(mountpoint, where + "[7]", _MOUNTPOINT),
        flags=() if members else tuple(_str(w, where + "[5]", _FLAG) for w in words),
        part_type="raid" if (members or level) else "primary",
        level=level,
        members=tuple(_str(m, where + "[5]", _DEVICE) for m in members),
    )


def parse_rocks_string(text: str) -> tuple[str, ...]:
    """Rocks' comma form 'sda1,2048s,...' (parsePartInfo): split into the 8-tuple."""
    fields = text.strip().split(",")
    if len(fields) != 8:
        raise ReportError("expected 8 comma-separated fields, got %d in %r" % (len(fields), text[:80]))
    return tuple(fields)


def layout_from_rocks(data: Any) -> Layout:
    """{disk: [8-tuples]} (getNodePartInfo's shape) -> Layout; md devices become raids."""
    if not isinstance(data, dict):
        raise ReportError("expected a dict of disks")
    if len(data) > MAX_DISKS:
        raise ReportError("more than %d disks" % MAX_DISKS)
    disks, raids = [], []
    for name, parts in data.items():
        where = "disk %r" % (name,)
        _str(name, where, _DEVICE)
        if not isinstance(parts, (list, tuple)):
            raise _fail(where, "expected a list of partition tuples")
        if len(parts) > MAX_PARTITIONS:
            raise _fail(where, "more than %d partitions" % MAX_PARTITIONS)
        records = []
        for i, values in enumerate(parts):
            if isinstance(values, (list, tuple)) and len(values) == 8 and values[0] == name \
                    and not any(values[1:]):
                continue  # '<disk>,,,,,,,': a disk without partitions
            records.append(partition_from_rocks_tuple(values, "%s[%d]" % (where, i)))
        if re.match(r"^md[0-9]+$", name):
            raids.extend(records)
        else:
            disks.append(DiskRecord(name=name, partitions=tuple(records)))
    return _checked(Layout(disks=tuple(disks), raids=tuple(raids)))


def parse_rocks_header(text: str) -> Layout:
    """The ``X-Rocks-PartitionInfo`` header: a Python literal, parsed as a literal, never evaluated."""
    if not isinstance(text, str):
        raise ReportError("header must be text")
    if len(text) > MAX_HEADER:
        raise ReportError("X-Rocks-PartitionInfo header is longer than %d characters" % MAX_HEADER)
    check_depth(text, 4)
    try:
        data = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise ReportError("X-Rocks-PartitionInfo is not a literal {disk: [(8 strings), ...]}") from None
    return layout_from_rocks(data)


# ---- the database record the server hands to the installer --------------------------------------------

@dataclass(frozen=True)
class DbInfo:
    """What the kickstart's second %pre writes to /tmp/db_partition_info.json."""

    recorded: Layout = field(default_factory=Layout)
    reset: bool = False  # one-shot: ignore markers and records on this install

    def to_json(self) -> str:
        data = self.recorded.to_dict()
        data["reset"] = self.reset
        return json.dumps(data, sort_keys=True)


def parse_db_info(text: str | bytes) -> DbInfo:
    layout = parse_report_json(text)
    data = json.loads(text)
    return DbInfo(recorded=layout, reset=_bool(data.get("reset", False), "report.reset"))
