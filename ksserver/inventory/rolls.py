"""Rolls in the database: which folders of node/graph files join the node library, in which order."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ksserver.db.models import Roll
from ksserver.errors import AlreadyExists, InvalidArgument, NotFound
from ksserver.inventory import validate

GRAPH_MODES = ("add", "replace")


def get_roll(session: Session, name: str) -> Roll:
    roll = session.scalar(select(Roll).where(Roll.name == name))
    if roll is None:
        known = ", ".join(r.name for r in list_rolls(session)) or "none"
        raise NotFound(f"unknown roll {name!r} (known: {known})")
    return roll


def list_rolls(session: Session) -> list[Roll]:
    return list(session.scalars(select(Roll).order_by(Roll.position, Roll.id)))


def add_roll(session: Session, name: str, path: Path, graphs: str, version: str) -> Roll:
    validate.word("roll name", name, r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
    if graphs not in GRAPH_MODES:
        raise InvalidArgument(f"graphs must be add or replace, not {graphs!r}")
    if version:
        validate.word("version", version, r"^[0-9]+(\.[0-9]+){0,2}$")
    if session.scalar(select(Roll.id).where(Roll.name == name)) is not None:
        raise AlreadyExists(f"roll {name!r} already exists")
    position = (session.scalar(select(func.max(Roll.position))) or 0) + 1
    roll = Roll(name=name, path=str(path), graphs=graphs, version=version, enabled=True, position=position)
    session.add(roll)
    session.flush()
    return roll
