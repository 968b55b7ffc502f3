"""rocks add|list|remove host, rocks set host cpus|rack|rank|membership|..."""

from __future__ import annotations

from ksserver.cli.output import emit
from ksserver.cli.registry import command
from ksserver.errors import InvalidArgument
from ksserver.inventory import boot, bulk, hosts, validate
from ksserver.inventory.hosts import HostRequest
from ksserver.pxe import remove_boot_files


@command("add", "host", summary="Add a host; ip=/mac= also create its primary interface.",
         args="[NAME]", max_args=1,
         params={"membership": "membership or appliance name (inferred from NAME like compute-0-3)",
                 "rack": "rack number (default from NAME, else 0)",
                 "rank": "rank in the rack (default from NAME, else next free)",
                 "cpus": "number of CPUs (default 1)", "os": "os (default linux)",
                 "arch": "architecture (default x86_64)",
                 "ip": "IP of the primary interface, or auto (next free, walking down from broadcast)",
                 "mac": "MAC of the primary interface", "subnet": "network of the interface (default private)",
                 "iface": "device of the primary interface (default eth0)",
                 "file": "add many hosts from a CSV file (header row of these parameter names) or a JSON list"},
         details="Without NAME, the name is APPLIANCE-RACK-RANK with the next free rank in the rack.\n"
                 "With mac= but no ip=, the next free IP of the subnet is allocated.\n"
                 "With file=, every row is checked first and either all hosts are added or none.")
def add_host(ctx, args, kv):  # type: ignore[no-untyped-def]
    if "file" in kv:
        if args or len(kv) > 1:
            raise InvalidArgument("file= cannot be combined with other arguments")
        rows = bulk.read_host_file(kv["file"])
        with ctx.db.session(write=True) as session:
            count = bulk.add_hosts(session, rows)
        ctx.out.write(f"added {count} hosts\n")
        return
    req = HostRequest(
        name=args[0] if args else None, membership=kv.get("membership"),
        rack=validate.integer("rack", kv["rack"]) if "rack" in kv else None,
        rank=validate.integer("rank", kv["rank"]) if "rank" in kv else None,
        cpus=validate.integer("cpus", kv.get("cpus", 1), 1), os=kv.get("os", "linux"),
        arch=kv.get("arch", "x86_64"), ip=kv.get("ip"), mac=kv.get("mac"),
        subnet=kv.get("subnet", "private"), iface=kv.get("iface", "eth0"))
    with ctx.db.session(write=True) as session:
        host = hosts.add_host(session, req)
        ip = host.interfaces[0].ip if host.interfaces else None
        ctx.out.write(f"added host {host.name}" + (f" ({ip})" if ip else "") + "\n")


@command("list", "host", summary="List hosts.", args="[HOST...]", output=True)
def list_host(ctx, args, kv):  # type: ignore[no-untyped-def]
    with ctx.db.session() as session:
        rows = [(h.name, h.membership.name, h.cpus, h.rack, h.rank, h.arch, h.os, h.run_action,
                 h.install_action) for h in hosts.get_hosts(session, args)]
    emit(ctx.out, kv.get("output-format"),
         ["HOST", "MEMBERSHIP", "CPUS", "RACK", "RANK", "ARCH", "OS", "RUNACTION", "INSTALLACTION"], rows)


@command("remove", "host", summary="Remove hosts with their interfaces, attributes, partitions and VM rows.",
         args="HOST [HOST...]", min_args=1,
         params={"purge": "for VMs: yes also deletes their disk images (default: kept)"},
         details="A VM is removed as by 'rocks remove host vm' (its stopped domain is undefined first).")
def remove_host(ctx, args, kv):  # type: ignore[no-untyped-def]
    from ksserver.vmops import VmOps, is_vm

    purge = validate.boolean("purge", kv.get("purge", "no"))
    with ctx.db.session() as session:
        # Every name must exist before anything is removed; their PXE files go once they are gone.
        entries = {h.name: boot.current_entry(session, h) for h in hosts.get_hosts(session, args)}
    for name in args:
        if is_vm(ctx.db, name):
            ops = VmOps(ctx.db, ctx.hypervisor_factory, ctx.settings.tftp_dir)
            try:
                ops.remove(name, purge=purge)
            finally:
                ops.close()
        else:
            with ctx.db.session(write=True) as session:
                hosts.remove_host(session, hosts.get_host(session, name))
        if entries[name] is not None:
            remove_boot_files(ctx.settings.tftp_dir, entries[name])
    ctx.out.write(f"removed {', '.join(args)}\n")


def _set_field(field: str, summary: str) -> None:
    @command("set", "host", field, summary=summary, args=f"HOST [HOST...] {field.upper()}", min_args=1,
             params={field: f"the new {field} (instead of the last argument)"})
    def set_field(ctx, args, kv):  # type: ignore[no-untyped-def]
        names, value = (args, kv[field]) if field in kv else (args[:-1], args[-1] if args else None)
        if value is None or not names:
            raise InvalidArgument(f"usage: rocks set host {field} HOST [HOST...] {field.upper()}")
        with ctx.db.session(write=True) as session:
            for host in hosts.get_hosts(session, names):
                hosts.set_host_field(session, host, field, value)


for _field, _summary in [("cpus", "Set the number of CPUs of hosts."), ("rack", "Set the rack of hosts."),
                         ("rank", "Set the rank of hosts."), ("membership", "Move hosts to another membership."),
                         ("arch", "Set the architecture of hosts."), ("os", "Set the os of hosts."),
                         ("runaction", "Set the boot action used when hosts boot their os."),
                         ("installaction", "Set the boot action used when hosts install."),
                         ("comment", "Set a free-text comment on hosts.")]:
    _set_field(_field, _summary)
