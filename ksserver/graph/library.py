"""The node/graph library: every node file and graph of an ordered list of source folders.

A source folder holds node files in ``nodes/`` (or directly in the folder, as the stock
``ksserver/nodes/`` does) and graphs in ``graphs/<graph>/*.xml``.  Later sources override
earlier ones file by file, as Rocks' ``rocks create distro`` did when it copied
site-profiles over the rolls:

* ``X.xml``          the node (a later source's ``X.xml`` replaces an earlier one);
* ``extend-X.xml``   appended after ``X.xml``, in the same place of the order;
* ``replace-X.xml``  used instead of ``X.xml`` and any ``extend-X.xml`` (X.xml may not exist);
* a graph file with the same name as an earlier source's replaces it; others add edges.

Everything is parsed when the library is loaded: a malformed file, a bad ``cond``, an edge to
a node without a file or an order cycle fails :meth:`GraphLibrary.load` with a GraphError
naming the file and line.  The library is immutable afterwards and safe to share.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import GraphError, InvalidArgument
from .graphs import HEAD, TAIL, GraphDef, read_graph_file
from .ir import NodeIR
from .nodes import build_node
from .traverse import order_list
from .xmlload import XmlDoc, parse_file

GRAPH_MODES = ("add", "replace")


@dataclass(frozen=True)
class Source:
    """One folder of node and graph files; ``label`` names it in comments and errors.

    ``graphs="add"``: its graph files add to (or, by file name, replace) the earlier
    sources'; ``graphs="replace"``: the earlier sources' graph files are dropped.
    """

    path: Path
    label: str
    graphs: str = "add"

    def __post_init__(self) -> None:
        if self.graphs not in GRAPH_MODES:
            raise InvalidArgument(f"source {self.label!r}: graphs={self.graphs!r} must be "
                                  f"'add' or 'replace'")


def roll_sources(path: Path, label: str, mode: str = "add", version: str | None = None) -> list[Source]:
    """The sources of a Rocks roll directory: the roll, then ``include-version/N`` on top.

    ``mode`` is "add" (the roll's graphs add to the earlier sources') or "replace" (they
    replace them, as a Rocks base roll replaces the stock graph).  ``version`` is the release
    ("6", "6.2", "7.0"); its major number picks ``include-version/<major>/``, which is
    layered on top (adding) when it exists.  Nothing is read here but that folder's presence.
    """
    out = [Source(Path(path), label, mode)]
    if version:
        major = str(version).split(".")[0].strip()
        layer = Path(path) / "include-version" / major
        if major and layer.is_dir():
            out.append(Source(layer, f"{label}/include-version/{major}", "add"))
    return out


def check_roll_dir(path: Path) -> None:
    """Raise InvalidArgument unless ``path`` looks like a roll (``nodes/`` and ``graphs/``)."""
    path = Path(path)
    missing = [sub for sub in ("nodes", "graphs") if not (path / sub).is_dir()]
    if missing:
        raise InvalidArgument(f"{path} is not a roll directory: no {' or '.join(s + '/' for s in missing)}")


@dataclass(frozen=True)
class NodeFile:
    """One node file in use: ``kind`` is "node", "extend" or "replace"."""

    node: str
    kind: str
    path: Path
    relpath: str
    label: str
    overrides: str | None  # label of the source whose file of the same name this one hides
    doc: XmlDoc
    ir: NodeIR

    def describe(self) -> str:
        """``nodes/extend-compute.xml (site, extends compute)`` for comment blocks."""
        notes = [self.label]
        if self.kind == "extend":
            notes.append(f"extends {self.node}")
        elif self.kind == "replace":
            notes.append(f"replaces {self.node}")
        if self.overrides:
            notes.append(f"overrides {self.overrides}")
        return f"{self.relpath} ({', '.join(notes)})"


@dataclass(frozen=True)
class Graph:
    definition: GraphDef
    order: list[str]  # topologically sorted order nodes, HEAD/TAIL included


def missing_node(name: str) -> str:
    return f"node {name!r} has no node file ({name}.xml or replace-{name}.xml) in any source"


def nodes_dir(source: Path) -> Path:
    sub = source / "nodes"
    return sub if sub.is_dir() else source


def _kind(stem: str) -> tuple[str, str]:
    for prefix in ("extend-", "replace-"):
        if stem.startswith(prefix) and len(stem) > len(prefix):
            return stem[len(prefix):], prefix[:-1]
    return stem, "node"


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class GraphLibrary:
    """Parsed node files and graphs from an ordered list of :class:`Source` folders."""

    def __init__(self, sources: Sequence[Source], files: dict[str, dict[str, NodeFile]],
                 graphs: dict[str, Graph], watched: list[tuple[Path, tuple[int, int, int] | None]],
                 warnings: Sequence[str] = ()):
        self.sources = tuple(sources)
        # "file:line: message" for problems that do not stop a load (edges to absent nodes)
        self.warnings: list[str] = list(dict.fromkeys(warnings))
        self._files = files
        self.graphs = graphs
        self._watched = watched
        self.fingerprint = hashlib.sha1(repr(watched).encode()).hexdigest()
        names: set[str] = set()
        for kinds in files.values():
            for nf in kinds.values():
                names |= nf.ir.cond_names
        for g in graphs.values():
            names |= g.definition.cond_names
        # Attributes that decide traversal and conditions: the compile cache is keyed on them.
        self.cond_names: tuple[str, ...] = tuple(sorted(names))

    # -- loading --------------------------------------------------------------------------
    @classmethod
    def load(cls, sources: Sequence[Source]) -> GraphLibrary:
        """Load and check every source; a missing source folder is skipped (and watched)."""
        watched: list[tuple[Path, tuple[int, int, int] | None]] = []
        found: dict[str, dict[str, list[tuple[Path, Source]]]] = {}
        graph_files: dict[str, dict[str, tuple[Path, Source]]] = {}
        for source in sources:
            root = Path(source.path)
            watched.append((root, _stat(root)))
            if not root.is_dir():
                continue
            ndir = nodes_dir(root)
            if ndir != root:
                watched.append((ndir, _stat(ndir)))
            for path in sorted(ndir.glob("*.xml")):
                watched.append((path, _stat(path)))
                node, kind = _kind(path.stem)
                found.setdefault(node, {}).setdefault(kind, []).append((path, source))
            gdir = root / "graphs"
            watched.append((gdir, _stat(gdir)))
            if source.graphs == "replace":
                graph_files.clear()
            if gdir.is_dir():
                for sub in sorted(p for p in gdir.iterdir() if p.is_dir()):
                    watched.append((sub, _stat(sub)))
                    for path in sorted(sub.glob("*.xml")):
                        watched.append((path, _stat(path)))
                        graph_files.setdefault(sub.name, {})[path.name] = (path, source)
        files = {node: cls._load_node(node, kinds) for node, kinds in found.items()}
        files = {node: kinds for node, kinds in files.items() if kinds}
        warnings: list[str] = []
        graphs = {name: cls._load_graph(name, entries, files, warnings)
                  for name, entries in graph_files.items()}
        return cls(sources, files, graphs, watched, warnings)

    @staticmethod
    def _load_node(node: str, kinds: dict[str, list[tuple[Path, Source]]]) -> dict[str, NodeFile]:
        wanted = ("replace",) if "replace" in kinds else ("node", "extend")
        out: dict[str, NodeFile] = {}
        for kind in wanted:
            if kind not in kinds:
                continue
            entries = kinds[kind]
            path, source = entries[-1]  # later sources win
            overrides = entries[-2][1].label if len(entries) > 1 else None
            doc = parse_file(path)
            relpath = f"{path.parent.name}/{path.name}" if path.parent.name == "nodes" else path.name
            out[kind] = NodeFile(node, kind, path, relpath, source.label, overrides, doc,
                                 build_node(doc))
        if "extend" in out and "node" not in out:
            nf = out["extend"]
            raise GraphError(f"extend-{node}.xml extends node {node!r}, but no source has "
                             f"{node}.xml", path=str(nf.path), line=1)
        return out

    @staticmethod
    def _load_graph(name: str, entries: dict[str, tuple[Path, Source]],
                    files: dict[str, dict[str, NodeFile]], warnings: list[str]) -> Graph:
        definition = GraphDef(name)
        for fname in sorted(entries):
            path, source = entries[fname]
            read_graph_file(parse_file(path), source.label, definition)
        for e in definition.edges:
            for end in (e.src, e.dst):
                if end in (HEAD, TAIL):
                    raise GraphError(f"{end} is only meaningful in <order>", path=str(e.path),
                                     line=e.line)
                if end not in files:
                    warnings.append(f"{e.path}:{e.line}: edge {e.src} -> {e.dst}: {missing_node(end)}"
                                    f"; ignored unless a compile reaches it")
        for o in definition.orders:
            for end in (o.head, o.tail):
                if end not in (HEAD, TAIL) and end not in files:
                    warnings.append(f"{o.path}:{o.line}: order {o.head} -> {o.tail}: "
                                    f"{missing_node(end)}; ignored")
        return Graph(definition, order_list(definition.orders))

    # -- queries ----------------------------------------------------------------------------
    def is_stale(self) -> bool:
        """True if a watched file or folder changed, appeared or vanished since the load.

        One ``stat()`` per watched folder and file; no file is read.  Adding or removing a
        file changes its folder's mtime; editing one changes its own mtime or size.
        """
        for path, before in self._watched:
            if _stat(path) != before:
                return True
        return False

    def node_names(self) -> list[str]:
        return sorted(self._files)

    def has_node(self, name: str) -> bool:
        return name in self._files

    def node_files(self, name: str) -> list[NodeFile]:
        """The files that make up node ``name``, in the order they are applied."""
        kinds = self._files.get(name, {})
        if "replace" in kinds:
            return [kinds["replace"]]
        return [kinds[k] for k in ("node", "extend") if k in kinds]

    def graph(self, name: str) -> Graph:
        try:
            return self.graphs[name]
        except KeyError:
            known = ", ".join(sorted(self.graphs)) or "none"
            raise GraphError(f"no graph named {name!r} (known graphs: {known})") from None
