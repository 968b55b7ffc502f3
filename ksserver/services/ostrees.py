"""OS trees (``rocks add|list|remove distribution``): import a DVD/ISO or mirror, and point the stock
install boot actions at its network-boot kernel and initrd."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ksserver.distributions import DistributionInfo, _arch_lock, import_tree, list_trees
from ksserver.errors import InvalidArgument, NotFound
from ksserver.inventory import boot as boot_db
from ksserver.services import Cluster
from ksserver.services.boot import BootActionRequest, add_bootaction

# Boot actions that start the installer; they follow the last imported tree.
INSTALL_ACTIONS = ("install", "install headless", "rescue")


@dataclass(frozen=True)
class AddDistribution:
    name: str
    path: str
    arch: str = "x86_64"


def boot_paths(info: DistributionInfo, tftp_dir: Path) -> tuple[str, str]:
    """Kernel and initrd as boot loaders name them: relative to the TFTP root (``/boot/`` over HTTP)."""
    return str(info.kernel.relative_to(tftp_dir)), str(info.initrd.relative_to(tftp_dir))


def add_distribution(cluster: Cluster, req: AddDistribution) -> DistributionInfo:
    """Import the tree, then point the install boot actions (and so every installing host's answers)
    at its kernel and initrd."""
    if not req.path:
        raise InvalidArgument("path= names the OS tree: a directory or an ISO image")
    tftp = cluster.settings.tftp_dir
    info = import_tree(Path(req.path), cluster.settings.root, req.name, req.arch, tftp_dir=tftp)
    kernel, initrd = boot_paths(info, tftp)
    with cluster.db.session() as session:
        args = {a.action: a.args for a in boot_db.list_bootactions(session)}
    for name in INSTALL_ACTIONS:
        if name in args:
            add_bootaction(cluster, BootActionRequest(name, kernel, initrd, args[name]))
    return info


def list_distributions(cluster: Cluster) -> list[DistributionInfo]:
    return list_trees(cluster.settings.root)


def remove_distribution(cluster: Cluster, name: str, arch: str | None = None) -> list[DistributionInfo]:
    """Remove the tree(s) called ``name`` (one arch, or all) and their boot files.  Refused while a boot
    action boots its kernel: import another tree (or ``rocks add bootaction``) first."""
    trees = [t for t in list_distributions(cluster) if t.name == name and (arch is None or t.arch == arch)]
    if not trees:
        raise NotFound(f"no imported OS tree {name!r}{f' for {arch}' if arch else ''}")
    tftp = cluster.settings.tftp_dir
    with cluster.db.session() as session:
        kernels = [(a.action, a.kernel) for a in boot_db.list_bootactions(session)]
    for info in trees:
        kernel, _ = boot_paths(info, tftp)
        users = [action for action, used in kernels if used == kernel]
        if users:
            raise InvalidArgument(f"OS tree {name} ({info.arch}) is booted by boot action(s) "
                                  f"{', '.join(users)}: import another tree or change them first")
    os_dir = cluster.settings.root / "install" / "os"
    for info in trees:
        with _arch_lock(os_dir, info.arch):
            for path in (info.tree, info.boot_dir):
                if path.exists():  # renamed first: an installer never sees half a tree
                    doomed = Path(tempfile.mkdtemp(prefix=f".{info.arch}.removing-", dir=path.parent))
                    path.rename(doomed / "tree")
                    shutil.rmtree(doomed)
    image_dir = tftp / "images" / name
    if image_dir.is_dir() and not any(p for p in image_dir.iterdir() if not p.name.startswith(".")):
        shutil.rmtree(image_dir)
    return trees
