"""Graph files (``graphs/<name>/*.xml``): framework edges and order edges.

Accepted forms (Rocks §1.4), conditions ANDed from ``<edge>`` down to ``<to>``/``<from>``::

    <edge from="A" to="B"/>
    <edge from="A" cond="x11"><to>B</to><to os="linux">C</to></edge>
    <edge to="client"><from>compute-appliance</from></edge>
    <order head="A" tail="B"/>   <order head="A"><tail>B</tail></order>
    <order tail="B" gen="kgen"><head>A</head></order>       (HEAD and TAIL are special)

In general an element yields one edge per (source, target) pair, where sources are the
``from``/``head`` attribute plus the ``<from>``/``<head>`` children, and likewise targets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from ..errors import GraphError
from .conditions import Condition
from .xmlload import XmlDoc

HEAD = "HEAD"
TAIL = "TAIL"
# Order edges with another gen= belong to other generators (Rocks: kgen, kpp's dot drawing).
GENERATORS = ("", "kgen")
_IGNORED = frozenset({"description", "changelog", "copyright", "log"})


@dataclass(frozen=True, slots=True)
class Edge:
    src: str
    dst: str
    conds: tuple[Condition, ...]
    path: Path
    line: int
    label: str


@dataclass(frozen=True, slots=True)
class OrderEdge:
    head: str
    tail: str
    path: Path
    line: int


@dataclass
class GraphDef:
    """All edges of one named graph, in file order (file name order, then source order)."""

    name: str
    files: list[tuple[Path, str]] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    orders: list[OrderEdge] = field(default_factory=list)
    cond_names: set[str] = field(default_factory=set)


class _GraphReader:
    def __init__(self, doc: XmlDoc, label: str, graph: GraphDef):
        self.doc = doc
        self.path = str(doc.path)
        self.label = label
        self.graph = graph

    def cond(self, el: etree._Element) -> tuple[Condition, ...]:
        cond = self.doc.condition(el)
        if cond is None:
            return ()
        self.graph.cond_names.update(cond.names)
        return (cond,)

    def name(self, value: str | None, el: etree._Element, what: str) -> str:
        name = self.doc.plain(value, el.sourceline or 0, what).strip()
        if not name:
            raise GraphError(f"empty node name in {what}", path=self.path, line=el.sourceline)
        return name

    def ends(self, el: etree._Element, attr: str, child_tag: str,
             conds: tuple[Condition, ...]) -> list[tuple[str, tuple[Condition, ...], int]]:
        out = []
        if el.get(attr) is not None:
            out.append((self.name(el.get(attr), el, f"{attr}="), conds, el.sourceline or 0))
        for child in el:
            if child.tag == child_tag:
                out.append((self.name(child.text, child, f"<{child_tag}>"),
                            conds + self.cond(child), child.sourceline or 0))
        return out

    def check_children(self, el: etree._Element, allowed: tuple[str, str]) -> None:
        for child in el:
            if isinstance(child.tag, str) and child.tag not in allowed:
                raise GraphError(f"unexpected <{child.tag}> inside <{el.tag}>",
                                 path=self.path, line=child.sourceline)

    def edge(self, el: etree._Element) -> None:
        self.check_children(el, ("from", "to"))
        conds = self.cond(el)
        sources = self.ends(el, "from", "from", conds)
        targets = self.ends(el, "to", "to", ())
        if not sources or not targets:
            raise GraphError("<edge> needs a source (from= or <from>) and a target (to= or <to>)",
                             path=self.path, line=el.sourceline)
        for src, src_conds, src_line in sources:
            for dst, dst_conds, dst_line in targets:
                self.graph.edges.append(Edge(src, dst, src_conds + dst_conds, self.doc.path,
                                             max(src_line, dst_line), self.label))

    def order(self, el: etree._Element) -> None:
        self.check_children(el, ("head", "tail"))
        if el.get("gen", "") not in GENERATORS:
            return
        heads = self.ends(el, "head", "head", ())
        tails = self.ends(el, "tail", "tail", ())
        if not heads or not tails:
            raise GraphError("<order> needs a head (head= or <head>) and a tail (tail= or <tail>)",
                             path=self.path, line=el.sourceline)
        for head, _, head_line in heads:
            for tail, _, tail_line in tails:
                self.graph.orders.append(OrderEdge(head, tail, self.doc.path,
                                                   max(head_line, tail_line)))

    def read(self) -> None:
        root = self.doc.root
        if root.tag != "graph":
            raise GraphError(f"a graph file's root element must be <graph>, not <{root.tag}>",
                             path=self.path, line=root.sourceline)
        for el in root:
            if not isinstance(el.tag, str) or el.tag in _IGNORED:
                continue
            if el.tag == "edge":
                self.edge(el)
            elif el.tag == "order":
                self.order(el)
            else:
                raise GraphError(f"unknown element <{el.tag}> in a graph file",
                                 path=self.path, line=el.sourceline)


def read_graph_file(doc: XmlDoc, label: str, graph: GraphDef) -> None:
    """Add the edges and orders of one parsed graph file to ``graph``."""
    graph.files.append((doc.path, label))
    _GraphReader(doc, label, graph).read()
