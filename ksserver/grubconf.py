"""Per-host boot-loader answers for UEFI (GRUB2 ``grub.cfg-01-<mac>``) and iPXE, for the two things a
network-booting host is told: install now, or boot from the local disk.

Pure functions of a small dataclass; writing the files is the caller's business (see ``ksserver.pxe``
for the atomic writer).  "Boot from disk" is an explicit answer, never silence: a host whose boot-loader
fetch fails would otherwise wait, retry, or install again.  Values that could end a line or a quoted
word are refused, so a host attribute cannot add boot-loader commands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ksserver.errors import InvalidArgument

ACTIONS = ("install", "os")
DISK_BOOT_MODES = ("exit", "chainload")
MAC_RE = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}")
HOST_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,252}")
PLAIN_WORD_RE = re.compile(r"[A-Za-z0-9._/=:,@%+-]+")
# The EFI loader a firmware falls back to; an installed EL system also has /EFI/<vendor>/shimx64.efi.
FALLBACK_EFI = "/EFI/BOOT/BOOTX64.EFI"


@dataclass(frozen=True)
class BootTarget:
    host: str
    mac: str
    action: str                  # install | os
    kernel: str = ""             # path or URL as the boot loader sees it
    initrd: str = ""
    args: str = ""


def _check(target: BootTarget) -> None:
    where = f"host {target.host!r}"
    if not HOST_RE.fullmatch(target.host):
        raise InvalidArgument(f"{where}: not a valid host name")
    if not MAC_RE.fullmatch(target.mac):
        raise InvalidArgument(f"{where}: MAC {target.mac!r} is not of the form 52:54:00:aa:bb:cc "
                              f"(lower case)")
    if target.action not in ACTIONS:
        raise InvalidArgument(f"{where}: action {target.action!r} is not one of {', '.join(ACTIONS)}")
    for name in ("kernel", "initrd", "args"):
        value = getattr(target, name)
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise InvalidArgument(f"{where}: {name} holds a newline or control character")
        if name != "args" and any(ch.isspace() for ch in value):
            raise InvalidArgument(f"{where}: {name} {value!r} holds whitespace")
    if target.action == "install" and not target.kernel:
        raise InvalidArgument(f"{where}: install needs a kernel")


# --- GRUB2 ---------------------------------------------------------------------------------------

def grub_config_name(mac: str) -> str:
    """The file GRUB's net boot looks for first: ``grub.cfg-01-52-54-00-aa-bb-cc``."""
    if not MAC_RE.fullmatch(mac):
        raise InvalidArgument(f"MAC {mac!r} is not of the form 52:54:00:aa:bb:cc (lower case)")
    return "grub.cfg-01-" + mac.replace(":", "-")


def _grub_word(word: str, where: str) -> str:
    if PLAIN_WORD_RE.fullmatch(word):
        return word
    if "'" in word:
        raise InvalidArgument(f"{where}: {word!r} holds a single quote, which GRUB cannot take here")
    return f"'{word}'"  # no expansion inside single quotes: '$', ';', '&', '{' stay literal


def grub_config(target: BootTarget, disk_boot: str = "exit") -> str:
    """``grub.cfg-01-<mac>`` text.  ``disk_boot``: ``exit`` hands back to the firmware, which boots
    the next entry of its boot order (the disk); ``chainload`` finds the disk's fallback EFI loader."""
    _check(target)
    where = f"host {target.host!r}"
    lines = [f"# {target.host} ({target.mac}): {target.action}, written by ksserver",
             "set default=0", "set timeout=0"]
    if target.action == "install":
        kernel = " ".join(_grub_word(w, where) for w in [target.kernel, *target.args.split()])
        lines += [f"menuentry 'Install {target.host}' {{", f"    linux {kernel}"]
        if target.initrd:
            lines.append(f"    initrd {_grub_word(target.initrd, where)}")
        lines.append("}")
    elif disk_boot == "exit":
        lines += [f"menuentry 'Boot {target.host} from local disk' {{", "    exit", "}"]
    elif disk_boot == "chainload":
        lines += [f"menuentry 'Boot {target.host} from local disk' {{",
                  f"    if search --no-floppy --file --set=root {FALLBACK_EFI}; then",
                  f"        chainloader {FALLBACK_EFI}", "        boot", "    fi",
                  "    exit", "}"]
    else:
        raise InvalidArgument(f"disk_boot {disk_boot!r} is not one of {', '.join(DISK_BOOT_MODES)}")
    return "\n".join(lines) + "\n"


# --- iPXE ----------------------------------------------------------------------------------------

def _ipxe_line_safe(value: str, where: str) -> str:
    # iPXE splits commands on '&&' and '||' and starts comments with '#'; ${...} expansion is allowed
    # on purpose (e.g. BOOTIF=01-${net0/mac:hexhyp}).
    for bad in ("&&", "||", "#"):
        if bad in value:
            raise InvalidArgument(f"{where}: {value!r} holds {bad!r}, which iPXE would run as script syntax")
    return value


def ipxe_script(target: BootTarget) -> str:
    """The iPXE answer for one host: its installer kernel, or an explicit boot from the local disk
    (``sanboot`` of BIOS drive 0x80; under UEFI, ``exit`` to the firmware's next boot entry)."""
    _check(target)
    where = f"host {target.host!r}"
    head = ["#!ipxe", f"echo ksserver: {target.host} {target.action}"]
    if target.action == "os":
        return "\n".join(head + [
            "iseq ${platform} efi && exit ||",
            "sanboot --no-describe --drive 0x80 || exit",
        ]) + "\n"
    kernel = [_ipxe_line_safe(target.kernel, where)]
    if target.initrd:
        # EFI kernels find the initrd by this name; BIOS kernels ignore it.
        kernel.append("initrd=" + target.initrd.rstrip("/").rsplit("/", 1)[-1])
    if target.args:
        kernel.append(_ipxe_line_safe(" ".join(target.args.split()), where))
    lines = head + [f"kernel {' '.join(kernel)}"]
    if target.initrd:
        lines.append(f"initrd {_ipxe_line_safe(target.initrd, where)}")
    lines.append("boot")
    return "\n".join(lines) + "\n"
