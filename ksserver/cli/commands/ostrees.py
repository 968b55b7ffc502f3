"""rocks add|list|remove distribution: OS trees installers boot and install from."""

from __future__ import annotations

from ksserver.cli.context import Context
from ksserver.cli.output import emit
from ksserver.cli.registry import Call, Param, command
from ksserver.errors import InvalidArgument
from ksserver.services import ostrees


@command("add", "distribution", local=True, summary="Import an OS tree (install DVD ISO or a directory) as "
                                         "<root>/install/os/ARCH and its PXE kernel/initrd into the TFTP tree; "
                                         "the install boot actions then boot it.", args="NAME", min_args=1,
         max_args=1, params={"path": Param("ISO image or directory"), "arch": Param("architecture",
                                                                                   default="x86_64")},
         details="The ISO is read with pycdlib (nothing is mounted). The boot actions install, install headless "
                 "and rescue get kernel=images/NAME/ARCH/vmlinuz and ramdisk=images/NAME/ARCH/initrd.img, so "
                 "every host set to install boots the imported installer.")
def add_distribution(ctx: Context, call: Call) -> None:
    if not call.has("path"):
        raise InvalidArgument("usage: rocks add distribution NAME path=ISO|DIR [arch=]")
    info = ostrees.add_distribution(ctx.cluster, ostrees.AddDistribution(call.args[0], call["path"], call["arch"]))
    ctx.out.write(f"imported {info.name} ({info.family} {info.version} {info.arch}): {info.files} files in "
                  f"{info.tree}\n")


@command("list", "distribution", summary="List imported OS trees.", max_args=0, output=True)
def list_distribution(ctx: Context, call: Call) -> None:
    rows = [(t.name, t.arch, t.family or "-", t.version or "-", t.files, t.source)
            for t in ostrees.list_distributions(ctx.cluster)]
    emit(ctx.out, call["output-format"], ["NAME", "ARCH", "FAMILY", "VERSION", "FILES", "SOURCE"], rows)


@command("remove", "distribution", summary="Remove an imported OS tree and its boot files (refused while a "
                                            "boot action boots it).", args="NAME", min_args=1, max_args=1,
         params={"arch": Param("only this architecture", default=None)})
def remove_distribution(ctx: Context, call: Call) -> None:
    for info in ostrees.remove_distribution(ctx.cluster, call.args[0], call["arch"]):
        ctx.out.write(f"removed {info.name} ({info.arch})\n")
