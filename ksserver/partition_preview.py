"""``rocks report host partition``: the plan a host's next install would follow, before it happens.

The host's partitioning %pre programs (compiled from the published generation) run here in a sandbox:
an unprivileged user, a private /tmp and /opt (the plugin bundle unpacked in it exactly as the installer's
first %pre does), no network (``unshare --net``), a time limit per script. ``getDisks()`` and friends answer
from the host's last partition report (``ROCKS_PARTITION_LAYOUT``), never from this machine's disks. What
the programs write to /tmp/user_partition_info then goes through the installer's own decision function.
Markers are assumed where the last install stamped them and the partition is still recorded."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from installer_plugin import bundle
from installer_plugin.decide import Plan, decide
from ksserver.errors import InvalidArgument, RocksError
from ksserver.partition_kickstart import DECIDE_PLACEHOLDER
from rocks_partition.records import DiskRecord, Layout

DEFAULT_TIMEOUT = 30.0
SANDBOX_USER = "nobody"
SETUP_FAILED = 125
_STAMPED = ("ext2", "ext3", "ext4", "xfs")
# Runs inside "unshare --net --mount --propagation private": the sandbox's own /tmp and /opt, then the script
# as the sandbox user (setpriv, no groups) when we are root.
_ENTER = """mount --bind "$SB/opt" /opt || exit 125
mount --bind "$SB/tmp" /tmp || exit 125
cd /tmp || exit 125
if [ -n "$SB_UID" ]; then
    exec setpriv --reuid "$SB_UID" --regid "$SB_GID" --clear-groups --inh-caps=-all -- "$@"
fi
exec "$@"
"""


class PreviewFailed(RocksError):
    """A partitioning %pre program failed, timed out or could not run in the sandbox."""

    status = 500
    exit_code = 1


@dataclass
class Preview:
    plan: Plan
    user_info: str
    log: list[str] = field(default_factory=list)


def as_probed(report: Layout, recorded: Layout) -> list[DiskRecord]:
    """The disks as the next install will probe them: the last report, with the markers its %post stamped
    on partitions that are still recorded. A removed record counts as a removed marker: the seed's
    repartition procedure removes both, and the server cannot look at the node's disks."""
    kept = {(p.device, p.mountpoint) for p in recorded.all_partitions()}
    disks = []
    for disk in report.disks:
        parts = tuple(replace(p, marker=True) if p.fstype in _STAMPED and p.mountpoint.startswith("/")
                      and (p.device, p.mountpoint) in kept else p for p in disk.partitions)
        disks.append(replace(disk, partitions=parts))
    return disks


def _sandbox_ids(user: str) -> tuple[str, str]:
    if os.geteuid() != 0:
        return "", ""  # already unprivileged: a user namespace gives us the mounts
    import pwd

    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise PreviewFailed(f"sandbox user {user!r} does not exist") from None
    if entry.pw_uid == 0:
        raise PreviewFailed(f"sandbox user {user!r} is root")
    return str(entry.pw_uid), str(entry.pw_gid)


def _prepare(root: Path, report: Layout, uid: str, gid: str) -> None:
    for sub in ("tmp", "opt/rocks/bin"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    with tarfile.open(bundle.build(root)) as tar:
        tar.extractall(root / "tmp/product", filter="data")
    (root / "opt/rocks/bin/python").symlink_to("/tmp/product/bin/python")
    (root / "tmp/rocks-layout.json").write_text(report.to_json())
    (root / "enter.sh").write_text(_ENTER)
    root.chmod(0o755)
    if uid:
        for path in [root / "tmp", *(root / "tmp").rglob("*")]:
            os.chown(path, int(uid), int(gid), follow_symlinks=False)
        (root / "tmp").chmod(0o1777)


def pre_scripts(ks_text: str) -> list[tuple[str, str]]:
    """The %pre scripts of a graph kickstart as (interpreter, text), without the decision itself."""
    from pykickstart.constants import KS_SCRIPT_PRE
    from pykickstart.parser import KickstartParser
    from pykickstart.version import makeVersion

    parser = KickstartParser(makeVersion(), missingIncludeIsFatal=False)
    parser.readKickstartFromString(ks_text)
    return [(s.interp or "/bin/sh", s.script) for s in parser.handler.scripts
            if s.type == KS_SCRIPT_PRE and DECIDE_PLACEHOLDER not in s.script]


def run_scripts(scripts: list[tuple[str, str]], report: Layout, timeout: float = DEFAULT_TIMEOUT,
                user: str = SANDBOX_USER) -> tuple[str, list[str]]:
    """Run ``scripts`` ((interpreter, text), in kickstart order) in one sandbox; the resulting
    /tmp/user_partition_info and a log line per script."""
    uid, gid = _sandbox_ids(user)
    log = []
    with tempfile.TemporaryDirectory(prefix="ksserver-partition-preview-") as tmp:
        root = Path(tmp)
        _prepare(root, report, uid, gid)
        unshare = ["unshare", "--net", "--mount", "--propagation", "private"]
        if not uid:
            unshare[1:1] = ["--user", "--map-root-user"]
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "SB": str(root),
               "SB_UID": uid, "SB_GID": gid, "ROCKS_PARTITION_LAYOUT": "/tmp/rocks-layout.json"}
        for n, (interp, text) in enumerate(scripts):
            name = f"ks-script-pre-{n}"
            (root / "tmp" / name).write_text(text)
            if uid:
                os.chown(root / "tmp" / name, int(uid), int(gid))
            argv = [*unshare, "/bin/sh", str(root / "enter.sh"), interp or "/bin/sh", f"/tmp/{name}"]
            out, code = _run(argv, env, timeout, interp)
            if code == SETUP_FAILED:
                raise PreviewFailed(f"the %pre sandbox could not be set up: {out.strip()[-400:]}")
            log.append(f"%pre {interp or '/bin/sh'}: exit {code}" + (f": {out.strip()[-400:]}" if out.strip() else ""))
        info = root / "tmp/user_partition_info"
        return (info.read_text(errors="replace") if info.exists() else ""), log


def _run(argv: list[str], env: dict[str, str], timeout: float, interp: str) -> tuple[str, int]:
    if shutil.which(argv[0]) is None:
        raise PreviewFailed("unshare (util-linux) is needed to run %pre programs in a sandbox")
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.communicate()
        raise PreviewFailed(f"a partitioning %pre ({interp or '/bin/sh'}) ran longer than {timeout:g} s; "
                            f"it was stopped") from None
    return out.decode("utf-8", "replace"), proc.returncode


def preview(scripts: list[tuple[str, str]], report: Layout, recorded: Layout, reset: bool,
            timeout: float = DEFAULT_TIMEOUT, user: str = SANDBOX_USER) -> Preview:
    """The plan of the next install from the last ``report``, the ``recorded`` layout and the reset."""
    if not report.disks:
        raise InvalidArgument("no partition report from this host yet: its next install sees its disks "
                              "for the first time, so there is nothing to preview")
    user_info, log = run_scripts(scripts, report, timeout, user)
    plan = decide(as_probed(report, recorded), recorded, user_info, reset=reset)
    return Preview(plan=plan, user_info=user_info, log=log)
