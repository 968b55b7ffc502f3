"""Rocks' ``rocks_partition`` module for site %pre programs, on pyparted and typed records.

    import rocks_partition
    p = rocks_partition.RocksPartition()
    disks = p.getDisks()

Python 3.9 stdlib + pyparted; never imports ksserver. Nothing runs at import time."""

from __future__ import annotations

from collections.abc import Sequence

from rocks_partition.records import DiskRecord, Layout, disk_of, parse_rocks_string

__all__ = ["RocksPartition"]

DEFAULT_SIZES_MB = {"root": 16000, "var": 4000, "swap": 1000}


class RocksPartition:
    """The Rocks API names; ``devices`` ({"sda": "/path/img"}) points discovery at image files."""

    def __init__(self, devices: dict[str, str] | None = None, fstype: str = "xfs") -> None:
        self.devices = devices
        self.fstype = fstype
        self.mountpoints: list[str] = []  # emitted so far: one /, numbered /state/partitionN
        self._layout: Layout | None = None

    # -- discovery ------------------------------------------------------------------------------------
    def layout(self) -> Layout:
        if self._layout is None:
            from rocks_partition import probe

            self._layout = probe.discover(self.devices)
        return self._layout

    def getDisks(self) -> list[str]:
        from rocks_partition import probe

        return list(probe.disk_paths(self.devices))

    def getRaids(self) -> list[str]:
        from rocks_partition import probe

        return list(probe.raid_info(self.devices))

    def disk(self, name: str) -> DiskRecord:
        found = self.layout().disk(name)
        if found is None:
            raise KeyError("no disk %s" % name)
        return found

    def getNodePartInfo(self, disks: Sequence[str]) -> dict[str, list[tuple[str, ...]]]:
        """{disk: [8-tuples]} as in Rocks, with exact sector strings ("2048s") for start and size."""
        rocks = self.layout().to_rocks()
        return {name: rocks[name] for name in disks if name in rocks}

    def parsePartInfo(self, text: str) -> tuple[str, ...]:
        return parse_rocks_string(text)

    def isRocksDisk(self, partinfo: Sequence[tuple[str, ...]], touchit: int = 0) -> bool:
        """True when a partition of the disk carries the marker; ``touchit`` stamps the first mountable
        one."""
        from rocks_partition import probe

        if not partinfo:
            return False
        name = disk_of(partinfo[0][0])
        disk = self.disk(name)
        if touchit:
            path = probe.disk_paths(self.devices)[name]
            for part, tup in zip(disk.partitions, partinfo):
                if part.fstype in ("ext2", "ext3", "ext4", "xfs"):
                    probe.write_marker(path, part, tup[7] or part.mountpoint)
                    self._layout = None
                    return True
            return False
        return disk.marker

    def compareDiskInfo(self, db: Sequence[tuple[str, ...]], node: Sequence[tuple[str, ...]]) -> bool:
        """Same partitions with equal start, size, id, fstype, flags, partflags and mountpoint."""
        if len(db) != len(node):
            return False
        return all(any(tuple(d[1:]) == tuple(n[1:]) for n in node) for d in db)

    # -- kickstart lines ------------------------------------------------------------------------------
    def addPartitions(self, partinfo: Sequence[tuple[str, ...]], format: int) -> list[str]:
        """Lines that reuse existing partitions; / and /var are always re-created (formatted)."""
        lines = []
        for tup in partinfo:
            device, fstype, mnt = tup[0], tup[4], tup[7]
            if not mnt or (mnt in self.mountpoints and mnt != "swap"):
                continue
            self.mountpoints.append(mnt)
            if mnt.startswith("raid."):
                lines.append("part %s --noformat --onpart=%s" % (mnt, device))
            elif device.startswith("md"):
                level = " %s" % tup[6] if tup[6] else ""
                lines.append("raid %s --device=%s --useexisting --noformat%s" % (mnt, device, level))
            elif mnt in ("/", "/var"):
                lines.append("part %s --fstype=%s --onpart=%s" % (mnt, fstype or self.fstype, device))
            else:
                noformat = "" if format else " --noformat"
                lines.append("part %s --onpart=%s%s" % (mnt, device, noformat))
        return lines

    def defaultRootDisk(self, disk: str) -> list[str]:
        lines = []
        if "/" not in self.mountpoints:
            for mnt, key in (("/", "root"), ("/var", "var"), ("swap", "swap")):
                fstype = "" if mnt == "swap" else " --fstype=%s" % self.fstype
                lines.append("part %s --size=%d%s --ondisk=%s" % (mnt, DEFAULT_SIZES_MB[key], fstype, disk))
                self.mountpoints.append(mnt)
        return lines + self.defaultDataDisk(disk)

    def defaultDataDisk(self, disk: str) -> list[str]:
        n = 1
        while "/state/partition%d" % n in self.mountpoints:
            n += 1
        name = "/state/partition%d" % n
        self.mountpoints.append(name)
        return ["part %s --size=1 --fstype=%s --grow --ondisk=%s" % (name, self.fstype, disk)]

    def RocksGetPartsize(self, name: str) -> int:
        return DEFAULT_SIZES_MB[name]
