"""Which node and graph files differ between what an admin edits (stock, rolls, site profile) and the
published generation installers get: the Site profiles page lists them before the admin builds."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

from ksserver import generations
from ksserver.services import Cluster

MAX_SHOWN_BYTES = 256 * 1024  # a file's text on the page, no more


@dataclass(frozen=True)
class FileChange:
    label: str     # the source: stock, site or a roll
    relpath: str   # nodes/<file>.xml or graphs/<graph>/<file>.xml
    change: str    # added | changed | removed
    path: str      # the live file ('' when removed)

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _hashes(files: list[generations.SourceFile]) -> dict[tuple[str, str], tuple[str, Path]]:
    return {(f.label, f.relpath): (hashlib.sha256(f.path.read_bytes()).hexdigest(), f.path) for f in files}


def changed_files(cluster: Cluster) -> list[FileChange]:
    """Files added, changed or removed since the published generation (before the first build: since
    the stock files, which is what installers get then)."""
    from ksserver.services.rolls import cluster_sources

    live_sources = cluster_sources(cluster)
    with cluster.db.session() as session:
        published = generations.published(session)
    if published:
        served_sources = generations.generation_sources(cluster.settings, published)
    else:
        served_sources = [s for s in generations.live_sources(cluster.settings) if s.label == "stock"]
    live, served = _hashes(generations.collect(live_sources)), _hashes(generations.collect(served_sources))
    out = []
    for key in sorted(set(live) | set(served)):
        if key not in served:
            out.append(FileChange(key[0], key[1], "added", str(live[key][1])))
        elif key not in live:
            out.append(FileChange(key[0], key[1], "removed", ""))
        elif live[key][0] != served[key][0]:
            out.append(FileChange(key[0], key[1], "changed", str(live[key][1])))
    return out


def file_diff(cluster: Cluster, label: str, relpath: str) -> str:
    """A unified diff of one file, published copy -> live file ('' when neither exists)."""
    import difflib

    from ksserver.services.rolls import cluster_sources

    def text(sources: list) -> list[str]:  # type: ignore[type-arg]
        for f in generations.collect(sources):
            if f.label == label and f.relpath == relpath:
                data = f.path.read_bytes()[:MAX_SHOWN_BYTES]
                return data.decode("utf-8", "replace").splitlines(keepends=True)
        return []

    with cluster.db.session() as session:
        published = generations.published(session)
    served = generations.generation_sources(cluster.settings, published) if published else \
        [s for s in generations.live_sources(cluster.settings) if s.label == "stock"]
    return "".join(difflib.unified_diff(text(served), text(cluster_sources(cluster)),
                                        f"published/{label}/{relpath}", f"live/{label}/{relpath}"))
