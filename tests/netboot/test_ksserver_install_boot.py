"""A real install round trip against a real ``ksserver serve``: QEMU's iPXE (restricted user-mode net)
fetches its script by MAC from ``/install/ipxe``, boots the kernel and initrd imported with ``rocks add
distribution`` (served over HTTP from ``/boot/``), fetches its kickstart with the install token from its
kernel line, reports every stage, reports ``finished``; the server turns the host to ``os`` and the next
iPXE fetch gets the boot-from-disk answer.

The guest reaches the server as ``http://10.0.2.100`` and appears to it as 127.0.0.1, which identifies
nobody: the token is what makes it compute-0-0."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.netboot import qemu
from tests.netboot.kernel import KernelKit, build_initramfs
from tests.netboot.ksserve import ksserver

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
MAC = "52:54:00:00:01:00"     # compute-0-0 of the cluster fixture

INSTALLER = r"""
echo "NETBOOT: mac $MAC"
base="${ARG_inst_ks%%/install/*}"
token="${ARG_inst_ks##*token=}"
if wget -q -O /tmp/ks --header "X-RHN-Provisioning-MAC-0: eth0 $MAC" "$ARG_inst_ks"; then
    echo "NETBOOT: kickstart fetched $(wc -c < /tmp/ks) bytes"
else
    echo "NETBOOT: kickstart fetch failed"
fi
grep -q '^%packages' /tmp/ks || echo "NETBOOT: not a kickstart"
for stage in kickstart pre partition packages post finished; do
    if wget -q -O /tmp/reply --post-data "stage=$stage" "$base/install/sbin/public/status?token=$token"; then
        echo "NETBOOT: reported $stage"
    else
        echo "NETBOOT: report $stage refused"
    fi
done
if wget -q -O /tmp/again --post-data "stage=kickstart" "$base/install/sbin/public/status?token=$token"; then
    echo "NETBOOT: replay accepted"
else
    echo "NETBOOT: replay refused"
fi
wget -q -O /tmp/next "$base/install/ipxe?mac=$MAC" && echo "NETBOOT: next answer $(grep -c sanboot /tmp/next) sanboot"
"""


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'cluster.db'}"


@pytest.fixture
def server(cluster, settings):
    with ksserver(settings) as port:
        yield port


def _os_tree(top: Path, kernel: KernelKit, script: str = INSTALLER) -> Path:
    boot = top / "images" / "pxeboot"
    boot.mkdir(parents=True)
    (boot / "vmlinuz").write_bytes(kernel.vmlinuz.read_bytes())
    build_initramfs(boot / "initrd.img", kernel, script)
    (top / ".discinfo").write_text("1700000000.0\nTest Linux 9\nx86_64\n")
    return top


def test_install_by_ipxe_against_ksserver(tmp_path: Path, kernel: KernelKit, cluster, settings, server) -> None:
    tree = _os_tree(tmp_path / "tree", kernel)
    assert cluster("add", "distribution", "testos", f"path={tree}").code == 0
    assert cluster("add", "bootaction", "action=install", "kernel=images/testos/x86_64/vmlinuz",
                   "ramdisk=images/testos/x86_64/initrd.img", "args=console=ttyS0 panic=-1").code == 0
    # Where this host's installer finds the server (QEMU user-net forwards 10.0.2.100:80 to it).
    assert cluster("set", "host", "attr", "compute-0-0", "Kickstart_PrivateKickstartHost",
                   qemu.GUEST_HTTP).code == 0
    assert cluster("set", "host", "boot", "compute-0-0", "action=install").code == 0

    result = qemu.boot(qemu.user_net(MAC, server, "/install/ipxe?mac=${net0/mac}"), tmp_path / "serial.log",
                       timeout=180)
    lines = result.lines()
    assert not result.timed_out, result.serial[-3000:]
    assert f"NETBOOT: mac {MAC}" in lines, result.serial[-3000:]
    assert any(line.startswith("NETBOOT: kickstart fetched") for line in lines), lines
    assert "NETBOOT: not a kickstart" not in lines
    for stage in ("kickstart", "pre", "partition", "packages", "post", "finished"):
        assert f"NETBOOT: reported {stage}" in lines, lines
    assert "NETBOOT: replay refused" in lines        # the token died with 'finished'
    assert "NETBOOT: next answer 1 sanboot" in lines  # the next network boot boots the disk

    status = cluster("list", "host", "status", "compute-0-0").out.splitlines()[1].split()
    assert status[:2] == ["compute-0-0:", "finished"] and "os" in status
    assert cluster("list", "host", "boot", "compute-0-0").out.splitlines()[1].split()[1] == "os"
    assert "localboot 0" in (settings.tftp_dir / "pxelinux.cfg" / "0A01FFFE").read_text()
