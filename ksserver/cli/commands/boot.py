"""rocks set|list host boot, rocks add|list bootaction: boot actions and PXE files."""

from __future__ import annotations

from ksserver.cli.output import emit
from ksserver.cli.registry import command
from ksserver.errors import InvalidArgument
from ksserver.inventory import boot, hosts
from ksserver.pxe import write_boot_files


@command("set", "host", "boot", summary="Set what hosts do at their next network boot (install or os) and "
                                         "rewrite their PXE files.", args="HOST [HOST...]", min_args=1,
         params={"action": "install or os"})
def set_host_boot(ctx, args, kv):  # type: ignore[no-untyped-def]
    if "action" not in kv:
        raise InvalidArgument("usage: rocks set host boot HOST [HOST...] action=install|os")
    with ctx.db.session(write=True) as session:
        entries = [boot.set_boot(session, h, kv["action"]) for h in hosts.get_hosts(session, args)]
    # Files are written after the commit: the database is the truth, files follow it.
    for entry in entries:
        write_boot_files(ctx.settings.tftp_dir, entry)


@command("list", "host", "boot", summary="List the next-boot action of hosts.", args="[HOST...]", output=True)
def list_host_boot(ctx, args, kv):  # type: ignore[no-untyped-def]
    with ctx.db.session() as session:
        rows = [(h.name, boot.boot_state(session, h) or "", h.run_action, h.install_action)
                for h in hosts.get_hosts(session, args)]
    emit(ctx.out, kv.get("output-format"), ["HOST", "ACTION", "RUNACTION", "INSTALLACTION"], rows)


@command("add", "bootaction", summary="Add or replace a boot action (kernel, ramdisk, kernel arguments).",
         args="[ACTION]", max_args=1,
         params={"action": "name, e.g. 'install headless'", "kernel": "kernel file or 'localboot 0'",
                 "ramdisk": "initrd file", "args": "kernel arguments"})
def add_bootaction(ctx, args, kv):  # type: ignore[no-untyped-def]
    name = kv.get("action") or (args[0] if args else None)
    if not name or "kernel" not in kv:
        raise InvalidArgument("usage: rocks add bootaction action=NAME kernel= [ramdisk=] [args=]")
    with ctx.db.session(write=True) as session:
        boot.add_bootaction(session, name, kv["kernel"], kv.get("ramdisk", ""), kv.get("args", ""))


@command("list", "bootaction", summary="List boot actions.", max_args=0, output=True)
def list_bootaction(ctx, args, kv):  # type: ignore[no-untyped-def]
    with ctx.db.session() as session:
        rows = [(a.action, a.kernel, a.ramdisk, a.args) for a in boot.list_bootactions(session)]
    emit(ctx.out, kv.get("output-format"), ["ACTION", "KERNEL", "RAMDISK", "ARGS"], rows)
