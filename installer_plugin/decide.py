"""The partition decision (Rocks' do_partition.py rules, §2.2/§2.4), as a pure function.

``decide(disks, db, user_text, ...) -> Plan``. Differences from Rocks, all to keep user data safe:
- a recorded layout is checked against the disk (start, size, type, filesystem) before it is trusted; a
  disk that has partitions but no longer matches its record stops the install (``Plan.stop``);
- user directives that would touch a disk holding kept partitions are refused and listed, not dropped;
- a blank disk whose record does not match is a replaced disk: its record is ignored, and the plan says so.
Python 3.9 stdlib only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from installer_plugin.directives import DirectiveError, UserInfo, parse_user_info
from rocks_partition.records import DiskRecord, Layout, PartitionRecord

REFORMATTED = ("/", "/var")  # re-created on every install, as in Rocks


@dataclass(frozen=True)
class Scheme:
    """The default layout (ksserver/nodes/do-partition.xml): root, var, swap, the rest /state/partition1."""

    fstype: str = "xfs"
    root_mb: int = 16000
    var_mb: int = 4000
    swap_mb: int = 1000
    small_disk_mb: int = 40000  # below this, root and var are halved (do-partition.xml)
    reqpart: bool = True  # "reqpart --add-boot": /boot and firmware partitions the platform needs

    def root_lines(self, disk: DiskRecord, data_name: str) -> list[str]:
        small = disk.size_bytes and disk.size_bytes // (1 << 20) < self.small_disk_mb
        root, var = (self.root_mb // 2, self.var_mb // 2) if small else (self.root_mb, self.var_mb)
        lines = ["reqpart --add-boot"] if self.reqpart else []
        return lines + [
            "part / --size=%d --fstype=%s --ondisk=%s" % (root, self.fstype, disk.name),
            "part /var --size=%d --fstype=%s --ondisk=%s" % (var, self.fstype, disk.name),
            "part swap --size=%d --ondisk=%s" % (self.swap_mb, disk.name),
            self.data_line(disk, data_name),
        ]

    def data_line(self, disk: DiskRecord, name: str) -> str:
        return "part %s --size=1 --grow --fstype=%s --ondisk=%s" % (name, self.fstype, disk.name)


@dataclass(frozen=True)
class Step:
    action: str  # keep, format, create, clear, leave, refuse
    what: str  # mountpoint or directive
    device: str  # partition or disk
    reason: str

    def __str__(self) -> str:
        on = " on %s" % self.device if self.device else ""
        why = " (%s)" % self.reason if self.reason else ""
        return "%s %s%s%s" % (self.action, self.what, on, why)


@dataclass
class Plan:
    directives: list[str] = field(default_factory=list)  # the lines of /tmp/partition-info
    steps: list[Step] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # refused or dropped things the admin must see
    stop: str = ""  # non-empty: do not partition anything; the install stops with this message
    manual: bool = False

    @property
    def kept(self) -> list[Step]:
        return [s for s in self.steps if s.action == "keep"]

    def partition_info(self) -> str:
        return "".join(line + "\n" for line in self.directives) if not self.stop else ""

    def explain(self) -> str:
        if self.stop:
            return "STOP: %s\n" % self.stop
        if self.manual:
            return "manual partitioning: the installer's partitioning screen decides (rocks-console)\n"
        lines = [str(step) for step in self.steps]
        lines += ["PROBLEM: %s" % p for p in self.problems]
        return "".join(line + "\n" for line in lines)

    def to_dict(self) -> dict[str, object]:
        return {"directives": self.directives, "steps": [vars(s) for s in self.steps],
                "problems": self.problems, "stop": self.stop, "manual": self.manual}


def decide(disks: Sequence[DiskRecord], db: Layout | None = None, user_text: str = "",
           reset: bool = False, scheme: Scheme | None = None, frontend: bool = False) -> Plan:
    """``disks``: what probing found (with markers); ``db``: the host's recorded layout; ``user_text``:
    /tmp/user_partition_info; ``reset``: the one-shot reset (markers and records ignored);
    ``frontend``: Rocks' ``build`` (markers ignored, as on a frontend's first install)."""
    scheme = scheme or Scheme()
    db = db or Layout()
    plan = Plan()
    try:
        info = parse_user_info(user_text) if user_text.strip() else UserInfo()
    except DirectiveError as exc:
        plan.stop = str(exc)
        return plan
    if info.scheme == "manual":
        plan.manual = True
        return plan
    disks = sorted(disks, key=lambda d: d.name)
    kept: dict[str, DiskRecord] = {}  # disk -> the record whose mountpoints are reused
    reasons: dict[str, str] = {}
    for disk in disks:
        recorded = db.disk(disk.name)
        if reset:
            continue
        if recorded is not None and recorded.partitions:
            mismatch = compare(recorded, disk)
            if not mismatch:
                kept[disk.name] = _with_mountpoints(disk, recorded)
                reasons[disk.name] = "database record" + (", marker" if disk.marker else "")
                continue
            if disk.partitions:
                plan.stop = ("%s: the recorded layout does not match the disk (%s); nothing was changed. "
                             "Run 'rocks remove host partition' to repartition, or fix the disk."
                             % (disk.name, mismatch))
                return plan
            plan.problems.append("%s: disk is blank but has a recorded layout: a replaced disk, "
                                 "record ignored" % disk.name)
        if disk.marker and not frontend:
            kept[disk.name] = disk
            reasons[disk.name] = "marker"
    if reset:
        plan.steps.append(Step("reset", "markers and recorded layouts", "", "one-shot reset requested"))
    used: set[str] = set()
    for name in sorted(kept):
        _keep_disk(plan, kept[name], reasons[name], used, db)
    free = [d for d in disks if d.name not in kept]
    have_root = "/" in used
    if info.directives:
        refusals = _conflicts(info, kept, used)
        if not refusals:
            plan.directives.extend(d.text.strip() for d in info.directives)
            for d in info.directives:
                plan.steps.append(Step("create", d.text.strip(), "", "user directive"))
            return plan
        for directive, why in refusals:
            plan.steps.append(Step("refuse", directive.text.strip(), "", why))
            plan.problems.append("user directive not applied: '%s': %s" % (directive.text.strip(), why))
    everything = info.scheme == "force-default"
    for disk in free:
        if not have_root:
            _clear(plan, disk, "default scheme, root disk")
            name = _next_state(used)
            plan.directives.extend(scheme.root_lines(disk, name))
            for mnt in ("/", "/var", "swap", name):
                plan.steps.append(Step("create", mnt, disk.name, "default scheme"))
            used.update(("/", "/var", "swap"))
            have_root = True
        elif everything:
            _clear(plan, disk, "rocks force-default")
            name = _next_state(used)
            plan.directives.append(scheme.data_line(disk, name))
            plan.steps.append(Step("create", name, disk.name, "rocks force-default"))
        else:
            plan.steps.append(Step("leave", "disk", disk.name, "not a Rocks disk; left untouched"))
    if not have_root:
        plan.stop = "no disk can hold /: every disk holds kept partitions and none has a / to reuse"
    return plan


def compare(recorded: DiskRecord, disk: DiskRecord) -> str:
    """'' when every recorded partition is on the disk with the same start, size, type and filesystem
    and the disk has no other partitions; otherwise what differs."""
    differences = []
    on_disk = {p.device: p for p in disk.partitions}
    for rec in recorded.partitions:
        now = on_disk.pop(rec.device, None)
        if now is None:
            differences.append("%s is missing" % rec.device)
            continue
        for what, a, b in (("start", rec.start, now.start), ("size", rec.size, now.size),
                           ("type", rec.part_type, now.part_type),
                           ("filesystem", _fs(rec.fstype), _fs(now.fstype))):
            if a != b:
                differences.append("%s %s recorded %s, on disk %s"
                                   % (rec.device, what, a or "none", b or "none"))
    differences += ["%s is not in the record" % dev for dev in sorted(on_disk)]
    if recorded.label and disk.label and recorded.label != disk.label:
        differences.append("label recorded %s, on disk %s" % (recorded.label, disk.label))
    return "; ".join(differences)


def _fs(fstype: str) -> str:
    return "swap" if fstype.startswith("linux-swap") else fstype


def _with_mountpoints(disk: DiskRecord, recorded: DiskRecord) -> DiskRecord:
    """The disk as probed, with the record's mountpoints where the probe found none."""
    parts = []
    for part in disk.partitions:
        rec = recorded.partition(part.device)
        mnt = part.mountpoint or (rec.mountpoint if rec else "")
        parts.append(PartitionRecord(**dict(part.__dict__, mountpoint=mnt)))
    return DiskRecord(name=disk.name, size=disk.size, sector_size=disk.sector_size, label=disk.label,
                      partitions=tuple(parts))


