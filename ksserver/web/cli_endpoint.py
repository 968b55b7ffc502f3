"""``POST /cli/v1/run``: the server side of the ``rocks`` client (``ksserver.cli.client``).

Only the admin token of ``rocks init`` (``Authorization: Bearer``, compared in constant time) may call it;
a user's API token, even an admin's, is refused: this runs any delegated ``rocks`` command.  The body is
``{"protocol": 1, "argv": [...], "settings": {...}}``; argv is data handed to the command table, never
evaluated.  The answer is ``{"exit", "stdout", "stderr"}`` of ``ksserver.cli.run`` on this process's
cluster, or ``{"local": reason}`` when the caller must run the command itself (a command declared
``local``, a local file path, other settings).  Commands run one at a time per process: they were
written for a process of their own.  A command that writes is audited as ``rocks VERB NOUN`` by
``token:NAME`` in the same transaction as its first write.
"""

from __future__ import annotations

import hmac
import io
import json
import threading

from flask import Blueprint, Response, current_app, request
from sqlalchemy import select

from ksserver.cli.client import ENDPOINT, PROTOCOL, settings_fingerprint
from ksserver.db import audit
from ksserver.db.models import AdminToken
from ksserver.inventory.requester import hash_token

bp = Blueprint("cli_endpoint", __name__)
MAX_BODY = 256 * 1024  # argv of thousands of host names fits; more is refused before it is parsed
_RUN_LOCK = threading.Lock()


def _answer(status: int, **body: object) -> Response:
    response = Response(json.dumps(body) + "\n", status=status, mimetype="application/json")
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="ksserver"'
    return response


def _admin_token_name(token: str) -> str | None:
    wanted = hash_token(token)
    found = None
    with current_app.extensions["ksserver"].db.session() as session:
        for name, stored in session.execute(select(AdminToken.name, AdminToken.token_hash)):
            if hmac.compare_digest(wanted, stored):  # every row compared: no early exit to time
                found = name
    return found


def _read_body() -> bytes | None:
    """At most MAX_BODY bytes, whatever the framing; None when there is more."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        return None
    data = request.stream.read(MAX_BODY + 1)
    return None if len(data) > MAX_BODY else data


def _local_reason(argv: list[str]) -> tuple[str | None, str, str, str]:
    """(why the caller must run it, or None; audit action, target, detail)."""
    from ksserver.cli import _load_commands
    from ksserver.cli.registry import parse_call, resolve
    from ksserver.errors import RocksError

    tokens = [t for t in argv if t != "--debug"]
    if not tokens or tokens[0] in ("help", "--help", "-h") or any(t in ("--help", "-h") for t in tokens):
        return None, "rocks help", "", ""
    _load_commands()
    try:
        cmd, rest = resolve(tokens)
        call = parse_call(cmd, rest)
    except RocksError:
        return None, "rocks", "", ""  # run() reports the very same error
    # Names and keys only: argv values can be secrets (rocks set attr NAME VALUE).
    return (cmd.local_reason(call), f"rocks {cmd.name}", call.args[0] if call.args else "",
            " ".join(sorted(call.given)))


@bp.post(ENDPOINT)
def run_command() -> Response:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _answer(401, error="send the admin token ($KSSERVER_ROOT/admin-token): Authorization: Bearer TOKEN")
    actor = _admin_token_name(token.strip())
    if actor is None:
        return _answer(403, error="not an admin token")
    raw = _read_body()
    if raw is None:
        return _answer(413, error=f"request body larger than {MAX_BODY} bytes")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return _answer(400, error="body: not JSON")
    if not isinstance(body, dict) or body.get("protocol") != PROTOCOL:
        return _answer(400, error=f"body: expected a JSON object with protocol {PROTOCOL}")
    argv = body.get("argv")
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        return _answer(400, error="argv: must be a list of strings")
    services = current_app.extensions["ksserver"]
    if body.get("settings") != settings_fingerprint(services.settings):
        return _answer(200, local="this server runs with other settings than the caller's")
    reason, action, target, detail = _local_reason(argv)
    if reason is not None:
        return _answer(200, local=reason)
    return _answer(200, **_run(services, argv, f"token:{actor}", action, target, detail))


def _run(services: object, argv: list[str], actor: str, action: str, target: str,
         detail: str) -> dict[str, object]:
    from ksserver.cli import run

    out, err = io.StringIO(), io.StringIO()
    with _RUN_LOCK, audit.acting(actor, action, target, detail):
        code = run(argv, settings=services.settings, out=out, err=err,  # type: ignore[attr-defined]
                   stdin=io.StringIO(), cluster=services.cluster)  # type: ignore[attr-defined]
    return {"exit": code, "stdout": out.getvalue(), "stderr": err.getvalue()}
