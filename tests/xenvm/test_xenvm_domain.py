"""domain_xml golden files (XENVM_UPDATE_GOLDEN=1 rewrites them), drift, retargeting."""

from __future__ import annotations

import dataclasses
import os

import pytest
from lxml import etree

from xenvm import DiskSpec, InvalidSpec, NicSpec, VMSpec, domain_xml, drift
from xenvm.domain import describe, retarget_disks

GOLDEN = os.path.join(os.path.dirname(__file__), "golden")

SPECS = {
    "xen-para": VMSpec(
        "compute-0-0-0",
        memory_mb=1024,
        vcpus=1,
        virt_type="para",
        domain_type="xen",
        disks=[
            DiskSpec.from_rocks(
                "file", "/state/partition1/xen/disks", "compute-0-0-0.hda", "hda", "w", 36, "xen"
            )
        ],
        nics=[NicSpec("00:16:3e:00:00:01", "xenbr.eth0")],
        bootloader="/opt/rocks/bin/rocks-pygrub",
        bootloader_args="--hostname=compute-0-0-0",
    ),
    "xen-hvm": VMSpec(
        "compute-0-0-1",
        memory_mb=2048,
        vcpus=2,
        virt_type="hvm",
        domain_type="xen",
        disks=[
            DiskSpec.from_rocks(
                "tap:aio", "/state/partition1/xen/disks", "compute-0-0-1.hda", "hda", "w", 36, "xen"
            )
        ],
        nics=[
            NicSpec("00:16:3e:00:00:02", "xenbr.eth0", model=None),
            NicSpec("00:16:3e:00:00:03", "xenbr.eth1.3", model=None),
        ],
        loader="/usr/lib/xen/boot/hvmloader",
        emulator="/usr/lib64/xen/bin/qemu-dm",
    ),
    "kvm": VMSpec(
        "compute-0-1-0",
        memory_mb=4096,
        vcpus=4,
        domain_type="kvm",
        uuid="6e2b0f0e-1d59-4cd0-9d7c-2f7d8b0d8a11",
        disks=[
            DiskSpec("compute-0-1-0.vda", "/state/partition1/kvm/disks", size_gb=36),
            DiskSpec(
                "compute-0-1-0.vdb", "/state/partition1/kvm/disks", device="vdb", size_gb=100, format="qcow2"
            ),
        ],
        nics=[NicSpec("76:77:6e:40:00:00", "eth0"), NicSpec("76:77:6e:40:00:01", "eth1")],
    ),
    "qemu-test-driver": VMSpec(
        "vm-test",
        memory_mb=128,
        domain_type="test",
        disks=[DiskSpec("vm-test.vda", "/var/tmp/disks", size_gb=1)],
        nics=[NicSpec("52:54:00:00:00:01", kind="user")],
    ),
}


@pytest.mark.parametrize("key", sorted(SPECS))
def test_golden(key):
    xml = domain_xml(SPECS[key])
    path = os.path.join(GOLDEN, f"{key}.xml")
    if os.environ.get("XENVM_UPDATE_GOLDEN"):
        os.makedirs(GOLDEN, exist_ok=True)
        with open(path, "w") as fh:
            fh.write(xml)
    with open(path) as fh:
        assert xml == fh.read(), (
            f"domain XML changed; review and regenerate with XENVM_UPDATE_GOLDEN=1 ({path})"
        )


def test_essentials_for_installs():
    root = etree.fromstring(domain_xml(SPECS["kvm"]).encode())
    assert [b.get("dev") for b in root.iterfind("os/boot")] == ["network", "hd"]
    assert root.find("os/bootmenu").get("enable") == "yes"
    assert [f.tag for f in root.find("features")] == ["acpi", "apic"]
    assert root.findtext("memory") == str(4096 * 1024) and root.find("memory").get("unit") == "KiB"
    assert (root.findtext("on_poweroff"), root.findtext("on_reboot"), root.findtext("on_crash")) == (
        "destroy",
        "restart",
        "preserve",
    )
    g = root.find("devices/graphics")
    assert (g.get("type"), g.get("port"), g.get("autoport"), g.get("listen")) == (
        "vnc",
        "-1",
        "yes",
        "127.0.0.1",
    )
    xen = etree.fromstring(domain_xml(SPECS["xen-hvm"]).encode())
    assert [f.tag for f in xen.find("features")] == ["acpi", "apic", "pae"]
    para = etree.fromstring(domain_xml(SPECS["xen-para"]).encode())
    assert para.findtext("bootloader") == "/opt/rocks/bin/rocks-pygrub" and para.find("features") is None
    hd = dataclasses.replace(SPECS["kvm"], boot=("hd",), vnc=False)
    root = etree.fromstring(domain_xml(hd).encode())
    assert root.find("os/bootmenu") is None and root.find("devices/graphics") is None


