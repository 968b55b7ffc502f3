"""Harness proof 1: QEMU's iPXE ROM on restricted user-mode networking fetches its per-host iPXE
script over HTTP from a server on 127.0.0.1, boots kernel + initramfs, and the guest fetches a
kickstart with the MAC header and token, reports "finished", and powers off."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from ksserver.grubconf import BootTarget, ipxe_script
from tests.netboot import qemu
from tests.netboot.guest import KICKSTART_CLIENT, install_args
from tests.netboot.httpd import RecordingServer
from tests.netboot.kernel import KernelKit, build_initramfs

MAC = "52:54:00:12:34:56"
KICKSTART = "# kickstart for compute-0-0\ntext\n%packages\n@core\n%end\n"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def test_ipxe_http_boot_to_kickstart_and_report(tmp_path: Path, kernel: KernelKit) -> None:
    www = tmp_path / "www"
    (www / "images").mkdir(parents=True)
    shutil.copy2(kernel.vmlinuz, www / "images" / "vmlinuz")
    build_initramfs(www / "images" / "initrd.img", kernel, KICKSTART_CLIENT)
    base = f"http://{qemu.GUEST_HTTP}"
    target = BootTarget(host="compute-0-0", mac=MAC, action="install", kernel=f"{base}/images/vmlinuz",
                        initrd=f"{base}/images/initrd.img",
                        args=install_args(f"{base}/install/sbin/kickstart.cgi", "tok123",
                                          f"{base}/install/sbin/public/report"))
    (www / "install" / "sbin").mkdir(parents=True)
    (www / "install" / "ipxe").write_text(ipxe_script(target))
    (www / "install" / "sbin" / "kickstart.cgi").write_text(KICKSTART)

    with RecordingServer(tmp_path, www) as server:
        result = qemu.boot(qemu.user_net(MAC, server.port, "/install/ipxe?mac=${net0/mac}"),
                           tmp_path / "serial.log", timeout=120)
        requests = server.requests()

    assert not result.timed_out, result.serial[-3000:]
    assert "NETBOOT: poweroff" in result.lines(), result.serial[-3000:]
    paths = [(r["method"], urlsplit(r["path"]).path) for r in requests]
    assert paths == [("GET", "/install/ipxe"), ("GET", "/images/vmlinuz"), ("GET", "/images/initrd.img"),
                     ("GET", "/install/sbin/kickstart.cgi"), ("POST", "/install/sbin/public/report")]
    script_fetch, kickstart, report = requests[0], requests[3], requests[4]
    assert parse_qs(urlsplit(script_fetch["path"]).query) == {"mac": [MAC]}  # iPXE expanded ${net0/mac}
    assert script_fetch["headers"]["user-agent"].startswith("iPXE/")
    assert kickstart["headers"]["x-rhn-provisioning-mac-0"] == f"eth0 {MAC}"
    assert parse_qs(urlsplit(kickstart["path"]).query) == {"token": ["tok123"]}
    assert parse_qs(report["body"]) == {"stage": ["finished"], "mac": [MAC]}
    assert f"NETBOOT: mac {MAC}" in result.lines()
    assert "NETBOOT: reported finished" in result.lines()
