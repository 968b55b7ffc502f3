"""The boot data of many hosts in a fixed number of set-based queries (the TFTP follower's passes).

``load`` answers what ``boot.current_entry``, the newest install token and one resolved attribute give for
one host, for every host with a boot state (or a given set of hosts), in at most eight selects whatever
their number: hosts with their boot state, boot actions, interfaces, tokens, and the attribute's four
layers.  The per-host functions stay the reference; tests check both give the same answers.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ksserver.db.models import (ApplianceAttribute, Boot, BootAction, GlobalAttribute, Host, HostAttribute,
                                InstallToken, Interface, Membership, OsAttribute, Subnet)
from ksserver.inventory.snapshot import HostView, IfaceView
from ksserver.pxe import BootEntry

CHUNK = 500  # bounded IN lists (SQLite caps bound parameters)


@dataclass(frozen=True)
class TokenRow:
    """What ``lifecycle.derived_token`` reads of an ``InstallToken`` row, and its stored hash."""

    id: int
    host_id: int
    expires_at: float
    token_hash: str


@dataclass
class HostBoot:
    id: int
    name: str
    state: str | None               # the boot state: install | os | None (no boot files)
    entry: BootEntry | None = None  # None without a boot state, or when its boot action is missing
    missing_action: str = ""        # the boot action the host names that does not exist
    token: TokenRow | None = None   # the newest unrevoked install token (hosts in install only)
    attr: str | None = None         # the requested attribute, resolved host < appliance < os < global


class _Interfaces:
    """Duck-typed stand-in for a ``HostView``: the private interface is picked by the snapshot's own rule."""

    __slots__ = ("interfaces",)

    def __init__(self) -> None:
        self.interfaces: list[IfaceView] = []


def _chunks(query: Select[Any], column: Any, ids: list[int] | None) -> Iterator[Select[Any]]:
    if ids is None:
        yield query
        return
    for start in range(0, len(ids), CHUNK):
        yield query.where(column.in_(ids[start:start + CHUNK]))


def load(session: Session, host_ids: Collection[int] | None = None,
         attr: str | None = None) -> dict[int, HostBoot]:
    """Host id -> boot data of every host with a boot state (``host_ids`` None), or of the existing hosts
    among ``host_ids`` (with or without one).  ``attr``: also resolve that attribute for each host."""
    ids = None if host_ids is None else sorted(set(host_ids))
    if ids == []:
        return {}
    hosts_q = select(Host.id, Host.name, Host.os, Host.run_action, Host.install_action,
                     Membership.appliance_id, Boot.action).join(Membership)
    hosts_q = hosts_q.join(Boot, Boot.host_id == Host.id) if ids is None else \
        hosts_q.outerjoin(Boot, Boot.host_id == Host.id)
    found: dict[int, HostBoot] = {}
    appliance: dict[int, tuple[int, str]] = {}
    actions: dict[int, str] = {}
    for query in _chunks(hosts_q, Host.id, ids):
        for hid, name, os_, run_action, install_action, appliance_id, state in session.execute(query):
            found[hid] = HostBoot(hid, name, state)
            appliance[hid] = (appliance_id, os_)
            actions[hid] = install_action if state == "install" else run_action
    if attr is not None and found:  # every host found: one about to get a boot state needs its URL too
        _resolve(session, attr, found, appliance, None if ids is None else sorted(found))
    booted = [hid for hid, hb in found.items() if hb.state is not None]
    if not booted:
        return found
    scope = None if ids is None else booted
    bootactions = {a: (k, r, g) for a, k, r, g in session.execute(
        select(BootAction.action, BootAction.kernel, BootAction.ramdisk, BootAction.args))}

    ifaces_q = select(Interface.host_id, Interface.device, Interface.ip, Interface.mac, Subnet.name,
                      Subnet.netmask, Subnet.provisioning).outerjoin(Subnet, Interface.subnet_id == Subnet.id)
    if scope is None:
        ifaces_q = ifaces_q.join(Boot, Boot.host_id == Interface.host_id)
    views: dict[int, _Interfaces] = {hid: _Interfaces() for hid in booted}
    for query in _chunks(ifaces_q.order_by(Interface.host_id, Interface.device, Interface.id),
                         Interface.host_id, scope):
        for hid, device, ip, mac, subnet, netmask, provisioning in session.execute(query):
            if hid in views:
                views[hid].interfaces.append(IfaceView(device, ip, mac, subnet, netmask,
                                                       bool(subnet is not None and provisioning)))
    for hid in booted:
        hb, name = found[hid], actions[hid]
        if name not in bootactions:
            hb.missing_action = name
            continue
        kernel, ramdisk, args = bootactions[name]
        iface = HostView.private_interface(views[hid])  # type: ignore[arg-type]
        hb.entry = BootEntry(host=hb.name, ip=iface.ip if iface else None, mac=iface.mac if iface else None,
                             action=name, kernel=kernel, ramdisk=ramdisk, args=args)

    installing = {hid for hid in booted if found[hid].state == "install"}
    if installing:
        token = InstallToken
        tokens_q = (select(token.id, token.host_id, token.expires_at, token.token_hash)
                    .where(token.revoked.is_(False)).order_by(token.id))
        for query in _chunks(tokens_q, token.host_id, None if scope is None else sorted(installing)):
            for row in session.execute(query):
                if row.host_id in installing:  # ascending ids: the newest one stays
                    found[row.host_id].token = TokenRow(row.id, row.host_id, row.expires_at, row.token_hash)
    return found


def _resolve(session: Session, attr: str, found: dict[int, HostBoot],
             appliance: dict[int, tuple[int, str]], scope: list[int] | None) -> None:
    """``attributes.resolved_value`` for many hosts: each layer read once."""
    own: dict[int, str] = {}
    own_q = select(HostAttribute.host_id, HostAttribute.value).where(HostAttribute.attr == attr)
    for query in _chunks(own_q, HostAttribute.host_id, scope):
        own.update(session.execute(query).all())
    by_appliance = dict(session.execute(select(ApplianceAttribute.appliance_id, ApplianceAttribute.value)
                                        .where(ApplianceAttribute.attr == attr)).all())
    by_os = dict(session.execute(select(OsAttribute.os, OsAttribute.value)
                                 .where(OsAttribute.attr == attr)).all())
    glob = session.scalar(select(GlobalAttribute.value).where(GlobalAttribute.attr == attr))
    for hid, hb in found.items():
        appliance_id, os_ = appliance[hid]
        for value in (own.get(hid), by_appliance.get(appliance_id), by_os.get(os_), glob):
            if value is not None:
                hb.attr = value
                break
