"""PXE boot data: ``BootEntry`` (what one host boots) and the pxelinux config named by its private IP
in upper-case hex (Rocks §4.2).  ``ksserver.bootanswers`` writes it with the GRUB and iPXE answers,
atomically (temp file + rename), one host at a time: a mutation costs O(changed hosts)."""

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



def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
