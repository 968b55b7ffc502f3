"""A VM's console in the browser: where its VNC display is (from libvirt's live domain XML) and a
websockify proxy to it, started on demand.

Each proxy is one ``websockify`` process (Debian package) that serves exactly one WebSocket connection
(``--run-once``) and exits after ``timeout`` seconds without one; it only forwards a connection that
presents a random one-time token (``TokenFile`` plugin, file readable by us only), so an open port does
not open the VM's screen to anyone who finds it.  At most ``max_proxies`` run at once per server process."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from lxml import etree

from ksserver.errors import ConsoleBusy, InvalidArgument, RocksError
from ksserver.services import Cluster

LOOPBACK = ("127.0.0.1", "::1", "localhost")
ANY = ("0.0.0.0", "::", "")


@dataclass(frozen=True)
class VncTarget:
    vm: str
    container: str
    host: str   # where the server connects to reach the display
    port: int


@dataclass(frozen=True)
class ConsoleLease:
    port: int   # the websockify port the browser connects to
    token: str  # ?token= the browser must present
    target: VncTarget


def target_from_xml(xml: str, uri: str, vm: str, container: str) -> VncTarget:
    """The VNC display of a running domain, as this server reaches it.  A display on the loopback of a
    remote container cannot be reached from here (libvirt's ``listen`` must be an address we can reach)."""
    root = etree.fromstring(xml.encode())
    el = root.find("devices/graphics[@type='vnc']")
    if el is None:
        raise InvalidArgument(f"VM {vm} has no VNC display")
    port = el.get("port") or ""
    if not port.isdigit() or int(port) <= 0:
        raise InvalidArgument(f"VM {vm} has no VNC port yet: is it running?")
    listen = el.get("listen")
    if listen is None:
        child = el.find("listen[@type='address']")
        listen = child.get("address") if child is not None else "127.0.0.1"
    remote = urlsplit(uri).hostname
    if remote and remote not in LOOPBACK:
        if listen in LOOPBACK:
            raise InvalidArgument(f"VM {vm}'s display listens on the loopback of container {container} "
                                  f"({remote}), which this server cannot reach")
        host = remote if listen in ANY else listen
    else:
        host = "127.0.0.1" if listen in ANY else listen
    return VncTarget(vm, container, host, int(port))


def vnc_target(cluster: Cluster, name: str) -> VncTarget:
    """Where VM ``name``'s display is, from its container's live domain XML."""
    from ksserver.inventory import vms as vm_rows
    from ksserver.services.vms import _Containers, _translated

    with cluster.db.session() as session, _Containers(cluster) as containers, _translated():
        vm = vm_rows.get_vm(session, name)
        manager = containers.manager(session, vm.phys_host)
        xml = manager.hv.live_xml(vm.host.name)
        uri = vm_rows.libvirt_uri(vm_rows.container_attrs(session, vm.phys_host))
        container = vm.phys_host.name
    return target_from_xml(xml, uri, name, container)


def _free_port(listen: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in listen else socket.AF_INET) as s:
        s.bind((listen, 0))
        return int(s.getsockname()[1])


class ConsoleProxies:
    """The websockify processes of one server process."""

    def __init__(self, workdir: Path, listen: str = "0.0.0.0", max_proxies: int = 8, timeout: int = 60,
                 program: str = "websockify"):
        self.workdir, self.listen, self.max_proxies, self.timeout = workdir, listen, max_proxies, timeout
        self.program = program
        self._live: list[tuple[subprocess.Popen[bytes], Path]] = []
        self._lock = threading.Lock()

    def _reap(self) -> None:
        for proc, token_file in list(self._live):
            if proc.poll() is not None:
                token_file.unlink(missing_ok=True)
                self._live.remove((proc, token_file))

    def live(self) -> int:
        with self._lock:
            self._reap()
            return len(self._live)

    def open(self, target: VncTarget) -> ConsoleLease:
        if shutil.which(self.program) is None:
            raise RocksError("the browser console needs websockify (apt-get install websockify novnc)")
        with self._lock:
            self._reap()
            if len(self._live) >= self.max_proxies:
                raise ConsoleBusy(f"{len(self._live)} consoles are open (at most {self.max_proxies}): "
                                  f"try again in {self.timeout} s")
            self.workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
            token = secrets.token_urlsafe(24)
            token_file = self.workdir / f"{secrets.token_hex(8)}.token"
            fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(f"{token}: {target.host}:{target.port}\n")
            port = _free_port(self.listen)
            log = open(self.workdir / "websockify.log", "ab")  # noqa: SIM115 (the child keeps it)
            with log:
                proc = subprocess.Popen([self.program, "--run-once", f"--timeout={self.timeout}",
                                         "--token-plugin", "TokenFile", "--token-source", str(token_file),
                                         f"{self.listen}:{port}"], stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
            self._live.append((proc, token_file))
        _wait_listening(self.listen, port, proc)
        return ConsoleLease(port, token, target)

    def close(self) -> None:
        with self._lock:
            for proc, token_file in self._live:
                if proc.poll() is None:
                    proc.terminate()
                    proc.wait(10)
                token_file.unlink(missing_ok=True)
            self._live.clear()


def _wait_listening(listen: str, port: int, proc: subprocess.Popen[bytes], limit: float = 10.0) -> None:
    """Return once websockify has bound its port (so the page's script does not race it).  Probed by
    trying to bind it ourselves: a probing connection would be the one connection --run-once serves."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RocksError(f"websockify exited at once (status {proc.returncode}): see its log")
        with socket.socket(socket.AF_INET6 if ":" in listen else socket.AF_INET) as probe:
            try:
                probe.bind((listen, port))
            except OSError:
                return  # taken: websockify holds it
        time.sleep(0.05)
    raise RocksError(f"websockify did not listen on port {port} within {limit:.0f} s")
