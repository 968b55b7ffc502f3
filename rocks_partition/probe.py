"""Disk discovery through pyparted, and the ``/.rocks-release`` marker.

Not disks: loop, ram, zram, sr/fd devices, read-only devices, device-mapper and md devices (md arrays are
reported as raids), and the device holding the installer's own media. Tests and the installer simulator
point discovery at image files with a device map, given explicitly or in ``ROCKS_PARTITION_DEVICES``
(JSON: {"disks": {"sda": "/dev/sda"}, "raids": {"md0": {"level": "1", "members": ["sda3", "sdb1"]}}}).

The marker is read without mounting on ext2/3/4 (debugfs at the partition's byte offset) and through a
read-only mount otherwise (xfs is EL9's default). Its text records the partition's mountpoint, so a
reinstall knows what a kept partition is even when the server has no record. Python 3.9 stdlib + pyparted;
``parted`` is imported inside the functions that need it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile

from rocks_partition.records import DiskRecord, Layout, PartitionError, PartitionRecord

ENV_DEVICES = "ROCKS_PARTITION_DEVICES"
# A recorded layout (records JSON file) that discovery answers from instead of disks: the server's
# `rocks report host partition` runs a host's %pre programs against the host's last report this way.
ENV_LAYOUT = "ROCKS_PARTITION_LAYOUT"
MARKER = ".rocks-release"
MARKER_HEAD = "Rocks partition marker"
_NOT_DISKS = re.compile(r"^(loop|ram|zram|sr|fd|dm-|md|nbd)[0-9]")
_EXT = ("ext2", "ext3", "ext4")
_MOUNTABLE = _EXT + ("xfs", "btrfs", "vfat", "fat16", "fat32")
_INSTALL_MEDIA = ("/run/install/repo", "/run/install/source", "/mnt/install/source", "/mnt/source")


class ProbeError(PartitionError):
    """A disk could not be read."""


def device_map(explicit: dict[str, str] | None = None) -> dict[str, object] | None:
    """The explicit map, else the environment's, else None (real discovery)."""
    if explicit is not None:
        return {"disks": dict(explicit), "raids": {}}
    layout = recorded_layout()
    if layout is not None:
        return {"disks": {d.name: "/dev/%s" % d.name for d in layout.disks},
                "raids": {r.device: {"level": r.level, "members": list(r.members)} for r in layout.raids}}
    text = os.environ.get(ENV_DEVICES)
    if not text:
        return None
    data = json.loads(text)
    if not isinstance(data, dict) or not isinstance(data.get("disks"), dict):
        raise ProbeError("%s must be JSON {\"disks\": {name: path}}" % ENV_DEVICES)
    data.setdefault("raids", {})
    return data


def recorded_layout() -> Layout | None:
    """The layout named by ``ROCKS_PARTITION_LAYOUT``, or None (probe real disks)."""
    path = os.environ.get(ENV_LAYOUT)
    if not path:
        return None
    from rocks_partition.records import parse_report_json

    with open(path, "rb") as handle:
        return parse_report_json(handle.read())


def disk_paths(devices: dict[str, str] | None = None) -> dict[str, str]:
    """{name: path} of the disks to consider, sorted by name."""
    mapping = device_map(devices)
    if mapping is not None:
        return dict(sorted(mapping["disks"].items()))
    import parted  # only here: the server never probes

    media = _media_disks()
    found = {}
    for dev in parted.getAllDevices():
        name = dev.path.removeprefix("/dev/")
        if _NOT_DISKS.match(os.path.basename(name)) or dev.readOnly or name in media:
            continue
        skip_types = ("DEVICE_DM", "DEVICE_LOOP", "DEVICE_MD", "DEVICE_FILE")
        if dev.type in [getattr(parted, t, -1) for t in skip_types]:
            continue
        found[name] = dev.path
    return dict(sorted(found.items()))


def _media_disks() -> set:
    """Disks holding the installer's source (mounted at one of anaconda's repo paths, or iso9660)."""
    disks = set()
    try:
        with open("/proc/mounts") as mounts:
            for line in mounts:
                fields = line.split()
                if len(fields) >= 3 and fields[0].startswith("/dev/") and \
                        (fields[1] in _INSTALL_MEDIA or fields[2] in ("iso9660", "udf")):
                    disks.add(re.sub(r"p?[0-9]+$", "", fields[0][len("/dev/"):]))
    except OSError:
        pass
    return disks


def raid_info(devices: dict[str, str] | None = None) -> dict[str, tuple[str, list[str]]]:
    """{md: (level, [members])} from the device map or /proc/mdstat."""
    mapping = device_map(devices)
    if mapping is not None:
        return {md: (str(v.get("level", "")), list(v.get("members", [])))
                for md, v in sorted(mapping["raids"].items())}
    out = {}
    try:
        with open("/proc/mdstat") as mdstat:
            for line in mdstat:
                match = re.match(r"^(md[0-9]+)\s*:\s*active\s+(?:\(\w+\)\s+)?raid([0-9]+)\s+(.*)$", line)
                if match:
                    members = [re.sub(r"\[[0-9]+\].*$", "", m) for m in match.group(3).split()]
                    out[match.group(1)] = (match.group(2), members)
    except OSError:
        pass
    return out


def partition_name(disk: str, number: int) -> str:
    """sda+5 -> sda5; nvme0n1+2 -> nvme0n1p2; cciss/c0d0+1 -> cciss/c0d0p1."""
    return "%s%s%d" % (disk, "p" if disk[-1:].isdigit() else "", number)


