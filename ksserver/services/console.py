"""rocks-console: where a host's console is, and the serial console of a VM.

- A VM: the VNC display libvirt reports for its running domain.  QEMU listens on the container's
  loopback, so when the container's libvirt URI names a remote host the display is reached through
  ``ssh -L`` to that host (the same user/port the URI uses).  ``serial_console`` streams the domain's
  serial console through libvirt (an installer booted with ``console=ttyS0`` shows up there).
- A physical node: the installer's own VNC server (``inst.vnc``: display :1, port 5901; host attribute
  ``install_vnc_port`` overrides) on its address on a provisioning network.

The service finds and describes; starting a viewer or a tunnel is the front end's business, with the
argv built here (``viewer_argv``, ``VncTarget.tunnel_argv``) so the printed command is the one it would run.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from ksserver.errors import InvalidArgument, VMFailure
from ksserver.inventory import hosts
from ksserver.inventory import vms as vms_db
from ksserver.inventory.context import host_attrs
from ksserver.services import Cluster
from ksserver.services.vms import container_connection

INSTALLER_VNC_PORT = 5901  # anaconda's inst.vnc serves display :1
# Viewers in order of preference, and how each names a display given as host + TCP port.
VIEWERS: tuple[tuple[str, Callable[[str, int], list[str]]], ...] = (
    ("remote-viewer", lambda h, p: [f"vnc://{h}:{p}"]),
    ("vncviewer", lambda h, p: [f"{h}::{p}"]),
    ("xtightvncviewer", lambda h, p: [f"{h}::{p}"]),
    ("xvnc4viewer", lambda h, p: [f"{h}::{p}"]),
)
_LOCAL_TRANSPORTS = ("", "unix")


@dataclass(frozen=True)
class VncTarget:
    host: str
    kind: str                 # vm | installer
    address: str              # where the viewer connects (after the tunnel, if any)
    port: int
    ssh_host: str = ""        # non-empty: reach address:port through ``ssh -L`` to this host
    ssh_port: str = ""
    remote_address: str = ""  # the display as the ssh host sees it
    remote_port: int = 0

    @property
    def tunnel_argv(self) -> list[str]:
        """``ssh -N -L`` forwarding ``address:port`` here to the display on the container ([] if local)."""
        if not self.ssh_host:
            return []
        port = ["-p", self.ssh_port] if self.ssh_port else []
        return ["ssh", "-N", "-o", "ExitOnForwardFailure=yes", *port,
                "-L", f"{self.address}:{self.port}:{self.remote_address}:{self.remote_port}", self.ssh_host]


def _remote(uri: str) -> tuple[str, str]:
    """(ssh destination, ssh port) when a libvirt URI reaches another host, else ("", "")."""
    parts = urlsplit(uri)
    transport = parts.scheme.partition("+")[2]
    if transport in _LOCAL_TRANSPORTS or not parts.hostname or parts.hostname in ("localhost", "127.0.0.1"):
        return "", ""
    user = f"{parts.username}@" if parts.username else ""
    return f"{user}{parts.hostname}", str(parts.port or "")


def _install_address(host) -> str:  # type: ignore[no-untyped-def]
    ifaces = sorted((i for i in host.interfaces if i.ip), key=lambda i: (not (i.subnet and i.subnet.provisioning),
                                                                       i.device))
    if not ifaces:
        raise InvalidArgument(f"host {host.name} has no IP address: cannot reach its installer's VNC")
    return str(ifaces[0].ip)


@dataclass(frozen=True)
class _Where:
    """Where a host's consoles are, from one short read (no session held while a console runs)."""

    vm: bool
    uri: str = ""         # VM: its container's libvirt URI
    container: str = ""
    address: str = ""     # physical node: its install address
    vnc_port: str = ""    # physical node: install_vnc_port attribute


def _where(cluster: Cluster, name: str) -> _Where:
    with cluster.db.session() as session:
        host = hosts.get_host(session, name)
        if not vms_db.is_vm(session, host):
            port = host_attrs(session, host).get("install_vnc_port", str(INSTALLER_VNC_PORT))
            return _Where(False, address=_install_address(host), vnc_port=port)
        vm = vms_db.get_vm(session, name)
        return _Where(True, vms_db.libvirt_uri(vms_db.container_attrs(session, vm.phys_host)), vm.phys_host.name)


def vnc_target(cluster: Cluster, name: str, local_port: int | None = None) -> VncTarget:
    """Where ``name``'s graphical console is.  ``local_port``: this end of an ssh tunnel (default: the
    remote port number)."""
    from xenvm.console import vnc_display

    where = _where(cluster, name)
    if not where.vm:
        if not where.vnc_port.isdigit() or not 0 < int(where.vnc_port) < 65536:
            raise InvalidArgument(f"host {name}: install_vnc_port must be a TCP port, not {where.vnc_port!r}")
        return VncTarget(name, "installer", where.address, int(where.vnc_port))
    with container_connection(cluster, where.uri, where.container) as hv:
        if hv.state(name) not in ("active", "paused"):
            raise VMFailure(f"VM {name} is not running ({hv.state(name)}): start it first "
                            f"('rocks start host vm {name}')")
        display = vnc_display(hv, name)
    if display is None:
        raise VMFailure(f"VM {name} has no VNC display on {where.container}")
    listen = "127.0.0.1" if display.listen in ("0.0.0.0", "::", "") else display.listen
    ssh_host, ssh_port = _remote(where.uri)
    if not ssh_host:
        return VncTarget(name, "vm", listen, display.port)
    return VncTarget(name, "vm", "127.0.0.1", local_port or display.port, ssh_host, ssh_port,
                     listen, display.port)


def viewer_argv(target: VncTarget, which: Callable[[str], str | None] = shutil.which) -> list[str] | None:
    """The first VNC viewer on PATH, as an argv for ``target`` (after any tunnel), or None."""
    for program, display in VIEWERS:
        path = which(program)
        if path:
            return [path, *display(target.address, target.port)]
    return None


def suggested_commands(target: VncTarget) -> list[str]:
    """The exact commands an admin runs by hand: the tunnel (if any), then a viewer."""
    import shlex

    program, display = VIEWERS[1]  # vncviewer: the name most systems have
    lines = [shlex.join(target.tunnel_argv) + " &"] if target.ssh_host else []
    return [*lines, shlex.join([program, *display(target.address, target.port)])]


def serial_console(cluster: Cluster, name: str, sink: Callable[[bytes], None], *, keys_fd: int | None = None,
                   timeout: float | None = None, force: bool = False) -> str:
    """Stream VM ``name``'s serial console into ``sink`` (keystrokes from ``keys_fd`` go to the guest)
    until the guest stops, Ctrl-] is typed or ``timeout`` seconds pass; returns which of
    ``stopped``/``escape``/``timeout``.  A physical node has no console stream: InvalidArgument."""
    from xenvm.console import copy_console

    where = _where(cluster, name)
    if not where.vm:
        raise InvalidArgument(f"host {name} is not a VM: its serial console is on its BMC "
                              f"(ipmitool sol activate) or its console server, not in libvirt")
    with container_connection(cluster, where.uri, where.container) as hv:
        return copy_console(hv, name, sink, keys_fd=keys_fd, timeout=timeout, force=force)
