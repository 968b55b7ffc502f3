"""Host context: the one place where database rows become graph-compiler input."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ksserver.db.models import Appliance, Distribution, Host, HostAttribute, Interface, Membership, Subnet
from ksserver.errors import HostNotFound
from ksserver.inventory.attributes import ResolvedAttr, SharedAttrs, resolve_host_attrs
from ksserver.inventory.snapshot import HostView, IfaceView, view_of, views_of_rows

# HostView's fields in its order, as the server's snapshot reads them (snapshot._HOST_SQL)
_VIEW_COLUMNS = (Host.id, Host.name, Membership.name, Appliance.name, Appliance.node, Appliance.graph,
                 Distribution.name, Host.rack, Host.rank, Host.cpus, Host.arch, Host.os, Appliance.id)
_CHUNK = 500  # bounded IN lists (SQLite caps bound parameters)


def private_interface(host: Host) -> IfaceView | None:
    """The interface on the 'private' network (the install network), else the first with an IP."""
    return view_of(host).private_interface()


def intrinsic_attrs(host: Host) -> dict[str, str]:
    return view_of(host).intrinsic()


def resolved_attrs(session: Session, host: Host) -> dict[str, ResolvedAttr]:
    return resolve_host_attrs(session, host, intrinsic_attrs(host))


def host_attrs(session: Session, host: Host) -> dict[str, str]:
    """The flat attribute dict handed to the graph compiler."""
    return {k: r.value for k, r in resolved_attrs(session, host).items()}


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


def host_views(session: Session, names: Sequence[str]) -> list[HostView]:
    """The views of hosts by name (an unknown one is an error, a repeated one repeated), or of all hosts in
    rack/rank/name order (as ``hosts.get_hosts``), with interfaces and own attributes: three set-based
    selects for all hosts, a few per 500 named ones."""
    connection = session.connection()
    query = (select(*_VIEW_COLUMNS).join(Membership, Host.membership_id == Membership.id)
             .join(Appliance, Membership.appliance_id == Appliance.id)
             .join(Distribution, Membership.distribution_id == Distribution.id))
    ifaces_query = (select(Interface.host_id, Interface.device, Interface.ip, Interface.mac, Subnet.name,
                           Subnet.netmask, Subnet.provisioning)
                    .outerjoin(Subnet, Interface.subnet_id == Subnet.id))
    attrs_query = select(HostAttribute.host_id, HostAttribute.attr, HostAttribute.value)
    if not names:
        rows = connection.execute(query.order_by(Host.rack, Host.rank, Host.name)).all()
        iface_rows = connection.execute(ifaces_query).all()
        attr_rows = connection.execute(attrs_query).all()
    else:
        wanted = [name.lower() for name in names]
        found: dict[str, Any] = {}
        for chunk in _chunks(sorted(set(wanted))):
            found.update((row[1], row) for row in connection.execute(query.where(Host.name.in_(chunk))))
        for name, key in zip(names, wanted):
            if key not in found:
                raise HostNotFound(f"unknown host {name!r}")
        rows = [found[key] for key in wanted]
        ids = sorted({row[0] for row in found.values()})
        iface_rows, attr_rows = [], []
        for chunk in _chunks(ids):
            iface_rows += connection.execute(ifaces_query.where(Interface.host_id.in_(chunk))).all()
            attr_rows += connection.execute(attrs_query.where(HostAttribute.host_id.in_(chunk))).all()
    views = views_of_rows(rows, iface_rows, attr_rows)
    return [views[row[0]] for row in rows]


def resolved_attrs_of_hosts(session: Session, names: Sequence[str]
                            ) -> Iterator[tuple[HostView, dict[str, tuple[str, str]]]]:
    """Each host's attributes as ``resolved_attrs`` gives them (attr -> (value, source); global < os <
    appliance < host < intrinsic), for many hosts at once: the shared layers read once, the hosts with
    ``host_views``.  The statements are all run before the first host is yielded."""
    shared = SharedAttrs(session)
    views = host_views(session, names)
    for view in views:
        merged = dict(shared.of(view.os, view.appliance_id))
        merged.update((attr, (value, "host")) for attr, value in view.own.items())
        merged.update((attr, (value, "intrinsic")) for attr, value in view.intrinsic().items())
        yield view, merged
