"""rocks add|list|remove host interface, rocks set host interface ip|mac|subnet|..."""

from __future__ import annotations

from ksserver.cli.output import emit
from ksserver.cli.registry import command
from ksserver.errors import InvalidArgument
from ksserver.inventory import boot, hosts, interfaces, validate
from ksserver.pxe import remove_boot_files, write_boot_files


@command("add", "host", "interface", summary="Add a network interface to a host.", args="HOST IFACE",
         min_args=1, max_args=2,
         params={"iface": "device name (instead of IFACE)", "mac": "MAC address", "ip": "IP address or auto",
                 "subnet": "network name (default private)", "name": "DNS name on that network (default host name)",
                 "module": "driver module", "vlan": "VLAN id"})
def add_host_interface(ctx, args, kv):  # type: ignore[no-untyped-def]
    device = kv.get("iface") or (args[1] if len(args) > 1 else None)
    if not device:
        raise InvalidArgument("usage: rocks add host interface HOST IFACE [mac=] [ip=] [subnet=]")
    vlan = validate.integer("vlan", kv["vlan"], 0, 4094) if "vlan" in kv else None
    with ctx.db.session(write=True) as session:
        host = hosts.get_host(session, args[0])
        interfaces.add_interface(session, host, device, mac=kv.get("mac"), ip=kv.get("ip"),
                                 subnet=kv.get("subnet", "private"), name=kv.get("name"),
                                 module=kv.get("module"), vlan=vlan)


@command("list", "host", "interface", summary="List the interfaces of hosts.", args="[HOST...]", output=True)
def list_host_interface(ctx, args, kv):  # type: ignore[no-untyped-def]
    with ctx.db.session() as session:
        rows = [(i.host.name, i.subnet.name if i.subnet else None, i.device, i.mac, i.ip,
                 i.subnet.netmask if i.subnet else None, i.module, i.name, i.vlan)
                for i in interfaces.list_interfaces(session, hosts.get_hosts(session, args))]
    emit(ctx.out, kv.get("output-format"),
         ["HOST", "SUBNET", "IFACE", "MAC", "IP", "NETMASK", "MODULE", "NAME", "VLAN"], rows)


@command("remove", "host", "interface", summary="Remove an interface from a host.", args="HOST IFACE",
         min_args=1, max_args=2, params={"iface": "device name (instead of IFACE)"})
def remove_host_interface(ctx, args, kv):  # type: ignore[no-untyped-def]
    device = kv.get("iface") or (args[1] if len(args) > 1 else None)
    if not device:
        raise InvalidArgument("usage: rocks remove host interface HOST IFACE")
    with ctx.db.session(write=True) as session:
        interfaces.remove_interface(session, hosts.get_host(session, args[0]), device)


def _set_iface_field(field: str, summary: str) -> None:
    @command("set", "host", "interface", field, summary=summary, args=f"HOST IFACE {field.upper()}",
             min_args=1, max_args=3,
             params={"iface": "device name (instead of IFACE)", field: f"new {field} (instead of the last argument)"})
    def set_field(ctx, args, kv):  # type: ignore[no-untyped-def]
        rest = list(args)
        value = kv.get(field) or (rest.pop() if len(rest) == 3 or (len(rest) == 2 and "iface" in kv) else None)
        device = kv.get("iface") or (rest[1] if len(rest) > 1 else None)
        if value is None or device is None:
            raise InvalidArgument(f"usage: rocks set host interface {field} HOST IFACE {field.upper()}")
        with ctx.db.session(write=True) as session:
            host = hosts.get_host(session, rest[0])
            before = boot.current_entry(session, host)
            interfaces.set_interface_field(session, host, device, field, value)
            session.refresh(host)
            after = boot.current_entry(session, host)
        # PXE files are named by IP and MAC: follow the change (Rocks left stale files behind).
        if before != after:
            if before is not None:
                remove_boot_files(ctx.settings.tftp_dir, before)
            if after is not None:
                write_boot_files(ctx.settings.tftp_dir, after)


for _f, _s in [("ip", "Set the IP of a host interface (auto = next free)."),
               ("mac", "Set the MAC of a host interface."),
               ("subnet", "Move a host interface to another network."),
               ("module", "Set the driver module of a host interface."),
               ("name", "Set the DNS name of a host interface."),
               ("vlan", "Set the VLAN id of a host interface.")]:
    _set_iface_field(_f, _s)
