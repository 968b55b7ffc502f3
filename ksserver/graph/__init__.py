"""The node-graph compiler: host attributes + node/graph XML in, kickstart text out.

Pure: standard library, lxml and pykickstart only; no database, HTTP, Flask, click or
SQLAlchemy.  Public API (the server and the CLI call exactly this)::

    from ksserver.graph import Source, GraphLibrary, KickstartCompiler, stock_nodes_dir

    lib = GraphLibrary.load([Source(path=stock_nodes_dir(), label="stock"),
                             *roll_sources(roll_dir, "kvm", mode="add", version="6.2"),
                             Source(path=site_dir, label="site")])   # missing dirs are skipped
    roll_sources(path, label, mode="add"|"replace", version=None) -> list[Source]
    check_roll_dir(path) -> None      # InvalidArgument unless it has nodes/ and graphs/
    lib.warnings -> list[str]         # "file:line: message" (edges/orders to absent nodes)
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
    comp.reconfigure_scripts(root, attrs, env=None) -> str   # phase="reconfigure" scripts (bash)
    comp.undefined_attributes(root, attrs) -> list[UndefinedAttribute]   # every missing &name;
    undefined_report(comp, [(host, root, attrs), ...]) -> list[str]     # for rocks-dist dist

``attrs`` is the host's flat attribute dict (strings); ``attrs["graph"]`` picks the graph
(default ``default``) and ``attrs["ks_version"]`` the pykickstart version (default the
compiler's).  ``env`` holds extra environment for ``<eval>`` (e.g. HTTP_X_RHN_* headers).

Errors: :class:`ksserver.errors.GraphError` (message prefixed "path:line[:col]: ") for XML,
graph, attribute and eval problems (:class:`UndefinedAttributes`, a subclass, for undefined
``&name;``: ``.missing`` lists all of them); :class:`ksserver.errors.KickstartInvalid` when
pykickstart rejects the result (it names the node file and line that produced the line).

``GraphLibrary.load`` parses and checks everything, so a broken file fails the load (keep
serving the previous library).  Build a new ``KickstartCompiler`` for a new library.
See docs/graph.md and docs/site-profiles.md.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import GraphError, KickstartInvalid
from .compiler import KickstartCompiler, undefined_report
from .library import GraphLibrary, NodeFile, Source, check_roll_dir, roll_sources
from .render import UndefinedAttribute, UndefinedAttributes

__all__ = ["GraphError", "GraphLibrary", "KickstartCompiler", "KickstartInvalid", "NodeFile",
           "Source", "UndefinedAttribute", "UndefinedAttributes", "check_roll_dir",
           "roll_sources", "stock_nodes_dir", "undefined_report"]


def stock_nodes_dir() -> Path:
    """The folder of the stock node files (``ksserver/nodes``; graphs in ``graphs/default``)."""
    return Path(__file__).resolve().parent.parent / "nodes"
