"""rocks add|create|start|stop|pause|resume|save|restore|move|list|set|dump|report|remove host vm."""

from __future__ import annotations

from collections.abc import Callable

from ksserver.cli.context import Context
from ksserver.cli.output import emit
from ksserver.cli.registry import BOOL, INT, Call, Param, command
from ksserver.errors import InvalidArgument
from ksserver.services import Cluster, vms
from ksserver.services.vms import VmRequest

_NEW = VmRequest(container="", membership="")  # the one definition of each default: the request's own


@command("add", "host", "vm", summary="Add a VM to a VM container (database only; 'rocks create host vm' installs it).",
         args="CONTAINER [MEMBERSHIP]", min_args=1, max_args=2,
         params={"membership": Param("membership of the VM, e.g. Compute"),
                 "name": Param("VM host name (default APPLIANCE-RACK-RANK-SLICE of the container)"),
                 "ip": Param("IP (default next free)"),
                 "mac": Param("first MAC (default next under vm_mac_base_addr/vm_mac_base_addr_mask)"),
                 "mem": Param("memory in MB", INT, _NEW.mem), "cpus": Param("virtual CPUs", INT, _NEW.cpus),
                 "slice": Param("slice number on the container (default next free)", INT),
                 "disk": Param("disk spec TYPE:PATH,DEVICE,MODE (default on the container's largest partition)"),
                 "disksize": Param("disk size in GB", INT, _NEW.disksize),
                 "num-macs": Param("number of NICs", INT, _NEW.num_macs),
                 "virt-type": Param("para (Xen) or hvm (default: para on Xen, hvm on KVM)"),
                 "subnet": Param("network of eth0", default=_NEW.subnet)})
def add_host_vm(ctx: Context, call: Call) -> None:
    membership = call.arg_or("membership", 1)
    if not membership:
        raise InvalidArgument("usage: rocks add host vm CONTAINER membership=MEMBERSHIP")
    req = VmRequest(container=call.args[0], membership=membership, name=call["name"], ip=call["ip"],
                    mac=call["mac"], mem=call["mem"], cpus=call["cpus"], slice=call["slice"], disk=call["disk"],
                    disksize=call["disksize"], num_macs=call["num-macs"], virt_type=call["virt-type"],
                    subnet=call["subnet"])
    container, slice_, name = vms.add_vm(ctx.cluster, req)
    ctx.out.write(f'added VM on node "{container}" slice "{slice_}" with vm_name "{name}"\n')


def _each(verb: str, action: Callable[[Cluster, str, Call], str], summary: str, **extra: Param) -> None:
    done = "stopped" if verb == "stop" else verb + ("d" if verb.endswith("e") else "ed")

    @command(verb, "host", "vm", local=True, summary=summary, args="VM [VM...]", min_args=1, params=extra)
    def each(ctx: Context, call: Call) -> None:
        for name in call.args:
            ctx.out.write(f"{done} VM {name}: {action(ctx.cluster, name, call)}\n")


_STATE_FILE = Param("state file (default <disk dir>/<vm>.saved)")
_each("create", lambda c, n, _: vms.create_vm(c, n), "Install VMs: set boot action install, define the domain on "
      "its container and start it (it PXE-boots against this server).")
_each("start", lambda c, n, _: vms.start_vm(c, n), "Boot VMs (redefining a domain whose definition drifted from "
      "the database).")
_each("stop", lambda c, n, _: vms.vm_power(c, n, "stop"), "Power VMs off at once (pulls the power cord).")
_each("pause", lambda c, n, _: vms.vm_power(c, n, "pause"), "Pause VMs (they stay in memory).")
_each("resume", lambda c, n, _: vms.vm_power(c, n, "resume"), "Resume paused VMs.")
_each("save", lambda c, n, call: vms.save_vm(c, n, call["file"]), "Save VMs' memory to a file on their "
      "container, releasing memory and CPU.", file=_STATE_FILE)
