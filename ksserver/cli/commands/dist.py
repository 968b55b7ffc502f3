"""rocks create distro (also ``rocks-dist dist``)."""

from __future__ import annotations

from ksserver.cli.registry import command
from ksserver.inventory import validate


@command("create", "distro", summary="Compile and pykickstart-validate every host's kickstart, then rebuild "
                                      "the distribution tree (also: rocks-dist dist).", max_args=0,
         params={"arch": "architecture (default x86_64)"},
         details="Reports every failing host with the node file and line at fault and then leaves the old "
                 "tree in place. The tree is $KSSERVER_ROOT/install/rocks-dist/ARCH/: build/ holds the stock "
                 "and site node and graph files used, and an OS tree found in $KSSERVER_ROOT/install/os/ARCH/ "
                 "(.treeinfo, BaseOS, AppStream, images ...) is linked in, so 'url --url "
                 "http://FRONTEND/install/rocks-dist/ARCH' finds it.")
def create_distro(ctx, args, kv):  # type: ignore[no-untyped-def]
    from ksserver.dist import build_distribution  # heavy imports (graph compiler) only when used

    arch = validate.word("arch", kv.get("arch", "x86_64"), r"^[A-Za-z0-9_\-]{1,32}$")
    report = build_distribution(ctx.settings, ctx.db, arch)
    ctx.out.write(f"validated {report.hosts} kickstarts ({report.templates} templates, appliances: "
                  f"{', '.join(sorted(report.appliances)) or 'none'}) in {report.seconds:.2f} s\n")
    ctx.out.write(f"distribution tree: {report.tree}\n")
    if report.os_tree is None:
        ctx.out.write(f"warning: no OS tree in {ctx.settings.dist_dir / 'os' / arch}; installers will find no "
                      f"packages until one is there (copy or loop-mount the install DVD's contents)\n")
