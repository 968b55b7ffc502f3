"""rocks add|list|remove host, rocks set host cpus|rack|rank|membership|..."""

from __future__ import annotations

from ksserver.cli.context import Context
from ksserver.cli.output import emit
from ksserver.cli.registry import BOOL, INT, Call, Param, command
from ksserver.errors import InvalidArgument
from ksserver.inventory.hosts import HostRequest
from ksserver.services import hosts

_NEW = HostRequest()  # the one definition of each default: the request's own


@command("add", "host",
         local_params=("file",), summary="Add a host; ip=/mac= also create its primary interface.",
         args="[NAME]", max_args=1,
         params={"membership": Param("membership or appliance name (inferred from NAME like compute-0-3)"),
                 "rack": Param("rack number (default from NAME, else 0)", INT),
                 "rank": Param("rank in the rack (default from NAME, else next free)", INT),
                 "cpus": Param("number of CPUs", INT, _NEW.cpus), "os": Param("os", default=_NEW.os),
                 "arch": Param("architecture", default=_NEW.arch),
                 "ip": Param("IP of the primary interface, or auto (next free, walking down from broadcast)"),
                 "mac": Param("MAC of the primary interface"),
                 "subnet": Param("network of the interface", default=_NEW.subnet),
                 "iface": Param("device of the primary interface", default=_NEW.iface),
                 "file": Param("add many hosts from a CSV file (header row of these parameter names) or a "
                               "JSON list")},
         details="Without NAME, the name is APPLIANCE-RACK-RANK with the next free rank in the rack.\n"
                 "With mac= but no ip=, the next free IP of the subnet is allocated.\n"
                 "With file=, every row is checked by the same rules as a single add, and either all hosts "
                 "are added or none.")
def add_host(ctx: Context, call: Call) -> None:
    if call.has("file"):
        if call.args or len(call.given) > 1:
            raise InvalidArgument("file= cannot be combined with other arguments")
        count = hosts.add_hosts_from_file(ctx.cluster, call["file"])
        ctx.out.write(f"added {count} hosts\n")
        return
    req = HostRequest(name=call.args[0] if call.args else None, membership=call["membership"], rack=call["rack"],
                      rank=call["rank"], cpus=call["cpus"], os=call["os"], arch=call["arch"], ip=call["ip"],
                      mac=call["mac"], subnet=call["subnet"], iface=call["iface"])
    added = hosts.add_host(ctx.cluster, req)
    ctx.out.write(f"added host {added.name}" + (f" ({added.ip})" if added.ip else "") + "\n")


@command("list", "host", summary="List hosts.", args="[HOST...]", output=True)
def list_host(ctx: Context, call: Call) -> None:
    emit(ctx.out, call["output-format"],
         ["HOST", "MEMBERSHIP", "CPUS", "RACK", "RANK", "ARCH", "OS", "RUNACTION", "INSTALLACTION"],
         hosts.host_table(ctx.cluster, call.args))


@command("remove", "host", summary="Remove hosts with their interfaces, attributes, partitions and VM rows.",
         args="HOST [HOST...]", min_args=1,
         params={"purge": Param("for VMs: also delete their disk images", BOOL, False),
                 "force": Param("for VMs: forget them even when their container cannot be reached or refuses; "
                                "what was left behind is reported", BOOL, False)},
         details="A VM is removed as by 'rocks remove host vm' (its stopped domain is undefined first).")
def remove_host(ctx: Context, call: Call) -> None:
    notes = hosts.remove_hosts(ctx.cluster, call.args, purge=call["purge"], force=call["force"])
    for note in notes:
        ctx.err.write(f"warning: {note}\n")
    ctx.out.write(f"removed {', '.join(call.args)}\n")


def _set_field(field: str, summary: str) -> None:
    @command("set", "host", field, summary=summary, args=f"HOST [HOST...] {field.upper()}", min_args=1,
             params={field: Param(f"the new {field} (instead of the last argument)")})
    def set_field(ctx: Context, call: Call) -> None:
        names, value = (call.args, call[field]) if call.has(field) else (call.args[:-1], call.args[-1])
        if not names:
            raise InvalidArgument(f"usage: rocks set host {field} HOST [HOST...] {field.upper()}")
        hosts.set_hosts_field(ctx.cluster, names, field, value)


for _field, _summary in [("cpus", "Set the number of CPUs of hosts."), ("rack", "Set the rack of hosts."),
                         ("rank", "Set the rank of hosts."), ("membership", "Move hosts to another membership."),
                         ("arch", "Set the architecture of hosts."), ("os", "Set the os of hosts."),
                         ("runaction", "Set the boot action used when hosts boot their os (rewrites their "
                                       "PXE files)."),
                         ("installaction", "Set the boot action used when hosts install (rewrites their "
                                           "PXE files)."),
                         ("comment", "Set a free-text comment on hosts.")]:
    _set_field(_field, _summary)
