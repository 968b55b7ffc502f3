"""rocks ... host vm against libvirt's real test driver (a private test:// node file per test)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("libvirt", reason="libvirt-python not installed")


@pytest.fixture
def vmcluster(cluster, tmp_path):
    node = tmp_path / "container.xml"
    node.write_text("<node/>\n")
    for attr, value in (("libvirt_uri", f"test://{node}"), ("libvirt_domain_type", "test"),
                        ("vm_nic_kind", "user")):
        assert cluster("set", "host", "attr", "vm-container-0-0", attr, value).code == 0
    assert cluster("add", "host", "partition", "vm-container-0-0", "device=sda1", "mountpoint=/",
                   "size=16GB", "fstype=ext4").code == 0
    # The test driver writes saved-state files for real: the "partition" is a temp directory.
    data = tmp_path / "state" / "partition1"
    (data / "kvm" / "disks").mkdir(parents=True)
    assert cluster("add", "host", "partition", "vm-container-0-0", "device=sda5",
                   f"mountpoint={data}", "size=900GB", "fstype=ext4").code == 0
    cluster.data = data
    return cluster


def test_add_host_vm_output_and_rows(vmcluster):
    result = vmcluster("add", "host", "vm", "vm-container-0-0", 'membership=Compute')
    assert result.code == 0, result
    assert result.out == 'added VM on node "vm-container-0-0" slice "0" with vm_name "compute-0-0-0"\n'
    second = vmcluster("add", "host", "vm", "vm-container-0-0", "Compute", "mem=900", "num-macs=2")
    assert second.out == 'added VM on node "vm-container-0-0" slice "1" with vm_name "compute-0-0-1"\n'
    table = vmcluster("list", "host", "vm").out.splitlines()
    assert table[0] == "VM-HOST        SLICE MEM  CPUS MAC               HOST             STATUS"
    assert table[1] == "compute-0-0-0: 0     1024 1    00:16:3e:00:00:00 vm-container-0-0 undefined"
    assert table[2] == "compute-0-0-1: 1     900  1    00:16:3e:00:00:01 vm-container-0-0 undefined"
    ifaces = json.loads(vmcluster("list", "host", "interface", "compute-0-0-1", "output-format=json").out)
    assert [(i["iface"], i["mac"]) for i in ifaces] == [("eth0", "00:16:3e:00:00:01"), ("eth1", "00:16:3e:00:00:02")]
    assert ifaces[0]["ip"] == "10.1.255.250"
    dump = vmcluster("dump", "host", "vm", "compute-0-0-0").out
    assert dump == ("rocks set host vm compute-0-0-0 physnode='vm-container-0-0' "
                    f"disk='file:{vmcluster.data}/kvm/disks/compute-0-0-0.vda,vda,virtio' disksize='36' "
                    "mem='1024' slice='0' virt-type='hvm'\n")


def test_vm_mac_base_attribute(vmcluster):
    assert vmcluster("set", "attr", "vm_mac_base_addr", "36:77:6e:c0:00:00").code == 0
    assert vmcluster("set", "attr", "vm_mac_base_addr_mask", "ff:ff:ff:c0:00:00").code == 0
    vmcluster("add", "host", "vm", "vm-container-0-0", "membership=Compute")
    vmcluster("add", "host", "vm", "vm-container-0-0", "membership=Compute")
    macs = [r["mac"] for r in json.loads(vmcluster("list", "host", "vm", "output-format=json").out)]
    assert macs == ["36:77:6e:c0:00:00", "36:77:6e:c0:00:01"]


def test_vm_lifecycle(vmcluster, settings):
    vmcluster("add", "host", "vm", "vm-container-0-0", "membership=Compute", "mem=512")
    steps = [(("create",), "active"), (("pause",), "paused"), (("resume",), "active"),
             (("save",), "shutoff"), (("restore",), "active"), (("stop",), "shutoff"), (("start",), "active")]
    for (verb,), expected in steps:
        result = vmcluster(verb, "host", "vm", "compute-0-0-0")
        assert result.code == 0, (verb, result)
        status = json.loads(vmcluster("list", "host", "vm", "output-format=json").out)[0]["status"]
        assert status == expected, verb
    assert "inst.ks=" in (settings.tftp_dir / "pxelinux.cfg" / "0A01FFFB").read_text()  # PXE: install
    assert vmcluster("stop", "host", "vm", "compute-0-0-0").code == 0
    assert vmcluster("set", "host", "vm", "compute-0-0-0", "mem=768").code == 0
    assert vmcluster("start", "host", "vm", "compute-0-0-0").code == 0
    config = vmcluster("report", "host", "vm", "config", "compute-0-0-0").out
    assert '<memory unit="KiB">786432</memory>' in config
    assert '<boot dev="network"/>' in config and '<mac address="00:16:3e:00:00:00"/>' in config
    assert vmcluster("list", "host", "boot", "compute-0-0-0").out.splitlines()[1].split()[1] == "install"
    busy = vmcluster("remove", "host", "vm", "compute-0-0-0")
    assert busy.code != 0 and "stop it first" in busy.err
    assert vmcluster("stop", "host", "vm", "compute-0-0-0").code == 0
    assert vmcluster("remove", "host", "vm", "compute-0-0-0").code == 0
    assert vmcluster("list", "host", "compute-0-0-0").code == 2
    assert not (settings.tftp_dir / "pxelinux.cfg" / "0A01FFFB").exists()


def test_remove_host_on_a_vm_removes_vm_rows(vmcluster):
    vmcluster("add", "host", "vm", "vm-container-0-0", "membership=Compute")
    assert vmcluster("remove", "host", "compute-0-0-0").code == 0
    assert vmcluster("list", "host", "vm").out == ""
    refused = vmcluster("remove", "host", "vm-container-0-0")
    assert refused.code == 0  # no VMs left on it
    assert vmcluster("list", "host", "vm-container-0-0").code == 2


def test_container_with_vms_cannot_be_removed(vmcluster):
    vmcluster("add", "host", "vm", "vm-container-0-0", "membership=Compute")
    result = vmcluster("remove", "host", "vm-container-0-0")
    assert result.code != 0 and "still houses 1 VM" in result.err


def test_vm_errors_leave_database_unchanged(vmcluster):
    before = vmcluster("list", "host", "output-format=json").out
    cases = [
        (("add", "host", "vm", "compute-0-0", "membership=Compute"), "is not a VM container"),
        (("add", "host", "vm", "vm-container-0-0", "membership=Compute", "mem=lots"), "mem must be a whole number"),
        (("add", "host", "vm", "vm-container-0-0", "membership=Compute", "mem=12"), "mem must be at least 64"),
        (("add", "host", "vm", "vm-container-0-0", "membership=Compute", "name=compute-0-0"), "already exists"),
        (("add", "host", "vm", "vm-container-0-0"), "membership=MEMBERSHIP"),
        (("add", "host", "vm", "vm-container-0-0", "membership=Compute", "virt-type=para"), "not possible on a kvm"),
        (("add", "host", "vm", "vm-container-0-0", "membership=Compute", "disk=file:rel/x,vda,virtio"),
         "must be absolute"),
        (("start", "host", "vm", "compute-0-9-9"), "unknown host"),
        (("start", "host", "vm", "compute-0-0"), "is not a VM"),
    ]
    for argv, message in cases:
        result = vmcluster(*argv)
        assert result.code != 0, argv
        assert message in result.err, (argv, result.err)
        assert "Traceback" not in result.err
    assert vmcluster("list", "host", "output-format=json").out == before


def test_container_without_partitions(cluster):
    cluster("set", "host", "attr", "vm-container-0-0", "libvirt_uri", "test:///default")
    result = cluster("add", "host", "vm", "vm-container-0-0", "membership=Compute")
    assert result.code != 0
    assert "could not find a partition on host vm-container-0-0" in result.err
    assert cluster("list", "host", "compute-0-0-0").code == 2


def test_unreachable_container(vmcluster, tmp_path):
    vmcluster("add", "host", "vm", "vm-container-0-0", "membership=Compute")
    vmcluster("set", "host", "attr", "vm-container-0-0", "libvirt_uri",
              f"qemu+unix:///session?socket={tmp_path}/nonexistent-sock")
    before = vmcluster("dump", "host", "vm").out
    result = vmcluster("create", "host", "vm", "compute-0-0-0")
    assert result.code != 0 and "cannot reach" in result.err.lower(), result.err
    assert result.err.count("\n") == 1
    listing = vmcluster("list", "host", "vm").out
    assert "unreachable" in listing
    assert vmcluster("remove", "host", "vm", "compute-0-0-0").code != 0
    assert vmcluster("dump", "host", "vm").out == before
