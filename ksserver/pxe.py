"""PXE boot files: one pxelinux config per host, named by its private IP in upper-case hex
(Rocks §4.2), plus an iPXE script per MAC.  Written atomically (temp file + rename), one host at a
time: a mutation costs O(changed hosts), never a global "sync"."""

from __future__ import annotations

import ipaddress
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BootEntry:
    """Everything needed to write one host's PXE files."""

    host: str
    ip: str | None
    mac: str | None
    action: str            # install | os | ... (a bootactions row name)
    kernel: str
    ramdisk: str
    args: str


def hex_ip(ip: str) -> str:
    return f"{int(ipaddress.IPv4Address(ip)):08X}"


def pxelinux_config(entry: BootEntry) -> str:
    lines = ["default rocks", "prompt 0", "label rocks"]
    if entry.kernel.startswith(("localboot", "memtest")) or " " in entry.kernel:
        lines.append(f"  {entry.kernel}")
    else:
        lines.append(f"  kernel {entry.kernel}")
    append = entry.args
    if entry.ramdisk:
        append = f"{append} initrd={entry.ramdisk}".strip()
    if append:
        lines.append(f"  append {append}")
    if "bootif" in entry.args.lower() or "ip=dhcp" in entry.args:
        lines.append("  ipappend 2")
    return "\n".join(lines) + "\n"


def ipxe_script(entry: BootEntry) -> str:
    if entry.kernel.startswith("localboot") or not entry.kernel:
        return "#!ipxe\nexit\n"  # fall through to the next boot device (the disk)
    initrd = f"initrd {entry.ramdisk}\n" if entry.ramdisk else ""
    return f"#!ipxe\nkernel {entry.kernel} {entry.args}\n{initrd}boot\n"


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def pxe_paths(tftp_dir: Path, entry: BootEntry) -> list[Path]:
    paths = []
    if entry.ip:
        paths.append(tftp_dir / "pxelinux.cfg" / hex_ip(entry.ip))
    if entry.mac:
        paths.append(tftp_dir / "ipxe" / (entry.mac.replace(":", "-") + ".ipxe"))
    return paths


def write_boot_files(tftp_dir: Path, entry: BootEntry) -> list[Path]:
    written = []
    if entry.ip:
        path = tftp_dir / "pxelinux.cfg" / hex_ip(entry.ip)
        _atomic_write(path, pxelinux_config(entry))
        written.append(path)
    if entry.mac:
        path = tftp_dir / "ipxe" / (entry.mac.replace(":", "-") + ".ipxe")
        _atomic_write(path, ipxe_script(entry))
        written.append(path)
    return written


def remove_boot_files(tftp_dir: Path, entry: BootEntry) -> None:
    for path in pxe_paths(tftp_dir, entry):
        path.unlink(missing_ok=True)
