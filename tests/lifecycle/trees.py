"""Small OS trees and ISO images built by the tests themselves: PXE images, a .treeinfo, and a repo
made by createrepo_c (a real repomd.xml over no packages)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.lifecycle.tools import need

TREEINFO = """[header]
type = productmd.treeinfo
version = 1.2

[release]
name = Rocky Linux
short = Rocky
version = 9.4

[tree]
arch = {arch}
platforms = x86_64,xen

[images-x86_64]
kernel = images/pxeboot/vmlinuz
initrd = images/pxeboot/initrd.img

[variant-BaseOS]
id = BaseOS
packages = BaseOS/Packages
repository = BaseOS
"""


def make_tree(root: Path, arch: str = "x86_64", pxeboot: bool = True, treeinfo: bool = True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    if pxeboot:
        boot = root / "images" / "pxeboot"
        boot.mkdir(parents=True)
        (boot / "vmlinuz").write_bytes(b"KERNEL" * 1000)
        (boot / "initrd.img").write_bytes(b"INITRD" * 3000)
    if treeinfo:
        (root / ".treeinfo").write_text(TREEINFO.format(arch=arch))
    (root / ".discinfo").write_text("1700000000.0\nRocky Linux 9.4\nx86_64\n")
    packages = root / "BaseOS" / "Packages"
    packages.mkdir(parents=True)
    subprocess.run([need("createrepo_c", "createrepo-c"), "-q", str(root / "BaseOS")], check=True,
                   capture_output=True)
    return root


def make_iso(tree: Path, iso: Path, label: str = "Rocky-9-4-x86_64-dvd") -> Path:
    xorriso = need("xorriso", "xorriso")
    subprocess.run([xorriso, "-as", "mkisofs", "-quiet", "-R", "-J", "-V", label, "-o", str(iso), str(tree)],
                   check=True, capture_output=True)
    return iso
