"""Host context: the one place where database rows become graph-compiler input."""

from __future__ import annotations

from ksserver import __version__
from sqlalchemy.orm import Session

from ksserver.db.models import Host, Interface
from ksserver.inventory.attributes import ResolvedAttr, resolve_host_attrs


def private_interface(host: Host) -> Interface | None:
    """The interface on the 'private' network (the install network), else the first with an IP."""
    with_ip = [i for i in host.interfaces if i.ip]
    for iface in with_ip:
        if iface.subnet is not None and iface.subnet.name == "private":
            return iface
    return with_ip[0] if with_ip else (host.interfaces[0] if host.interfaces else None)


def intrinsic_attrs(host: Host) -> dict[str, str]:
    membership = host.membership
    appliance = membership.appliance
    iface = private_interface(host)
    values = {
        "hostname": host.name,
        "membership": membership.name,
        "appliance": appliance.name,
        "rack": str(host.rack),
        "rank": str(host.rank),
        "cpus": str(host.cpus),
        "arch": host.arch,
        "os": host.os,
        "distribution": membership.distribution.name,
        "graph": appliance.graph,
        "root": appliance.node,
        "version": __version__,
    }
    if iface is not None:
        values["hostaddr"] = iface.ip or ""
        values["ksmac"] = iface.mac or ""
        values["ksdevice"] = iface.device
        values["netmask"] = iface.subnet.netmask if iface.subnet else ""
    return values


def resolved_attrs(session: Session, host: Host) -> dict[str, ResolvedAttr]:
    return resolve_host_attrs(session, host, intrinsic_attrs(host))


def host_attrs(session: Session, host: Host) -> dict[str, str]:
    """The flat attribute dict handed to the graph compiler."""
    return {k: r.value for k, r in resolved_attrs(session, host).items()}
