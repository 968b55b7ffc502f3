"""rocks add|list|enable|disable|remove roll."""

from __future__ import annotations

from ksserver.cli.context import Context
from ksserver.cli.output import emit
from ksserver.cli.registry import Call, Choice, Param, command
from ksserver.errors import InvalidArgument
from ksserver.services import rolls
from ksserver.services.rolls import RollRequest


@command("add", "roll",
         local=True, summary="Add a roll (a folder with nodes/ and graphs/default/) to the node library.",
         args="NAME", min_args=1, max_args=1,
         params={"path": Param("absolute path of the roll folder"),
                 "graphs": Param("add: its graph files add edges to the graph so far; replace: they replace it "
                                 "(a Rocks base roll replaces the stock graph)", Choice(("add", "replace")), "add"),
                 "version": Param("release it is used for, e.g. 6.2: layers include-version/6/ on top", default="")},
         details="Enabled rolls join the node library between the stock files and the site profile, in the "
                 "order they were added. Run 'rocks-dist dist' to build and publish what hosts get.")
def add_roll(ctx: Context, call: Call) -> None:
    if not call.has("path"):
        raise InvalidArgument("usage: rocks add roll NAME path=DIR [graphs=add|replace] [version=]")
    rolls.add_roll(ctx.cluster, RollRequest(call.args[0], call["path"], call["graphs"], call["version"]))


@command("list", "roll", summary="List rolls, their graph mode and whether they are enabled.", max_args=0,
         output=True)
def list_roll(ctx: Context, call: Call) -> None:
    rows = [(r.name, r.version, "yes" if r.enabled else "no", r.graphs, r.path) for r in rolls.list_rolls(ctx.cluster)]
    emit(ctx.out, call["output-format"], ["NAME", "VERSION", "ENABLED", "GRAPHS", "PATH"], rows)


@command("enable", "roll", summary="Enable rolls (they join the node library at the next rocks-dist dist).",
         args="NAME [NAME...]", min_args=1)
def enable_roll(ctx: Context, call: Call) -> None:
    rolls.enable_rolls(ctx.cluster, call.args, True)


@command("disable", "roll", summary="Disable rolls (they leave the node library at the next rocks-dist dist).",
         args="NAME [NAME...]", min_args=1)
def disable_roll(ctx: Context, call: Call) -> None:
    rolls.enable_rolls(ctx.cluster, call.args, False)


@command("remove", "roll", summary="Forget rolls (their folders are left alone).", args="NAME [NAME...]",
         min_args=1)
def remove_roll(ctx: Context, call: Call) -> None:
    rolls.remove_rolls(ctx.cluster, call.args)
