"""Who did what: an operation run on behalf of an account (``acting``) writes one ``audit_log`` row in
the same transaction as its first write, so a change is never committed without its audit row and a
refused or failed operation leaves none."""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ksserver.db.models import AuditEntry


@dataclass
class _Pending:
    actor: str
    action: str
    target: str
    detail: str
    written: bool = False


_CURRENT: contextvars.ContextVar[_Pending | None] = contextvars.ContextVar("ksserver_audit", default=None)


@contextlib.contextmanager
def acting(actor: str, action: str, target: str = "", detail: str = "") -> Iterator[_Pending]:
    """Writes inside this block are audited as ``action`` on ``target`` by ``actor``.  An operation that
    wrote no row (a VM power action acts on libvirt only) is written by the caller afterwards
    (``audited`` in ksserver.web.auth)."""
    pending = _Pending(actor, action, target, detail)
    token = _CURRENT.set(pending)
    try:
        yield pending
    finally:
        _CURRENT.reset(token)


def record(session: Session) -> None:
    """Called by ``Database.session`` before a write commits."""
    pending = _CURRENT.get()
    if pending is None or pending.written:
        return
    session.add(AuditEntry(at=time.time(), actor=pending.actor, action=pending.action,
                           target=pending.target[:4000], detail=pending.detail[:4000]))
    session.flush()
    pending.written = True
