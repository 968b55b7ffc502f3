"""Appliances and memberships."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ksserver.db.models import Appliance, ApplianceAttribute, Distribution, Membership
from ksserver.errors import AlreadyExists, ApplianceNotFound, MembershipNotFound
from ksserver.inventory import validate


def get_appliance(session: Session, name: str) -> Appliance:
    app = session.scalar(select(Appliance).where(Appliance.name == name))
    if app is None:
        known = ", ".join(session.scalars(select(Appliance.name).order_by(Appliance.id)))
        raise ApplianceNotFound(f"unknown appliance {name!r} (known: {known})")
    return app


def list_appliances(session: Session) -> list[Appliance]:
    return list(session.scalars(select(Appliance).order_by(Appliance.id)))


def list_memberships(session: Session) -> list[Membership]:
    return list(session.scalars(select(Membership).order_by(Membership.position, Membership.id)))


def find_membership(session: Session, name: str) -> Membership:
    """By membership name (case-insensitive), or by appliance name."""
    low = name.strip().lower()
    memb = session.scalar(select(Membership).where(func.lower(Membership.name) == low))
    if memb is None:
        memb = session.scalar(select(Membership).join(Appliance).where(func.lower(Appliance.name) == low)
                              .order_by(Membership.position, Membership.id).limit(1))
    if memb is None:
        known = ", ".join(m.name for m in list_memberships(session))
        raise MembershipNotFound(f"unknown membership {name!r} (known: {known})")
    return memb


def membership_for_appliance(session: Session, appliance_name: str) -> Membership | None:
    return session.scalar(select(Membership).join(Appliance).where(Appliance.name == appliance_name)
                          .order_by(Membership.position, Membership.id).limit(1))


def add_appliance(session: Session, name: str, membership: str | None = None, node: str = "",
                  graph: str = "default", public: bool = True, os_name: str = "linux",
                  kickstart_host: str | None = None) -> Appliance:
    validate.word("appliance name", name, r"^[a-z0-9][a-z0-9\-]{0,31}$")
    if node:
        validate.word("node", node, r"^[A-Za-z0-9_\-]{1,64}$")
    validate.word("graph", graph, r"^[A-Za-z0-9_\-]{1,64}$")
    validate.os_name(os_name)
    if session.scalar(select(Appliance).where(Appliance.name == name)) is not None:
        raise AlreadyExists(f"appliance {name!r} already exists")
    memb_name = membership or name.replace("-", " ").title()
    if session.scalar(select(Membership).where(func.lower(Membership.name) == memb_name.lower())):
        raise AlreadyExists(f"membership {memb_name!r} already exists")
    app = Appliance(name=name, node=node, graph=graph, public=public, os=os_name)
    session.add(app)
    session.flush()
    dist = session.scalar(select(Distribution).order_by(Distribution.id).limit(1))
    position = (session.scalar(select(func.max(Membership.position))) or 0) + 1
    session.add(Membership(name=memb_name, appliance_id=app.id, distribution_id=dist.id if dist else 1,
                           public=public, position=position))
    attrs = {"kickstartable": "true" if node else "false", "managed": "true" if node else "false"}
    for key, value in attrs.items():
        session.add(ApplianceAttribute(appliance_id=app.id, attr=key, value=value))
    session.flush()
    return app

