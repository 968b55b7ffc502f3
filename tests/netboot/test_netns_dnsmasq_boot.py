"""Harness proof 2: the whole chain through a real DHCP/TFTP server.  An ISO holding the test kernel
and initramfs is imported with ``import_tree`` (TFTP boot area), dnsmasq runs in a private network
namespace with the config ``render_dnsmasq`` wrote, and a QEMU guest on a tap gets its fixed address,
the HTTP URL of its iPXE script, kernel and initrd over TFTP, then the kickstart over HTTP."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from ksserver.dhcpconf import DhcpHost, DhcpSettings, render_dnsmasq
from ksserver.distributions import import_tree
from ksserver.grubconf import BootTarget, ipxe_script
from tests.lifecycle.tools import need
from tests.lifecycle.trees import make_iso
from tests.netboot import qemu
from tests.netboot.guest import KICKSTART_CLIENT, install_args
from tests.netboot.httpd import RecordingServer
from tests.netboot.kernel import KernelKit, build_initramfs
from tests.netboot.netns import NetNamespace

MAC = "52:54:00:77:00:01"
HOST_IP = "10.77.0.10"
KICKSTART = "text\n%packages\n@core\n%end\n"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def test_dhcp_tftp_boot_in_a_namespace(tmp_path: Path, kernel: KernelKit) -> None:
    dnsmasq = need("dnsmasq", "dnsmasq-base")
    src = tmp_path / "dvd"
    (src / "images" / "pxeboot").mkdir(parents=True)
    shutil.copy2(kernel.vmlinuz, src / "images" / "pxeboot" / "vmlinuz")
    build_initramfs(src / "images" / "pxeboot" / "initrd.img", kernel, KICKSTART_CLIENT)
    state = tmp_path / "state"
    info = import_tree(make_iso(src, tmp_path / "dvd.iso"), state, "testos", "x86_64")
    tftp_root = state / "tftpboot"
    www = tmp_path / "www"
    (www / "install" / "sbin").mkdir(parents=True)
    (www / "install" / "sbin" / "kickstart.cgi").write_text(KICKSTART)

    with NetNamespace(server_cidr="10.77.0.1/24") as ns:
        server = RecordingServer(tmp_path, www, bind=ns.server_ip, prefix=ns.prefix)
        ns.processes.append(server.start().process)  # stopped with the namespace
        http = f"http://{ns.server_ip}:{server.port}"
        kernel_path = info.kernel.relative_to(tftp_root)
        initrd_path = info.initrd.relative_to(tftp_root)
        target = BootTarget(host="compute-0-0", mac=MAC, action="install",
                            kernel=f"tftp://{ns.server_ip}/{kernel_path}",
                            initrd=f"tftp://{ns.server_ip}/{initrd_path}",
                            args=install_args(f"{http}/install/sbin/kickstart.cgi", "tok77",
                                              f"{http}/install/sbin/public/report"))
        (www / "install" / "ipxe").write_text(ipxe_script(target))
        conf = tmp_path / "dnsmasq.conf"
        conf.write_text(render_dnsmasq(
            [DhcpHost("compute-0-0", MAC, HOST_IP, "10.77.0.0", "255.255.255.0", router=ns.server_ip)],
            DhcpSettings(server_ip=ns.server_ip, http_base=http, tftp_root=str(tftp_root),
                         interface=ns.bridge)))
        dhcp_log = tmp_path / "dnsmasq.log"
        ns.start([dnsmasq, "-k", f"--conf-file={conf}", f"--log-facility={dhcp_log}", "--user=root",
                  f"--dhcp-leasefile={tmp_path / 'leases'}", f"--pid-file={tmp_path / 'dnsmasq.pid'}"],
                 tmp_path / "dnsmasq.out")
        result = qemu.boot(qemu.tap_net(MAC, ns.tap), tmp_path / "serial.log", timeout=150, prefix=ns.prefix)
        requests = server.requests()
    dhcp = dhcp_log.read_text() if dhcp_log.exists() else ""

    assert not result.timed_out, result.serial[-3000:] + dhcp[-2000:]
    assert f"DHCPACK(br0) {HOST_IP} {MAC} compute-0-0" in dhcp
    assert f"sent {info.kernel} to {HOST_IP}" in dhcp                 # TFTP from the imported boot area
    assert f"sent {info.initrd} to {HOST_IP}" in dhcp
    assert [(r["method"], urlsplit(r["path"]).path) for r in requests] == [
        ("GET", "/install/ipxe"), ("GET", "/install/sbin/kickstart.cgi"),
        ("POST", "/install/sbin/public/report")]
    assert all(r["client"] == HOST_IP for r in requests)                 # the fixed address, from dnsmasq
    assert parse_qs(urlsplit(requests[0]["path"]).query) == {"mac": [MAC]}
    assert requests[1]["headers"]["x-rhn-provisioning-mac-0"] == f"eth0 {MAC}"
    assert parse_qs(requests[2]["body"])["stage"] == ["finished"]
    assert f"NETBOOT: lease ip={HOST_IP} mask=24 router={ns.server_ip}" in " ".join(result.lines())
