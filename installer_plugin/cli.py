"""``python -m installer_plugin pre-decide | post-report``: the installer's %pre and %post steps.

pre-decide: probe disks, read the server's record (/tmp/db_partition_info.json) and the site's
/tmp/user_partition_info, decide, write /tmp/partition-info plus the plan (.json, .txt). A stop writes an
empty /tmp/partition-info, tells the console and the server, and exits 1 (the %pre has --erroronfail).
post-report: probe the final layout, take mountpoints from the target's fstab, POST it as JSON to
``/install/sbin/public/partitions``, then stamp every mounted filesystem's marker. HTTP with urllib only."""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.parse
import urllib.request

from installer_plugin.decide import decide
from rocks_partition import probe
from rocks_partition.records import DiskRecord, Layout, PartitionError, PartitionRecord, parse_db_info

REPORT_PATH = "/install/sbin/public/partitions"
PLAN_PATH = "/install/sbin/public/partition-plan"
TIMEOUT = 30
CONSOLE = "/dev/console"  # tests point this into their own directory


def _url(server: str, path: str, token: str | None) -> str:
    query = "?" + urllib.parse.urlencode({"token": token}) if token else ""
    return server.rstrip("/") + path + query


def post_json(server: str, path: str, token: str | None, body: dict[str, object], attempts: int = 3) -> bool:
    data = json.dumps(body, sort_keys=True).encode()
    for _ in range(attempts):
        request = urllib.request.Request(_url(server, path, token), data=data, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                response.read()
                return True
        except (OSError, ValueError) as exc:
            error = exc
    _console("could not report to %s: %s" % (server, error))
    return False


def _console(message: str) -> None:
    """The admin watches the console (rocks-console); stderr reaches the installer's log too."""
    sys.stderr.write(message.rstrip() + "\n")
    try:
        with open(CONSOLE, "a") as console:
            console.write(message.rstrip() + "\n")
    except OSError:
        pass


def _read(path: str) -> str:
    try:
        with open(path) as handle:
            return handle.read()
    except FileNotFoundError:
        return ""


def _frontend() -> bool:
    return "build" in _read("/proc/cmdline").split()


def pre_decide(args: argparse.Namespace) -> int:
    db_text = _read(args.db_info)
    try:
        db = parse_db_info(db_text) if db_text.strip() else None
    except PartitionError as exc:
        _write(args.out, "")
        _console("partitioning stopped: %s: %s" % (args.db_info, exc))
        return 1
    layout = probe.discover()
    plan = decide(layout.disks, db.recorded if db else None, _read(args.user_info),
                  reset=bool(db and db.reset), frontend=_frontend())
    _write(args.out, plan.partition_info())
    _write(args.plan + ".json", json.dumps(plan.to_dict(), indent=1, sort_keys=True))
    _write(args.plan + ".txt", plan.explain())
    if plan.manual:
        _write("/tmp/manual-partitioning", "")
    sys.stdout.write(plan.explain())
    if args.server and (plan.stop or plan.problems):
        post_json(args.server, PLAN_PATH, args.token, {"plan": plan.to_dict(), "text": plan.explain()})
    if plan.problems:
        _console("partitioning: " + "; ".join(plan.problems))
    if plan.stop:
        _console("partitioning stopped: " + plan.stop)
        return 1
    return 0


def final_layout(fstab_text: str, layout: Layout) -> Layout:
    """The probed layout with mountpoints from the installed system's fstab (by /dev path, or the plan)."""
    mounts = {}
    for line in fstab_text.splitlines():
        fields = line.split()
        if len(fields) >= 2 and not fields[0].startswith("#") and fields[0].startswith("/dev/"):
            mounts[fields[0][len("/dev/"):]] = fields[1] if fields[1] != "none" else fields[2]
    disks = []
    for disk in layout.disks:
        parts = []
        for part in disk.partitions:
            mnt = mounts.get(part.device, "")
            if not mnt and "raid" in part.flags:
                mnt = "raid.%s" % part.device
            if not mnt and part.fstype == "swap":
                mnt = "swap"
            parts.append(PartitionRecord(**dict(part.__dict__, mountpoint=mnt or part.mountpoint)))
        disks.append(DiskRecord(name=disk.name, size=disk.size, sector_size=disk.sector_size,
                                label=disk.label, partitions=tuple(parts)))
    raids = tuple(PartitionRecord(**dict(r.__dict__, mountpoint=mounts.get(r.device, r.mountpoint),
                                         fstype=r.fstype)) for r in layout.raids)
    return Layout(disks=tuple(disks), raids=raids)


def post_report(args: argparse.Namespace) -> int:
    layout = final_layout(_read(os.path.join(args.sysroot, "etc/fstab")), probe.discover(markers=False))
    if args.server and not _frontend():
        post_json(args.server, REPORT_PATH, args.token, layout.to_dict())
    if args.out:
        _write(args.out, layout.to_json())
    paths = probe.disk_paths()
    stamped: list[str] = []
    for disk in layout.disks:
        for part in disk.partitions:
            if part.fstype in ("ext2", "ext3", "ext4", "xfs") and part.mountpoint.startswith("/"):
                # a kept partition already carries this marker: leave its bytes alone
                if probe.read_marker(paths[disk.name], part) != probe.marker_text(part.mountpoint):
                    probe.write_marker(paths[disk.name], part, part.mountpoint)
                    stamped.append(part.device)
    sys.stdout.write("reported %d partitions; stamped %s\n" % (len(layout.all_partitions()),
                                                              ", ".join(stamped) or "nothing"))
    return 0


def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m installer_plugin")
    sub = parser.add_subparsers(dest="command", required=True)
    pre = sub.add_parser("pre-decide", help="decide the layout; write /tmp/partition-info")
    post = sub.add_parser("post-report", help="report the final layout; stamp markers")
    for p in (pre, post):
        p.add_argument("--server", default="", help="http(s)://frontend (no report when empty)")
        p.add_argument("--token", default=None, help="the host's install token")
    pre.add_argument("--db-info", default="/tmp/db_partition_info.json")
    pre.add_argument("--user-info", default="/tmp/user_partition_info")
    pre.add_argument("--out", default="/tmp/partition-info")
    pre.add_argument("--plan", default="/tmp/partition-plan", help="writes PLAN.json and PLAN.txt")
    post.add_argument("--sysroot", default="/mnt/sysimage")
    post.add_argument("--out", default="/tmp/partition-report.json")
    args = parser.parse_args(argv)
    return pre_decide(args) if args.command == "pre-decide" else post_report(args)
