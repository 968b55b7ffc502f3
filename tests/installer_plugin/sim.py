"""An installer simulator for partitioning tests: kickstart text in, disk-image files changed.

What anaconda does that matters here, done for real: the %pre scripts run with their interpreters;
the kickstart (with ``%include /tmp/partition-info``) is parsed by pykickstart; clearpart/part/reqpart
are applied to the image files with pyparted and real mkfs tools (mke2fs -E offset=, mkfs.xfs and mkswap on
a side file copied in), honouring --onpart/--noformat; the %post --nochroot scripts run.
Simplified, and said so: software RAID exists at the plan level only (members are real partitions with the
raid flag, arrays are recorded, not assembled), no bootloader, fstab by /dev path.

Isolation: every script runs in a private mount namespace (``unshare --mount``) where /dev is a fresh
tmpfs holding only null/zero/urandom/tty/loop nodes and the image files bound on /dev/sdX, and /tmp, /opt
and /mnt/sysimage are the sandbox's own directories. Scripts never see the machine's disks."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import parted
from pykickstart.constants import CLEARPART_TYPE_NONE, KS_SCRIPT_POST, KS_SCRIPT_PRE
from pykickstart.parser import KickstartParser
from pykickstart.version import makeVersion

MIB = 1 << 20
_CHECKOUT = Path(__file__).resolve().parents[2]
ENTER = r"""#!/bin/sh
# enter SANDBOX CMD...: runs inside "unshare --mount --propagation private"
set -e
SB="$1"; shift
mount --bind "$SB" /srv
mount --bind /dev /srv/hostdev
mount -t tmpfs -o mode=755 sim-dev /dev
for n in null zero full random urandom tty loop-control; do
    if [ -e "/srv/hostdev/$n" ]; then touch "/dev/$n"; mount --bind "/srv/hostdev/$n" "/dev/$n"; fi
done
for l in /srv/hostdev/loop[0-9]*; do
    if [ -b "$l" ]; then touch "/dev/${l##*/}"; mount --bind "$l" "/dev/${l##*/}"; fi
done
ln -s /proc/self/fd /dev/fd; ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout; ln -s /proc/self/fd/2 /dev/stderr
for pair in $SIM_DISKS; do
    touch "/dev/${pair%%=*}"; mount --bind "${pair#*=}" "/dev/${pair%%=*}"
