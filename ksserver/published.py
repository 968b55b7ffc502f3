"""Published builds through the database, so every instance serves the same files.

``rocks-dist dist`` stores, in the transaction that records the generation row, every file of the new
generation (``install/rocks-dist/.generations/<digest>/``) and of the published tree (``.trees/<name>/``:
build/nodes, build/graphs, build/MANIFEST, the installer plugin bundle): a ``published_trees`` row, one
``published_files`` row per file (relative path, SHA-256, mode, size) and the bytes once per SHA-256
(``published_blobs``).  An instance whose ``install/`` lacks what the newest rows name writes it from the
database (``sync``): into a staging folder, every file checked against its SHA-256 (the generation also
against its digest), renamed into place, then ``<arch>`` pointed at it by one symlink rename, as dist.py
does.  The OS tree is not in the database: each instance links its own ``install/os/<arch>``.

``sync`` runs in the ``ksserver serve`` follower process (``follow``), when the kickstart compiler
meets a generation it lacks (``ksserver.kickstarts``) and when a file under rocks-dist/ is missing
(``catch_up``, from the file views).  A blocking flock (``.publish.lock``) orders the
processes of one instance; dist.py takes it around its own link swap and commit.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import stat
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ksserver import generations
from ksserver.config import Settings
from ksserver.db import models
from ksserver.db.session import Database
from ksserver.errors import DistError, RocksError
from ksserver.graph import Source

log = logging.getLogger("ksserver.published")
TREES = ".trees"          # published trees; <arch> is a symlink to one of them
LINK_SUFFIX = ".link-"    # a symlink about to replace <arch>
STAGING = ".materializing-"  # not dist's ".staging-": dist's cleanup never removes one being written here
LOCK = ".publish.lock"
GENERATION, TREE = "generation", "tree"
OS_TREE_ENTRIES = (".treeinfo", ".discinfo", "BaseOS", "AppStream", "images", "Packages", "repodata", "EFI")
_TREE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Published:
    """The newest publication of one arch, as the database names it."""
    id: int
    digest: str
    arch: str
    tree: str


def dist_root(settings: Settings) -> Path:
    return settings.dist_dir / "rocks-dist"


@contextmanager
def publish_lock(root: Path) -> Iterator[None]:
    """Held while ``<arch>`` is swapped or a tree is written from the database, by one process at a time."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# Writing (rocks-dist dist)

def files_of(folder: Path) -> list[tuple[str, Path, int]]:
    """(relative path, path, mode) of the regular files under ``folder``, sorted; links are left out (the
    OS-tree links of a tree point into this instance's own install/os)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            info = path.lstat()
            if stat.S_ISREG(info.st_mode):
                out.append((path.relative_to(folder).as_posix(), path, stat.S_IMODE(info.st_mode)))
    return out


def store(session: Session, generation: models.Generation, generation_dir: Path, tree_dir: Path) -> int:
    """Record the files of ``generation_dir`` and ``tree_dir`` as ``generation``'s publication; returns how
    many bytes were new to the database."""
    session.flush()  # the generation row's id
    row = models.PublishedTree(generation_id=generation.id, digest=generation.digest, arch=generation.arch,
                               tree=tree_dir.name)
    session.add(row)
    session.flush()
    blobs: dict[str, bytes] = {}
    files = []
    for part, folder in ((GENERATION, generation_dir), (TREE, tree_dir)):
        for relpath, path, mode in files_of(folder):
            data = path.read_bytes()
            sha = hashlib.sha256(data).hexdigest()
            blobs[sha] = data
            files.append({"tree_id": row.id, "part": part, "relpath": relpath, "sha256": sha, "mode": mode,
                          "size": len(data)})
    have = set(session.scalars(select(models.PublishedBlob.sha256)
                               .where(models.PublishedBlob.sha256.in_(list(blobs)))))
    new = [{"sha256": sha, "data": data} for sha, data in blobs.items() if sha not in have]
    if new:
        session.execute(_insert_blobs(session), new)
    session.execute(insert(models.PublishedFile.__table__), files)
    return sum(len(b["data"]) for b in new)


def _insert_blobs(session: Session):  # type: ignore[no-untyped-def]
    """Two builds on two machines may store the same new bytes at once: the second insert is a no-op."""
    table = models.PublishedBlob.__table__
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing(index_elements=["sha256"])
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing(index_elements=["sha256"])
    return insert(table)


def point_link(root: Path, arch: str, name: str) -> str | None:
    """Point ``<root>/<arch>`` at ``.trees/<name>`` by renaming a fresh symlink over it (a reader sees
    the old tree or the new one, never none).  Returns the tree it pointed at before, if any."""
    target = root / arch
    before = None
    if target.is_symlink():
        before = os.readlink(target)
    elif target.is_dir():  # a tree from before symlinked publishing: moved aside once
        target.rename(root / TREES / f"{arch}-legacy-{name.rsplit('-', 1)[-1]}")
    link = root / f".{arch}{LINK_SUFFIX}{os.getpid()}-{threading.get_ident()}"
    link.unlink(missing_ok=True)
    link.symlink_to(f"{TREES}/{name}")
    try:
        os.replace(link, target)
    except BaseException:
        link.unlink(missing_ok=True)
        raise
    prefix = f"{TREES}/"
    return before[len(prefix):] if before and before.startswith(prefix) else None


# Reading (every instance)

def newest(session: Session) -> list[Published]:
    """The newest publication of each arch."""
    table = models.PublishedTree
    ids = select(func.max(table.id)).group_by(table.arch)
    rows = session.execute(select(table.id, table.digest, table.arch, table.tree)
                           .where(table.id.in_(ids)).order_by(table.id)).all()
    return [Published(*row) for row in rows]


def _for_digest(session: Session, digest: str) -> Published | None:
    table = models.PublishedTree
    row = session.execute(select(table.id, table.digest, table.arch, table.tree).where(table.digest == digest)
                          .order_by(table.id.desc()).limit(1)).first()
    return Published(*row) if row else None


def _has_generation(settings: Settings, digest: str) -> bool:
    return (generations.generations_dir(settings) / digest / generations.MANIFEST).is_file()


def _has_tree(root: Path, pub: Published) -> bool:
    link = root / pub.arch
    return (link.is_symlink() and os.readlink(link) == f"{TREES}/{pub.tree}"
            and (root / TREES / pub.tree).is_dir())


def current(settings: Settings, pubs: list[Published], want: str | None = None) -> bool:
    """Whether this instance's install/ holds what ``pubs`` name (and generation ``want``): a few stats."""
    root = dist_root(settings)
    return all(_has_generation(settings, p.digest) and _has_tree(root, p) for p in pubs) and \
        (want is None or _has_generation(settings, want))


