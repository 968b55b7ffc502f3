"""Console pages for the graph: the whole graph as SVG with every node, the appliances reaching it and a
link to its XML; a node's XML; a host's appliance graph with the nodes that host reaches marked.

SVGs are served as images with their own CSP and shown through ``<img>``: nothing in one can script a page."""

from __future__ import annotations

from flask import Response

from ksserver.services import graphviews
from ksserver.web import auth
from ksserver.web.console import _page, bp

SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"


def _svg(svg: str) -> Response:
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = SVG_CSP
    return response


@bp.get("/graph")
def graph() -> Response:
    auth.current()
    return _page("graph.html", nodes=graphviews.graph_nodes(auth.cluster()))


@bp.get("/graph.svg")
def graph_svg() -> Response:
    auth.current()
    return _svg(graphviews.whole_graph(auth.cluster(), "svg"))


@bp.get("/nodes/<name>")
def node(name: str) -> Response:
    auth.current()
    view, texts = graphviews.node_detail(auth.cluster(), name)
    return _page("node.html", node=view, texts=texts)


@bp.get("/hosts/<name>/graph.svg")
def host_graph(name: str) -> Response:
    auth.current()
    return _svg(graphviews.host_graph_marked(auth.cluster(), name, "svg"))

