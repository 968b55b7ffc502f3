"""Rolls: ``rocks add|list|enable|disable|remove roll``, and the node library they make.

The library is the stock files, then the enabled rolls in the order they were added (each with its
``include-version/<major>/`` on top), then the site profile.  A roll whose graphs ``replace`` drops
the graph files of everything before it, as a Rocks base roll replaced the stock graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ksserver.config import Settings
from ksserver.errors import InvalidArgument
from ksserver.inventory import rolls
from ksserver.services import Cluster


@dataclass(frozen=True)
class RollRequest:
    name: str
    path: str
    graphs: str = "add"       # add to the graph so far, or replace it
    version: str = ""         # release, e.g. 6.2: layers include-version/6/ on top


@dataclass(frozen=True)
class RollRow:
    name: str
    path: str
    graphs: str
    version: str
    enabled: bool


def add_roll(cluster: Cluster, req: RollRequest) -> None:
    from ksserver.graph import check_roll_dir

    path = Path(req.path).expanduser()
    if not path.is_absolute():
        raise InvalidArgument(f"path= must be an absolute directory, not {req.path!r}")
    check_roll_dir(path)
    with cluster.db.session(write=True) as session:
        rolls.add_roll(session, req.name, path.resolve(), req.graphs, req.version)


def list_rolls(cluster: Cluster) -> list[RollRow]:
    with cluster.db.session() as session:
        return [RollRow(r.name, r.path, r.graphs, r.version, r.enabled) for r in rolls.list_rolls(session)]


def enable_rolls(cluster: Cluster, names: list[str], enabled: bool) -> None:
    with cluster.db.session(write=True) as session:
        for roll in [rolls.get_roll(session, n) for n in names]:  # all must exist before any changes
            roll.enabled = enabled


def remove_rolls(cluster: Cluster, names: list[str]) -> None:
    with cluster.db.session(write=True) as session:
        for roll in [rolls.get_roll(session, n) for n in names]:
            session.delete(roll)


def library_sources(settings: Settings, enabled: list[RollRow]) -> list:  # type: ignore[type-arg]
    """Stock files, then the enabled rolls in order, then the site profile."""
    from ksserver.graph import Source, roll_sources, stock_nodes_dir

    sources = [Source(path=stock_nodes_dir(), label="stock")]
    for roll in enabled:
        if roll.enabled:
            sources += roll_sources(Path(roll.path), f"roll {roll.name}", roll.graphs, roll.version or None)
    sources.append(Source(path=settings.site_profile_dir, label="site"))
    return sources


def cluster_sources(cluster: Cluster) -> list:  # type: ignore[type-arg]
    return library_sources(cluster.settings, list_rolls(cluster))
