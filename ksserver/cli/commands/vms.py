"""rocks add|create|start|stop|pause|resume|save|restore|move|list|set|dump|report|remove host vm."""

from __future__ import annotations

from ksserver.cli.output import emit
from ksserver.cli.registry import command
from ksserver.errors import InvalidArgument
from ksserver.inventory import validate
from ksserver.inventory.vms import DEFAULT_DISKSIZE, DEFAULT_MEM, VmRequest


def _ops(ctx):  # type: ignore[no-untyped-def]
    from ksserver.vmops import VmOps  # xenvm and lxml only when a VM command runs

    return VmOps(ctx.db, ctx.hypervisor_factory, ctx.settings.tftp_dir)


@command("add", "host", "vm", summary="Add a VM to a VM container (database only; 'rocks create host vm' installs it).",
         args="CONTAINER [MEMBERSHIP]", min_args=1, max_args=2,
         params={"membership": "membership of the VM, e.g. Compute", "name": "VM host name (default "
                 "APPLIANCE-RACK-RANK-SLICE of the container)", "ip": "IP (default next free)",
                 "mac": "first MAC (default next under vm_mac_base_addr/vm_mac_base_addr_mask)",
                 "mem": f"memory in MB (default {DEFAULT_MEM})", "cpus": "virtual CPUs (default 1)",
                 "slice": "slice number on the container (default next free)",
                 "disk": "disk spec TYPE:PATH,DEVICE,MODE (default on the container's largest partition)",
                 "disksize": f"disk size in GB (default {DEFAULT_DISKSIZE})", "num-macs": "number of NICs (default 1)",
                 "virt-type": "para (Xen) or hvm (default: para on Xen, hvm on KVM)",
                 "subnet": "network of eth0 (default private)"})
def add_host_vm(ctx, args, kv):  # type: ignore[no-untyped-def]
    membership = kv.get("membership") or (args[1] if len(args) > 1 else None)
    if not membership:
        raise InvalidArgument("usage: rocks add host vm CONTAINER membership=MEMBERSHIP")
    req = VmRequest(container=args[0], membership=membership, name=kv.get("name"), ip=kv.get("ip"),
                    mac=kv.get("mac"), mem=validate.integer("mem", kv.get("mem", DEFAULT_MEM), 64),
                    cpus=validate.integer("cpus", kv.get("cpus", 1), 1),
                    slice=validate.integer("slice", kv["slice"]) if "slice" in kv else None,
                    disk=kv.get("disk"), disksize=validate.integer("disksize", kv.get("disksize", DEFAULT_DISKSIZE), 1),
                    num_macs=validate.integer("num-macs", kv.get("num-macs", 1), 1, 16),
                    virt_type=kv.get("virt-type"), subnet=kv.get("subnet", "private"))
    container, slice_, name = _ops(ctx).add(req)
    ctx.out.write(f'added VM on node "{container}" slice "{slice_}" with vm_name "{name}"\n')


def _each(ctx, names, action, verb):  # type: ignore[no-untyped-def]
    ops = _ops(ctx)
    try:
        for name in names:
            state = action(ops, name)
            ctx.out.write(f"{verb} VM {name}: {state}\n")
    finally:
        ops.close()


@command("create", "host", "vm", summary="Install VMs: set boot action install, define the domain on its "
                                          "container and start it (it PXE-boots against this server).",
         args="VM [VM...]", min_args=1)
def create_host_vm(ctx, args, kv):  # type: ignore[no-untyped-def]
    _each(ctx, args, lambda ops, n: ops.create(n), "created")


@command("start", "host", "vm", summary="Boot VMs (redefining a domain whose definition drifted from the database).",
         args="VM [VM...]", min_args=1)
def start_host_vm(ctx, args, kv):  # type: ignore[no-untyped-def]
    _each(ctx, args, lambda ops, n: ops.start(n), "started")


@command("stop", "host", "vm", summary="Power VMs off at once (pulls the power cord).", args="VM [VM...]", min_args=1)
def stop_host_vm(ctx, args, kv):  # type: ignore[no-untyped-def]
    _each(ctx, args, lambda ops, n: ops.simple(n, "stop"), "stopped")


@command("pause", "host", "vm", summary="Pause VMs (they stay in memory).", args="VM [VM...]", min_args=1)
def pause_host_vm(ctx, args, kv):  # type: ignore[no-untyped-def]
    _each(ctx, args, lambda ops, n: ops.simple(n, "pause"), "paused")


@command("resume", "host", "vm", summary="Resume paused VMs.", args="VM [VM...]", min_args=1)
def resume_host_vm(ctx, args, kv):  # type: ignore[no-untyped-def]
    _each(ctx, args, lambda ops, n: ops.simple(n, "resume"), "resumed")


