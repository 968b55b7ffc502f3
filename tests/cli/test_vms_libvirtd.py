"""Integration: the rocks VM commands against two real libvirtd + QEMU (TCG) daemons acting as
two VM containers (started by the test; session mode as uid 65534)."""

from __future__ import annotations

import json
import os

import pytest

from xenvm.hypervisor import LibvirtHypervisor
from xenvm.storage import download_bytes, upload_bytes

pytestmark = [pytest.mark.libvirtd, pytest.mark.timeout(180)]

MARK = os.urandom(32 * 1024)
MARK_AT = 5 * 1024 * 1024 + 3


@pytest.fixture
def db_url(tmp_path):  # one database kind is enough here; the VM layer is what is under test
    return f"sqlite:///{tmp_path / 'cluster.db'}"


def _partition_dir(daemon) -> str:  # type: ignore[no-untyped-def]
    path = daemon.path("state", "partition1")
    for sub in ("", "kvm", "kvm/disks"):
        os.makedirs(os.path.join(path, sub), exist_ok=True)
    for p in (daemon.path("state"), path, os.path.join(path, "kvm"), os.path.join(path, "kvm", "disks")):
        if os.geteuid() == 0:
            os.chown(p, daemon.uid, daemon.gid)
    return path


def _container(rocks, name: str, daemon) -> str:  # type: ignore[no-untyped-def]
    if rocks("list", "host", name).code != 0:
        assert rocks("add", "host", name, "membership=VM Container").code == 0
    for attr, value in (("libvirt_uri", daemon.uri), ("libvirt_domain_type", "qemu"), ("vm_nic_kind", "user"),
                        ("libvirt_machine", "pc")):
        assert rocks("set", "host", "attr", name, attr, value).code == 0
    data = _partition_dir(daemon)
    assert rocks("add", "host", "partition", name, "device=sda5", f"mountpoint={data}", "size=200GB",
                 "fstype=ext4").code == 0
    return data


def _status(rocks, vm: str) -> dict:  # type: ignore[no-untyped-def]
    rows = json.loads(rocks("list", "host", "vm", vm, "output-format=json").out)
    return rows[0]


def test_vm_commands_on_real_libvirtd(cluster, libvirtd_factory):
    rocks = cluster
    first, second = libvirtd_factory(), libvirtd_factory()
    data_a = _container(rocks, "vm-container-0-0", first)
    data_b = _container(rocks, "vm-container-0-1", second)
    added = rocks("add", "host", "vm", "vm-container-0-0", "membership=Compute", "mem=64", "disksize=1")
    assert added.out == 'added VM on node "vm-container-0-0" slice "0" with vm_name "compute-0-0-0"\n', added
    vm = "compute-0-0-0"
    assert _status(rocks, vm)["status"] == "undefined"

    for verb, expected in (("create", "active"), ("pause", "paused"), ("resume", "active"),
                           ("save", "shutoff"), ("restore", "active"), ("stop", "shutoff")):
        result = rocks(verb, "host", "vm", vm)
        assert result.code == 0, (verb, result)
        assert _status(rocks, vm)["status"] == expected, verb
    assert os.path.exists(os.path.join(data_a, "kvm", "disks", f"{vm}.vda"))

    assert rocks("set", "host", "vm", vm, "mem=96").code == 0
    assert rocks("start", "host", "vm", vm).code == 0
    row = _status(rocks, vm)
    assert (row["status"], row["mem"]) == ("active", 96)
    hv_a = LibvirtHypervisor(first.uri, label="a")
    assert "<memory unit='KiB'>98304</memory>" in hv_a.defined_xml(vm)

    pool_a = hv_a.pool_for_path(os.path.join(data_a, "kvm", "disks"))
    upload_bytes(hv_a, pool_a, f"{vm}.vda", MARK, offset=MARK_AT)
    moved = rocks("move", "host", "vm", vm, "vm-container-0-1")
    assert moved.code == 0, moved
    row = _status(rocks, vm)
    assert (row["host"], row["status"]) == ("vm-container-0-1", "active")
    assert hv_a.state(vm) == "undefined"
    hv_b = LibvirtHypervisor(second.uri, label="b")
    pool_b = hv_b.pool_for_path(os.path.join(data_b, "kvm", "disks"))
    assert download_bytes(hv_b, pool_b, f"{vm}.vda", offset=MARK_AT, length=len(MARK)) == MARK
    assert f"disk='file:{data_b}/kvm/disks/{vm}.vda,vda,virtio'" in rocks("dump", "host", "vm").out

    assert rocks("stop", "host", "vm", vm).code == 0
    assert rocks("remove", "host", "vm", vm, "purge=yes").code == 0
    assert hv_b.state(vm) == "undefined"
    assert not os.path.exists(os.path.join(data_b, "kvm", "disks", f"{vm}.vda"))
    hv_a.close()
    hv_b.close()


def test_move_failure_keeps_vm_and_database(cluster, libvirtd_factory):
    rocks = cluster
    first, second = libvirtd_factory(), libvirtd_factory()
    _container(rocks, "vm-container-0-0", first)
    _container(rocks, "vm-container-0-1", second)
    rocks("add", "host", "vm", "vm-container-0-0", "membership=Compute", "mem=64", "disksize=1")
    vm = "compute-0-0-0"
    assert rocks("create", "host", "vm", vm).code == 0
    before = rocks("dump", "host", "vm").out
    second.kill()  # the destination container dies
    failed = rocks("move", "host", "vm", vm, "vm-container-0-1")
    assert failed.code != 0 and "Traceback" not in failed.err
    assert rocks("dump", "host", "vm").out == before
    row = _status(rocks, vm)
    assert row["host"] == "vm-container-0-0" and row["status"] in ("active", "shutoff")
    assert rocks("start", "host", "vm", vm).code == 0
    assert _status(rocks, vm)["status"] == "active"
