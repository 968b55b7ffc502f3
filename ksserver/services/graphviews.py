"""The graph for the console and the API: the whole graph as SVG, every node with its files and the
appliances that reach it, a node's XML, and a host's appliance graph with the nodes the host reaches
marked.  Everything from the published generation: what installers get."""

from __future__ import annotations

from dataclasses import dataclass, field

from ksserver.errors import GraphError, NotFound
from ksserver.inventory import appliances, context, hosts
from ksserver.services import Cluster
from ksserver.services.graphs import _kickstarts, render_graph

MAX_XML_BYTES = 512 * 1024


@dataclass(frozen=True)
class NodeFileView:
    relpath: str   # nodes/<file>.xml
    label: str     # the source: stock, a roll, site
    kind: str      # node | extend | replace
    describe: str


@dataclass(frozen=True)
class NodeView:
    name: str
    files: list[NodeFileView] = field(default_factory=list)
    appliances: list[str] = field(default_factory=list)   # appliances whose traversal reaches this node


def _published(cluster: Cluster):  # type: ignore[no-untyped-def]
    """(compiler, {appliance: (root, attrs)}) of the published generation."""
    service = _kickstarts(cluster)
    with cluster.db.session() as session:
        compiler = service.published_compiler(session)
        roots = {a.name: (a.node, service.node_attrs(session, a.name))
                 for a in appliances.list_appliances(session) if a.node}
    return compiler, roots


def _files(compiler, name: str) -> list[NodeFileView]:  # type: ignore[no-untyped-def]
    library = compiler.library
    files = library.node_files(name) if library.has_node(name) else []
    return [NodeFileView(f.relpath, f.label, f.kind, f.describe()) for f in files]


def _reach_by_appliance(compiler, roots) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    from ksserver.graph.overview import reached

    by_node: dict[str, list[str]] = {}
    for app, (root, attrs) in sorted(roots.items()):
        try:
            nodes = reached(compiler.library, compiler.graph_name(attrs), root, attrs)
        except GraphError:
            continue  # an appliance whose graph is broken reaches nothing we can show
        for node in nodes:
            by_node.setdefault(node, []).append(app)
    return by_node


def graph_nodes(cluster: Cluster, graph: str = "default") -> list[NodeView]:
    """Every node of ``graph`` with its files and the appliances that reach it."""
    from ksserver.graph.overview import graph_node_names

    compiler, roots = _published(cluster)
    by_node = _reach_by_appliance(compiler, roots)
    return [NodeView(n, _files(compiler, n), by_node.get(n, []))
            for n in graph_node_names(compiler.library, graph)]


def node_detail(cluster: Cluster, name: str) -> tuple[NodeView, list[tuple[NodeFileView, str]]]:
    """A node, and the XML text of each of its files (as published)."""
    compiler, roots = _published(cluster)
    library = compiler.library
    if not library.has_node(name):
        raise NotFound(f"no node file for node {name!r} in the published generation")
    texts = []
    for f in library.node_files(name):
        data = f.path.read_bytes()[:MAX_XML_BYTES]
        view = NodeFileView(f.relpath, f.label, f.kind, f.describe())
        texts.append((view, data.decode("utf-8", "replace")))
    view = NodeView(name, [t[0] for t in texts], _reach_by_appliance(compiler, roots).get(name, []))
    return view, texts


def whole_graph(cluster: Cluster, fmt: str = "svg", graph: str = "default") -> str:
    """All nodes and edges of ``graph``; appliance roots drawn as boxes."""
    from ksserver.graph.overview import whole_graph_dot

    compiler, roots = _published(cluster)
    return render_graph(whole_graph_dot(compiler.library, graph, roots={r for r, _ in roots.values()}), fmt)


def host_graph_marked(cluster: Cluster, name: str, fmt: str = "svg") -> str:
    """The host's appliance graph (every node the appliance reaches), the nodes this host reaches with
    its own attributes filled: a host attribute in an edge condition shows here."""
    from ksserver.graph.overview import reached, whole_graph_dot

    service = _kickstarts(cluster)
    with cluster.db.session() as session:
        host = hosts.get_host(session, name)
        app = host.membership.appliance
        if not app.node:
            raise NotFound(f"host {name} is a {app.name}, which has no kickstart graph")
        compiler = service.published_compiler(session)
        host_attrs = context.host_attrs(session, host)
        app_attrs = service.node_attrs(session, app.name)
        root = app.node
    library = compiler.library
    graph = compiler.graph_name(host_attrs)
    mine = reached(library, graph, root, host_attrs)
    theirs = reached(library, compiler.graph_name(app_attrs), root, app_attrs) if \
        compiler.graph_name(app_attrs) == graph else []
    dot = whole_graph_dot(library, graph, roots={root}, marked=set(mine), edges_of=set(mine) | set(theirs))
    return render_graph(dot, fmt)
