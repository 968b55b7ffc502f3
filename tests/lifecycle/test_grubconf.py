"""GRUB2 per-host UEFI configs (checked by the real grub-script-check) and iPXE answers."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from ksserver.errors import InvalidArgument
from ksserver.grubconf import BootTarget, grub_config, grub_config_name, ipxe_script
from tests.lifecycle.tools import need

INSTALL = BootTarget(
    host="compute-0-0", mac="52:54:00:00:01:00", action="install",
    kernel="/images/rocky9/x86_64/vmlinuz", initrd="/images/rocky9/x86_64/initrd.img",
    args="inst.ks=http://10.1.1.1/install/sbin/kickstart.cgi?token=ab$c&x=1 inst.ks.sendmac ip=dhcp "
         "inst.repo=http://10.1.1.1/install/os/x86_64",
)
DISK = BootTarget(host="compute-0-0", mac="52:54:00:00:01:00", action="os")


def script_check(tmp_path: Path, text: str) -> subprocess.CompletedProcess:
    cfg = tmp_path / "grub.cfg"
    cfg.write_text(text)
    return subprocess.run([need("grub-script-check", "grub-common"), str(cfg)],
                          check=False, capture_output=True, text=True, timeout=30)


def test_config_name() -> None:
    assert grub_config_name("52:54:00:00:01:00") == "grub.cfg-01-52-54-00-00-01-00"
    with pytest.raises(InvalidArgument):
        grub_config_name("52-54-00-00-01-00")


def test_install_config(tmp_path: Path) -> None:
    text = grub_config(INSTALL)
    assert "    linux /images/rocky9/x86_64/vmlinuz " \
           "'inst.ks=http://10.1.1.1/install/sbin/kickstart.cgi?token=ab$c&x=1' inst.ks.sendmac ip=dhcp " \
           "inst.repo=http://10.1.1.1/install/os/x86_64" in text
    assert "    initrd /images/rocky9/x86_64/initrd.img" in text
    assert "set timeout=0" in text
    result = script_check(tmp_path, text)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("mode", ["exit", "chainload"])
def test_disk_boot_is_an_explicit_answer(tmp_path: Path, mode: str) -> None:
    text = grub_config(DISK, disk_boot=mode)
    assert "menuentry 'Boot compute-0-0 from local disk'" in text
    assert "    exit" in text
    assert ("chainloader /EFI/BOOT/BOOTX64.EFI" in text) == (mode == "chainload")
    result = script_check(tmp_path, text)
    assert result.returncode == 0, result.stdout + result.stderr


def test_grub_script_check_is_not_vacuous(tmp_path: Path) -> None:
    assert script_check(tmp_path, grub_config(INSTALL) + "menuentry 'x' {\n").returncode != 0


@pytest.mark.parametrize("field,value", [
    ("args", "ip=dhcp\n}\nmenuentry 'evil' {"),
    ("args", "inst.ks='http://evil/'"),
    ("kernel", "/vmlinuz\nboot"),
    ("kernel", "/vmlinuz evil"),
    ("initrd", "/initrd.img\r"),
    ("host", "evil'name"),
    ("host", "evil\nname"),
    ("mac", "52:54:00:00:01:00\n"),
    ("action", "rescue"),
])
def test_injection_refused_for_grub(field: str, value: str) -> None:
    with pytest.raises(InvalidArgument):
        grub_config(replace(INSTALL, **{field: value}))


def test_install_needs_a_kernel_and_bad_mode_refused() -> None:
    with pytest.raises(InvalidArgument, match="install needs a kernel"):
        grub_config(replace(INSTALL, kernel=""))
    with pytest.raises(InvalidArgument, match="disk_boot"):
        grub_config(DISK, disk_boot="hope")


def test_ipxe_install_script() -> None:
    target = replace(INSTALL, kernel="http://10.1.1.1/images/vmlinuz",
                     initrd="http://10.1.1.1/images/initrd.img",
                     args="console=ttyS0 BOOTIF=01-${net0/mac:hexhyp} inst.ks=http://10.1.1.1/ks?a=1&b=2")
    assert ipxe_script(target) == (
        "#!ipxe\n"
        "echo ksserver: compute-0-0 install\n"
        "kernel http://10.1.1.1/images/vmlinuz initrd=initrd.img console=ttyS0 BOOTIF=01-${net0/mac:hexhyp} "
        "inst.ks=http://10.1.1.1/ks?a=1&b=2\n"
        "initrd http://10.1.1.1/images/initrd.img\n"
        "boot\n")


def test_ipxe_disk_answer_is_explicit() -> None:
    text = ipxe_script(DISK)
    assert "sanboot --no-describe --drive 0x80" in text
    assert "iseq ${platform} efi && exit ||" in text


@pytest.mark.parametrize("field,value", [
    ("args", "ip=dhcp\nshell"),
    ("args", "ip=dhcp || shell"),
    ("args", "ip=dhcp && chain http://evil/"),
    ("args", "ip=dhcp #"),
    ("kernel", "http://x/vmlinuz\nshell"),
])
def test_injection_refused_for_ipxe(field: str, value: str) -> None:
    with pytest.raises(InvalidArgument):
        ipxe_script(replace(INSTALL, **{field: value}))
