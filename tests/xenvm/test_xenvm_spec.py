"""VMSpec/DiskSpec/NicSpec validation and next_mac (pure, no libvirt)."""

from __future__ import annotations

import dataclasses

import pytest

from xenvm import DiskSpec, InvalidSpec, MacRangeExhausted, NicSpec, VMSpec, next_mac
from xenvm.errors import VMError

DISK = DiskSpec("c.vda", "/state/partition1/kvm/disks")


def test_defaults_and_normalisation():
    spec = VMSpec("compute-0-0-0", disks=[DISK], nics=[NicSpec("76:77:6E:40:00:0A", "eth0")])
    assert spec.boot == ("network", "hd") and spec.virt_type == "hvm" and spec.domain_type == "kvm"
    assert spec.disks == (DISK,) and isinstance(spec.nics, tuple)
    assert spec.nics[0].mac == "76:77:6e:40:00:0a"  # lower-cased, as libvirt reports it
    assert spec.memory_kib == 1024 * 1024
    assert spec.saved_path() == "/state/partition1/kvm/disks/compute-0-0-0.saved"
    assert DISK.path == "/state/partition1/kvm/disks/c.vda"
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.memory_mb = 2  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"name": "a/b"}, "unsafe VM name"),
        ({"name": ".."}, "unsafe VM name"),
        ({"name": "a..b"}, "unsafe VM name"),
        ({"name": ""}, "unsafe VM name"),
        ({"memory_mb": 0}, "memory_mb"),
        ({"memory_mb": -5}, "memory_mb"),
        ({"vcpus": 0}, "vcpus"),
        ({"virt_type": "pv"}, "virt_type"),
        ({"domain_type": "lxc"}, "domain_type"),
        ({"virt_type": "para", "domain_type": "kvm"}, "para is Xen only"),
        ({"nics": [NicSpec("00:16:3e:00:00:zz", "br0")]}, "bad MAC"),
        ({"nics": [NicSpec("00:16:3e:00:00", "br0")]}, "bad MAC"),
        ({"nics": [NicSpec("01:16:3e:00:00:01", "br0")]}, "multicast"),
        (
            {"nics": [NicSpec("00:16:3e:00:00:01", "br0"), NicSpec("00:16:3E:00:00:01", "br0")]},
            "duplicate MAC",
        ),
        ({"nics": [NicSpec("00:16:3e:00:00:01", None)]}, "needs a bridge"),
        ({"nics": [NicSpec("00:16:3e:00:00:01", kind="macvtap")]}, "kind"),
        ({"disks": [DiskSpec("../x.vda", "/d")]}, "unsafe disk file name"),
        ({"disks": [DiskSpec("x/y.vda", "/d")]}, "unsafe disk file name"),
        ({"disks": [DiskSpec("x.vda", "relative/dir")]}, "absolute"),
        ({"disks": [DiskSpec("x.vda", "/d/../etc")]}, "absolute"),
        ({"disks": [DiskSpec("x.vda", "/d", size_gb=-1)]}, "size_gb"),
        ({"disks": [DiskSpec("x.vda", "/d", bus="floppy")]}, "bus"),
        ({"disks": [DiskSpec("x.vda", "/d", format="vmdk")]}, "format"),
        ({"disks": [DiskSpec("x.vda", "/d", bus="xen", device="xvda")]}, "needs a Xen domain"),
        ({"disks": [DiskSpec("a.vda", "/d"), DiskSpec("b.vda", "/d")]}, "duplicate disk device"),
        ({"boot": ("network", "usb")}, "boot"),
        ({"boot": ()}, "boot"),
        ({"uuid": "not-a-uuid"}, "bad uuid"),
    ],
)
def test_invalid_specs_raise_invalid_spec(kwargs, fragment):
    kwargs = {"name": "vm-bad", **kwargs}
    with pytest.raises(InvalidSpec) as info:
        VMSpec(**kwargs)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, VMError) and isinstance(info.value, ValueError)


def test_phy_and_rocks_disk_rows():
    kvm = DiskSpec.from_rocks("file", "/state/partition1/kvm/disks", "c.vda", "vda", "virtio", 36, "kvm")
    assert (kvm.bus, kvm.format, kvm.path) == ("virtio", "raw", "/state/partition1/kvm/disks/c.vda")
    q = DiskSpec.from_rocks("qcow2", "/d", "c.qcow2", "vda", "ide", 10, "kvm")
    assert (q.vbd_type, q.format, q.bus) == ("file", "qcow2", "ide")
    xen = DiskSpec.from_rocks("tap:aio", "/state/partition1/xen/disks", "c.hda", "hda", "w", 36, "xen")
    assert (xen.bus, xen.vbd_type) == ("ide", "tap:aio")
    lvm = DiskSpec.from_rocks("phy", "", "vg0/c", "xvda", "w", 0, "xen")
    assert (lvm.path, lvm.bus, lvm.is_file) == ("/dev/vg0/c", "xen", False)
    VMSpec("c", virt_type="para", domain_type="xen", disks=[lvm])  # phy disks need no size


def test_next_mac_rocks_rules():
    assert next_mac([]) == "00:16:3e:00:00:00"
    assert next_mac(["00:16:3e:00:00:05", "00:16:3E:00:00:02", "52:54:00:ff:ff:ff"]) == "00:16:3e:00:00:06"
    assert next_mac(["00:16:3e:00:00:ff"]) == "00:16:3e:00:01:00"  # carries across octets
    base, mask = "76:77:6e:40:00:00", "ff:ff:ff:c0:00:00"
    assert next_mac(["10:00:00:00:00:01", "garbage"], base, mask) == base
    assert next_mac(["76:77:6e:40:00:07", "76:77:6e:80:00:09"], base, mask) == "76:77:6e:40:00:08"
    with pytest.raises(MacRangeExhausted, match="no free MAC"):
        next_mac(["76:77:6e:7f:ff:ff"], base, mask)
    with pytest.raises(MacRangeExhausted):
        next_mac(["00:16:3e:ff:ff:ff"])
    with pytest.raises(InvalidSpec):
        next_mac([], "01:00:00:00:00:00")  # multicast base
    with pytest.raises(InvalidSpec):
        next_mac([], base, "ff:ff")