def sync(settings: Settings, db: Database, want: str | None = None) -> list[str]:
    """Write what this instance lacks of the newest publication of each arch (and of generation ``want``)
    from the database; returns what was written.  A file whose bytes do not match its SHA-256 stops that
    publication with a DistError (the caller logs it): nothing of it is written, the previous tree stays."""
    with db.session() as session:
        pubs = newest(session)
    if current(settings, pubs, want):
        return []
    root = dist_root(settings)
    written: list[str] = []
    with publish_lock(root), db.session() as session:
        pubs = newest(session)  # again under the lock: another process may have done it, or a newer dist
        extra = _for_digest(session, want) if want and not _has_generation(settings, want) else None
        for folder in (root, root / TREES, generations.generations_dir(settings)):
            for stale in folder.glob(f"{STAGING}*"):
                shutil.rmtree(stale, ignore_errors=True)  # left by a killed process: we hold the lock
        for pub in pubs:
            if not _has_generation(settings, pub.digest):
                written.append(_write_generation(settings, session, pub))
            if not _has_tree(root, pub):
                written.append(_write_tree(settings, session, pub))
        if extra is not None and not _has_generation(settings, extra.digest):
            written.append(_write_generation(settings, session, extra))
    if written:
        log.info("wrote from the database: %s", ", ".join(written))
    return written


def may_be_published(rel: str) -> bool:
    """Whether ``/install/<rel>`` (decoded, without the prefix) names a file of a published tree."""
    return rel.startswith("rocks-dist/")


def catch_up(settings: Settings, db: Database) -> bool:
    """``sync`` for a request that found no file under rocks-dist/: the follower writes a publication within
    about a second, but an installer whose kickstart came from another instance fetches its bundle now.
    True if something was written.  A refused publication is logged and the request stays a 404."""
    try:
        return bool(sync(settings, db))
    except (RocksError, SQLAlchemyError, OSError) as exc:
        log.error("published trees not written for a missing file: %s", exc)
        return False


def _blobs(session: Session, pub: Published, part: str) -> list[tuple[str, int, bytes]]:
    """(relative path, mode, bytes) of one part of a publication, each checked against its SHA-256."""
    files = session.execute(select(models.PublishedFile.relpath, models.PublishedFile.sha256,
                                   models.PublishedFile.mode, models.PublishedFile.size)
                            .where(models.PublishedFile.tree_id == pub.id, models.PublishedFile.part == part)
                            .order_by(models.PublishedFile.relpath)).all()
    shas = {f.sha256 for f in files}
    data = dict(session.execute(select(models.PublishedBlob.sha256, models.PublishedBlob.data)
                                .where(models.PublishedBlob.sha256.in_(shas))).all()) if shas else {}
    out = []
    where = f"of build {pub.tree} (generation {pub.digest[:12]}, database row {pub.id})"
    for f in files:
        _check_relpath(f.relpath, where)
        blob = data.get(f.sha256)
        if blob is None or len(blob) != f.size or hashlib.sha256(blob).hexdigest() != f.sha256:
            raise DistError(f"published file {part} {f.relpath} {where}: the database's copy does not match "
                            f"its SHA-256 {f.sha256[:16]}; not written, not served "
                            f"(run 'rocks-dist dist' again)")
        out.append((f.relpath, f.mode, bytes(blob)))
    if not out:
        raise DistError(f"published {part} {where} has no files in the database")
    return out


