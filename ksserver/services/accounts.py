"""Accounts of the web console and the REST API: users with a role, their API tokens, browser
sessions, and the audit log of what they changed.

Passwords are argon2id hashes (argon2-cffi); tokens and session ids are random and stored as
SHA-256 hashes (as the admin token from ``rocks init``, which counts as an admin)."""

from __future__ import annotations

import hmac
import re
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import delete, select

from ksserver.db.models import AdminToken, AuditEntry, User, UserToken, WebSession
from ksserver.errors import AlreadyExists, Forbidden, InvalidArgument, NotFound, Unauthorized
from ksserver.inventory.requester import hash_token
from ksserver.services import Cluster

ROLES = ("admin", "readonly")
MIN_PASSWORD_LENGTH = 8
SESSION_SECONDS = 8 * 3600
_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user (by password, session or token) or the admin token of ``rocks init``."""

    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden(f"user {self.name} is read-only: changes need the admin role")


@dataclass(frozen=True)
class UserRow:
    name: str
    role: str
    tokens: int


@dataclass(frozen=True)
class AuditRow:
    at: float
    actor: str
    action: str
    target: str
    detail: str


def _hasher():  # type: ignore[no-untyped-def]
    from argon2 import PasswordHasher  # imported when used: nothing at import time

    return PasswordHasher()


def _check_name(name: str) -> str:
    if not _NAME_RE.match(name or ""):
        raise InvalidArgument(f"user name {name!r} must be 1-64 letters, digits, '.', '_' or '-'")
    return name


def add_user(cluster: Cluster, name: str, role: str, password: str) -> None:
    _check_name(name)
    if role not in ROLES:
        raise InvalidArgument(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidArgument(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    hashed = _hasher().hash(password)
    with cluster.db.session(write=True) as session:
        if session.scalar(select(User.id).where(User.name == name)) is not None:
            raise AlreadyExists(f"user {name!r} already exists")
        session.add(User(name=name, role=role, password_hash=hashed, created_at=time.time()))


def remove_user(cluster: Cluster, name: str) -> None:
    with cluster.db.session(write=True) as session:
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            raise NotFound(f"unknown user {name!r}")
        session.execute(delete(UserToken).where(UserToken.user_id == user.id))
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        session.delete(user)


def list_users(cluster: Cluster) -> list[UserRow]:
    with cluster.db.session() as session:
        users = list(session.scalars(select(User).order_by(User.name)))
        counts = {u.id: 0 for u in users}
        for user_id in session.scalars(select(UserToken.user_id)):
            counts[user_id] = counts.get(user_id, 0) + 1
        return [UserRow(u.name, u.role, counts[u.id]) for u in users]


def add_user_token(cluster: Cluster, name: str, label: str = "api") -> str:
    """A new API token for user ``name``; the clear text is returned once and stored only hashed."""
    if not _NAME_RE.match(label or ""):
        raise InvalidArgument(f"token label {label!r} must be 1-64 letters, digits, '.', '_' or '-'")
    token = secrets.token_urlsafe(32)
    with cluster.db.session(write=True) as session:
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            raise NotFound(f"unknown user {name!r}")
        session.add(UserToken(user_id=user.id, label=label, token_hash=hash_token(token), created_at=time.time()))
    return token


def authenticate_password(cluster: Cluster, name: str, password: str) -> Principal:
    from argon2.exceptions import InvalidHashError, VerificationError

    hasher = _hasher()
    with cluster.db.session() as session:
        user = session.scalar(select(User).where(User.name == name))
        stored = user.password_hash if user else None
        principal = Principal(user.name, user.role) if user else None
    try:
        if stored is None:
            hasher.hash(password)  # as slow as a real check: timing does not tell which names exist
            raise VerificationError()
        hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        raise Unauthorized("wrong user name or password") from None
    assert principal is not None
    return principal


def authenticate_token(cluster: Cluster, token: str) -> Principal:
    """A user's API token (with that user's role) or an admin token of ``rocks init`` (admin)."""
    wanted = hash_token(token)
    with cluster.db.session() as session:
        row = session.execute(select(User.name, User.role).join(UserToken, UserToken.user_id == User.id)
                              .where(UserToken.token_hash == wanted)).first()
        if row is not None:
            return Principal(row.name, row.role)
        for name, stored in session.execute(select(AdminToken.name, AdminToken.token_hash)):
            if hmac.compare_digest(wanted, stored):
                return Principal(f"token:{name}", "admin")
    raise Unauthorized("unknown API token")


def open_session(cluster: Cluster, name: str) -> tuple[str, str]:
    """A new browser session for user ``name``: (cookie value, CSRF token).  Always a fresh id, so a
    session id planted before the login is worth nothing after it."""
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = time.time()
    with cluster.db.session(write=True) as session:
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            raise NotFound(f"unknown user {name!r}")
        session.execute(delete(WebSession).where(WebSession.expires_at < now))
        session.add(WebSession(session_hash=hash_token(cookie), user_id=user.id, csrf=csrf,
                               expires_at=now + SESSION_SECONDS))
    return cookie, csrf


def session_principal(cluster: Cluster, cookie: str) -> tuple[Principal, str] | None:
    """The user and CSRF token of a live session, or None."""
    with cluster.db.session() as session:
        row = session.execute(select(User.name, User.role, WebSession.csrf, WebSession.expires_at)
                              .join(WebSession, WebSession.user_id == User.id)
                              .where(WebSession.session_hash == hash_token(cookie))).first()
    if row is None or row.expires_at < time.time():
        return None
    return Principal(row.name, row.role), row.csrf


def close_session(cluster: Cluster, cookie: str) -> None:
    with cluster.db.session(write=True) as session:
        session.execute(delete(WebSession).where(WebSession.session_hash == hash_token(cookie)))


def record_audit(cluster: Cluster, actor: str, action: str, target: str = "", detail: str = "") -> None:
    """An audit row for an operation that changed nothing in the database (a VM power action)."""
    with cluster.db.session(write=True) as session:
        session.add(AuditEntry(at=time.time(), actor=actor, action=action, target=target[:4000],
                               detail=detail[:4000]))


def list_audit(cluster: Cluster, limit: int = 100, actor: str | None = None) -> list[AuditRow]:
    """The newest ``limit`` audit rows, oldest first."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(max(1, min(limit, 10000)))
    if actor:
        query = query.where(AuditEntry.actor == actor)
    with cluster.db.session() as session:
        rows = [AuditRow(e.at, e.actor, e.action, e.target, e.detail) for e in session.scalars(query)]
    return rows[::-1]
