"""Kickstart and graph inspection: rocks list host profile|xml|graph, list node xml, list appliance graph."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from ksserver.cli.context import Context
from ksserver.cli.registry import Call, Choice, Param, command
from ksserver.errors import InvalidArgument
from ksserver.services import graphs

_FORMAT = {"format": Param("dot, or svg (needs graphviz's dot)", Choice(("dot", "svg")), "dot")}


@command("list", "host", "profile", summary="Print the kickstart that hosts get (validated by pykickstart).",
         args="HOST [HOST...]", min_args=1)
def list_host_profile(ctx: Context, call: Call) -> None:
    ctx.out.write("\n".join(graphs.host_kickstarts(ctx.cluster, call.args)))
    warning = graphs.unpublished_site_changes(ctx.cluster)
    if warning:
        ctx.err.write(f"warning: {warning}\n")


@command("list", "host", "xml", summary="Print the traversal-annotated profile XML of a host (for debugging).",
         args="HOST", min_args=1, max_args=1)
def list_host_xml(ctx: Context, call: Call) -> None:
    ctx.out.write(graphs.host_profile_xml(ctx.cluster, call.args[0]))


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



@command("list", "node", "xml",
         local_params=("attrs",), summary="Print the profile XML of a traversal from any node.", args="NODE",
         min_args=1, max_args=1,
         params={"attrs": Param("attributes: JSON, a dict literal, or a file of 'key: value' lines"),
                 "appliance": Param("take that appliance's attributes as well")})
def list_node_xml(ctx: Context, call: Call) -> None:
    extra = _parse_attrs(call["attrs"]) if call.has("attrs") else {}
    ctx.out.write(graphs.node_profile_xml(ctx.cluster, call.args[0], call["appliance"], extra))


@command("list", "host", "graph", summary="Print the kickstart graph a host traverses (Graphviz).", args="HOST",
         min_args=1, max_args=1, params=_FORMAT)
def list_host_graph(ctx: Context, call: Call) -> None:
    ctx.out.write(graphs.host_graph(ctx.cluster, call.args[0], call["format"]))


@command("list", "appliance", "graph", summary="Print the kickstart graph of an appliance (Graphviz).",
         args="APPLIANCE", min_args=1, max_args=1, params=_FORMAT)
def list_appliance_graph(ctx: Context, call: Call) -> None:
    ctx.out.write(graphs.appliance_graph(ctx.cluster, call.args[0], call["format"]))


@command("report", "host", "reconfigure", summary="Print the reconfigure-phase scripts of a host's graph (what "
                                                  "'rocks run reconfigure' would run; installs never run them).",
         args="HOST", min_args=1, max_args=1)
def report_host_reconfigure(ctx: Context, call: Call) -> None:
    ctx.out.write(graphs.host_reconfigure(ctx.cluster, call.args[0]))
