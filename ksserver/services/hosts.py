"""Hosts: add one or many, list, change fields, remove (VMs through libvirt first)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ksserver.db.models import Appliance, Host, Membership
from ksserver.errors import HostNotFound, InvalidArgument
from ksserver.inventory import bulk, hosts
from ksserver.inventory import vms as vms_db
from ksserver.inventory.hosts import HostRequest
from ksserver.services import Cluster
from ksserver.services.bootfiles import BootFileChanges

HOST_FIELDS = ("cpus", "rack", "rank", "membership", "arch", "os", "runaction", "installaction", "comment")


@dataclass(frozen=True)
class HostRow:
    name: str
    membership: str
    appliance: str
    cpus: int
    rack: int
    rank: int
    arch: str
    os: str
    run_action: str
    install_action: str
    comment: str


@dataclass(frozen=True)
class AddedHost:
    name: str
    ip: str | None


def add_host(cluster: Cluster, req: HostRequest) -> AddedHost:
    with cluster.db.session(write=True) as session:
        host = hosts.add_host(session, req)
        return AddedHost(host.name, host.interfaces[0].ip if host.interfaces else None)


def add_hosts_from_file(cluster: Cluster, path: str | Path) -> int:
    """Every row checked by the same rules as ``add_host``; all rows are added or none."""
    rows = bulk.read_host_file(path)
    with cluster.db.session(write=True) as session:
        return bulk.add_hosts(session, rows)


LISTED = (Host.name, Membership.name, Host.cpus, Host.rack, Host.rank, Host.arch, Host.os, Host.run_action,
          Host.install_action)  # the columns of 'rocks list host'


def _host_rows(cluster: Cluster, names: list[str], columns: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """``columns`` (Host.name first) of hosts by name (an unknown one is an error), or of all in rack/rank
    order.  One Core select on the session's connection: no ORM object or row processing per host."""
    query = (select(*columns).join(Membership, Host.membership_id == Membership.id)
             .join(Appliance, Membership.appliance_id == Appliance.id))
    with cluster.db.session() as session:
        connection = session.connection()
        if not names:
            return list(map(tuple, connection.execute(query.order_by(Host.rack, Host.rank, Host.name)).all()))
        wanted = [name.lower() for name in names]
        found: dict[str, tuple[Any, ...]] = {}
        unique = sorted(set(wanted))
        for start in range(0, len(unique), 500):  # bounded IN lists (SQLite caps bound parameters)
            chunk = query.where(Host.name.in_(unique[start:start + 500]))
            found.update((row[0], tuple(row)) for row in connection.execute(chunk))
    for name, key in zip(names, wanted):
        if key not in found:
            raise HostNotFound(f"unknown host {name!r}")
    return [found[key] for key in wanted]


def host_table(cluster: Cluster, names: list[str]) -> list[tuple[Any, ...]]:
    """What 'rocks list host' prints, one plain tuple per host in the order of ``LISTED``: the fast path
    for listing 10,000 hosts (no dataclass per host)."""
    return _host_rows(cluster, names, LISTED)


def list_hosts(cluster: Cluster, names: list[str]) -> list[HostRow]:
    """Hosts by name (an unknown one is an error), or all in rack/rank order."""
    rows = _host_rows(cluster, names, (Host.name, Membership.name, Appliance.name, Host.cpus, Host.rack,
                                       Host.rank, Host.arch, Host.os, Host.run_action, Host.install_action,
                                       Host.comment))
    return [HostRow(*row[:-1], row[-1] or "") for row in rows]


def set_hosts_field(cluster: Cluster, names: list[str], field: str, value: str) -> None:
    """Set one field on hosts; a changed run/install action rewrites their PXE files."""
    if field not in HOST_FIELDS:
        raise InvalidArgument(f"cannot set host field {field!r} (settable: {', '.join(HOST_FIELDS)})")
    if not names:
        raise InvalidArgument(f"name the hosts whose {field} to set")
    files = BootFileChanges(cluster.settings)
    with cluster.db.session(write=True) as session:
        for host in hosts.get_hosts(session, names):
            files.track(session, host)
            hosts.set_host_field(session, host, field, value)
            files.settle(session, host)
    files.apply(cluster.settings.tftp_dir)


def remove_hosts(cluster: Cluster, names: list[str], purge: bool = False, force: bool = False) -> list[str]:
    """Remove hosts (a VM as by ``remove_vms``).  Returns notes on what could not be cleaned up."""
    from ksserver.services import vms

    if not names:
        raise InvalidArgument("name the hosts to remove")
    with cluster.db.session() as session:
        found = [(h.name, vms_db.is_vm(session, h)) for h in hosts.get_hosts(session, names)]  # all must exist
    notes: list[str] = []
    for name, is_vm in found:
        if is_vm:
            notes += vms.remove_vm(cluster, name, purge=purge, force=force).notes
            continue
        files = BootFileChanges(cluster.settings)
        with cluster.db.session(write=True) as session:
            host = hosts.get_host(session, name)
            files.track(session, host)
            hosts.remove_host(session, host)
            files.gone(host.id)
        files.apply(cluster.settings.tftp_dir)
    return notes
