"""Who is asking, for the REST API and the console: an ``Authorization: Bearer`` token (a user's API
token or the admin token of ``rocks init``) or a browser session cookie.

A session is a random id in an HttpOnly, SameSite=Strict cookie, stored hashed, new at every login
(an id planted before the login is worth nothing).  Every unsafe request made with a session cookie
must carry that session's CSRF token (form field ``csrf_token`` or header ``X-CSRF-Token``); bearer
tokens are not sent by browsers on their own, so they need none."""

from __future__ import annotations

import contextlib
import hmac
from collections.abc import Iterator

from flask import current_app, g, request

from ksserver.db import audit
from ksserver.errors import Forbidden, Unauthorized
from ksserver.services import Cluster
from ksserver.services.accounts import Principal, authenticate_token, record_audit, session_principal

SESSION_COOKIE = "ksserver_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def cluster() -> Cluster:
    return current_app.extensions["ksserver"].cluster


def current(optional: bool = False) -> Principal | None:
    """The caller (cached per request); Unauthorized unless ``optional``."""
    if "principal" not in g:
        g.principal, g.csrf = _identify()
    if g.principal is None and not optional:
        raise Unauthorized("log in, or send 'Authorization: Bearer TOKEN' (rocks add user token NAME)")
    return g.principal


def _identify() -> tuple[Principal | None, str | None]:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Authorization must be 'Bearer TOKEN'")
        return authenticate_token(cluster(), token.strip()), None
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None, None
    found = session_principal(cluster(), cookie)
    if found is None:
        return None, None
    principal, csrf = found
    if request.method not in SAFE_METHODS:
        sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
        if not hmac.compare_digest(sent.encode(), csrf.encode()):
            raise Forbidden("missing or wrong CSRF token: reload the page and try again")
    return principal, csrf


def csrf_token() -> str:
    """The CSRF token of the caller's session ('' without a session)."""
    current(optional=True)
    return g.csrf or ""


def admin() -> Principal:
    principal = current()
    assert principal is not None
    principal.require_admin()
    return principal


@contextlib.contextmanager
def audited(principal: Principal, action: str, target: str = "", detail: str = "") -> Iterator[None]:
    """Run one operation on behalf of ``principal``: its audit row commits with its first write, or is
    written afterwards when it succeeded without writing a row (libvirt-only actions)."""
    with audit.acting(principal.name, action, target, detail) as pending:
        yield
    if not pending.written:
        record_audit(cluster(), principal.name, action, target, detail)