done
# The Python and the checkout the scripts run from stay visible if they live under the host's /tmp.
i=0; for p in $SIM_KEEP; do i=$((i+1)); mkdir -p "/srv/keep/$i"; mount --bind "$p" "/srv/keep/$i"; done
mount --bind /srv/tmp /tmp
i=0; for p in $SIM_KEEP; do i=$((i+1)); mkdir -p "$p"; mount --bind "/srv/keep/$i" "$p"; done
mkdir -p /opt; mount --bind /srv/opt /opt
mount -t tmpfs sim-mnt /mnt; mkdir -p /mnt/sysimage; mount --bind /srv/sysimage /mnt/sysimage
cd /tmp
exec "$@"
"""


@dataclass
class Script:
    kind: str  # pre, post
    interp: str
    text: str
    rc: int
    out: str


@dataclass
class Result:
    stopped: str = ""  # why the install stopped ('' when it completed)
    manual: bool = False
    partition_info: str = ""
    plan: str = ""
    formatted: dict = field(default_factory=dict)  # device -> fstype (mkfs ran)
    created: dict = field(default_factory=dict)  # device -> mountpoint (new partitions)
    kept: dict = field(default_factory=dict)  # device -> mountpoint (--noformat)
    raids: dict = field(default_factory=dict)  # md -> {"mountpoint", "level", "members"}
    scripts: list = field(default_factory=list)
    report: dict = field(default_factory=dict)  # what post-report produced (/tmp/partition-report.json)

    def log(self) -> str:
        return "\n".join("--- %%%s %s rc=%d\n%s" % (s.kind, s.interp, s.rc, s.out) for s in self.scripts)


class Simulator:
    def __init__(self, root: Path, disks: dict[str, Path], python_bin: str | None = None) -> None:
        self.root = Path(root)
        self.disks = dict(disks)
        self.python_bin = python_bin or str(Path(sys.executable).parent)
        self.arrays: dict[str, list] = {}  # md -> members: the arrays' superblocks, kept across installs

    # -- sandbox ---------------------------------------------------------------------------------------
    def _fresh_sandbox(self) -> None:
        for sub in ("tmp", "opt", "sysimage"):
            shutil.rmtree(self.root / sub, ignore_errors=True)
            (self.root / sub).mkdir(parents=True)
        (self.root / "sysimage/etc").mkdir()
        (self.root / "hostdev").mkdir(exist_ok=True)
        (self.root / "enter.sh").write_text(ENTER)
        self._write_device_map({})

    def _write_device_map(self, raids: dict) -> None:
        self.devices = {"disks": {n: "/dev/%s" % n for n in sorted(self.disks)}, "raids": raids}

    def run(self, interp: str, script_path: str, kind: str = "cmd") -> tuple[int, str]:
        env = {"PATH": "%s:/usr/sbin:/usr/bin:/sbin:/bin" % self.python_bin, "HOME": "/tmp",
               "LANG": "C.UTF-8",
               "SIM_DISKS": " ".join("%s=%s" % (n, p) for n, p in sorted(self.disks.items())),
               "ROCKS_PARTITION_DEVICES": json.dumps(self.devices),
               # (a checkout under /tmp, as in "git clone . /tmp/x", would be hidden by the sandbox's /tmp)
               "SIM_KEEP": " ".join(p for p in sorted({sys.prefix, str(_CHECKOUT)}) if p.startswith("/tmp/"))}
        cmd = ["unshare", "--mount", "--propagation", "private", "/bin/sh", str(self.root / "enter.sh"),
               str(self.root), interp, script_path]
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=600)
        return proc.returncode, proc.stdout

    # -- the install -----------------------------------------------------------------------------------
    def install(self, ks_text: str) -> Result:
        self._fresh_sandbox()
        result = Result()
        first = _parser(missing_include_fatal=False)
        first.readKickstartFromString(_without_includes(ks_text))
        for n, script in enumerate(s for s in first.handler.scripts if s.type == KS_SCRIPT_PRE):
            path = self.root / "tmp" / ("ks-script-pre-%d" % n)
            path.write_text(script.script)
            rc, out = self.run(script.interp or "/bin/sh", "/tmp/%s" % path.name)
            result.scripts.append(Script("pre", script.interp, script.script, rc, out))
            if rc != 0 and script.errorOnFail:
                result.stopped = "%%pre failed (rc %d): %s" % (rc, out.strip().splitlines()[-1:] or "")
                result.plan = _read(self.root / "tmp/partition-plan.txt")
                return result
        result.partition_info = _read(self.root / "tmp/partition-info")
        result.plan = _read(self.root / "tmp/partition-plan.txt")
        second = _parser(missing_include_fatal=True)
        second.readKickstartFromString(self._with_includes(ks_text))
        handler = second.handler
        if (self.root / "tmp/manual-partitioning").exists() and not handler.partition.partitions:
            result.manual = True
            return result
        self._apply(handler, result)
        for n, script in enumerate(s for s in handler.scripts if s.type == KS_SCRIPT_POST and not s.inChroot):
            path = self.root / "tmp" / ("ks-script-post-%d" % n)
            path.write_text(script.script)
            rc, out = self.run(script.interp or "/bin/sh", "/tmp/%s" % path.name)
            result.scripts.append(Script("post", script.interp, script.script, rc, out))
            if rc != 0:
                raise AssertionError("%%post --nochroot failed:\n" + result.log())
        report = self.root / "tmp/partition-report.json"
        result.report = json.loads(report.read_text()) if report.exists() else {}
        return result

    def _with_includes(self, text: str) -> str:
        def include(match: re.Match) -> str:
            path = match.group(1)
            assert path.startswith("/tmp/"), "simulator resolves %include only under /tmp"
            return _read(self.root / "tmp" / path[len("/tmp/"):])
        return re.sub(r"^%include\s+(\S+)\s*$", include, text, flags=re.MULTILINE)

    # -- applying the partitioning ---------------------------------------------------------------------
    def _apply(self, handler, result: Result) -> None:
        clear = handler.clearpart
        cleared = []
        if clear.type is not None and clear.type != CLEARPART_TYPE_NONE:
            cleared = [d for d in (clear.drives or sorted(self.disks))]
        for name in cleared:
            assert name in self.disks, "clearpart names unknown disk %s" % name
            dev = parted.getDevice(str(self.disks[name]))
            try:
                label = parted.newDisk(dev).type
            except parted.DiskException:
                label = "gpt"
            label = getattr(clear, "disklabel", "") or label
            parted.freshDisk(dev, label).commitToDevice()
        requests: dict[str, list] = {}
        raid_members: dict[str, str] = {}
        if getattr(handler.reqpart, "reqpart", False):
            root_disk = next((p.disk for p in handler.partition.partitions if p.mountpoint == "/" and p.disk),
                             cleared[0] if cleared else sorted(self.disks)[0])
            requests.setdefault(root_disk, [])
            if _label(self.disks[root_disk]) == "gpt":
                requests[root_disk].append(("biosboot", 1, False, 0, "biosboot"))
            if handler.reqpart.addBoot:
                requests[root_disk].append(("/boot", 1024, False, 0, "xfs"))
        for p in handler.partition.partitions:
            if p.onPart:
                device = p.onPart
                disk = re.sub(r"[0-9]+$", "", device)
                part = _find(self.disks[disk], device)
                if p.mountpoint.startswith("raid."):
                    raid_members[p.mountpoint] = device
                if p.format:
                    fstype = p.fstype or part["fstype"] or "ext4"
                    _mkfs(self.disks[disk], part["start"], part["size"], fstype)
                    result.formatted[device] = fstype
                    result.created[device] = p.mountpoint
                else:
                    result.kept[device] = p.mountpoint
                continue
            disk = p.disk or (cleared[0] if cleared else sorted(self.disks)[0])
            fstype = "raid" if p.mountpoint.startswith("raid.") else \
                "swap" if p.mountpoint == "swap" else (p.fstype or "xfs")
            requests.setdefault(disk, []).append((p.mountpoint, p.size or 1, bool(p.grow), p.maxSizeMB or 0,
                                                  fstype))
        for disk, reqs in requests.items():
            for mountpoint, device, start, size, fstype in _allocate(self.disks[disk], disk, reqs):
                result.created[device] = mountpoint
                if mountpoint.startswith("raid."):
                    raid_members[mountpoint] = device
                elif fstype != "biosboot":
                    _mkfs(self.disks[disk], start, size, fstype)
                    result.formatted[device] = fstype
        raids = {}
        for r in handler.raid.raidList:
            members = [raid_members.get(m, m) for m in r.members]
            md = r.device if r.device.startswith("md") else "md%s" % r.device
            if r.preexist and not members and md in self.arrays:
                members = self.arrays[md]  # --useexisting: anaconda assembles the array from its superblocks
            raids[md] = {
                "mountpoint": r.mountpoint, "level": str(r.level).replace("RAID", "").replace("raid", ""),
                "members": members, "fstype": r.fstype or "", "format": bool(r.format)}
        result.raids = raids
        self.arrays.update({md: v["members"] for md, v in raids.items()})
        self._write_device_map({md: {"level": v["level"], "members": v["members"]}
                                for md, v in raids.items()})
        fstab = ["# written by the installer simulator"]
        for device, mnt in sorted({**result.created, **result.kept}.items()):
            if mnt and not mnt.startswith("raid.") and mnt != "biosboot":
                fstab.append("/dev/%s %s %s defaults 0 0" % (device, mnt if mnt != "swap" else "none",
                                                             result.formatted.get(device, "auto")
                                                             if mnt != "swap" else "swap"))
        for md, v in sorted(raids.items()):
            fstab.append("/dev/%s %s %s defaults 0 0" % (md, v["mountpoint"], v["fstype"] or "auto"))
        (self.root / "sysimage/etc/fstab").write_text("\n".join(fstab) + "\n")


def _parser(missing_include_fatal: bool) -> KickstartParser:
    return KickstartParser(makeVersion("RHEL9"), missingIncludeIsFatal=missing_include_fatal)


def _without_includes(text: str) -> str:
    return re.sub(r"^%include\s.*$", "# (include resolved after %pre)", text, flags=re.MULTILINE)


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def _label(path: Path) -> str:
    try:
        return parted.newDisk(parted.getDevice(str(path))).type
    except parted.DiskException:
        return "gpt"


def _find(path: Path, device: str) -> dict:
    number = int(re.search(r"([0-9]+)$", device).group(1))
    disk = parted.newDisk(parted.getDevice(str(path)))
    for p in disk.partitions:
        if p.number == number:
            fs = p.fileSystem.type if p.fileSystem else ""
            return {"start": p.geometry.start * 512, "size": p.geometry.length * 512, "fstype": fs}
    raise AssertionError("--onpart %s: no such partition" % device)


_FS = {"xfs": "xfs", "ext2": "ext2", "ext3": "ext3", "ext4": "ext4", "swap": "linux-swap(v1)"}


def _allocate(path: Path, name: str, reqs: list) -> list:
    """Lay the requests out in the disk's free space, 1 MiB aligned; grow requests share what is left.
    msdos with more than 4 partitions: 3 primaries, then an extended partition holding logicals."""
    dev = parted.getDevice(str(path))
    disk = parted.newDisk(dev)
    align = MIB // dev.sectorSize
    used_end = max([p.geometry.end for p in disk.partitions] + [align - 1])
    first = (used_end // align + 1) * align
    last = dev.length - 34 - 1 if disk.type == "gpt" else dev.length - 1
    msdos_ext = disk.type == "msdos" and len(disk.partitions) + len(reqs) > 4
    overhead = align * max(0, len(reqs) - 3) if msdos_ext else 0
    fixed = sum(r[1] for r in reqs if not r[2]) * align
    growers = [r for r in reqs if r[2]]
    spare = last - first + 1 - fixed - overhead - sum(r[1] for r in growers) * align
    assert spare >= 0, "%s: the requests do not fit (%d MiB short)" % (name, -spare // align)
    out = []
    pos = first
    extended = None
    for i, (mnt, size_mib, grow, max_mib, fstype) in enumerate(reqs):
        length = size_mib * align
        if grow:
            extra = (spare // len(growers)) // align * align
            length += extra if not max_mib else min(extra, max(0, max_mib * align - length))
        ptype = parted.PARTITION_NORMAL
        if msdos_ext and i >= 3:
            if extended is None:
                geom = parted.Geometry(device=dev, start=pos, end=last)
                extended = parted.Partition(disk=disk, type=parted.PARTITION_EXTENDED, geometry=geom)
                disk.addPartition(extended, parted.Constraint(exactGeom=geom))
            pos += align  # room for the logical partition's EBR
            ptype = parted.PARTITION_LOGICAL
        end = min(pos + length - 1, last)
        geom = parted.Geometry(device=dev, start=pos, end=end)
        fs = parted.FileSystem(type=_FS[fstype], geometry=geom) if fstype in _FS else None
        part = parted.Partition(disk=disk, type=ptype, fs=fs, geometry=geom)
        disk.addPartition(part, parted.Constraint(exactGeom=geom))
        if fstype == "raid":
            part.setFlag(parted.PARTITION_RAID)
        elif fstype == "biosboot":
            part.setFlag(parted.PARTITION_BIOS_GRUB)
        out.append((mnt, "%s%d" % (name, part.number), pos * dev.sectorSize, (end - pos + 1) * dev.sectorSize,
                    fstype))
        pos = end + 1
    disk.commitToDevice()
    return out


def _mkfs(path: Path, start: int, size: int, fstype: str) -> None:
    if fstype in ("ext2", "ext3", "ext4"):
        subprocess.run(["mke2fs", "-q", "-F", "-t", fstype, "-E",
                        "offset=%d,lazy_itable_init=1,lazy_journal_init=1,nodiscard" % start,
                        str(path), "%dk" % (size // 1024)], check=True, capture_output=True)
        return
    side = path.with_name(path.name + ".mkfs")
    side.unlink(missing_ok=True)
    with open(side, "wb") as f:
        f.truncate(size)
    cmd = {"xfs": ["mkfs.xfs", "-q", "-f", "-K", str(side)], "swap": ["mkswap", str(side)]}[fstype]
    subprocess.run(cmd, check=True, capture_output=True)
    copy_data(side, path, start)
    side.unlink()


def copy_data(src: Path, dst: Path, offset: int) -> None:
    """Copy src's data extents (holes skipped) into dst at offset, as dd conv=sparse,notrunc would."""
    with open(src, "rb") as s, open(dst, "r+b") as d:
        for start, end in data_extents(s.fileno(), 0, os.fstat(s.fileno()).st_size):
            s.seek(start)
            d.seek(offset + start)
            remaining = end - start
            while remaining:
                chunk = s.read(min(remaining, 4 * MIB))
                d.write(chunk)
                remaining -= len(chunk)


