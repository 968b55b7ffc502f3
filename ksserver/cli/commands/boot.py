"""rocks set|list|sync host boot, rocks add|list bootaction: boot actions and PXE files."""

from __future__ import annotations

from ksserver.cli.context import Context
from ksserver.cli.output import emit
from ksserver.cli.registry import Call, Choice, Param, command
from ksserver.errors import InvalidArgument
from ksserver.services import boot
from ksserver.services.boot import BootActionRequest


@command("set", "host", "boot", summary="Set what hosts do at their next network boot (install or os) and "
                                         "rewrite their PXE files.", args="HOST [HOST...]", min_args=1,
         params={"action": Param("what to boot", Choice(("install", "os")))})
def set_host_boot(ctx: Context, call: Call) -> None:
    if not call.has("action"):
        raise InvalidArgument("usage: rocks set host boot HOST [HOST...] action=install|os")
    boot.set_boot(ctx.cluster, call.args, call["action"])


@command("list", "host", "boot", summary="List the next-boot action of hosts.", args="[HOST...]", output=True)
def list_host_boot(ctx: Context, call: Call) -> None:
    rows = [(r.host, r.action, r.run_action, r.install_action) for r in boot.list_boot(ctx.cluster, call.args)]
    emit(ctx.out, call["output-format"], ["HOST", "ACTION", "RUNACTION", "INSTALLACTION"], rows)


@command("sync", "host", "boot", summary="Rewrite the PXE files of hosts from the database (all hosts when "
                                          "none is named).", args="[HOST...]")
def sync_host_boot(ctx: Context, call: Call) -> None:
    count = boot.sync_boot_files(ctx.cluster, call.args)
    ctx.out.write(f"rewrote the PXE files of {count} hosts\n")


@command("add", "bootaction", summary="Add or replace a boot action (kernel, ramdisk, kernel arguments); hosts "
                                       "using it get their PXE files rewritten.", args="[ACTION]", max_args=1,
         params={"action": Param("name, e.g. 'install headless'"), "kernel": Param("kernel file or 'localboot 0'"),
                 "ramdisk": Param("initrd file", default=""), "args": Param("kernel arguments", default="")})
def add_bootaction(ctx: Context, call: Call) -> None:
    name = call.arg_or("action", 0)
    if not name or not call.has("kernel"):
        raise InvalidArgument("usage: rocks add bootaction action=NAME kernel= [ramdisk=] [args=]")
    boot.add_bootaction(ctx.cluster, BootActionRequest(name, call["kernel"], call["ramdisk"], call["args"]))


@command("list", "bootaction", summary="List boot actions.", max_args=0, output=True)
def list_bootaction(ctx: Context, call: Call) -> None:
    rows = [(a.action, a.kernel, a.ramdisk, a.args) for a in boot.list_bootactions(ctx.cluster)]
    emit(ctx.out, call["output-format"], ["ACTION", "KERNEL", "RAMDISK", "ARGS"], rows)
