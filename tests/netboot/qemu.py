"""Booting a QEMU guest (TCG: KVM is unusable on these machines) from the network, bounded in time,
serial console captured to a file.

Two ways onto a network:
- user-mode (slirp) with ``restrict=on``: the guest reaches nothing but the HTTP server on the host's
  loopback, forwarded as ``http://10.0.2.100/`` (``guestfwd`` to ``socat``), and slirp's own DHCP hands
  iPXE ``bootfile=`` (an HTTP URL of an iPXE script);
- a tap device inside a network namespace (see ``netns.py``), where a real DHCP server answers.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.lifecycle.tools import need

GUEST_HTTP = "10.0.2.100"      # the address under which a user-mode guest sees the host's HTTP server
DEFAULT_TIMEOUT = 90.0
IPXE_ROM = Path("/usr/lib/ipxe/qemu/pxe-virtio.rom")  # QEMU loads it for virtio-net-pci


@dataclass(frozen=True)
class BootResult:
    returncode: int | None     # None: killed at the timeout
    serial: str

    @property
    def timed_out(self) -> bool:
        return self.returncode is None

    def lines(self, prefix: str = "NETBOOT:") -> list[str]:
        return [line.strip() for line in self.serial.splitlines() if line.strip().startswith(prefix)]


def user_net(mac: str, http_port: int, bootfile_path: str) -> list[str]:
    """QEMU arguments for a virtio NIC on restricted user-mode networking; ``bootfile_path`` is
    fetched as ``http://10.0.2.100<bootfile_path>`` from ``127.0.0.1:<http_port>``."""
    socat = need("socat", "socat")
    netdev = (f"user,id=n0,restrict=on,bootfile=http://{GUEST_HTTP}{bootfile_path},"
              f"guestfwd=tcp:{GUEST_HTTP}:80-cmd:{socat} - TCP:127.0.0.1:{http_port}")
    return ["-netdev", netdev, "-device", f"virtio-net-pci,netdev=n0,mac={mac}"]


def tap_net(mac: str, ifname: str) -> list[str]:
    return ["-netdev", f"tap,id=n0,ifname={ifname},script=no,downscript=no",
            "-device", f"virtio-net-pci,netdev=n0,mac={mac}"]


def boot(net_args: list[str], serial: Path, timeout: float = DEFAULT_TIMEOUT, prefix: list[str] | None = None,
         extra: list[str] | None = None, memory_mb: int = 384) -> BootResult:
    """Boot from the network (iPXE ROM from ipxe-qemu) until the guest powers off or ``timeout``."""
    qemu = need("qemu-system-x86_64", "qemu-system-x86")
    if not IPXE_ROM.exists():
        pytest.skip(f"{IPXE_ROM} missing: install the Debian package ipxe-qemu (make deps)")
    cmd = [*(prefix or []), qemu, "-accel", "tcg", "-m", str(memory_mb), "-nographic", "-no-reboot",
           "-monitor", "none", "-serial", f"file:{serial}", "-boot", "n", *net_args, *(extra or [])]
    with open(serial.with_suffix(".qemu-stderr"), "w") as stderr:
        process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        code: int | None = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        code = None
    text = serial.read_text(errors="replace") if serial.exists() else ""
    return BootResult(returncode=code, serial=text)