def _check_relpath(relpath: str, where: str) -> None:
    parts = relpath.split("/")  # as written: PurePosixPath would quietly drop "." and "//"
    if any(p in ("", ".", "..") for p in parts) or "\\" in relpath or "\x00" in relpath:
        raise DistError(f"published file name {relpath!r} {where} leaves its folder; not written")


def _write_files(staging: Path, files: list[tuple[str, int, bytes]]) -> None:
    for relpath, mode, data in files:
        target = staging / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(target, mode & 0o755)  # never set-id or world-writable, whatever the row says


def _rename_into_place(staging: Path, final: Path) -> None:
    """Rename ``staging`` to ``final`` unless another writer got there first (then its copy stands)."""
    try:
        os.rename(staging, final)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
            raise


def _write_generation(settings: Settings, session: Session, pub: Published) -> str:
    if not _DIGEST.match(pub.digest):
        raise DistError(f"generation id {pub.digest!r} of database row {pub.id} is not a SHA-256")
    files = _blobs(session, pub, GENERATION)
    base = generations.generations_dir(settings)
    base.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING, dir=base))
    try:
        _write_files(staging, files)
        manifest = json.loads((staging / generations.MANIFEST).read_text())
        sources = [Source(path=staging / s["folder"], label=s["label"], graphs=s["graphs"])
                   for s in manifest["sources"]]
        if any("/" in s["folder"] or s["folder"] in ("", ".", "..") for s in manifest["sources"]):
            raise DistError(f"generation {pub.digest[:12]} in the database names a folder outside itself")
        got = generations.digest(generations.collect(sources))
        if got != pub.digest:
            raise DistError(f"generation {pub.digest[:12]} written from the database has digest {got[:12]}; "
                            f"not served (run 'rocks-dist dist' again)")
        staging.chmod(0o755)
        _rename_into_place(staging, base / pub.digest)
    except (KeyError, TypeError, ValueError) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise DistError(f"generation {pub.digest[:12]} in the database has no readable manifest: "
                        f"{exc}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return f"generation {pub.digest[:12]}"


def _write_tree(settings: Settings, session: Session, pub: Published) -> str:
    root = dist_root(settings)
    if not _TREE_NAME.match(pub.tree) or not re.fullmatch(r"[A-Za-z0-9_\-]{1,16}", pub.arch):
        raise DistError(f"published build {pub.tree!r} ({pub.arch!r}) of database row {pub.id} "
                        f"is no tree name")
    trees = root / TREES
    final = trees / pub.tree
    if not final.is_dir():
        files = _blobs(session, pub, TREE)
        trees.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=STAGING, dir=trees))
        try:
            _write_files(staging, files)
            os_tree = settings.dist_dir / "os" / pub.arch  # this instance's own OS tree
            for entry in OS_TREE_ENTRIES:
                if (os_tree / entry).exists() and not (staging / entry).exists():
                    (staging / entry).symlink_to(os.path.relpath(os_tree / entry, staging))
            staging.chmod(0o755)
            _rename_into_place(staging, final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    before = point_link(root, pub.arch, pub.tree)
    if before and before != pub.tree and before.startswith(f"{pub.arch}-"):
        shutil.rmtree(trees / before, ignore_errors=True)  # the tree just replaced
    return f"build {pub.tree}"


# The follower of ``ksserver serve``

def follow(settings: Settings, stop: threading.Event, interval: float = 1.0,
           parent: int | None = None) -> None:
    """Keep this instance's published trees in line with the database until ``stop`` is set (or process
    ``parent`` is gone): one small query and a few stats per ``interval``."""
    db = Database.from_url(settings.effective_database_url)
    failed: set[str] = set()
    try:
        while not stop.is_set() and (parent is None or os.getppid() == parent):
            try:
                sync(settings, db)
                failed.clear()
            except (RocksError, SQLAlchemyError, OSError) as exc:  # a refused file, a database hiccup:
                # logged once per distinct problem, retried
                if str(exc) not in failed:
                    failed.add(str(exc))
                    log.error("published trees not followed: %s", exc)
            stop.wait(interval if not failed else max(interval, 5.0))
    finally:
        db.engine.dispose()


def run_process(settings: Settings, parent: int) -> None:
    """Entry point of the follower process ``ksserver serve`` starts (multiprocessing, spawn)."""
    os.nice(10)  # background work: never ahead of the workers answering installers and health checks
    logging.basicConfig(level=settings.log_level.upper(), format="[%(levelname)s] %(name)s: %(message)s")
    try:
        follow(settings, threading.Event(), parent=parent)
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group
        pass