def data_extents(fd: int, start: int, end: int) -> list[tuple[int, int]]:
    out = []
    pos = start
    while pos < end:
        try:
            data = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError:
            break
        if data >= end:
            break
        hole = min(os.lseek(fd, data, os.SEEK_HOLE), end)
        out.append((data, hole))
        pos = hole
    return out


def hash_range(path: Path, start: int, length: int) -> str:
    """A digest of bytes [start, start+length) that skips holes and all-zero blocks (so sparse images
    hash fast) but still changes if any byte changes: each non-zero block is hashed with its offset."""
    digest = hashlib.sha256()
    block = 64 * 1024
    zero = bytes(block)
    done = start
    with open(path, "rb") as f:
        for a, b in data_extents(f.fileno(), start, start + length):
            pos = max(a - (a - start) % block, done)
            f.seek(pos)
            while pos < b:
                chunk = f.read(min(block, start + length - pos))
                if not chunk:
                    break
                if chunk != zero[:len(chunk)]:
                    digest.update(pos.to_bytes(8, "little") + chunk)
                pos += len(chunk)
            done = pos
    return digest.hexdigest()


# -- helpers for tests: files inside a partition of an image ---------------------------------------------
def partitions(path: Path) -> dict[str, dict]:
    """{device: {start, size (bytes), fstype}} of the image, device named after the file (sda.img -> sda)."""
    name = path.name.split(".")[0]
    try:
        disk = parted.newDisk(parted.getDevice(str(path)))
    except parted.DiskException:
        return {}
    return {"%s%d" % (name, p.number): {"start": p.geometry.start * 512, "size": p.geometry.length * 512,
                                        "fstype": p.fileSystem.type if p.fileSystem else ""}
            for p in disk.partitions}


