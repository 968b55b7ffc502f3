"""Appliances and memberships."""

from __future__ import annotations

from dataclasses import dataclass

from ksserver.inventory import appliances
from ksserver.services import Cluster


@dataclass(frozen=True)
class ApplianceRequest:
    name: str
    membership: str | None = None
    node: str = ""
    graph: str = "default"
    public: bool = True
    os: str = "linux"


@dataclass(frozen=True)
class ApplianceRow:
    name: str
    graph: str
    node: str
    os: str
    public: bool


def add_appliance(cluster: Cluster, req: ApplianceRequest) -> str:
    """Returns the name of the new appliance's membership."""
    with cluster.db.session(write=True) as session:
        app = appliances.add_appliance(session, req.name, membership=req.membership, node=req.node,
                                       graph=req.graph, public=req.public, os_name=req.os)
        return app.memberships[0].name


def list_appliances(cluster: Cluster, names: list[str]) -> list[ApplianceRow]:
    with cluster.db.session() as session:
        apps = [appliances.get_appliance(session, a) for a in names] if names else appliances.list_appliances(session)
        return [ApplianceRow(a.name, a.graph, a.node, a.os, a.public) for a in apps]


def list_memberships(cluster: Cluster) -> list[tuple[str, str]]:
    with cluster.db.session() as session:
        return [(m.name, m.appliance.name) for m in appliances.list_memberships(session)]
