"""rocks add|list appliance, rocks list membership."""

from __future__ import annotations

from ksserver.cli.context import Context
from ksserver.cli.output import emit
from ksserver.cli.registry import BOOL, Call, Param, command
from ksserver.services import appliances
from ksserver.services.appliances import ApplianceRequest


@command("add", "appliance", summary="Add an appliance and its membership.", args="NAME", min_args=1,
         max_args=1,
         params={"membership": Param("membership name (default: the capitalised appliance name)"),
                 "node": Param("root node of its kickstart graph ('' = not kickstartable)", default=""),
                 "graph": Param("graph name", default="default"),
                 "public": Param("shown to admins as installable", BOOL, True), "os": Param("os", default="linux")})
def add_appliance(ctx: Context, call: Call) -> None:
    membership = appliances.add_appliance(ctx.cluster, ApplianceRequest(
        call.args[0], call["membership"], call["node"], call["graph"], call["public"], call["os"]))
    ctx.out.write(f"added appliance {call.args[0]} (membership {membership})\n")


@command("list", "appliance", summary="List appliances.", args="[APPLIANCE...]", output=True)
def list_appliance(ctx: Context, call: Call) -> None:
    rows = [(a.name, a.graph, a.node, a.os, "yes" if a.public else "no")
            for a in appliances.list_appliances(ctx.cluster, call.args)]
    emit(ctx.out, call["output-format"], ["APPLIANCE", "GRAPH", "NODE", "OS", "PUBLIC"], rows)


@command("list", "membership", summary="List memberships and their appliances.", max_args=0, output=True)
def list_membership(ctx: Context, call: Call) -> None:
    emit(ctx.out, call["output-format"], ["MEMBERSHIP", "APPLIANCE"], appliances.list_memberships(ctx.cluster))