def test_direct_kernel_boot_and_extras():
    spec = dataclasses.replace(
        SPECS["kvm"],
        kernel="/boot/kickstart/default/vmlinuz",
        initrd="/boot/initrd.img",
        cmdline="ks=http://fe/ks ksdevice=eth1",
        on_reboot="destroy",
        extra_devices=("<rng model='virtio'><backend model='random'/></rng>",),
    )
    root = etree.fromstring(domain_xml(spec).encode())
    assert root.findtext("os/kernel") == "/boot/kickstart/default/vmlinuz" and root.find("os/boot") is None
    assert root.findtext("on_reboot") == "destroy" and root.find("devices/rng") is not None
    with pytest.raises(InvalidSpec, match="extra device XML"):
        domain_xml(dataclasses.replace(spec, extra_devices=("<rng",)))


def test_describe_and_drift():
    spec = SPECS["kvm"]
    xml = domain_xml(spec)
    assert drift(xml, spec) == []
    facts = describe(xml)
    assert facts.memory_kib == 4096 * 1024 and facts.boot == ("network", "hd")
    assert facts.disks[1] == ("vdb", "virtio", "/state/partition1/kvm/disks/compute-0-1-0.vdb", "qcow2")
    bigger = dataclasses.replace(spec, memory_mb=8192)
    assert [d.split(":")[0] for d in drift(xml, bigger)] == ["memory_kib"]
    other = dataclasses.replace(spec, vcpus=1, boot=("hd",), nics=spec.nics[:1])
    assert [d.split(":")[0] for d in drift(xml, other)] == ["vcpus", "boot", "nics"]
    # units other than KiB (libvirt accepts them on input) compare equal
    assert describe(xml.replace('unit="KiB">4194304', 'unit="GiB">4')).memory_kib == 4096 * 1024


def test_retarget_disks():
    xml = retarget_disks(
        domain_xml(SPECS["kvm"]), {"/state/partition1/kvm/disks/compute-0-1-0.vda": "/new/a.vda"}
    )
    paths = [d[2] for d in describe(xml).disks]
    assert paths == ["/new/a.vda", "/state/partition1/kvm/disks/compute-0-1-0.vdb"]


@pytest.mark.parametrize("virt_type", ["hvm", "para"])
def test_test_driver_accepts_our_xml(test_hv, virt_type):
    spec = dataclasses.replace(SPECS["qemu-test-driver"], virt_type=virt_type)
    test_hv.define(domain_xml(spec))
    test_hv.start(spec.name)
    assert test_hv.state(spec.name) == "active"
    assert drift(test_hv.defined_xml(spec.name), spec) == []


def test_user_nic_with_a_boot_file_is_a_qemu_command_line_nic():
    url = "http://10.0.2.2:8080/install/ipxe?mac=52:54:00:00:00:09"
    spec = VMSpec("pxe", domain_type="qemu", machine="pc",
                  disks=[DiskSpec("pxe.img", "/d", "vda", "virtio", 1)],
                  nics=[NicSpec("52:54:00:00:00:09", kind="user", bootfile=url + ",x")])
    root = etree.fromstring(domain_xml(spec).encode())
    ns = {"q": "http://libvirt.org/schemas/domain/qemu/1.0"}
    assert root.find("devices/interface") is None
    assert [a.get("value") for a in root.findall("q:commandline/q:arg", ns)] == [
        "-netdev", f"user,id=pxe0,bootfile={url},,x", "-device",
        "virtio-net-pci,netdev=pxe0,mac=52:54:00:00:00:09,bus=pci.0,addr=0x10,bootindex=1"]
    assert describe(domain_xml(spec)).nics == (("52:54:00:00:00:09", "user", url + ",x"),)
    assert drift(domain_xml(spec), spec) == []
    moved = dataclasses.replace(spec, nics=[NicSpec("52:54:00:00:00:09", kind="user", bootfile=url + "0")])
    assert drift(domain_xml(spec), moved) == [f"nics: (('52:54:00:00:00:09', 'user', '{url},x'),) -> "
                                              f"(('52:54:00:00:00:09', 'user', '{url}0'),)"]


@pytest.mark.parametrize(("nic", "domain_type", "message"), [
    (NicSpec("52:54:00:00:00:09", "br0", bootfile="http://x/"), "qemu", "needs kind 'user'"),
    (NicSpec("52:54:00:00:00:09", kind="user", bootfile="http://x/ y"), "qemu", "bad boot file"),
    (NicSpec("52:54:00:00:00:09", kind="user", bootfile="http://x/"), "test", "needs a QEMU/KVM domain"),
])
def test_boot_file_refusals(nic, domain_type, message):
    with pytest.raises(InvalidSpec, match=message):
        VMSpec("pxe", domain_type=domain_type, nics=[nic])
