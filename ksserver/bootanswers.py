"""A host's three boot-loader answers, written together: pxelinux (BIOS, TFTP), GRUB2
``grub.cfg-01-<mac>`` (UEFI, TFTP) and an iPXE script (served over HTTP by ``GET /install/ipxe``).

Install answers carry the host's install token on the kernel line
(``inst.ks=<server>/install/sbin/kickstart.cgi?token=...`` and ``inst.ks.sendmac``).  Pure text
functions plus the atomic writer of ``ksserver.pxe``; nothing here touches the database.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

from ksserver.grubconf import BootTarget, grub_config, grub_config_name, ipxe_script
from ksserver.pxe import BootEntry, atomic_write, hex_ip, pxelinux_config

KICKSTART_PATH = "/install/sbin/kickstart.cgi"
STATUS_PATH = "/install/sbin/public/status"
BOOT_FILES_PATH = "/boot"          # GET /boot/<path>: kernels and initrds of the TFTP tree, over HTTP
_KS_WORDS = ("inst.ks=", "ks=")


def kickstart_url(server_url: str, token: str) -> str:
    return f"{server_url.rstrip('/')}{KICKSTART_PATH}?token={quote(token, safe='')}"


def install_args(args: str, server_url: str, token: str | None) -> str:
    """``args`` with its kickstart location replaced by this server's, carrying ``token``."""
    words = [w for w in args.split() if not w.startswith(_KS_WORDS)]
    if token is None:
        return " ".join(words)
    words.append(f"inst.ks={kickstart_url(server_url, token)}")
    if "inst.ks.sendmac" not in words:
        words.append("inst.ks.sendmac")  # anaconda sends X-RHN-Provisioning-MAC-n: it must match the host
    return " ".join(words)


def is_disk_boot(entry: BootEntry) -> bool:
    return not entry.kernel or entry.kernel.startswith("localboot")


def _url(server_url: str, path: str) -> str:
    if "://" in path or not path:
        return path
    return f"{server_url.rstrip('/')}{BOOT_FILES_PATH}/{path.lstrip('/')}"


def _grub_path(path: str) -> str:
    # GRUB's network boot sets $root to (tftp): names are absolute in the TFTP tree.
    return path if not path or "://" in path or path.startswith("/") else "/" + path


def target_of(entry: BootEntry, server_url: str, for_ipxe: bool) -> BootTarget:
    if is_disk_boot(entry):
        return BootTarget(host=entry.host, mac=entry.mac or "", action="os")
    fix = (lambda p: _url(server_url, p)) if for_ipxe else _grub_path
    return BootTarget(host=entry.host, mac=entry.mac or "", action="install", kernel=fix(entry.kernel),
                      initrd=fix(entry.ramdisk), args=entry.args)


def ipxe_path(tftp_dir: Path, mac: str) -> Path:
    return tftp_dir / "ipxe" / (mac.replace(":", "-") + ".ipxe")


def answer_paths(tftp_dir: Path, entry: BootEntry) -> list[Path]:
    paths = []
    if entry.ip:
        paths.append(tftp_dir / "pxelinux.cfg" / hex_ip(entry.ip))
    if entry.mac:
        paths += [ipxe_path(tftp_dir, entry.mac), tftp_dir / grub_config_name(entry.mac)]
    return paths


def render_answers(tftp_dir: Path, entry: BootEntry, server_url: str, token: str | None) -> dict[Path, str]:
    """Path -> text of every answer of ``entry`` (a host in ``install`` gets ``token`` on its kernel line).
    Raises ``InvalidArgument`` naming the host when a value cannot be written safely."""
    if not is_disk_boot(entry):
        entry = replace(entry, args=install_args(entry.args, server_url, token) if token else entry.args)
    texts: dict[Path, str] = {}
    if entry.ip:
        texts[tftp_dir / "pxelinux.cfg" / hex_ip(entry.ip)] = pxelinux_config(entry)
    if entry.mac:
        texts[ipxe_path(tftp_dir, entry.mac)] = ipxe_script(target_of(entry, server_url, for_ipxe=True))
        texts[tftp_dir / grub_config_name(entry.mac)] = grub_config(target_of(entry, server_url, for_ipxe=False))
    return texts


def write_answers(texts: dict[Path, str]) -> None:
    for path, text in texts.items():
        atomic_write(path, text)


def remove_answers(tftp_dir: Path, entry: BootEntry) -> None:
    for path in answer_paths(tftp_dir, entry):
        path.unlink(missing_ok=True)


def disk_boot_ipxe(host: str, mac: str) -> str:
    """The explicit boot-from-disk iPXE answer for a host that has no boot state (no files)."""
    return ipxe_script(BootTarget(host=host, mac=mac, action="os"))


UNKNOWN_MAC_IPXE = ("#!ipxe\necho ksserver: this MAC is not a known host; booting from the local disk\n"
                    "iseq ${platform} efi && exit ||\nsanboot --no-describe --drive 0x80 || exit\n")
