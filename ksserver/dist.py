"""``rocks-dist dist``: check the whole kickstart graph against every host and build the
distribution tree that installers fetch from (``$KSSERVER_ROOT/install/rocks-dist/<arch>/``).

As in Rocks, site-profile edits reach installers only through this step: it copies the node and
graph files into a new generation (``ksserver.generations``), compiles and pykickstart-validates
every host's kickstart from that copy and reports every failure; only when all pass does it swap
in the fresh tree (one symlink rename) and record the generation in the database, which every
server process follows.  A flock (released by the kernel if the process dies) replaces Rocks' stale
``/var/lock/rocks-dist``.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from installer_plugin import bundle
from ksserver import generations, published
from ksserver.config import Settings
from ksserver.db.session import Database
from ksserver.errors import DistError
from ksserver.graph import GraphLibrary, KickstartCompiler, Source, UndefinedAttributes, undefined_report
from ksserver.graph.batch import Overlay, check_hosts
from ksserver.graph.library import nodes_dir
from ksserver.inventory.snapshot import InventorySnapshot

MAX_REPORTED = 20
TREES = published.TREES   # published trees; <arch> is a symlink to one of them
STAGING = ".staging-"     # a tree being written
LINK_SUFFIX = published.LINK_SUFFIX  # a symlink about to replace <arch>
OS_TREE_ENTRIES = published.OS_TREE_ENTRIES


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
    generation: str = ""
    warnings: list[str] = field(default_factory=list)    # graph problems that do not stop the build
    undefined: list[str] = field(default_factory=list)   # every undefined attribute of the build, once


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


def build_distribution(settings: Settings, db: Database, arch: str = "x86_64",
                       sources: list[Source] | None = None) -> DistReport:
    """Validate every host against ``sources`` (default: stock files + site profile; the service layer
    passes the enabled rolls too) and publish them as the served generation."""
    start = time.perf_counter()
    dist_root = settings.dist_dir / "rocks-dist"
    report = DistReport(arch=arch, tree=dist_root / arch)
    with dist_lock(settings.dist_dir):
        with db.session() as session:
            current = generations.published(session)
        _clean_stale_trees(dist_root)
        # Validate the copy, not the live folder: what passes is byte for byte what gets served.
        live = sources if sources is not None else generations.live_sources(settings)
        gen_id, gen_path, created = generations.write_generation(settings, live)
        copies = generations.generation_sources(settings, gen_id)
        # Messages name the files the admin edits, not their copies in the generation.
        where = {str(c.path): str(s.path) for c, s in zip(copies, live)}
        try:
            library = GraphLibrary.load(copies)  # file and line
            compiler = KickstartCompiler(library, evals=settings.evals, eval_timeout=settings.eval_timeout,
                                         eval_user=settings.eval_user,
                                         ks_version=settings.ks_version)
            report.warnings = [_live_paths(w, where) for w in library.warnings]
            _validate_hosts(db, compiler, report, arch)
            report.failures = [_live_paths(f, where) for f in report.failures]
            report.undefined = [_live_paths(u, where) for u in report.undefined]
            if report.failures:
                more = report.failed_hosts - len(report.failures)
                extra = f" (and {more} more)" if more > 0 else ""
                undefined = ("; undefined attributes (a site supplies them): " + "; ".join(report.undefined)
                             if report.undefined else "")
                error = DistError(f"{report.failed_hosts} of {report.hosts} kickstarts failed; the "
                                  f"distribution was not rebuilt: " + "; ".join(report.failures) + extra + undefined)
                error.report = report  # type: ignore[attr-defined]  # build jobs show each failure on its own
                raise error
            report.templates = compiler.cache_info()["templates"]
            tree, report.os_tree = _write_tree(settings, library, dist_root, arch, gen_id)
            _publish(db, dist_root, arch, gen_id, gen_path, tree)
        except BaseException:
            if created and gen_id != current:
                shutil.rmtree(gen_path, ignore_errors=True)
            raise
        report.generation = gen_id
        generations.clean_stale(settings, keep={gen_id} | ({current} if current else set()))
    report.seconds = time.perf_counter() - start
    return report


def _live_paths(text: str, where: dict[str, str]) -> str:
    for copy, live in where.items():
        text = text.replace(copy, live)
    return text


# Intrinsic attributes that differ between hosts of one (root, appliance, membership, os, arch) group; the
# rest of the intrinsic values follow from the group (HostView.intrinsic).
_PER_HOST = frozenset({"hostname", "rack", "rank", "cpus", "hostaddr", "ksmac", "ksdevice", "netmask"})


def _validate_hosts(db: Database, compiler: KickstartCompiler, report: DistReport, arch: str) -> None:
    """Every host's kickstart must compile and validate: hosts of a group (same root, appliance,
    membership, os, arch: the same attributes but their own and the per-host intrinsic ones) share the
    template's validation, and only their own values are checked per host (``graph.batch``)."""
    snap = InventorySnapshot(db)
    views = [v for v in snap.every_view() if v.root and v.arch == arch]
    varying = _PER_HOST | {name for v in views for name in v.own}
    report.hosts = len(views)
    report.appliances = {v.appliance for v in views}

    shared: dict[tuple, dict[str, str]] = {}

    def hosts() -> Iterator[tuple[str, str, tuple, Mapping[str, str]]]:
        # As InventorySnapshot.attrs (global < os < appliance < host < intrinsic), with the group's part
        # built once: a host's own and intrinsic values over it.
        for v in views:
            group = (v.root, v.appliance_id, v.membership, v.os, v.arch)
            common = shared.get(group)
            if common is None:
                common = shared[group] = snap.shared_attrs(v)
            yield v.name, v.root, group, Overlay({**v.own, **v.intrinsic()}, common)

    lacking: list[tuple[str, str, dict[str, str]]] = []
    roots = {v.name: v.root for v in views}
    for name, attrs, exc in check_hosts(compiler, hosts(), varying):
        if isinstance(exc, UndefinedAttributes):
            lacking.append((name, roots[name], dict(attrs)))
        report.failed_hosts += 1
        if len(report.failures) < MAX_REPORTED:
            report.failures.append(f"{name}: {exc}")
    if lacking:
        # All undefined attributes of the build at once, each with the hosts that lack it.
        report.undefined = undefined_report(compiler, lacking)


