"""rocks create distro (also ``rocks-dist dist``)."""

from __future__ import annotations

from ksserver.cli.context import Context
from ksserver.cli.registry import Call, Param, command
from ksserver.services import dist


@command("create", "distro",
         local=True, summary="Compile and pykickstart-validate every host's kickstart, then rebuild "
                                      "the distribution tree (also: rocks-dist dist).", max_args=0,
         params={"arch": Param("architecture", default="x86_64")},
         details="Reports every failing host with the node file and line at fault and then leaves the old "
                 "tree in place. The tree is $KSSERVER_ROOT/install/rocks-dist/ARCH/: build/ holds the stock "
                 "and site node and graph files used, and an OS tree found in $KSSERVER_ROOT/install/os/ARCH/ "
                 "(.treeinfo, BaseOS, AppStream, images ...) is linked in, so 'url --url "
                 "http://FRONTEND/install/rocks-dist/ARCH' finds it.")
def create_distro(ctx: Context, call: Call) -> None:
    report = dist.build(ctx.cluster, call["arch"])
    for warning in report.warnings:
        ctx.err.write(f"warning: {warning}\n")
    ctx.out.write(f"validated {report.hosts} kickstarts ({report.templates} templates, appliances: "
                  f"{', '.join(sorted(report.appliances)) or 'none'}) in {report.seconds:.2f} s\n")
    ctx.out.write(f"distribution tree: {report.tree}\n")
    if report.os_tree is None:
        ctx.out.write(f"warning: no OS tree in {ctx.settings.dist_dir / 'os' / call['arch']}; installers will "
                      f"find no packages until one is there (copy or loop-mount the install DVD's contents)\n")
