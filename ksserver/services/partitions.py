"""Partition records of hosts: entered by an admin, or reported by the host's installer."""

from __future__ import annotations

from dataclasses import dataclass

from ksserver.db.models import HostPartitioning
from ksserver.inventory import hosts, partition_reports, partitions
from ksserver.inventory.partitions import PartitionSpec
from ksserver.services import Cluster

__all__ = ["PartitionSpec", "PartitionRow", "PartitionState", "add_partition", "list_partitions",
           "partition_states", "remove_partitions", "set_reset"]


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
    with cluster.db.session() as session:
        targets = hosts.get_hosts(session, host_names)
        out = []
        for host in targets:
            st = session.get(HostPartitioning, host.id)
            if st is not None and (st.reset or st.plan_text):
                out.append(PartitionState(host.name, st.reset, st.plan_text))
        return out


def set_reset(cluster: Cluster, host_names: list[str], reset: bool) -> None:
    """The one-shot reset: the next install of each host ignores markers and records and repartitions
    from scratch; the install's partition report clears it."""
    from ksserver.errors import InvalidArgument

    if not host_names:
        raise InvalidArgument("name the hosts to reset")
    with cluster.db.session(write=True) as session:
        for host in hosts.get_hosts(session, host_names):
            partition_reports.set_reset(session, host.id, reset)
