"""Networks (subnets)."""

from __future__ import annotations

from dataclasses import dataclass

from ksserver.errors import InvalidArgument
from ksserver.inventory import networks, validate
from ksserver.services import Cluster


@dataclass(frozen=True)
class NetworkRequest:
    """A new network, or (for ``set_network``) the fields to change; None = unchanged/default."""

    name: str
    subnet: str | None = None
    netmask: str | None = None
    mtu: str | int | None = None
    dnszone: str | None = None
    servedns: bool | None = None
    provisioning: bool | None = None   # installers believed by their recorded address here
    discovery: bool | None = None      # a MAC header alone identifies a host from a free address here


@dataclass(frozen=True)
class NetworkRow:
    name: str
    subnet: str
    netmask: str
    mtu: int
    dnszone: str
    servedns: bool
    provisioning: bool
    discovery: bool


def _mtu(value: str | int | None) -> int | None:
    return None if value in (None, "") else validate.integer("mtu", value, 576, 65535)  # type: ignore[arg-type]


def add_network(cluster: Cluster, req: NetworkRequest) -> None:
    if not req.subnet or not req.netmask:
        raise InvalidArgument("a network needs subnet= and netmask=")
    with cluster.db.session(write=True) as session:
        networks.add_network(session, req.name, req.subnet, req.netmask, mtu=_mtu(req.mtu) or 1500,
                             dnszone=req.dnszone, servedns=bool(req.servedns),
                             provisioning=bool(req.provisioning), discovery=bool(req.discovery))


def set_network(cluster: Cluster, req: NetworkRequest) -> None:
    with cluster.db.session(write=True) as session:
        networks.set_network(session, req.name, address=req.subnet, mask=req.netmask, mtu=_mtu(req.mtu),
                             dnszone=req.dnszone, provisioning=req.provisioning, discovery=req.discovery)


def list_networks(cluster: Cluster, names: list[str]) -> list[NetworkRow]:
    with cluster.db.session() as session:
        nets = [networks.get_subnet(session, n) for n in names] if names else networks.list_networks(session)
        return [NetworkRow(n.name, n.address, n.netmask, n.mtu, n.dnszone, n.servedns, n.provisioning,
                           n.discovery) for n in nets]
