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

from ..errors import GraphError
from .graphs import HEAD, TAIL, GraphDef, read_graph_file
from .ir import NodeIR
from .nodes import build_node
from .traverse import order_list
from .xmlload import XmlDoc, parse_file


@dataclass(frozen=True)
class Source:
    """One folder of node and graph files; ``label`` names it in comments and errors."""

    path: Path
    label: str


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
                 graphs: dict[str, Graph], watched: list[tuple[Path, tuple[int, int, int] | None]]):
        self.sources = tuple(sources)
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
            if gdir.is_dir():
                for sub in sorted(p for p in gdir.iterdir() if p.is_dir()):
                    watched.append((sub, _stat(sub)))
                    for path in sorted(sub.glob("*.xml")):
                        watched.append((path, _stat(path)))
                        graph_files.setdefault(sub.name, {})[path.name] = (path, source)
        files = {node: cls._load_node(node, kinds) for node, kinds in found.items()}
        files = {node: kinds for node, kinds in files.items() if kinds}
        graphs = {name: cls._load_graph(name, entries, files)
                  for name, entries in graph_files.items()}
        return cls(sources, files, graphs, watched)

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
                    files: dict[str, dict[str, NodeFile]]) -> Graph:
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
                    raise GraphError(f"edge {e.src} -> {e.dst}: node {end!r} has no node file "
                                     f"({end}.xml or replace-{end}.xml) in any source",
                                     path=str(e.path), line=e.line)
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
