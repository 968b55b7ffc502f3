"""Partition records of hosts: entered by an admin, or reported by the host's installer."""

from __future__ import annotations

from dataclasses import dataclass

from ksserver import partition_preview
from ksserver.db.models import HostPartitioning
from ksserver.errors import NotFound
from ksserver.inventory import hosts, partition_reports, partitions
from ksserver.inventory.partitions import PartitionSpec
from ksserver.partition_preview import Preview
from ksserver.services import Cluster

__all__ = [
    "PartitionRow",
    "PartitionSpec",
    "PartitionState",
    "add_partition",
    "list_partitions",
    "partition_states",
    "remove_partitions",
    "report_plan",
    "set_reset",
]


@dataclass(frozen=True)
class PartitionRow:
    host: str
    device: str
    mountpoint: str
    start: str
    size: str
    partition_id: str
    fstype: str
    flags: str
    format_flags: str


@dataclass(frozen=True)
class PartitionState:
    """What the admin must see besides the rows: a pending one-shot reset, the plan of a stopped install."""

    host: str
    reset: bool
    plan_text: str  # "" unless the last install stopped or refused something (cleared by the next report)


def add_partition(cluster: Cluster, host_name: str, spec: PartitionSpec) -> None:
    with cluster.db.session(write=True) as session:
        partitions.add_partition(session, hosts.get_host(session, host_name), spec)


def list_partitions(cluster: Cluster, host_names: list[str]) -> list[PartitionRow]:
    with cluster.db.session() as session:
        targets = hosts.get_hosts(session, host_names)
        names = {h.id: h.name for h in targets}
        return [PartitionRow(names[p.host_id], p.device, p.mountpoint, p.start, p.size, p.partition_id, p.fstype,
                             p.flags, p.format_flags) for p in partitions.list_partitions(session, targets)]


def remove_partitions(cluster: Cluster, host_names: list[str], mountpoint: str | None = None) -> int:
    from ksserver.errors import InvalidArgument

    if not host_names:
        raise InvalidArgument("name the hosts whose partition records to remove")
    with cluster.db.session(write=True) as session:
        return sum(partitions.remove_partitions(session, h, mountpoint) for h in hosts.get_hosts(session, host_names))


def partition_states(cluster: Cluster, host_names: list[str]) -> list[PartitionState]:
    """Hosts (of ``host_names``, or all) with a pending reset or a stored plan."""
    from sqlalchemy import or_, select

    with cluster.db.session() as session:
        names = {h.id: h.name for h in hosts.get_hosts(session, host_names)}
        rows = session.scalars(select(HostPartitioning).where(or_(HostPartitioning.reset.is_(True),
                                                                  HostPartitioning.plan_text != "")))
        return sorted((PartitionState(names[st.host_id], st.reset, st.plan_text) for st in rows
                       if st.host_id in names), key=lambda s: s.host)


def set_reset(cluster: Cluster, host_names: list[str], reset: bool) -> None:
    """The one-shot reset: the next install of each host ignores markers and records and repartitions
    from scratch; the install's partition report clears it."""
    from ksserver.errors import InvalidArgument

    if not host_names:
        raise InvalidArgument("name the hosts to reset")
    with cluster.db.session(write=True) as session:
        for host in hosts.get_hosts(session, host_names):
            partition_reports.set_reset(session, host.id, reset)


def report_plan(cluster: Cluster, host_name: str, timeout: float | None = None) -> Preview:
    """``rocks report host partition``: the plan the host's next install would follow, computed by the
    installer's decision function from the host's last report, its records and the pending reset, with its
    partitioning %pre programs (published generation) run in a sandbox (``ksserver.partition_preview``)."""
    from ksserver.services.graphs import host_kickstarts

    with cluster.db.session() as session:
        host = hosts.get_host(session, host_name)
        st = session.get(HostPartitioning, host.id)
        report = partition_reports.last_report_layout(st) if st is not None else None
        recorded = partition_reports.recorded_layout(session, host.id)
        reset = bool(st and st.reset)
    if report is None or not report.disks:
        raise NotFound(f"no partition report from {host_name} yet: its next install sees its disks for the first "
                       f"time (the default scheme or the site's directives), so there is nothing to preview")
    ks_text = host_kickstarts(cluster, [host_name])[0]
    return partition_preview.preview(partition_preview.pre_scripts(ks_text), report, recorded, reset,
                                     timeout or partition_preview.DEFAULT_TIMEOUT, cluster.settings.eval_user)
