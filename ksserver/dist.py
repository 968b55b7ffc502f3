"""``rocks-dist dist``: check the whole kickstart graph against every host and build the
distribution tree that installers fetch from (``$KSSERVER_ROOT/install/rocks-dist/<arch>/``).

Unlike Rocks, site-profile edits reach the server without this step (it reloads changed files);
``rocks-dist dist`` is the gate an admin runs before a mass reinstall: it compiles and
pykickstart-validates every host's kickstart and reports every failure, then swaps in a fresh
tree atomically.  A flock (released by the kernel if the process dies) replaces Rocks' stale
``/var/lock/rocks-dist``.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ksserver.config import Settings
from ksserver.db.session import Database
from ksserver.errors import DistError, GraphError
from ksserver.graph import GraphLibrary, KickstartCompiler
from ksserver.graph.library import nodes_dir
from ksserver.inventory.snapshot import InventorySnapshot
from ksserver.kickstarts import KickstartService

MAX_REPORTED = 20
OS_TREE_ENTRIES = (".treeinfo", ".discinfo", "BaseOS", "AppStream", "images", "Packages", "repodata", "EFI")


@dataclass
class DistReport:
    arch: str
    tree: Path
    hosts: int = 0
    appliances: set[str] = field(default_factory=set)
    templates: int = 0
    failures: list[str] = field(default_factory=list)
    failed_hosts: int = 0
    os_tree: Path | None = None
    seconds: float = 0.0


@contextmanager
def dist_lock(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    path = root / ".rocks-dist.lock"
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise DistError(f"another rocks-dist is running ({handle.read().strip() or 'unknown pid'}); "
                            f"it holds {path}") from None
        handle.truncate(0)
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_distribution(settings: Settings, db: Database, arch: str = "x86_64") -> DistReport:
    start = time.perf_counter()
    dist_root = settings.dist_dir / "rocks-dist"
    report = DistReport(arch=arch, tree=dist_root / arch)
    with dist_lock(settings.dist_dir):
        service = KickstartService(settings)
        library = GraphLibrary.load(service.sources())  # GraphError names file and line
        compiler = KickstartCompiler(library, evals=settings.evals, eval_timeout=settings.eval_timeout,
                                     ks_version=settings.ks_version)
        _validate_hosts(db, compiler, report, arch)
        if report.failures:
            more = report.failed_hosts - len(report.failures)
            extra = f" (and {more} more)" if more > 0 else ""
            raise DistError(f"{report.failed_hosts} of {report.hosts} kickstarts failed; the distribution was "
                            f"not rebuilt: " + "; ".join(report.failures) + extra)
        report.templates = compiler.cache_info()["templates"]
        report.os_tree = _swap_in_tree(settings, library, dist_root, arch)
    report.seconds = time.perf_counter() - start
    return report


def _validate_hosts(db: Database, compiler: KickstartCompiler, report: DistReport, arch: str) -> None:
    snap = InventorySnapshot(db)
    snap.sync(force=True)
    for host in sorted(snap.hosts.values(), key=lambda h: h.name):
        if not host.root or host.arch != arch:
            continue
        report.hosts += 1
        report.appliances.add(host.appliance)
        try:
            compiler.kickstart(host.root, snap.attrs(host))
        except GraphError as exc:
            report.failed_hosts += 1
            if len(report.failures) < MAX_REPORTED:
                report.failures.append(f"{host.name}: {exc}")


def _swap_in_tree(settings: Settings, library: GraphLibrary, dist_root: Path, arch: str) -> Path | None:
    """Write <arch>/build/{nodes,graphs} and link the OS tree, then replace the old tree at once."""
    dist_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{arch}-", dir=dist_root))
    try:
        build = staging / "build"
        for source in library.sources:
            if not source.path.is_dir():
                continue
            # Stock files keep their node files at the top and graphs/ below; a site profile has nodes/.
            nodes = nodes_dir(source.path)
            shutil.copytree(nodes, build / "nodes", dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("*.py", "__pycache__", "graphs"))
            if (source.path / "graphs").is_dir():
                shutil.copytree(source.path / "graphs", build / "graphs", dirs_exist_ok=True)
        (build / "MANIFEST").write_text("".join(f"{s.label}\t{s.path}\n" for s in library.sources))
        os_tree = settings.dist_dir / "os" / arch
        linked = None
        if os_tree.is_dir():
            for entry in OS_TREE_ENTRIES:
                if (os_tree / entry).exists():
                    (staging / entry).symlink_to(os_tree / entry)
            linked = os_tree
        staging.chmod(0o755)
        target = dist_root / arch
        old = dist_root / f".{arch}.old"
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            target.rename(old)
        staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
        return linked
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
