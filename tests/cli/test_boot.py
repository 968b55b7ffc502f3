"""Boot actions and the PXE files they write."""

from __future__ import annotations


def test_set_host_boot_writes_pxe_files(cluster, settings):
    assert cluster("set", "host", "boot", "compute-0-0", "action=install").code == 0
    cfg = settings.tftp_dir / "pxelinux.cfg" / "0A01FFFE"   # 10.1.255.254
    text = cfg.read_text()
    assert text.startswith("default rocks\nprompt 0\nlabel rocks\n  kernel vmlinuz\n")
    assert "inst.ks=http://10.1.1.1/install/sbin/kickstart.cgi?token=" in text and "initrd=initrd.img" in text
    ipxe = (settings.tftp_dir / "ipxe" / "52-54-00-00-01-00.ipxe").read_text()
    assert "\nkernel http://10.1.1.1/boot/vmlinuz initrd=initrd.img " in ipxe  # kernels over HTTP: /boot/
    assert "inst.ks=http://10.1.1.1/install/sbin/kickstart.cgi?token=" in ipxe
    assert "linux /vmlinuz" in (settings.tftp_dir / "grub.cfg-01-52-54-00-00-01-00").read_text()
    assert cluster("set", "host", "boot", "compute-0-0", "action=os").code == 0
    assert "localboot 0" in cfg.read_text()
    table = cluster("list", "host", "boot", "compute-0-0").out.splitlines()
    assert table[1].split() == ["compute-0-0:", "os", "os", "install"]


def test_boot_errors(cluster):
    bad = cluster("set", "host", "boot", "compute-0-0", "action=dance")
    assert bad.code != 0 and "install" in bad.err and "dance" in bad.err
    assert cluster("set", "host", "installaction", "compute-0-0", "nosuch").code == 0
    result = cluster("set", "host", "boot", "compute-0-0", "action=install")
    assert result.code == 2 and "unknown boot action 'nosuch'" in result.err


def test_bootactions(cluster):
    assert cluster("add", "bootaction", "action=install rescue2", "kernel=vmlinuz", "ramdisk=initrd.img",
                   "args=inst.rescue").code == 0
    out = cluster("list", "bootaction").out
    assert "install rescue2:" in out and "localboot 0" in out


def test_pxe_files_follow_ip_changes_and_host_removal(cluster, settings):
    assert cluster("set", "host", "boot", "compute-0-0", "action=install").code == 0
    old = settings.tftp_dir / "pxelinux.cfg" / "0A01FFFE"
    assert old.exists()
    assert cluster("set", "host", "interface", "ip", "compute-0-0", "eth0", "10.1.0.10").code == 0
    new = settings.tftp_dir / "pxelinux.cfg" / "0A01000A"
    assert not old.exists() and "inst.ks=" in new.read_text()
    assert cluster("set", "host", "interface", "mac", "compute-0-0", "eth0", "52:54:00:00:01:99").code == 0
    ipxe = settings.tftp_dir / "ipxe"
    assert sorted(p.name for p in ipxe.iterdir()) == ["52-54-00-00-01-99.ipxe"]
    assert sorted(p.name for p in settings.tftp_dir.glob("grub.cfg-*")) == ["grub.cfg-01-52-54-00-00-01-99"]
    assert cluster("remove", "host", "compute-0-0").code == 0
    assert not new.exists() and not list(ipxe.iterdir()) and not list(settings.tftp_dir.glob("grub.cfg-*"))
