"""A running VM's consoles: the VNC display libvirt reports, and the serial console through a libvirt
stream (virDomainOpenConsole), which works the same on a local or a remote (``qemu+ssh``) container.

The serial copy runs libvirt's blocking ``recv`` in a worker thread, so the caller can stop it at a
deadline (the stream is aborted) or when the user types the escape key (Ctrl-], as in ``virsh console``).
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from .errors import InvalidState
from .hypervisor import LibvirtHypervisor, _libvirt

ESCAPE = b"\x1d"  # Ctrl-]


@dataclass(frozen=True)
class VncDisplay:
    listen: str  # the address QEMU listens on, as seen from the container
    port: int


def vnc_display(hv: LibvirtHypervisor, name: str) -> VncDisplay | None:
    """The VNC display of a running domain (live XML: the port autoport picked), or None."""
    root = etree.fromstring(hv.live_xml(name).encode())
    el = root.find("devices/graphics[@type='vnc']")
    if el is None:
        return None
    port = el.get("port") or ""
    if not port.isdigit() or int(port) <= 0:
        return None
    listen = el.get("listen") or ""
    if not listen:
        sub = el.find("listen[@address]")
        listen = sub.get("address") if sub is not None else ""
    return VncDisplay(listen=listen or "127.0.0.1", port=int(port))


def copy_console(hv: LibvirtHypervisor, name: str, sink: Callable[[bytes], None], *,
                 keys_fd: int | None = None, timeout: float | None = None, force: bool = False) -> str:
    """Copy the domain's serial console to ``sink`` and, with ``keys_fd``, keystrokes to the guest.

    Returns why it stopped: ``"stopped"`` (the guest powered off: end of stream), ``"escape"`` (Ctrl-] on
    ``keys_fd``) or ``"timeout"``.  ``force`` takes the console over from another client."""
    libvirt = _libvirt()
    if hv.state(name) not in ("active", "paused"):
        raise InvalidState(f"VM {name} is not running ({hv.state(name)}): no console to attach to", vm=name)
    dom = hv._dom(name)
    stream = hv.conn.newStream(0)
    with hv.translating("open the serial console of", name):
        dom.openConsole(None, stream, libvirt.VIR_DOMAIN_CONSOLE_FORCE if force else 0)
    ended = threading.Event()
    failure: list[BaseException] = []

    def pump() -> None:
        try:
            while True:
                data = stream.recv(4096)
                if not data or not isinstance(data, bytes):  # b"": the guest is gone
                    return
                sink(data)
        except libvirt.libvirtError as exc:
            if not ended.is_set():  # an abort we asked for is not an error
                failure.append(exc)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            failure.append(exc)
        finally:
            ended.set()

    reader = threading.Thread(target=pump, name=f"console-{name}", daemon=True)
    reader.start()
    reason = "stopped"
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while not ended.is_set():
            wait = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
            if wait <= 0:
                reason = "timeout"
                break
            if keys_fd is None:
                ended.wait(wait)
                continue
            ready, _, _ = select.select([keys_fd], [], [], wait)
            if ready:
                keys = os.read(keys_fd, 1024)
                if not keys or ESCAPE in keys:
                    reason = "escape"
                    break
                with hv.translating("write to the serial console of", name):
                    stream.send(keys)
    finally:
        stopped_here = not ended.is_set()
        ended.set()
        if stopped_here:
            with contextlib.suppress(libvirt.libvirtError):
                stream.abort()
        else:
            with contextlib.suppress(libvirt.libvirtError):
                stream.finish()
        reader.join(timeout=5)
    if failure and reason == "stopped":
        exc = failure[0]
        if isinstance(exc, libvirt.libvirtError):
            raise hv.error(exc, "read the serial console of", name)
        raise exc
    return reason
