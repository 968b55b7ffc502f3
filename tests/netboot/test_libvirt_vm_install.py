"""A VM made by ``rocks add host vm`` + ``rocks create host vm`` on a real libvirtd (session daemon, QEMU TCG)
PXE-boots against a real ``ksserver serve``: its user-mode NIC's DHCP boot file is the server's
``/install/ipxe?mac=...``; our initramfs plays the installer (kickstart with the token from its kernel
line, every stage reported, ``finished``, power off) and the server flips it to os.  Then ``shoot-node``
reinstalls it with a new token, and ``rocks console host --serial`` (rocks-console --serial) shows the
installer's ttyS0 output.  ``rocks console host`` hands QEMU's VNC display to a viewer: a stand-in viewer
script (no real viewer can run without a display) that reads the RFB greeting from the port it is given.

The guest reaches the host's loopback as 10.0.2.2 (slirp), so the VM's Kickstart_PrivateKickstartHost is
``10.0.2.2:<port>``; it appears to the server as 127.0.0.1, which identifies nobody: the token does."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pytest

from ksserver.db.session import Database
from ksserver.services import Cluster, console
from tests.cli.test_vms_libvirtd import _container
from tests.netboot.kernel import KernelKit
from tests.netboot.ksserve import ksserver
from tests.netboot.test_ksserver_install_boot import _os_tree
from tests.xenvm.conftest import libvirt_cache_home, libvirtd_factory  # noqa: F401  (fixtures)

# loglevel=1: no kernel message lands in the middle of a NETBOOT line on a busy machine.
KERNEL_ARGS = "console=ttyS0 panic=-1 loglevel=1"
pytestmark = [pytest.mark.slow, pytest.mark.libvirtd, pytest.mark.timeout(600)]
VM = "compute-0-0-0"
BOOT_TIMEOUT = "240"  # seconds a TCG install may take on a busy 2-core machine

VIEWER = """#!{python}
import socket, sys
host, _, port = sys.argv[1].partition("::")
with socket.create_connection((host, int(port)), timeout=10) as s:
    greeting = s.recv(12)
open({out!r}, "w").write(sys.argv[1] + " " + greeting.decode("ascii", "replace"))
"""


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'cluster.db'}"


def _token(settings, mac: str) -> str:  # type: ignore[no-untyped-def]
    text = (settings.tftp_dir / "ipxe" / (mac.replace(":", "-") + ".ipxe")).read_text()
    return re.search(r"token=([A-Za-z0-9_-]+)", text)[1]  # type: ignore[index]


def _netboot_lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace("\r", "").splitlines() if line.strip().startswith("NETBOOT:")]


def _installed(result, lines: list[str], log: str) -> None:  # type: ignore[no-untyped-def]
    assert result.code == 0, result
    lines = [*lines, result.out[-4000:]]  # shown when an assertion fails
    assert "console closed: VM stopped" in result.err, (result.err, lines, log)
    assert any(line.startswith("NETBOOT: kickstart fetched") for line in lines), (lines, log)
    for stage in ("kickstart", "pre", "partition", "packages", "post", "finished"):
        assert f"NETBOOT: reported {stage}" in lines, (lines, log)
    assert "NETBOOT: replay refused" in lines
    assert "NETBOOT: next answer 1 sanboot" in lines


def _state(rocks) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    status = rocks("list", "host", "status", VM).out.splitlines()[1].split()
    boot = rocks("list", "host", "boot", VM).out.splitlines()[1].split()[1]
    return status[1], boot


def test_vm_pxe_installs_reinstalls_and_shows_its_console(tmp_path: Path, kernel: KernelKit, cluster, settings,
                                                          libvirtd_factory, hypervisors, monkeypatch):  # noqa: F811
    rocks = cluster
    daemon = libvirtd_factory()
    _container(rocks, "vm-container-0-0", daemon)
    tree = _os_tree(tmp_path / "tree", kernel)
    assert rocks("add", "distribution", "testos", f"path={tree}").code == 0
    assert rocks("add", "bootaction", "action=install", "kernel=images/testos/x86_64/vmlinuz",
                 "ramdisk=images/testos/x86_64/initrd.img", f"args={KERNEL_ARGS}").code == 0
    assert rocks("add", "host", "vm", "vm-container-0-0", "membership=Compute", "mem=384", "disksize=1").code == 0
    mac = rocks("list", "host", "vm", VM).out.splitlines()[1].split()[4]
    viewer_dir, seen = tmp_path / "viewer", tmp_path / "viewer.out"
    viewer_dir.mkdir()
    (viewer_dir / "vncviewer").write_text(VIEWER.format(python=sys.executable, out=str(seen)))
    (viewer_dir / "vncviewer").chmod(0o755)

    with ksserver(settings) as port:
        log = settings.root / "serve.log"
        assert rocks("set", "host", "attr", VM, "Kickstart_PrivateKickstartHost", f"10.0.2.2:{port}").code == 0
        assert rocks("create", "host", "vm", VM).code == 0
        first_token = _token(settings, mac)
        assert f"bootfile=http://10.0.2.2:{port}/install/ipxe?mac={mac}" in rocks("report", "host", "vm", "config",
                                                                                  VM).out
        with monkeypatch.context() as patch:  # only the stand-in viewer on PATH
            patch.setenv("PATH", str(viewer_dir))
            shown = rocks("console", "host", VM)  # the stand-in viewer talks to QEMU's VNC server
        assert shown.code == 0, shown
        assert re.fullmatch(r"127\.0\.0\.1::\d+ RFB 003\.00\d\n", seen.read_text()), seen.read_text()
        printed = rocks("console", "host", VM, "print=yes").out
        assert printed == f"vncviewer {seen.read_text().split()[0]}\n"

        brief = rocks("console", "host", VM, "serial=yes", "timeout=1")
        assert brief.code == 0 and "console closed: timeout" in brief.err, brief
        read_end, write_end = os.pipe()  # keys: Ctrl-] leaves at once
        os.write(write_end, b"\x1d")
        db = Database.from_url(settings.effective_database_url)
        try:
            assert console.serial_console(Cluster(settings, db, hypervisors), VM, lambda _: None,
                                          keys_fd=read_end, timeout=60) == "escape"
        finally:
            db.dispose()
            os.close(read_end)
            os.close(write_end)

        first = rocks("console", "host", VM, "serial=yes", f"timeout={BOOT_TIMEOUT}")
        _installed(first, _netboot_lines(first.out), log.read_text()[-3000:])
        assert _state(rocks) == ("finished", "os")
        assert rocks("list", "host", "vm", VM).out.splitlines()[1].split()[-1] == "shutoff"

        shot = rocks("shoot", "node", VM, "follow=no")
        assert shot.code == 0, shot
        assert _token(settings, mac) != first_token
        second = rocks("console", "host", VM, "--serial", "yes", "--timeout", BOOT_TIMEOUT)
        _installed(second, _netboot_lines(second.out), log.read_text()[-3000:])
        for _ in range(50):  # the flip is committed before the guest powers off; the listing is immediate
            if _state(rocks) == ("finished", "os"):
                break
            time.sleep(0.1)
        assert _state(rocks) == ("finished", "os")
