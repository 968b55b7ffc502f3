"""Generations: immutable, content-addressed copies of the node/graph sources that ``rocks-dist dist``
validated.  The server compiles only from the published generation, never from the live
site-profile directory, so an edit is served only after it passed the same gate.

Layout: ``install/rocks-dist/.generations/<digest>/`` holds one folder per source
(``0-stock/``, ``1-site/``, each with ``nodes/`` and ``graphs/<graph>/``) and ``MANIFEST.json``
(label, folder and graph mode of each source, in order).  ``<digest>`` is the SHA-256 of every
source's label, mode, file paths and bytes, so the same files give the same id on every server.
The newest ``generations`` row in the database is the one served.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ksserver.config import Settings
from ksserver.db import models
from ksserver.graph import Source, stock_nodes_dir
from ksserver.graph.library import nodes_dir

MANIFEST = "MANIFEST.json"
STAGING_PREFIX = ".staging-"
KEEP_UNPUBLISHED = 3  # older generations than the published one, kept for workers mid-switch


@dataclass(frozen=True)
class SourceFile:
    label: str
    mode: str
    relpath: str  # nodes/<file>.xml or graphs/<graph>/<file>.xml
    path: Path


def generations_dir(settings: Settings) -> Path:
    return settings.dist_dir / "rocks-dist" / ".generations"


def live_sources(settings: Settings) -> list[Source]:
    """What an admin edits: the stock node files, then the site profile."""
    return [Source(path=stock_nodes_dir(), label="stock"),
            Source(path=settings.site_profile_dir, label="site")]


def collect(sources: list[Source]) -> list[SourceFile]:
    """Exactly the files ``GraphLibrary.load`` reads from ``sources``, in a stable order."""
    out: list[SourceFile] = []
    for source in sources:
        root = Path(source.path)
        if not root.is_dir():
            continue
        for path in sorted(nodes_dir(root).glob("*.xml")):
            out.append(SourceFile(source.label, source.graphs, f"nodes/{path.name}", path))
        gdir = root / "graphs"
        if gdir.is_dir():
            for sub in sorted(p for p in gdir.iterdir() if p.is_dir()):
                for path in sorted(sub.glob("*.xml")):
                    relpath = f"graphs/{sub.name}/{path.name}"
                    out.append(SourceFile(source.label, source.graphs, relpath, path))
    return out


def digest(files: list[SourceFile]) -> str:
    h = hashlib.sha256()
    for f in files:
        data = f.path.read_bytes()
        h.update(f"{f.label}\0{f.mode}\0{f.relpath}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def write_generation(settings: Settings, sources: list[Source]) -> tuple[str, Path, bool]:
    """Copy ``sources`` into a new generation; (digest, folder, created).  An existing generation with
    the same digest is reused (created False).  The folder appears by one rename, complete or not at all."""
    files = collect(sources)
    gen_id = digest(files)
    base = generations_dir(settings)
    base.mkdir(parents=True, exist_ok=True)
    final = base / gen_id
    if (final / MANIFEST).is_file():
        return gen_id, final, False
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=base))
    try:
        folders = {}
        for i, source in enumerate(sources):
            # Labels name sources in comments ("roll base/include-version/6"); folders need a plain name.
            folders[source.label] = f"{i}-" + re.sub(r"[^A-Za-z0-9_.\-]+", "_", source.label)
            (staging / folders[source.label]).mkdir()
        for f in files:
            target = staging / folders[f.label] / f.relpath
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f.path, target)  # contents only: a symlinked source file becomes a plain copy
        manifest = [{"label": s.label, "folder": folders[s.label], "graphs": s.graphs} for s in sources]
        (staging / MANIFEST).write_text(json.dumps({"digest": gen_id, "sources": manifest}, indent=1) + "\n")
        staging.chmod(0o755)
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return gen_id, final, True


def generation_sources(settings: Settings, gen_id: str) -> list[Source]:
    """The sources of a published generation, to load a GraphLibrary from."""
    folder = generations_dir(settings) / gen_id
    manifest = json.loads((folder / MANIFEST).read_text())
    return [Source(path=folder / s["folder"], label=s["label"], graphs=s["graphs"])
            for s in manifest["sources"]]


def published(session: Session) -> str | None:
    """The digest of the generation being served, or None before the first ``rocks-dist dist``."""
    return session.scalar(select(models.Generation.digest).order_by(models.Generation.id.desc()).limit(1))


def record_published(session: Session, gen_id: str, arch: str) -> models.Generation:
    row = models.Generation(digest=gen_id, arch=arch, published_at=time.time())
    session.add(row)
    return row


def clean_stale(settings: Settings, keep: set[str]) -> list[Path]:
    """Remove staging folders left by a killed run and generations no longer needed.  Called with the
    rocks-dist lock held, so no staging folder belongs to a live run."""
    base = generations_dir(settings)
    if not base.is_dir():
        return []
    removed = []
    entries = sorted(base.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
    kept = 0
    for path in entries:
        if path.name.startswith(STAGING_PREFIX):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        elif path.name not in keep:
            kept += 1
            if kept > KEEP_UNPUBLISHED:
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    return removed
