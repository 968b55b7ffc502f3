"""The real DHCP/TFTP path of an install, as a rack node sees it.  In a network namespace the test creates,
dnsmasq runs with the configuration ``rocks report dhcpd format=dnsmasq`` wrote for the cluster (the
namespace's subnet is a provisioning network there) and serves TFTP from the tree ksserver writes; a real
``ksserver serve`` runs inside the namespace on its server address.  A QEMU guest on a tap gets its fixed
address and the HTTP URL of its iPXE script from dnsmasq, its script, kernel and initrd from ksserver, reads
its pxelinux file over TFTP (what a PXE ROM would load), fetches its kickstart by its own address and with
its token, reports every stage and ``finished``; the server flips it to os."""

from __future__ import annotations

from pathlib import Path

import pytest

from ksserver.config import load_settings
from ksserver.pxe import hex_ip
from tests.lifecycle.tools import need
from tests.netboot import qemu
from tests.netboot.kernel import KernelKit
from tests.netboot.ksserve import free_port, ksserver
from tests.netboot.netns import NetNamespace
from tests.netboot.test_ksserver_install_boot import INSTALLER, _os_tree

# loglevel=1: no kernel message lands in the middle of a NETBOOT line on a busy machine.
KERNEL_ARGS = "console=ttyS0 panic=-1 loglevel=1"
pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]
SERVER_CIDR = "10.77.0.1/24"
SERVER_IP = SERVER_CIDR.split("/")[0]
HOST, MAC, HOST_IP = "compute-0-0", "52:54:00:00:01:00", "10.77.0.10"

# Before the installer: what a PXE ROM reads over TFTP, and the kickstart by address alone.
RACK_NODE = rf"""
if tftp -g -r pxelinux.cfg/{hex_ip(HOST_IP)} -l /tmp/pxe {SERVER_IP}; then
    grep -q 'token=' /tmp/pxe && echo "NETBOOT: tftp pxelinux.cfg has the install token"
else
    echo "NETBOOT: tftp failed"
fi
base="${{ARG_inst_ks%%/install/*}}"
if wget -q -O /tmp/ks-by-address "$base/install/sbin/kickstart.cgi"; then
    echo "NETBOOT: kickstart by address $(grep -c '^%packages' /tmp/ks-by-address)"
else
    echo "NETBOOT: kickstart by address refused"
fi
"""


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'cluster.db'}"


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def settings(tmp_path, db_url, port):
    return load_settings(environ={}, root=tmp_path / "state", database_url=db_url, evals=True,
                         install_server_url=f"http://{SERVER_IP}:{port}")


def test_install_through_dnsmasq_dhcp_and_tftp(tmp_path: Path, kernel: KernelKit, cluster, settings,
                                               port) -> None:
    dnsmasq = need("dnsmasq", "dnsmasq-base")
    rocks = cluster
    tree = _os_tree(tmp_path / "tree", kernel, RACK_NODE + INSTALLER)
    for argv in (["add", "distribution", "testos", f"path={tree}"],
                 ["add", "bootaction", "action=install", "kernel=images/testos/x86_64/vmlinuz",
                  "ramdisk=images/testos/x86_64/initrd.img", f"args={KERNEL_ARGS}"],
                 ["add", "network", "nbnet", "subnet=10.77.0.0", "netmask=255.255.255.0", "provisioning=yes"],
                 ["remove", "host", "interface", HOST, "eth0"],
                 ["add", "host", "interface", HOST, "eth0", f"mac={MAC}", f"ip={HOST_IP}", "subnet=nbnet"],
                 ["set", "attr", "Kickstart_PrivateKickstartHost", SERVER_IP],
                 ["set", "attr", "dhcp_nextserver", SERVER_IP],
                 ["set", "attr", "dhcp_interface", "br0"],
                 ["set", "host", "boot", HOST, "action=install"]):
        result = rocks(*argv)
        assert result.code == 0, (argv, result)
    report = rocks("report", "dhcpd", "format=dnsmasq")
    assert report.code == 0, report
    conf = tmp_path / "dnsmasq.conf"
    conf.write_text(report.out)
    assert any(MAC in line and HOST_IP in line for line in report.out.splitlines()), report.out
    assert f"tftp-root={settings.tftp_dir.resolve()}" in report.out

    dhcp_log = tmp_path / "dnsmasq.log"
    with NetNamespace(server_cidr=SERVER_CIDR, bridge="br0") as ns:
        ns.start([dnsmasq, "-k", f"--conf-file={conf}", f"--log-facility={dhcp_log}", "--user=root",
                  f"--dhcp-leasefile={tmp_path / 'leases'}", f"--pid-file={tmp_path / 'dnsmasq.pid'}"],
                 tmp_path / "dnsmasq.out")
        with ksserver(settings, bind=SERVER_IP, prefix=ns.prefix, port=port):
            result = qemu.boot(qemu.tap_net(MAC, ns.tap), tmp_path / "serial.log", timeout=300, prefix=ns.prefix)
    dhcp = dhcp_log.read_text() if dhcp_log.exists() else ""
    serve_log = (settings.root / "serve.log").read_text()[-3000:]
    lines = result.lines()

    assert not result.timed_out, result.serial[-3000:] + dhcp[-2000:] + serve_log
    assert f"DHCPACK(br0) {HOST_IP} {MAC} {HOST}" in dhcp, dhcp
    assert f"NETBOOT: lease ip={HOST_IP}" in " ".join(lines), lines
    assert f"sent {settings.tftp_dir.resolve()}/pxelinux.cfg/{hex_ip(HOST_IP)} to {HOST_IP}" in dhcp, dhcp
    assert "NETBOOT: tftp pxelinux.cfg has the install token" in lines, lines
    assert "NETBOOT: kickstart by address 1" in lines, (lines, serve_log)
    assert any(line.startswith("NETBOOT: kickstart fetched") for line in lines), (lines, serve_log)
    for stage in ("kickstart", "pre", "partition", "packages", "post", "finished"):
        assert f"NETBOOT: reported {stage}" in lines, (lines, serve_log)
    assert "NETBOOT: replay refused" in lines
    assert "NETBOOT: next answer 1 sanboot" in lines

    status = rocks("list", "host", "status", HOST).out.splitlines()[1].split()
    assert status[:2] == [f"{HOST}:", "finished"]
    assert rocks("list", "host", "boot", HOST).out.splitlines()[1].split()[1] == "os"
    assert "localboot 0" in (settings.tftp_dir / "pxelinux.cfg" / hex_ip(HOST_IP)).read_text()
