"""rocks add|list|set network."""

from __future__ import annotations

from ksserver.cli.output import emit
from ksserver.cli.registry import command
from ksserver.errors import InvalidArgument
from ksserver.inventory import networks, validate


@command("add", "network", summary="Add a network (subnet).", args="NAME", min_args=1, max_args=1,
         params={"subnet": "network address, e.g. 10.2.0.0", "netmask": "netmask, e.g. 255.255.0.0",
                 "mtu": "MTU (default 1500)", "dnszone": "DNS zone (default NAME)",
                 "servedns": "serve DNS for it (yes/no)"})
def add_network(ctx, args, kv):  # type: ignore[no-untyped-def]
    if "subnet" not in kv or "netmask" not in kv:
        raise InvalidArgument("usage: rocks add network NAME subnet=ADDR netmask=MASK")
    with ctx.db.session(write=True) as session:
        networks.add_network(session, args[0], kv["subnet"], kv["netmask"],
                             mtu=validate.integer("mtu", kv.get("mtu", 1500), 576, 65535),
                             dnszone=kv.get("dnszone"),
                             servedns=validate.boolean("servedns", kv.get("servedns", "no")))


@command("set", "network", summary="Change a network's address, netmask, MTU or DNS zone.", args="NAME",
         min_args=1, max_args=1,
         params={"subnet": "network address", "netmask": "netmask", "mtu": "MTU", "dnszone": "DNS zone"})
def set_network(ctx, args, kv):  # type: ignore[no-untyped-def]
    with ctx.db.session(write=True) as session:
        networks.set_network(session, args[0], address=kv.get("subnet"), mask=kv.get("netmask"),
                             mtu=validate.integer("mtu", kv["mtu"], 576, 65535) if "mtu" in kv else None,
                             dnszone=kv.get("dnszone"))


@command("list", "network", summary="List networks.", args="[NAME...]", output=True)
def list_network(ctx, args, kv):  # type: ignore[no-untyped-def]
    with ctx.db.session() as session:
        nets = [networks.get_subnet(session, n) for n in args] if args else networks.list_networks(session)
        rows = [(n.name, n.address, n.netmask, n.mtu, n.dnszone, "yes" if n.servedns else "no") for n in nets]
    emit(ctx.out, kv.get("output-format"), ["NETWORK", "SUBNET", "NETMASK", "MTU", "DNSZONE", "SERVEDNS"], rows)
