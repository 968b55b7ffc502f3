"""rocks add|list|set network."""

from __future__ import annotations

from ksserver.cli.context import Context
from ksserver.cli.output import emit
from ksserver.cli.registry import BOOL, Call, Param, command
from ksserver.services import networks
from ksserver.services.networks import NetworkRequest


@command("add", "network", summary="Add a network (subnet).", args="NAME", min_args=1, max_args=1,
         params={"subnet": Param("network address, e.g. 10.2.0.0"), "netmask": Param("netmask, e.g. 255.255.0.0"),
                 "mtu": Param("MTU", default="1500"), "dnszone": Param("DNS zone (default NAME)"),
                 "servedns": Param("serve DNS for it", BOOL, False)})
def add_network(ctx: Context, call: Call) -> None:
    networks.add_network(ctx.cluster, NetworkRequest(call.args[0], call["subnet"], call["netmask"], call["mtu"],
                                                     call["dnszone"], call["servedns"]))


@command("set", "network", summary="Change a network's address, netmask, MTU or DNS zone.", args="NAME",
         min_args=1, max_args=1,
         params={"subnet": Param("network address"), "netmask": Param("netmask"), "mtu": Param("MTU"),
                 "dnszone": Param("DNS zone")})
def set_network(ctx: Context, call: Call) -> None:
    networks.set_network(ctx.cluster, NetworkRequest(call.args[0], call["subnet"], call["netmask"], call["mtu"],
                                                     call["dnszone"]))


@command("list", "network", summary="List networks.", args="[NAME...]", output=True)
def list_network(ctx: Context, call: Call) -> None:
    rows = [(n.name, n.subnet, n.netmask, n.mtu, n.dnszone, "yes" if n.servedns else "no")
            for n in networks.list_networks(ctx.cluster, call.args)]
    emit(ctx.out, call["output-format"], ["NETWORK", "SUBNET", "NETMASK", "MTU", "DNSZONE", "SERVEDNS"], rows)
