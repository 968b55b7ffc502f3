"""A private libvirtd (QEMU driver, session mode) for integration tests; stdlib only, reusable.

Recipe (docs environment-recipes §3): as root, run the Debian ``/usr/sbin/libvirtd`` as uid
65534 in its own session with ``HOME``/``XDG_*`` pointing into a temp dir owned by 65534, and
talk to it over ``qemu+unix:///session?socket=<dir>/run/libvirt/libvirt-sock``. As a non-root
user the daemon simply runs as that user. No /etc changes, no system daemon, no /dev/kvm
(use ``<domain type='qemu'>``: TCG).

    with SessionLibvirtd() as d:          # or d = SessionLibvirtd().start(); ...; d.stop()
        hv = LibvirtHypervisor(d.uri)
        pool_dir = d.path("pool")         # a not-yet-existing dir the daemon may create

Teardown kills, by pid and only after checking the pid still is ours, the QEMU processes
(pidfiles under run/libvirt/qemu/run), virtlogd and libvirtd, then removes the directory.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time

LIBVIRTD = "/usr/sbin/libvirtd"
QEMU = "/usr/bin/qemu-system-x86_64"
NOBODY = 65534


def missing_requirements() -> str | None:
    """Why a real libvirtd cannot run here (for pytest.skip), or None."""
    if not os.access(LIBVIRTD, os.X_OK):
        return f"{LIBVIRTD} not installed (apt-get install libvirt-daemon libvirt-daemon-driver-qemu)"
    if not os.access(QEMU, os.X_OK):
        return f"{QEMU} not installed (apt-get install qemu-system-x86)"
    if os.geteuid() == 0 and not shutil.which("setpriv"):
        return "setpriv (util-linux) is needed to drop root to uid 65534"
    try:
        import libvirt  # noqa: F401
    except ImportError:
        return "libvirt-python not installed"
    return None


class SessionLibvirtd:
    """One unprivileged libvirtd acting as one 'container'."""

    def __init__(self, root: str | None = None, cache_home: str | None = None) -> None:
        # /tmp keeps the socket path well under the 108-byte sun_path limit.
        self.root = root or tempfile.mkdtemp(prefix="xvm-", dir="/tmp")
        self.uid = NOBODY if os.geteuid() == 0 else os.geteuid()
        self.gid = NOBODY if os.geteuid() == 0 else os.getegid()
        self.cache_home = cache_home or os.path.join(self.root, "cache")
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = os.path.join(self.root, "libvirtd.log")
        self._own(self.root)

    @property
    def socket(self) -> str:
        return os.path.join(self.root, "run", "libvirt", "libvirt-sock")

    @property
    def uri(self) -> str:
        return f"qemu+unix:///session?socket={self.socket}"

    def path(self, *parts: str) -> str:
        """A path under this daemon's directory (not created: pool build creates it as the daemon)."""
        return os.path.join(self.root, *parts)

    def _own(self, path: str) -> None:
        os.makedirs(path, exist_ok=True)
        if os.geteuid() == 0:
            os.chown(path, self.uid, self.gid)

    def _display_ports(self, config_home: str) -> None:
        """Each daemon picks VNC ports from its own random range: two test daemons (or another QEMU on
        the machine) both taking 5900 made 'start' fail with 'Address already in use'."""
        import random

        base = random.Random().randrange(20000, 60000, 100)
        conf_dir = os.path.join(config_home, "libvirt")
        os.makedirs(conf_dir, exist_ok=True)
        self._own(conf_dir)
        path = os.path.join(conf_dir, "qemu.conf")
        with open(path, "w") as handle:
            handle.write(f"remote_display_port_min = {base}\nremote_display_port_max = {base + 99}\n"
                         f"websocket_port_min = {base + 100}\nwebsocket_port_max = {base + 199}\n")
        if os.geteuid() == 0:
            os.chown(path, self.uid, self.gid)

    def start(self, timeout: float = 15.0) -> SessionLibvirtd:
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": self.root,
            "XDG_RUNTIME_DIR": os.path.join(self.root, "run"),
            "XDG_CONFIG_HOME": os.path.join(self.root, "config"),
            "XDG_CACHE_HOME": self.cache_home,
            "XDG_DATA_HOME": os.path.join(self.root, "data"),
        }
        for key in ("XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
            self._own(env[key])
        self._own(self.cache_home)
        self._display_ports(env["XDG_CONFIG_HOME"])
        argv = [LIBVIRTD]
        if os.geteuid() == 0:
            argv = ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups", *argv]
        with open(self.log_path, "ab") as log:
            # start_new_session = setsid: the daemon gets its own session and process group.
            self.proc = subprocess.Popen(
                argv,
                env=env,
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.socket):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"libvirtd did not create {self.socket} within {timeout}s:\n{self.log_tail()}"
                )
            time.sleep(0.02)
        return self

    def log_tail(self, lines: int = 20) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as fh:
                return "".join(fh.readlines()[-lines:])
        except OSError:
            return ""

    def _pidfiles(self) -> list[str]:
        run = os.path.join(self.root, "run", "libvirt")
        qemu_run = os.path.join(run, "qemu", "run")
        names = (
            [
                os.path.join(qemu_run, f)
                for f in sorted(os.listdir(qemu_run))
                if f.endswith(".pid") and f != "driver.pid"
            ]
            if os.path.isdir(qemu_run)
            else []
        )
        return names + [os.path.join(run, "virtlogd.pid")]

    def _ours(self, pid: int) -> bool:
        """Only signal a pid that runs as our uid and whose command line mentions our directory
        (QEMU: its config paths; virtlogd: inherits our XDG dirs) - never a recycled pid."""
        try:
            if os.stat(f"/proc/{pid}").st_uid != self.uid:
                return False
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmd = fh.read()
            with open(f"/proc/{pid}/environ", "rb") as fh:
                environ = fh.read()
        except OSError:
            return False
        return self.root.encode() in cmd or self.root.encode() in environ

    def kill(self) -> None:
        """SIGKILL libvirtd only (simulates a container's libvirt dying); QEMU keeps running."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self, timeout: float = 5.0) -> None:
        """Kill libvirtd, its virtlogd and QEMU children (by pid), wait, and remove the directory."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
        for pidfile in self._pidfiles():
            try:
                with open(pidfile) as fh:
                    pid = int(fh.read().strip() or "0")
            except (OSError, ValueError):
                continue
            if pid > 1 and self._ours(pid):
                _kill_and_wait(pid, timeout)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> SessionLibvirtd:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def _kill_and_wait(pid: int, timeout: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _running(pid):
            return
        time.sleep(0.02)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[-1][:1] not in ("Z", "X")  # zombies are dead enough
    except OSError:
        return False
