"""rocks add|list|remove distribution: import an ISO, boot actions follow it, removal is guarded."""

from __future__ import annotations

import re

from tests.lifecycle.trees import make_iso, make_tree


def test_import_iso_points_install_actions_at_its_kernel(cluster, settings, tmp_path):
    iso = make_iso(make_tree(tmp_path / "dvd"), tmp_path / "rocky.iso")
    result = cluster("add", "distribution", "rocky9", f"path={iso}")
    assert result.code == 0, result
    assert "imported rocky9 (Rocky Linux 9.4 x86_64)" in result.out
    listing = cluster("list", "distribution").out.splitlines()
    assert listing[1].split()[:4] == ["rocky9:", "x86_64", "Rocky", "Linux"]
    actions = {line.split(":")[0]: line for line in cluster("list", "bootaction").out.splitlines()[1:]}
    for name in ("install", "install headless", "rescue"):
        assert "images/rocky9/x86_64/vmlinuz images/rocky9/x86_64/initrd.img" in actions[name], actions[name]
    assert "localboot 0" in actions["os"]
    boot_dir = settings.tftp_dir / "images" / "rocky9" / "x86_64"
    assert (boot_dir / "vmlinuz").read_bytes() == b"KERNEL" * 1000
    # A host set to install boots the imported installer, by every boot loader.
    assert cluster("set", "host", "boot", "compute-0-0", "action=install").code == 0
    pxe = (settings.tftp_dir / "pxelinux.cfg" / "0A01FFFE").read_text()
    assert "kernel images/rocky9/x86_64/vmlinuz" in pxe and "initrd=images/rocky9/x86_64/initrd.img" in pxe
    ipxe = (settings.tftp_dir / "ipxe" / "52-54-00-00-01-00.ipxe").read_text()
    assert re.search(r"^kernel http://10\.1\.1\.1/boot/images/rocky9/x86_64/vmlinuz initrd=initrd\.img ", ipxe,
                     re.MULTILINE)
    grub = (settings.tftp_dir / "grub.cfg-01-52-54-00-00-01-00").read_text()
    assert "linux /images/rocky9/x86_64/vmlinuz" in grub and "initrd /images/rocky9/x86_64/initrd.img" in grub

    refused = cluster("remove", "distribution", "rocky9")
    assert refused.code != 0 and "boot action(s) install" in refused.err and boot_dir.exists()
    assert cluster("add", "distribution", "rocky9b", f"path={tmp_path / 'dvd'}").code == 0  # a directory works
    # One tree per architecture: the new import replaced it, and the boot actions moved on.
    assert [line.split()[0] for line in cluster("list", "distribution").out.splitlines()[1:]] == ["rocky9b:"]
    assert "images/rocky9b/x86_64/vmlinuz" in cluster("list", "bootaction").out
    assert cluster("add", "bootaction", "action=install", "kernel=vmlinuz", "ramdisk=initrd.img").code == 0
    assert cluster("add", "bootaction", "action=install headless", "kernel=vmlinuz").code == 0
    assert cluster("add", "bootaction", "action=rescue", "kernel=vmlinuz").code == 0
    removed = cluster("remove", "distribution", "rocky9b")
    assert removed.code == 0 and "removed rocky9b (x86_64)" in removed.out, removed
    assert cluster("list", "distribution").out.count("\n") <= 1
    assert not (settings.root / "install" / "os" / "x86_64").exists()
    assert not (settings.tftp_dir / "images" / "rocky9b").exists()


def test_errors_name_the_source(cluster, tmp_path):
    missing = cluster("add", "distribution", "x", f"path={tmp_path / 'nope.iso'}")
    assert missing.code != 0 and "nope.iso" in missing.err
    assert cluster("add", "distribution", "x").code != 0
    assert "no imported OS tree 'y'" in cluster("remove", "distribution", "y").err
