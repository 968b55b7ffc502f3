"""Host interfaces; PXE files are named by the private interface's IP and MAC, so they follow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ksserver.db.models import Host, Interface, Subnet
from ksserver.errors import InvalidArgument
from ksserver.inventory import hosts, interfaces, validate
from ksserver.services import Cluster
from ksserver.services.bootfiles import BootFileChanges

IFACE_FIELDS = ("ip", "mac", "subnet", "module", "name", "vlan")


@dataclass(frozen=True)
class InterfaceRequest:
    host: str
    device: str
    mac: str | None = None
    ip: str | None = None             # an address, or "auto"
    subnet: str | None = "private"
    name: str | None = None
    module: str | None = None
    vlan: str | int | None = None


@dataclass(frozen=True)
class InterfaceRow:
    host: str
    subnet: str | None
    device: str
    mac: str | None
    ip: str | None
    netmask: str | None
    module: str | None
    name: str | None
    vlan: int | None


def add_interface(cluster: Cluster, req: InterfaceRequest) -> None:
    vlan = None if req.vlan in (None, "") else validate.integer("vlan", req.vlan, 0, 4094)  # type: ignore[arg-type]
    files = BootFileChanges(cluster.settings)
    with cluster.db.session(write=True) as session:
        host = hosts.get_host(session, req.host)
        files.track(session, host)
        interfaces.add_interface(session, host, req.device, mac=req.mac, ip=req.ip, subnet=req.subnet,
                                 name=req.name, module=req.module, vlan=vlan)
        files.settle(session, host)
    files.apply(cluster.settings.tftp_dir)


def remove_interface(cluster: Cluster, host_name: str, device: str) -> None:
    files = BootFileChanges(cluster.settings)
    with cluster.db.session(write=True) as session:
        host = hosts.get_host(session, host_name)
        files.track(session, host)
        interfaces.remove_interface(session, host, device)
        files.settle(session, host)
    files.apply(cluster.settings.tftp_dir)


def set_interface_field(cluster: Cluster, host_name: str, device: str, field: str, value: str) -> None:
    if field not in IFACE_FIELDS:
        raise InvalidArgument(f"cannot set interface field {field!r} (settable: {', '.join(IFACE_FIELDS)})")
    files = BootFileChanges(cluster.settings)
    with cluster.db.session(write=True) as session:
        host = hosts.get_host(session, host_name)
        files.track(session, host)
        interfaces.set_interface_field(session, host, device, field, value)
        files.settle(session, host)
    files.apply(cluster.settings.tftp_dir)


def interface_table(cluster: Cluster, host_names: list[str]) -> list[tuple[Any, ...]]:
    """The interfaces of hosts (all hosts when none is named; an unknown one is an error) in rack/rank/name/
    device order, one plain tuple each in the order of ``InterfaceRow``'s fields.  One Core select with its
    joins: listing 10,000 hosts' interfaces was one lazy load per interface (~3 s)."""
    query = (select(Host.name, Subnet.name, Interface.device, Interface.mac, Interface.ip, Subnet.netmask,
                    Interface.module, Interface.name, Interface.vlan)
             .join(Host, Interface.host_id == Host.id).outerjoin(Subnet, Interface.subnet_id == Subnet.id)
             .order_by(Host.rack, Host.rank, Host.name, Interface.device))
    with cluster.db.session() as session:
        if host_names:
            query = query.where(Interface.host_id.in_([h.id for h in hosts.get_hosts(session, host_names)]))
        return list(map(tuple, session.connection().execute(query).all()))


def list_interfaces(cluster: Cluster, host_names: list[str]) -> list[InterfaceRow]:
    return [InterfaceRow(*row) for row in interface_table(cluster, host_names)]
