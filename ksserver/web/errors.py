"""The web edge of the error tree: RocksError -> HTTP status + one line of text."""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask, Response, current_app, request

from ksserver.errors import RocksError

log = logging.getLogger("ksserver.web")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def clean(text: object) -> str:
    """Text safe for one log line: control characters (a newline in ?client= or a JSON key would forge
    a second line) are shown escaped."""
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 256 else f"\\u{ord(m[0]):04x}",
                            str(text))


def client_of(environ: dict[str, Any], trusted: tuple[str, ...]) -> str:
    """The client's address for the log: behind a trusted proxy, the address the proxy reported."""
    from ksserver.inventory.requester import client_address

    remote = environ.get("REMOTE_ADDR") or "?"
    try:
        return client_address(remote, environ.get("HTTP_X_FORWARDED_FOR"), trusted)
    except RocksError:
        return f"{remote} (proxy, no usable X-Forwarded-For)"


def log_refusal(method: str, path: str, client: str | None, exc: RocksError) -> None:
    """Every refused or failed request is logged once, in one format."""
    level = logging.WARNING if exc.status < 500 else logging.ERROR
    log.log(level, "%s %s from %s: %s %s", clean(method), clean(path), clean(client), exc.status, clean(exc))


def register(app: Flask) -> None:
    @app.errorhandler(RocksError)
    def rocks_error(exc: RocksError) -> Response:
        trusted = current_app.extensions["ksserver"].settings.trusted_proxies
        log_refusal(request.method, request.path, client_of(request.environ, trusted), exc)
        return Response(f"{exc}\n", status=exc.status, mimetype="text/plain")
