"""The browser console's path against a real QEMU guest: the VNC display read from libvirtd's live domain
XML, a websockify proxy from ksserver.services.vmconsole, and the guest's RFB greeting arriving over the
WebSocket (what noVNC receives first)."""

from __future__ import annotations

import shutil

import pytest

from ksserver.services import vmconsole
from tests.web.test_vm_pages import _websocket_first_frame
from xenvm import DiskSpec, NicSpec, VMManager, VMSpec
from xenvm.hypervisor import LibvirtHypervisor

pytestmark = [pytest.mark.libvirtd, pytest.mark.timeout(120),
              pytest.mark.skipif(shutil.which("websockify") is None,
                                 reason="websockify not installed (Makefile DEB_PACKAGES)")]


def test_websockify_reaches_a_real_qemu_display(libvirtd, tmp_path):
    hv = LibvirtHypervisor(libvirtd.uri, label="vm-container-0-0")
    spec = VMSpec("compute-0-0-0", memory_mb=64, vcpus=1, domain_type="qemu", machine="pc",
                  disks=[DiskSpec("compute-0-0-0.vda", libvirtd.path("disks"), size_gb=1)],
                  nics=[NicSpec("52:54:00:12:34:56", kind="user")])
    manager = VMManager(hv)
    proxies = vmconsole.ConsoleProxies(tmp_path / "vnc", listen="127.0.0.1", max_proxies=1)
    try:
        manager.ensure_storage(spec)
        assert manager.create(spec) == "active"
        target = vmconsole.target_from_xml(hv.live_xml(spec.name), libvirtd.uri, spec.name, "vm-container-0-0")
        assert target.host == "127.0.0.1" and target.port == hv.vnc_port(spec.name)
        lease = proxies.open(target)
        greeting = _websocket_first_frame(lease.port, lease.token)
        assert greeting.startswith(b"HTTP/1.1 101") and b"RFB 003.008" in greeting
    finally:
        proxies.close()
        if spec.name in hv.list_domains():
            manager.stop(spec.name)
        hv.close()
