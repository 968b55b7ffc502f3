"""The node-graph compiler: host attributes + node/graph XML in, kickstart text out.

Pure: standard library, lxml and pykickstart only; no database, HTTP, Flask, click or
SQLAlchemy.  Public API (the server and the CLI call exactly this)::

    from ksserver.graph import Source, GraphLibrary, KickstartCompiler, stock_nodes_dir

    lib = GraphLibrary.load([Source(path=stock_nodes_dir(), label="stock"),
                             Source(path=site_dir, label="site")])   # missing dirs are skipped
    lib.is_stale() -> bool            # a watched file/folder changed since load (stat only)
    lib.node_names() -> list[str]     # every node with a file
    lib.has_node(name) -> bool
    lib.fingerprint -> str            # identifies the loaded state

    comp = KickstartCompiler(lib, evals=True, eval_timeout=10.0, ks_version="RHEL9",
                             cache_size=256)
    comp.kickstart(root, attrs, env=None) -> str      # validated kickstart text
    comp.profile_xml(root, attrs, env=None) -> str    # annotated monolithic XML (list host xml)
    comp.graph_dot(root, attrs) -> str                # Graphviz dot (list host graph)
    comp.traversal(root, attrs) -> list[NodeFile]     # node files in order, with their source

``attrs`` is the host's flat attribute dict (strings); ``attrs["graph"]`` picks the graph
(default ``default``) and ``attrs["ks_version"]`` the pykickstart version (default the
compiler's).  ``env`` holds extra environment for ``<eval>`` (e.g. HTTP_X_RHN_* headers).

Errors: :class:`ksserver.errors.GraphError` (message prefixed "path:line[:col]: ") for XML,
graph, attribute and eval problems; :class:`ksserver.errors.KickstartInvalid` when
pykickstart rejects the result (it names the node file and line that produced the line).

``GraphLibrary.load`` parses and checks everything, so a broken file fails the load (keep
serving the previous library).  Build a new ``KickstartCompiler`` for a new library.
See docs/graph.md and docs/site-profiles.md.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import GraphError, KickstartInvalid
from .compiler import KickstartCompiler
from .library import GraphLibrary, NodeFile, Source

__all__ = ["GraphError", "GraphLibrary", "KickstartCompiler", "KickstartInvalid", "NodeFile",
           "Source", "stock_nodes_dir"]


def stock_nodes_dir() -> Path:
    """The folder of the stock node files (``ksserver/nodes``; graphs in ``graphs/default``)."""
    return Path(__file__).resolve().parent.parent / "nodes"
