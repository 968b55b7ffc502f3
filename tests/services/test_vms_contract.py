"""Contract of the VM operations against libvirt's test driver; an unreachable container."""

from __future__ import annotations

import pytest

from ksserver.errors import HostNotFound, VMFailure
from ksserver.services import attrs, hosts, partitions, vms
from ksserver.services.partitions import PartitionSpec
from ksserver.services.vms import VmRequest

pytest.importorskip("libvirt", reason="libvirt-python not installed")


@pytest.fixture
def vmsvc(svc, tmp_path):
    node = tmp_path / "container.xml"
    node.write_text("<node/>\n")
    for attr, value in (("libvirt_uri", f"test://{node}"), ("libvirt_domain_type", "test"), ("vm_nic_kind", "user")):
        attrs.set_attr(svc, "host", ["vm-container-0-0"], attr, value)
    data = tmp_path / "state" / "partition1"
    (data / "kvm" / "disks").mkdir(parents=True)
    partitions.add_partition(svc, "vm-container-0-0", PartitionSpec("sda5", str(data), "900GB", "ext4"))
    return svc


def test_vm_lifecycle(vmsvc):
    container, slice_, name = vms.add_vm(vmsvc, VmRequest(container="vm-container-0-0", membership="Compute"))
    assert (container, slice_, name) == ("vm-container-0-0", 0, "compute-0-0-0")
    assert vms.create_vm(vmsvc, name) == "active"
    assert vms.vm_power(vmsvc, name, "pause") == "paused"
    assert vms.vm_power(vmsvc, name, "resume") == "active"
    assert vms.vm_power(vmsvc, name, "stop") == "shutoff"
    assert [r.status for r in vms.list_vms(vmsvc, [name])] == ["shutoff"]
    assert vms.remove_vm(vmsvc, name).notes == []
    with pytest.raises(HostNotFound):
        hosts.list_hosts(vmsvc, [name])


def test_unreachable_container_needs_force_to_forget_a_vm(vmsvc):
    _, _, name = vms.add_vm(vmsvc, VmRequest(container="vm-container-0-0", membership="Compute"))
    attrs.set_attr(vmsvc, "host", ["vm-container-0-0"], "libvirt_uri", "qemu+unix:///system?socket=/nonexistent")
    with pytest.raises(VMFailure, match="force=yes"):
        vms.remove_vm(vmsvc, name)
    assert hosts.list_hosts(vmsvc, [name])  # still known
    with pytest.raises(VMFailure):
        hosts.remove_hosts(vmsvc, [name])
    notes = hosts.remove_hosts(vmsvc, [name], force=True)
    assert notes and "vm-container-0-0" in notes[0] and "not cleaned up" in notes[0]
    with pytest.raises(HostNotFound):
        hosts.list_hosts(vmsvc, [name])
    assert [r.status for r in vms.list_vms(vmsvc, [])] == []
