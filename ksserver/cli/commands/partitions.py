"""rocks add|list|remove host partition."""

from __future__ import annotations

from ksserver.cli.output import emit
from ksserver.cli.registry import command
from ksserver.errors import InvalidArgument
from ksserver.inventory import hosts, partitions


@command("add", "host", "partition", summary="Record a partition of a host (e.g. one installed outside ksserver).",
         args="HOST", min_args=1, max_args=1,
         params={"device": "partition device, e.g. sda5", "mountpoint": "mountpoint, e.g. /state/partition1",
                 "size": "size: MB, or with a unit (100GB, 1.5TB)", "fstype": "filesystem type, e.g. ext4",
                 "start": "start (informational)", "flags": "partition flags", "formatflags": "format flags"})
def add_host_partition(ctx, args, kv):  # type: ignore[no-untyped-def]
    if "device" not in kv:
        raise InvalidArgument("usage: rocks add host partition HOST device= mountpoint= size= fstype=")
    spec = partitions.PartitionSpec(device=kv["device"], mountpoint=kv.get("mountpoint", ""),
                                    size=kv.get("size", ""), fstype=kv.get("fstype", ""), start=kv.get("start", ""),
                                    flags=kv.get("flags", ""), format_flags=kv.get("formatflags", ""))
    with ctx.db.session(write=True) as session:
        partitions.add_partition(session, hosts.get_host(session, args[0]), spec)


@command("list", "host", "partition", summary="List the recorded partitions of hosts.", args="[HOST...]",
         output=True)
def list_host_partition(ctx, args, kv):  # type: ignore[no-untyped-def]
    with ctx.db.session() as session:
        targets = hosts.get_hosts(session, args)
        names = {h.id: h.name for h in targets}
        rows = [(names[p.host_id], p.device, p.mountpoint, p.start, p.size, p.partition_id, p.fstype, p.flags,
                 p.format_flags) for p in partitions.list_partitions(session, targets)]
    emit(ctx.out, kv.get("output-format"),
         ["HOST", "DEVICE", "MOUNTPOINT", "START", "SIZE", "ID", "TYPE", "FLAGS", "FORMATFLAGS"], rows)


@command("remove", "host", "partition", summary="Forget the partition records of hosts.",
         args="HOST [HOST...]", min_args=1, params={"partition": "only the record with this mountpoint"})
def remove_host_partition(ctx, args, kv):  # type: ignore[no-untyped-def]
    with ctx.db.session(write=True) as session:
        for host in hosts.get_hosts(session, args):
            partitions.remove_partitions(session, host, kv.get("partition"))