def read_disk(name: str, path: str, markers: bool = True) -> DiskRecord:
    """One disk's layout through pyparted (no parsing of ``parted print`` text)."""
    import parted

    try:
        device = parted.getDevice(path)
    except parted.IOException as exc:
        raise ProbeError("%s: cannot open %s: %s" % (name, path, exc)) from None
    try:
        disk = parted.newDisk(device)
    except (parted.DiskException, parted.IOException):
        return DiskRecord(name=name, size=device.length, sector_size=device.sectorSize, label="")
    parts = []
    for p in disk.partitions:
        fstype = p.fileSystem.type if p.fileSystem else ""
        flags = tuple(sorted(f.strip() for f in p.getFlagsAsString().split(",") if f.strip()))
        if fstype.startswith("linux-swap"):
            fstype = "swap"
        if p.type & parted.PARTITION_EXTENDED:
            part_type = "extended"
        elif p.type & parted.PARTITION_LOGICAL:
            part_type = "logical"
        else:
            part_type = "primary"
        record = PartitionRecord(device=partition_name(name, p.number), start=p.geometry.start,
                                 size=p.geometry.length, sector_size=device.sectorSize, fstype=fstype,
                                 flags=tuple(f for f in flags if f != "swap"), part_type=part_type)
        if markers and fstype in _MOUNTABLE:
            text = read_marker(path, record)
            if text is not None:
                mountpoint = _marker_mountpoint(text)
                record = PartitionRecord(**dict(record.__dict__, marker=True, mountpoint=mountpoint))
        parts.append(record)
    return DiskRecord(name=name, size=device.length, sector_size=device.sectorSize, label=disk.type,
                      partitions=tuple(parts))


def discover(devices: dict[str, str] | None = None, markers: bool = True) -> Layout:
    """Every disk's layout plus the md arrays (level and members; mountpoints are filled by the caller)."""
    if devices is None:
        layout = recorded_layout()
        if layout is not None:
            return layout
    disks = tuple(read_disk(n, p, markers) for n, p in disk_paths(devices).items())
    raids = tuple(PartitionRecord(device=md, part_type="raid", level=level, members=tuple(members))
                  for md, (level, members) in raid_info(devices).items())
    return Layout(disks=disks, raids=raids)


# ---- the marker ---------------------------------------------------------------------------------------

def marker_text(mountpoint: str) -> str:
    return "%s\nmountpoint=%s\n" % (MARKER_HEAD, mountpoint)


def _marker_mountpoint(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("mountpoint="):
            value = line[len("mountpoint="):].strip()
            if re.match(r"^/[^\s,'\"\\]{0,127}$", value):
                return value
    return ""  # a Rocks-era marker ("Rocks release 6.2 ...") carries no mountpoint


def read_marker(path: str, part: PartitionRecord) -> str | None:
    """The marker's text, or None when the partition has none."""
    if part.fstype in _EXT:
        spec = "%s?offset=%d" % (path, part.start_bytes)
        result = subprocess.run(["debugfs", "-R", "cat /%s" % MARKER, spec], capture_output=True,
                                text=True)
        if result.returncode != 0 or "not found" in result.stderr or "Bad magic" in result.stderr:
            return None
        return result.stdout
    with _mounted(path, part, readonly=True) as root:
        if root is None:
            return None
        try:
            with open(os.path.join(root, MARKER)) as marker:
                return marker.read(4096)
        except OSError:
            return None


def write_marker(path: str, part: PartitionRecord, mountpoint: str) -> None:
    """Stamp the partition: debugfs -w on ext*, a read-write mount otherwise."""
    text = marker_text(mountpoint)
    if part.fstype in _EXT:
        with tempfile.NamedTemporaryFile("w", suffix=".marker") as local:
            local.write(text)
            local.flush()
            spec = "%s?offset=%d" % (path, part.start_bytes)
            subprocess.run(["debugfs", "-w", "-R", "rm /%s" % MARKER, spec], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            result = subprocess.run(["debugfs", "-w", "-R", "write %s %s" % (local.name, MARKER), spec],
                                    capture_output=True, text=True)
        if result.returncode != 0 or "rror" in result.stderr:
            raise ProbeError("cannot stamp %s: %s" % (part.device, result.stderr.strip()))
        return
    with _mounted(path, part, readonly=False) as root:
        if root is None:
            raise ProbeError("cannot mount %s (%s) to stamp it" % (part.device, part.fstype))
        with open(os.path.join(root, MARKER), "w") as marker:
            marker.write(text)


class _mounted:
    """Mount one partition of ``path`` (by byte offset, so image files work too) on a temp dir."""

    def __init__(self, path: str, part: PartitionRecord, readonly: bool) -> None:
        self.path, self.part, self.readonly = path, part, readonly
        self.dir = ""

    def __enter__(self) -> str | None:
        self.dir = tempfile.mkdtemp(prefix="rocks-mnt-")
        opts = "offset=%d,sizelimit=%d" % (self.part.start_bytes, self.part.size_bytes)
        if self.readonly:
            opts = "ro," + opts + (",norecovery" if self.part.fstype == "xfs" else "")
        result = subprocess.run(["mount", "-t", self.part.fstype, "-o", opts, self.path, self.dir],
                                capture_output=True)
        if result.returncode != 0:
            os.rmdir(self.dir)
            self.dir = ""
            return None
        return self.dir

    def __exit__(self, *exc: object) -> None:
        if self.dir:
            subprocess.run(["umount", self.dir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            os.rmdir(self.dir)