@command("save", "host", "vm", summary="Save VMs' memory to a file on their container, releasing memory and CPU.",
         args="VM [VM...]", min_args=1, params={"file": "state file (default <disk dir>/<vm>.saved)"})
def save_host_vm(ctx, args, kv):  # type: ignore[no-untyped-def]
    _each(ctx, args, lambda ops, n: ops.save(n, kv.get("file")), "saved")


@command("restore", "host", "vm", summary="Restore saved VMs.", args="VM [VM...]", min_args=1,
         params={"file": "state file (default <disk dir>/<vm>.saved)"})
def restore_host_vm(ctx, args, kv):  # type: ignore[no-untyped-def]
    _each(ctx, args, lambda ops, n: ops.restore(n, kv.get("file")), "restored")


@command("move", "host", "vm", summary="Move a VM to another container: save, copy disks and state through "
                                        "libvirt, restore there, update the database.",
         args="VM CONTAINER", min_args=2, max_args=2,
         details="A failure at any step leaves the VM restorable on its old container with its disks intact.")
def move_host_vm(ctx, args, kv):  # type: ignore[no-untyped-def]
    ops = _ops(ctx)
    try:
        state = ops.move(args[0], args[1])
    finally:
        ops.close()
    ctx.out.write(f"moved VM {args[0]} to {args[1]}: {state}\n")


@command("list", "host", "vm", summary="List VMs with their live status from libvirt.",
         args="[VM|CONTAINER...]", output=True,
         params={"showdisks": "yes: add DISK and DISKSIZE columns", "status": "no: do not ask libvirt"})
def list_host_vm(ctx, args, kv):  # type: ignore[no-untyped-def]
    ops = _ops(ctx)
    try:
        rows = ops.list(args, live=validate.boolean("status", kv.get("status", "yes")))
    finally:
        ops.close()
    headers = ["VM-HOST", "SLICE", "MEM", "CPUS", "MAC", "HOST", "STATUS"]
    disks = validate.boolean("showdisks", kv.get("showdisks", "no"))
    if disks:
        headers += ["DISK", "DISKSIZE"]
    table = []
    for r in rows:
        line = [r.name, r.slice, r.mem, r.cpus, r.macs[0] if r.macs else "", r.container, r.status]
        if disks:
            line += [" ".join(r.disks), " ".join(map(str, r.disksizes))]
        table.append(line)
    emit(ctx.out, kv.get("output-format"), headers, table)


@command("set", "host", "vm", summary="Change a VM's configuration (applied at its next start).", args="VM",
         min_args=1, max_args=1,
         params={"mem": "memory in MB", "physnode": "container (database only; use move for a running VM)",
                 "slice": "slice", "virt-type": "para or hvm", "disk": "space-separated disk specs",
                 "disksize": "space-separated sizes in GB"})
def set_host_vm(ctx, args, kv):  # type: ignore[no-untyped-def]
    if not kv:
        raise InvalidArgument("nothing to set; give mem=, physnode=, slice=, virt-type=, disk= or disksize=")
    _ops(ctx).set(args[0], mem=kv.get("mem"), physnode=kv.get("physnode"), slice_=kv.get("slice"),
                  virt_type=kv.get("virt-type"), disk=kv.get("disk"), disksize=kv.get("disksize"))


@command("dump", "host", "vm", summary="Print the 'rocks set host vm' commands that recreate VM configurations.",
         args="[VM|CONTAINER...]")
def dump_host_vm(ctx, args, kv):  # type: ignore[no-untyped-def]
    ctx.out.write("".join(line + "\n" for line in _ops(ctx).dump(args)))


@command("report", "host", "vm", "config", summary="Print the libvirt domain XML of a VM.", args="VM",
         min_args=1, max_args=1)
def report_host_vm_config(ctx, args, kv):  # type: ignore[no-untyped-def]
    ctx.out.write(_ops(ctx).config(args[0]))


@command("remove", "host", "vm", summary="Remove VMs: undefine their stopped domains and forget them; disk "
                                          "images are kept unless purge=yes.",
         args="VM [VM...]", min_args=1, params={"purge": "yes: also delete the disk images and saved state"})
def remove_host_vm(ctx, args, kv):  # type: ignore[no-untyped-def]
    purge = validate.boolean("purge", kv.get("purge", "no"))
    ops = _ops(ctx)
    try:
        for name in args:
            deleted = ops.remove(name, purge=purge)
            ctx.out.write(f"removed VM {name}" + (f" (deleted {', '.join(deleted)})" if deleted else "") + "\n")
    finally:
        ops.close()
