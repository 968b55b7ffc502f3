"""rocks add|list|set network."""

from __future__ import annotations

from ksserver.cli.context import Context
from ksserver.cli.output import emit
from ksserver.cli.registry import BOOL, Call, Param, command
from ksserver.services import networks
from ksserver.services.networks import NetworkRequest


_PROVISIONING = Param("installers on it are believed by their recorded address (the stock private network is "
                      "one; never mark a network that untrusted machines share)", BOOL)
_DISCOVERY = Param("discovery mode: a MAC header alone identifies a host from an unassigned address of this "
                   "provisioning network (off by default; turn it off after the first installs)", BOOL)


@command("add", "network", summary="Add a network (subnet).", args="NAME", min_args=1, max_args=1,
         params={"subnet": Param("network address, e.g. 10.2.0.0"), "netmask": Param("netmask, e.g. 255.255.0.0"),
                 "mtu": Param("MTU", default="1500"), "dnszone": Param("DNS zone (default NAME)"),
                 "servedns": Param("serve DNS for it", BOOL, False), "provisioning": _PROVISIONING,
                 "discovery": _DISCOVERY})
def add_network(ctx: Context, call: Call) -> None:
    networks.add_network(ctx.cluster, NetworkRequest(call.args[0], call["subnet"], call["netmask"], call["mtu"],
                                                     call["dnszone"], call["servedns"], call["provisioning"],
                                                     call["discovery"]))


@command("set", "network", summary="Change a network's address, netmask, MTU, DNS zone, provisioning or discovery mode.",
         args="NAME", min_args=1, max_args=1,
         params={"subnet": Param("network address"), "netmask": Param("netmask"), "mtu": Param("MTU"),
                 "dnszone": Param("DNS zone"), "provisioning": _PROVISIONING, "discovery": _DISCOVERY})
def set_network(ctx: Context, call: Call) -> None:
    networks.set_network(ctx.cluster, NetworkRequest(call.args[0], call["subnet"], call["netmask"], call["mtu"],
                                                     call["dnszone"], provisioning=call["provisioning"],
                                                     discovery=call["discovery"]))


@command("list", "network", summary="List networks.", args="[NAME...]", output=True)
def list_network(ctx: Context, call: Call) -> None:
    yes = {True: "yes", False: "no"}
    rows = [(n.name, n.subnet, n.netmask, n.mtu, n.dnszone, yes[n.servedns], yes[n.provisioning], yes[n.discovery])
            for n in networks.list_networks(ctx.cluster, call.args)]
    emit(ctx.out, call["output-format"],
         ["NETWORK", "SUBNET", "NETMASK", "MTU", "DNSZONE", "SERVEDNS", "PROVISIONING", "DISCOVERY"], rows)
