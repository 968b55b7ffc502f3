"""rocks add|list appliance, rocks list membership."""

from __future__ import annotations

from ksserver.cli.output import emit
from ksserver.cli.registry import command
from ksserver.inventory import appliances, validate


@command("add", "appliance", summary="Add an appliance and its membership.", args="NAME", min_args=1,
         max_args=1,
         params={"membership": "membership name (default: the capitalised appliance name)",
                 "node": "root node of its kickstart graph ('' = not kickstartable)",
                 "graph": "graph name (default default)", "public": "shown to admins as installable (yes/no)",
                 "os": "os (default linux)"})
def add_appliance(ctx, args, kv):  # type: ignore[no-untyped-def]
    with ctx.db.session(write=True) as session:
        app = appliances.add_appliance(session, args[0], membership=kv.get("membership"), node=kv.get("node", ""),
                                       graph=kv.get("graph", "default"),
                                       public=validate.boolean("public", kv.get("public", "yes")),
                                       os_name=kv.get("os", "linux"))
        ctx.out.write(f"added appliance {app.name} (membership {app.memberships[0].name})\n")


@command("list", "appliance", summary="List appliances.", args="[APPLIANCE...]", output=True)
def list_appliance(ctx, args, kv):  # type: ignore[no-untyped-def]
    with ctx.db.session() as session:
        apps = [appliances.get_appliance(session, a) for a in args] if args else appliances.list_appliances(session)
        rows = [(a.name, a.graph, a.node, a.os, "yes" if a.public else "no") for a in apps]
    emit(ctx.out, kv.get("output-format"), ["APPLIANCE", "GRAPH", "NODE", "OS", "PUBLIC"], rows)


@command("list", "membership", summary="List memberships and their appliances.", max_args=0, output=True)
def list_membership(ctx, args, kv):  # type: ignore[no-untyped-def]
    with ctx.db.session() as session:
        rows = [(m.name, m.appliance.name) for m in appliances.list_memberships(session)]
    emit(ctx.out, kv.get("output-format"), ["MEMBERSHIP", "APPLIANCE"], rows)
