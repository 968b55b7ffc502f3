"""The cluster overview page: host counts by appliance and next boot action (one GROUP BY, fine at
10,000 hosts) and the VM containers with their VMs (from the database; live state is on the VM pages)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from ksserver.db.models import Appliance, Boot, Host, Membership, VmNode
from ksserver.services import Cluster


@dataclass(frozen=True)
class ApplianceCount:
    appliance: str
    total: int
    install: int   # set to reinstall on next boot
    os: int


@dataclass(frozen=True)
class ContainerVms:
    container: str
    vms: list[tuple[str, int, int]] = field(default_factory=list)  # (name, memory MB, CPUs)


@dataclass(frozen=True)
class Overview:
    hosts: int
    install: int
    by_appliance: list[ApplianceCount]
    containers: list[ContainerVms]


def cluster_overview(cluster: Cluster) -> Overview:
    action = func.coalesce(Boot.action, "os")
    counts = (select(Appliance.name, action, func.count(Host.id))
              .select_from(Host).join(Membership, Host.membership_id == Membership.id)
              .join(Appliance, Membership.appliance_id == Appliance.id)
              .outerjoin(Boot, Boot.host_id == Host.id)
              .group_by(Appliance.name, action))
    with cluster.db.session() as session:
        by: dict[str, dict[str, int]] = {}
        for appliance, boot, n in session.execute(counts):
            kind = "install" if boot == "install" else "os"  # any other stored word boots the OS
            by.setdefault(appliance, {}).setdefault(kind, 0)
            by[appliance][kind] += n
        containers: dict[str, list[tuple[str, int, int]]] = {}
        for vm in session.scalars(select(VmNode)):
            containers.setdefault(vm.phys_host.name, []).append((vm.host.name, vm.mem, vm.host.cpus))
    rows = [ApplianceCount(a, c.get("install", 0) + c.get("os", 0), c.get("install", 0), c.get("os", 0))
            for a, c in sorted(by.items())]
    return Overview(hosts=sum(r.total for r in rows), install=sum(r.install for r in rows), by_appliance=rows,
                    containers=[ContainerVms(c, sorted(v)) for c, v in sorted(containers.items())])


MAX_LIVE_HOSTS = 500


@dataclass(frozen=True)
class HostLive:
    name: str
    boot: str           # install | os
    stage: str | None   # install stage, when the server records one (not yet: the install-status work adds it)


def live_states(cluster: Cluster, names: list[str]) -> list[HostLive]:
    """Boot action of the named hosts (unknown names are left out), for the host table's live column."""
    from ksserver.errors import InvalidArgument

    if len(names) > MAX_LIVE_HOSTS:
        raise InvalidArgument(f"at most {MAX_LIVE_HOSTS} hosts at a time")
    from ksserver.db.models import InstallStatus

    query = (select(Host.name, func.coalesce(Boot.action, "os"), InstallStatus.stage)
             .outerjoin(Boot, Boot.host_id == Host.id).outerjoin(InstallStatus, InstallStatus.host_id == Host.id)
             .where(Host.name.in_(names)).order_by(Host.name))
    with cluster.db.session() as session:
        return [HostLive(n, "install" if b == "install" else "os", stage)
                for n, b, stage in session.execute(query)]