_each("restore", lambda c, n, call: vms.restore_vm(c, n, call["file"]), "Restore saved VMs.", file=_STATE_FILE)


@command("move", "host", "vm",
         local=True, summary="Move a VM to another container: save, copy disks and state through "
                                        "libvirt, restore there, update the database.",
         args="VM CONTAINER", min_args=2, max_args=2,
         details="A failure at any step leaves the VM restorable on its old container with its disks intact.")
def move_host_vm(ctx: Context, call: Call) -> None:
    state = vms.move_vm(ctx.cluster, call.args[0], call.args[1])
    ctx.out.write(f"moved VM {call.args[0]} to {call.args[1]}: {state}\n")


@command("list", "host", "vm", local=True, summary="List VMs with their live status from libvirt.",
         args="[VM|CONTAINER...]", output=True,
         params={"showdisks": Param("add DISK and DISKSIZE columns", BOOL, False),
                 "status": Param("ask libvirt for the live status", BOOL, True)})
def list_host_vm(ctx: Context, call: Call) -> None:
    rows = vms.list_vms(ctx.cluster, call.args, live=call["status"])
    headers = ["VM-HOST", "SLICE", "MEM", "CPUS", "MAC", "HOST", "STATUS"]
    if call["showdisks"]:
        headers += ["DISK", "DISKSIZE"]
    table = []
    for r in rows:
        line = [r.name, r.slice, r.mem, r.cpus, r.macs[0] if r.macs else "", r.container, r.status]
        if call["showdisks"]:
            line += [" ".join(r.disks), " ".join(map(str, r.disksizes))]
        table.append(line)
    emit(ctx.out, call["output-format"], headers, table)


@command("set", "host", "vm", summary="Change a VM's configuration (applied at its next start).", args="VM",
         min_args=1, max_args=1,
         params={"mem": Param("memory in MB"), "physnode": Param("container (database only; use move for a "
                                                                 "running VM)"),
                 "slice": Param("slice"), "virt-type": Param("para or hvm"),
                 "disk": Param("space-separated disk specs"), "disksize": Param("space-separated sizes in GB")})
def set_host_vm(ctx: Context, call: Call) -> None:
    vms.set_vm(ctx.cluster, call.args[0], mem=call["mem"], physnode=call["physnode"], slice_=call["slice"],
               virt_type=call["virt-type"], disk=call["disk"], disksize=call["disksize"])


@command("dump", "host", "vm", summary="Print the 'rocks set host vm' commands that recreate VM configurations.",
         args="[VM|CONTAINER...]")
def dump_host_vm(ctx: Context, call: Call) -> None:
    ctx.out.write("".join(line + "\n" for line in vms.dump_vms(ctx.cluster, call.args)))


@command("report", "host", "vm", "config", summary="Print the libvirt domain XML of a VM.", args="VM",
         min_args=1, max_args=1)
def report_host_vm_config(ctx: Context, call: Call) -> None:
    ctx.out.write(vms.vm_config(ctx.cluster, call.args[0]))


@command("remove", "host", "vm", summary="Remove VMs: undefine their stopped domains and forget them; disk "
                                          "images are kept unless purge=yes.",
         args="VM [VM...]", min_args=1,
         params={"purge": Param("also delete the disk images and saved state", BOOL, False),
                 "force": Param("forget the VM even when its container cannot be reached or refuses; what was "
                                "left behind is reported", BOOL, False)})
def remove_host_vm(ctx: Context, call: Call) -> None:
    for name in call.args:
        result = vms.remove_vm(ctx.cluster, name, purge=call["purge"], force=call["force"])
        for note in result.notes:
            ctx.err.write(f"warning: {note}\n")
        deleted = f" (deleted {', '.join(result.deleted)})" if result.deleted else ""
        ctx.out.write(f"removed VM {name}{deleted}\n")
