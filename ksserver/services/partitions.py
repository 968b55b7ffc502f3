"""Partition records of hosts: entered by an admin, or reported by the host's installer."""

from __future__ import annotations

from dataclasses import dataclass

from ksserver.inventory import hosts, partitions
from ksserver.inventory.partitions import PartitionSpec
from ksserver.services import Cluster

__all__ = ["PartitionSpec", "PartitionRow", "add_partition", "list_partitions", "remove_partitions"]


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
