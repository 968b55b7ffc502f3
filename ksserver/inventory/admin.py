"""Admin tokens: the credential for admin requests over HTTP (kickstart previews today; the web
console's accounts build on the same table).  Stored hashed; shown once when made."""

from __future__ import annotations

import hmac
import secrets
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from ksserver.db.models import AdminToken
from ksserver.inventory.requester import hash_token


def create_token(session: Session, name: str) -> str:
    """A new random token for ``name`` (replacing an older one of that name); the clear text is returned once."""
    token = secrets.token_urlsafe(32)
    row = session.scalar(select(AdminToken).where(AdminToken.name == name))
    if row is None:
        row = AdminToken(name=name)
        session.add(row)
    row.token_hash, row.created_at = hash_token(token), time.time()
    session.flush()
    return token


def has_token(session: Session, name: str) -> bool:
    return session.scalar(select(AdminToken.id).where(AdminToken.name == name)) is not None


def verify(session: Session, token: str | None) -> bool:
    if not token:
        return False
    wanted = hash_token(token)
    return any(hmac.compare_digest(wanted, h) for h in session.scalars(select(AdminToken.token_hash)))