def _mountpoint(part: PartitionRecord) -> str:
    if part.mountpoint:
        return part.mountpoint
    if "raid" in part.flags:
        return "raid.%s" % part.device
    if _fs(part.fstype) == "swap":
        return "swap"
    return ""


def _keep_disk(plan: Plan, disk: DiskRecord, reason: str, used: set[str], db: Layout) -> None:
    """Rocks' addPartitions(format=0): reuse every partition; only / and /var are formatted."""
    for part in disk.partitions:
        mnt = _mountpoint(part)
        if part.part_type == "extended" or not mnt:
            plan.steps.append(Step("leave", "partition", part.device,
                                   "extended" if part.part_type == "extended" else "no known mountpoint"))
            continue
        if mnt in used and mnt != "swap":
            plan.steps.append(Step("leave", mnt, part.device, "a second %s; left untouched" % mnt))
            plan.problems.append("%s on %s: %s is already used elsewhere; left untouched, not mounted"
                                 % (mnt, part.device, mnt))
            continue
        used.add(mnt)
        if mnt in REFORMATTED:
            plan.directives.append("part %s --fstype=%s --onpart=%s" % (mnt, _fs(part.fstype) or "xfs",
                                                                        part.device))
            plan.steps.append(Step("format", mnt, part.device, "re-created on every install"))
        else:
            plan.directives.append("part %s --onpart=%s --noformat" % (mnt, part.device))
            plan.steps.append(Step("keep", mnt, part.device, reason))
    for raid in db.raids:
        members = set(raid.members)
        if members and members <= _kept_devices(plan) and raid.mountpoint and raid.mountpoint not in used:
            used.add(raid.mountpoint)
            level = " --level=%s" % raid.level if raid.level else ""
            line = "raid %s --device=%s --useexisting --noformat%s" % (raid.mountpoint, raid.device, level)
            if line not in plan.directives:
                plan.directives.append(line)
                plan.steps.append(Step("keep", raid.mountpoint, raid.device, "software RAID, " + reason))


