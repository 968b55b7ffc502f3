"""Kickstart and graph inspection: rocks list host profile|xml|graph, list node xml, list appliance graph."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
from pathlib import Path

from ksserver.cli.registry import command
from ksserver.errors import InvalidArgument, RocksError
from ksserver.inventory import appliances, hosts

_FORMAT = {"format": "dot (default) or svg (needs graphviz's dot)"}


def _service(ctx):  # type: ignore[no-untyped-def]
    from ksserver.kickstarts import KickstartService  # the compiler (lxml, pykickstart) only when used

    return KickstartService(ctx.settings)


def _render_graph(dot: str, fmt: str) -> str:
    if fmt == "dot":
        return dot
    if fmt != "svg":
        raise InvalidArgument(f"format must be dot or svg, not {fmt!r}")
    if shutil.which("dot") is None:
        raise RocksError("format=svg needs graphviz (apt-get install graphviz)")
    done = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RocksError(f"dot failed: {done.stderr.strip()}")
    return done.stdout


@command("list", "host", "profile", summary="Print the kickstart that hosts get (validated by pykickstart).",
         args="HOST [HOST...]", min_args=1)
def list_host_profile(ctx, args, kv):  # type: ignore[no-untyped-def]
    service = _service(ctx)
    with ctx.db.session() as session:
        texts = [service.kickstart_for(session, h) for h in hosts.get_hosts(session, args)]
    ctx.out.write("\n".join(texts))


@command("list", "host", "xml", summary="Print the traversal-annotated profile XML of a host (for debugging).",
         args="HOST", min_args=1, max_args=1)
def list_host_xml(ctx, args, kv):  # type: ignore[no-untyped-def]
    service = _service(ctx)
    with ctx.db.session() as session:
        ctx.out.write(service.profile_xml(session, hosts.get_host(session, args[0])))


def _parse_attrs(value: str) -> dict[str, str]:
    """attrs= as JSON, a Python dict literal (as Rocks took it; parsed, never evaluated), or a file of
    'key: value' lines."""
    text = value
    if not value.lstrip().startswith("{"):
        path = Path(value)
        if not path.is_file():
            raise InvalidArgument(f"attrs= is neither a dict nor a readable file: {value!r}")
        text = path.read_text()
        if not text.lstrip().startswith("{"):
            pairs = [line.split(":", 1) for line in text.splitlines() if line.strip() and not line.startswith("#")]
            if any(len(p) != 2 for p in pairs):
                raise InvalidArgument(f"{value}: expected 'key: value' lines")
            return {k.strip(): v.strip() for k, v in pairs}
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        try:
            data = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            raise InvalidArgument("attrs= is not a JSON object or a dict literal") from None
    if not isinstance(data, dict):
        raise InvalidArgument("attrs= must be an object of attribute names to values")
    return {str(k): str(v) for k, v in data.items()}


@command("list", "node", "xml", summary="Print the profile XML of a traversal from any node.", args="NODE",
         min_args=1, max_args=1,
         params={"attrs": "attributes: JSON, a dict literal, or a file of 'key: value' lines",
                 "appliance": "take that appliance's attributes as well"})
def list_node_xml(ctx, args, kv):  # type: ignore[no-untyped-def]
    service = _service(ctx)
    extra = _parse_attrs(kv["attrs"]) if "attrs" in kv else {}
    with ctx.db.session() as session:
        attrs = service.node_attrs(session, kv.get("appliance"), extra)
    ctx.out.write(service.compiler().profile_xml(args[0], attrs))


@command("list", "host", "graph", summary="Print the kickstart graph a host traverses (Graphviz).", args="HOST",
         min_args=1, max_args=1, params=_FORMAT)
def list_host_graph(ctx, args, kv):  # type: ignore[no-untyped-def]
    service = _service(ctx)
    with ctx.db.session() as session:
        dot = service.graph_dot(session, hosts.get_host(session, args[0]))
    ctx.out.write(_render_graph(dot, kv.get("format", "dot")))


@command("list", "appliance", "graph", summary="Print the kickstart graph of an appliance (Graphviz).",
         args="APPLIANCE", min_args=1, max_args=1, params=_FORMAT)
def list_appliance_graph(ctx, args, kv):  # type: ignore[no-untyped-def]
    service = _service(ctx)
    with ctx.db.session() as session:
        app = appliances.get_appliance(session, args[0])
        if not app.node:
            raise InvalidArgument(f"appliance {app.name} is not kickstartable (no root node)")
        attrs = service.node_attrs(session, app.name)
        root = app.node
    ctx.out.write(_render_graph(service.compiler().graph_dot(root, attrs), kv.get("format", "dot")))
