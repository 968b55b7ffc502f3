"""rocks add|list|remove|set|report host partition."""

from __future__ import annotations

from ksserver.cli.context import Context
from ksserver.cli.output import emit
from ksserver.cli.registry import BOOL, INT, Call, Param, command
from ksserver.errors import InvalidArgument
from ksserver.services import partitions
from ksserver.services.partitions import PartitionSpec


@command("add", "host", "partition", summary="Record a partition of a host (e.g. one installed outside ksserver).",
         args="HOST", min_args=1, max_args=1,
         params={"device": Param("partition device, e.g. sda5"),
                 "mountpoint": Param("mountpoint, e.g. /state/partition1", default=""),
                 "size": Param("size: MB, or with a unit (100GB, 1.5TB)", default=""),
                 "fstype": Param("filesystem type, e.g. ext4", default=""),
                 "start": Param("start (informational)", default=""),
                 "flags": Param("partition flags", default=""), "formatflags": Param("format flags", default="")})
def add_host_partition(ctx: Context, call: Call) -> None:
    if not call.has("device"):
        raise InvalidArgument("usage: rocks add host partition HOST device= mountpoint= size= fstype=")
    partitions.add_partition(ctx.cluster, call.args[0], PartitionSpec(
        device=call["device"], mountpoint=call["mountpoint"], size=call["size"], fstype=call["fstype"],
        start=call["start"], flags=call["flags"], format_flags=call["formatflags"]))


@command("list", "host", "partition", summary="List the recorded partitions of hosts (Rocks' columns), a "
         "pending one-shot reset and the plan of an install that stopped.", args="[HOST...]", output=True)
def list_host_partition(ctx: Context, call: Call) -> None:
    states = {s.host: s for s in partitions.partition_states(ctx.cluster, call.args)}
    rows = [(p.host, p.device, p.mountpoint, p.start, p.size, p.partition_id, p.fstype, p.flags, p.format_flags,
             "", "") for p in partitions.list_partitions(ctx.cluster, call.args)]
    for name, state in sorted(states.items()):
        # One row per host with news: the reset it will use, and what its last install said when it stopped.
        status = "reset pending" if state.reset else ""
        rows.append((name, "", "", "", "", "", "", "", "", status, " | ".join(state.plan_text.splitlines())))
    emit(ctx.out, call["output-format"],
         ["HOST", "DEVICE", "MOUNTPOINT", "START", "SIZE", "ID", "TYPE", "FLAGS", "FORMATFLAGS", "STATUS", "PLAN"],
         rows)


@command("remove", "host", "partition", summary="Forget the partition records of hosts.",
         args="HOST [HOST...]", min_args=1, params={"partition": Param("only the record with this mountpoint")})
def remove_host_partition(ctx: Context, call: Call) -> None:
    partitions.remove_partitions(ctx.cluster, call.args, call["partition"])


@command("set", "host", "partition", summary="One-shot reset: the next install of the hosts repartitions them "
         "from scratch (markers and records ignored; user data is lost), then the reset is cleared.",
         args="HOST [HOST...]", min_args=1,
         params={"reset": Param("yes: repartition at the next install; no: cancel", BOOL)})
def set_host_partition(ctx: Context, call: Call) -> None:
    if not call.has("reset"):
        raise InvalidArgument("usage: rocks set host partition HOST reset=yes|no")
    partitions.set_reset(ctx.cluster, call.args, call["reset"])


@command("report", "host", "partition",
         local=True, summary="The plan the host's next install would follow: its partitioning "
         "%pre programs run in a sandbox against its last reported disks, then the installer's decision.",
         args="HOST", min_args=1, max_args=1,
         params={"timeout": Param("seconds each %pre program may run", INT, 30)})
def report_host_partition(ctx: Context, call: Call) -> None:
    result = partitions.report_plan(ctx.cluster, call.args[0], float(call["timeout"]))
    if result.user_info.strip():
        ctx.out.write("# /tmp/user_partition_info written by the site's %pre:\n")
        ctx.out.write("".join(f"#   {line}\n" for line in result.user_info.splitlines()))
    ctx.out.write(result.plan.explain())
    if result.plan.directives and not result.plan.stop:
        ctx.out.write("# /tmp/partition-info:\n" + result.plan.partition_info())
