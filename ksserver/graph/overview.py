"""The whole graph for the console: every node and edge of one named graph as Graphviz text, with some
nodes marked (those a host or an appliance reaches).  Pure: no database, no rendering to SVG here."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from .graphs import HEAD, TAIL
from .library import GraphLibrary
from .profile import _quote


def graph_node_names(library: GraphLibrary, graph: str) -> list[str]:
    """Every node the graph mentions (edges and order), plus node files no edge reaches, sorted."""
    definition = library.graph(graph).definition
    names = {e.src for e in definition.edges} | {e.dst for e in definition.edges}
    names |= {o.head for o in definition.orders} | {o.tail for o in definition.orders}
    names |= set(library.node_names())
    return sorted(names - {HEAD, TAIL})


def whole_graph_dot(library: GraphLibrary, graph: str, roots: Collection[str] = (),
                    marked: Collection[str] = (), edges_of: Collection[str] | None = None) -> str:
    """Graphviz text of graph ``graph``: appliance roots as boxes, ``marked`` nodes filled, conditional
    edges dashed, nodes without a file dotted grey.  ``edges_of``: draw only these nodes (a subgraph)."""
    definition = library.graph(graph).definition
    shown = set(edges_of) if edges_of is not None else set(graph_node_names(library, graph))
    lines = [f"digraph {_quote(graph)} {{", "  rankdir=LR;", "  node [shape=ellipse fontsize=10];"]
    for name in sorted(shown):
        files = library.node_files(name) if library.has_node(name) else []
        label = "\\n".join(_quote(t)[1:-1] for t in [name] + [f"{f.path.name} ({f.label})" for f in files])
        style = []
        if name in roots:
            style.append("shape=box")
        if name in marked:
            style.append('style="filled,bold" fillcolor="#b7e4b7"')
        elif not files:
            style.append('style=dotted fontcolor=grey')
        lines.append(f'  {_quote(name)} [label="{label}"{" " + " ".join(style) if style else ""}];')
    seen: set[tuple[str, str]] = set()
    for e in definition.edges:
        if e.src in shown and e.dst in shown and (e.src, e.dst) not in seen:
            seen.add((e.src, e.dst))
            dashed = " [style=dashed]" if e.conds else ""
            lines.append(f"  {_quote(e.src)} -> {_quote(e.dst)}{dashed};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def reached(library: GraphLibrary, graph: str, root: str, attrs: Mapping[str, str]) -> list[str]:
    from .traverse import reach

    return reach(root, library.graph(graph).definition.edges, attrs)[0]
