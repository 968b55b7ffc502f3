"""rocks add|list|remove host interface, rocks set host interface ip|mac|subnet|..."""

from __future__ import annotations

from ksserver.cli.context import Context
from ksserver.cli.output import emit
from ksserver.cli.registry import Call, Param, command
from ksserver.errors import InvalidArgument
from ksserver.services import interfaces
from ksserver.services.interfaces import InterfaceRequest

_IFACE = Param("device name (instead of IFACE)")


@command("add", "host", "interface", summary="Add a network interface to a host.", args="HOST IFACE",
         min_args=1, max_args=2,
         params={"iface": _IFACE, "mac": Param("MAC address"), "ip": Param("IP address or auto"),
                 "subnet": Param("network name", default=InterfaceRequest("", "").subnet),
                 "name": Param("DNS name on that network (default host name)"), "module": Param("driver module"),
                 "vlan": Param("VLAN id")})
def add_host_interface(ctx: Context, call: Call) -> None:
    device = call.arg_or("iface", 1)
    if not device:
        raise InvalidArgument("usage: rocks add host interface HOST IFACE [mac=] [ip=] [subnet=]")
    interfaces.add_interface(ctx.cluster, InterfaceRequest(
        host=call.args[0], device=device, mac=call["mac"], ip=call["ip"], subnet=call["subnet"],
        name=call["name"], module=call["module"], vlan=call["vlan"]))


@command("list", "host", "interface", summary="List the interfaces of hosts.", args="[HOST...]", output=True)
def list_host_interface(ctx: Context, call: Call) -> None:
    emit(ctx.out, call["output-format"],
         ["HOST", "SUBNET", "IFACE", "MAC", "IP", "NETMASK", "MODULE", "NAME", "VLAN"],
         interfaces.interface_table(ctx.cluster, call.args))


@command("remove", "host", "interface", summary="Remove an interface from a host (and the PXE files named "
                                                "after it).", args="HOST IFACE", min_args=1, max_args=2,
         params={"iface": _IFACE})
def remove_host_interface(ctx: Context, call: Call) -> None:
    device = call.arg_or("iface", 1)
    if not device:
        raise InvalidArgument("usage: rocks remove host interface HOST IFACE")
    interfaces.remove_interface(ctx.cluster, call.args[0], device)


def _set_iface_field(field: str, summary: str) -> None:
    @command("set", "host", "interface", field, summary=summary, args=f"HOST IFACE {field.upper()}",
             min_args=1, max_args=3,
             params={"iface": _IFACE, field: Param(f"new {field} (instead of the last argument)")})
    def set_field(ctx: Context, call: Call) -> None:
        rest = list(call.args)
        value = call[field] if call.has(field) else (
            rest.pop() if len(rest) == 3 or (len(rest) == 2 and call.has("iface")) else None)
        device = call["iface"] if call.has("iface") else (rest[1] if len(rest) > 1 else None)
        if value is None or device is None:
            raise InvalidArgument(f"usage: rocks set host interface {field} HOST IFACE {field.upper()}")
        interfaces.set_interface_field(ctx.cluster, rest[0], device, field, value)


for _f, _s in [("ip", "Set the IP of a host interface (auto = next free)."),
               ("mac", "Set the MAC of a host interface."),
               ("subnet", "Move a host interface to another network."),
               ("module", "Set the driver module of a host interface."),
               ("name", "Set the DNS name of a host interface."),
               ("vlan", "Set the VLAN id of a host interface.")]:
    _set_iface_field(_f, _s)