def _clean_stale_trees(dist_root: Path) -> None:
    """Staging trees and temporary links of a run that was killed (we hold the lock: none is live)."""
    trees = dist_root / TREES
    for path in list(trees.glob(f"{STAGING}*")) + list(dist_root.glob(f".*{LINK_SUFFIX}*")):
        if path.is_symlink() or path.is_file():
            path.unlink(missing_ok=True)
        else:
            shutil.rmtree(path, ignore_errors=True)


def _publish(db: Database, dist_root: Path, arch: str, gen_id: str, gen_path: Path, tree: Path) -> None:
    """Point ``<arch>`` at ``tree`` (one symlink rename: a reader sees the old tree or the new one, never
    none), then record the generation with every file of it and of the tree in one transaction, which
    every server process of every instance follows (``ksserver.published``).  Under the publish lock, so
    an instance's follower never sees the new link with the old row and puts the old tree back."""
    with published.publish_lock(dist_root):
        try:
            published.point_link(dist_root, arch, tree.name)
        except BaseException:
            shutil.rmtree(tree, ignore_errors=True)
            raise
        with db.session(write=True) as session:
            row = generations.record_published(session, gen_id, arch)  # every server switches on this commit
            published.store(session, row, gen_path, tree)
        for old in (dist_root / TREES).glob(f"{arch}-*"):
            if old != tree:
                shutil.rmtree(old, ignore_errors=True)


def _write_tree(settings: Settings, library: GraphLibrary, dist_root: Path, arch: str,
                gen_id: str) -> tuple[Path, Path | None]:
    """Write a new tree under .trees/ (build/{nodes,graphs}, the plugin bundle and links to the OS tree):
    (its folder, the OS tree linked).  It appears by one rename, complete or not at all."""
    trees = dist_root / TREES
    trees.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING, dir=trees))
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
        # Paths relative to install/: the file is the same on every instance (ksserver.published).
        (build / "MANIFEST").write_text(f"generation\t{gen_id}\n" + "".join(
            f"{s.label}\t{_under(Path(s.path), settings.dist_dir)}\n" for s in library.sources))
        # The installer plugin's bundle, fetched by every kickstart's first %pre (ksserver.partition_kickstart).
        bundle.build(staging)
        os_tree = settings.dist_dir / "os" / arch
        linked = None
        if os_tree.is_dir():
            for entry in OS_TREE_ENTRIES:
                if (os_tree / entry).exists():
                    (staging / entry).symlink_to(os.path.relpath(os_tree / entry, staging))
            linked = os_tree
        staging.chmod(0o755)
        final = trees / f"{arch}-{gen_id[:12]}-{staging.name[len(STAGING):]}"
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final, linked


def _under(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return str(path)
