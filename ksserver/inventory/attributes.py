"""Attributes at global, os, appliance and host scope, and their resolution for a host."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ksserver.db.models import (Appliance, ApplianceAttribute, GlobalAttribute, Host, HostAttribute,
                                OsAttribute)
from ksserver.db import changes
from ksserver.errors import AttributeNotFound
from ksserver.inventory import validate

SCOPES = ("global", "os", "appliance", "host")


@dataclass(frozen=True)
class ResolvedAttr:
    attr: str
    value: str
    source: str  # global | os | appliance | host | intrinsic


def _upsert(session: Session, model, where: dict, attr: str, value: str):  # type: ignore[no-untyped-def]
    attr = validate.attr_name(attr)
    value = validate.attr_value(attr, value)
    row = session.scalar(select(model).filter_by(**where, attr=attr))
    if row is None:
        row = model(**where, attr=attr, value=value)
        session.add(row)
    else:
        row.value = value
    session.flush()
    return row


def set_global_attr(session: Session, attr: str, value: str) -> None:
    _upsert(session, GlobalAttribute, {}, attr, value)


def set_os_attr(session: Session, os_name: str, attr: str, value: str) -> None:
    validate.os_name(os_name)
    _upsert(session, OsAttribute, {"os": os_name}, attr, value)


def set_appliance_attr(session: Session, appliance: Appliance, attr: str, value: str) -> None:
    _upsert(session, ApplianceAttribute, {"appliance_id": appliance.id}, attr, value)


def set_host_attr(session: Session, host: Host, attr: str, value: str) -> None:
    _upsert(session, HostAttribute, {"host_id": host.id}, attr, value)


def _remove(session: Session, model, where: dict, attr: str, what: str) -> None:  # type: ignore[no-untyped-def]
    result = session.execute(delete(model).filter_by(**where, attr=attr))
    if result.rowcount == 0:
        raise AttributeNotFound(f"attribute {attr!r} is not set {what}")


def remove_global_attr(session: Session, attr: str) -> None:
    _remove(session, GlobalAttribute, {}, attr, "globally")


def remove_os_attr(session: Session, os_name: str, attr: str) -> None:
    _remove(session, OsAttribute, {"os": os_name}, attr, f"for os {os_name}")


def remove_appliance_attr(session: Session, appliance: Appliance, attr: str) -> None:
    _remove(session, ApplianceAttribute, {"appliance_id": appliance.id}, attr, f"on appliance {appliance.name}")


def remove_host_attr(session: Session, host: Host, attr: str) -> None:
    with changes.host_scoped(session, [host.id]):
        _remove(session, HostAttribute, {"host_id": host.id}, attr, f"on host {host.name}")


def global_attrs(session: Session) -> dict[str, str]:
    return {a: v for a, v in session.execute(select(GlobalAttribute.attr, GlobalAttribute.value))}


def os_attrs(session: Session, os_name: str | None = None) -> list[OsAttribute]:
    query = select(OsAttribute).order_by(OsAttribute.os, OsAttribute.attr)
    if os_name:
        query = query.where(OsAttribute.os == os_name)
    return list(session.scalars(query))


def appliance_attrs(session: Session, appliance: Appliance) -> dict[str, str]:
    rows = session.execute(select(ApplianceAttribute.attr, ApplianceAttribute.value)
                           .where(ApplianceAttribute.appliance_id == appliance.id))
    return {a: v for a, v in rows}


def resolved_value(session: Session, host: Host, attr: str) -> str | None:
    """One attribute of a host as ``resolve_host_attrs`` would give it (host < appliance < os < global),
    without resolving all of them: for the hot paths that need a single value."""
    for query in (select(HostAttribute.value).where(HostAttribute.host_id == host.id, HostAttribute.attr == attr),
                  select(ApplianceAttribute.value).where(
                      ApplianceAttribute.appliance_id == host.membership.appliance_id,
                      ApplianceAttribute.attr == attr),
                  select(OsAttribute.value).where(OsAttribute.os == host.os, OsAttribute.attr == attr),
                  select(GlobalAttribute.value).where(GlobalAttribute.attr == attr)):
        value = session.scalar(query)
        if value is not None:
            return value
    return None


def host_own_attrs(session: Session, host: Host) -> dict[str, str]:
    rows = session.execute(select(HostAttribute.attr, HostAttribute.value)
                           .where(HostAttribute.host_id == host.id))
    return {a: v for a, v in rows}


class SharedAttrs:
    """global < os < appliance for many hosts: each layer read once (three selects, whatever the hosts), the
    merge of each (os, appliance) pair made once.  Values are (value, source) pairs."""

    def __init__(self, session: Session):
        connection = session.connection()  # Core rows: no ORM object per attribute
        self._global = dict(connection.execute(select(GlobalAttribute.attr, GlobalAttribute.value)).all())
        self._os: dict[str, dict[str, str]] = {}
        os_rows = connection.execute(select(OsAttribute.os, OsAttribute.attr, OsAttribute.value))
        for os_name, attr, value in os_rows:
            self._os.setdefault(os_name, {})[attr] = value
        self._appliance: dict[int, dict[str, str]] = {}
        app_rows = connection.execute(select(ApplianceAttribute.appliance_id, ApplianceAttribute.attr,
                                             ApplianceAttribute.value))
        for app_id, attr, value in app_rows:
            self._appliance.setdefault(app_id, {})[attr] = value
        self._merged: dict[tuple[str, int], dict[str, tuple[str, str]]] = {}

    def of(self, os_name: str, appliance_id: int) -> dict[str, tuple[str, str]]:
        """The shared part of a host's attributes (the caller copies it before adding the host's own)."""
        key = (os_name, appliance_id)
        merged = self._merged.get(key)
        if merged is None:
            merged = {}
            for source, values in (("global", self._global), ("os", self._os.get(os_name, {})),
                                   ("appliance", self._appliance.get(appliance_id, {}))):
                merged.update((attr, (value, source)) for attr, value in values.items())
            self._merged[key] = merged
        return merged


def resolve_host_attrs(session: Session, host: Host, intrinsic: dict[str, str] | None = None
                       ) -> dict[str, ResolvedAttr]:
    """global < os < appliance < host; intrinsic values (hostname, rack, ...) win over all."""
    layers = [
        ("global", global_attrs(session)),
        ("os", {r.attr: r.value for r in os_attrs(session, host.os)}),
        ("appliance", appliance_attrs(session, host.membership.appliance)),
        ("host", host_own_attrs(session, host)),
        ("intrinsic", intrinsic or {}),
    ]
    merged: dict[str, ResolvedAttr] = {}
    for source, values in layers:
        for attr, value in values.items():
            merged[attr] = ResolvedAttr(attr, value, source)
    return merged