def _kept_devices(plan: Plan) -> set[str]:
    return {s.device for s in plan.steps if s.action in ("keep", "format")}


def _clear(plan: Plan, disk: DiskRecord, why: str) -> None:
    """One clearpart line for all cleared disks: in a kickstart a second clearpart replaces the first."""
    if plan.directives and plan.directives[0].startswith("clearpart "):
        plan.directives[0] += "," + disk.name
    else:
        plan.directives.insert(0, "clearpart --all --initlabel --drives=%s" % disk.name)
    plan.steps.append(Step("clear", "disk", disk.name, why))


def _next_state(used: set[str]) -> str:
    n = 1
    while "/state/partition%d" % n in used:
        n += 1
    name = "/state/partition%d" % n
    used.add(name)
    return name


def _conflicts(info: UserInfo, kept: dict[str, DiskRecord], used: set[str]) -> list:
    """Directives that would touch a kept disk or reuse a kept mountpoint; all are refused together
    (a half-applied layout is worse than none), each with its own reason."""
    if not kept:
        return []
    reasons = []
    for d in info.directives:
        touched = [n for n in d.disks() if n in kept]
        if touched:
            reasons.append("%s holds kept partitions" % ", ".join(touched))
        elif d.mountpoint and d.mountpoint in used:
            reasons.append("%s is kept on an existing partition" % d.mountpoint)
        elif d.kind == "clearpart" and not d.disks():
            reasons.append("clears every disk, and %s hold kept partitions" % ", ".join(sorted(kept)))
        elif d.kind in ("part", "raid", "logvol", "volgroup") and not d.disks():
            reasons.append("names no disk, so it could land on a kept disk")
        else:
            reasons.append("")
    if not any(reasons):
        return []
    first = next(r for r in reasons if r)
    why = "part of a layout that cannot be applied: " + first
    return [(d, r or why) for d, r in zip(info.directives, reasons)]