def fingerprints(paths: list[Path]) -> dict[str, str]:
    """{device: hash of its bytes} for every partition of the images."""
    return {dev: hash_range(path, p["start"], p["size"]) for path in paths
            for dev, p in partitions(path).items()}


def _in_partition(path: Path, part: dict, shell: str) -> subprocess.CompletedProcess:
    """Run ``shell`` with the partition mounted at $M, in a private mount namespace (root only)."""
    script = ('M=$(mktemp -d) && mount -t %s -o offset=%d,sizelimit=%d "%s" "$M" && (%s); rc=$?; '
              'umount "$M"; rmdir "$M"; exit $rc'
              % (part["fstype"], part["start"], part["size"], path, shell))
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                          capture_output=True, text=True)


def put_file(path: Path, device: str, name: str, data: str) -> None:
    part = partitions(path)[device]
    if part["fstype"].startswith("ext"):
        local = path.with_name("put.tmp")
        local.write_text(data)
        subprocess.run(["debugfs", "-w", "-R", "write %s %s" % (local, name),
                        "%s?offset=%d" % (path, part["start"])], check=True, capture_output=True)
        local.unlink()
    else:
        proc = _in_partition(path, part, "printf %%s '%s' > \"$M/%s\"" % (data, name))
        assert proc.returncode == 0, proc.stderr


def get_file(path: Path, device: str, name: str) -> str | None:
    part = partitions(path)[device]
    if part["fstype"].startswith("ext"):
        proc = subprocess.run(["debugfs", "-R", "cat /%s" % name, "%s?offset=%d" % (path, part["start"])],
                              capture_output=True, text=True)
        return None if "not found" in proc.stderr else proc.stdout
    proc = _in_partition(path, part, 'cat "$M/%s"' % name)
    return proc.stdout if proc.returncode == 0 else None


def remove_file(path: Path, device: str, name: str) -> None:
    part = partitions(path)[device]
    if part["fstype"].startswith("ext"):
        subprocess.run(["debugfs", "-w", "-R", "rm /%s" % name, "%s?offset=%d" % (path, part["start"])],
                       check=True, capture_output=True)
    else:
        proc = _in_partition(path, part, 'rm -f "$M/%s"' % name)
        assert proc.returncode == 0, proc.stderr
