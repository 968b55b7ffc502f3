"""The "boot from disk" iPXE answer really boots the disk: a BIOS guest fetches its script, iPXE runs
``sanboot --drive 0x80``, and the disk's boot sector (hand-assembled below) prints a mark on the serial
port and ends QEMU through its isa-debug-exit device."""

from __future__ import annotations

from pathlib import Path

import pytest

from ksserver.grubconf import BootTarget, ipxe_script
from tests.netboot import qemu
from tests.netboot.httpd import RecordingServer

MAC = "52:54:00:12:34:57"
MARK = b"DISK-BOOT-OK\r\n"
EXIT_VALUE = 0x01  # QEMU exits with (value << 1) | 1

# 16-bit real mode at 0000:7C00: cld; xor ax,ax; mov ds,ax; mov dx,0x3f8; mov si,msg;
# loop: lodsb; test al,al; jz done; out dx,al; jmp loop; done: mov al,1; out 0xf4,al; hlt; jmp $-1
BOOT_CODE = bytes([0xFC, 0x31, 0xC0, 0x8E, 0xD8, 0xBA, 0xF8, 0x03, 0xBE, 0x1A, 0x7C,
                   0xAC, 0x84, 0xC0, 0x74, 0x03, 0xEE, 0xEB, 0xF8,
                   0xB0, EXIT_VALUE, 0xE6, 0xF4, 0xF4, 0xEB, 0xFD])

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def boot_disk(path: Path) -> Path:
    sector = bytearray(512)
    code = BOOT_CODE + MARK + b"\0"
    sector[:len(code)] = code
    sector[510:512] = b"\x55\xaa"
    path.write_bytes(bytes(sector) + bytes(1024 * 1024 - 512))
    return path


def test_ipxe_disk_answer_boots_the_local_disk(tmp_path: Path) -> None:
    www = tmp_path / "www"
    (www / "install").mkdir(parents=True)
    (www / "install" / "ipxe").write_text(ipxe_script(BootTarget(host="compute-0-0", mac=MAC, action="os")))
    disk = boot_disk(tmp_path / "disk.img")
    with RecordingServer(tmp_path, www) as server:
        result = qemu.boot(qemu.user_net(MAC, server.port, "/install/ipxe?mac=${net0/mac}"),
                           tmp_path / "serial.log", timeout=90,
                           extra=["-drive", f"file={disk},format=raw,if=ide",
                                  "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"])
        requests = server.requests()
    assert [r["path"].split("?")[0] for r in requests] == ["/install/ipxe"]
    assert "ksserver: compute-0-0 os" in result.serial
    assert MARK.decode().strip() in result.serial, result.serial[-2000:]
    assert result.returncode == (EXIT_VALUE << 1) | 1
