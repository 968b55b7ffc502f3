"""The web edge of the error tree: RocksError -> HTTP status + one line of text."""

from __future__ import annotations

import logging

from flask import Flask, Response, request

from ksserver.errors import RocksError

log = logging.getLogger("ksserver.web")


def log_refusal(method: str, path: str, remote: str | None, exc: RocksError) -> None:
    """Every refused or failed request is logged once, in one format."""
    level = logging.WARNING if exc.status < 500 else logging.ERROR
    log.log(level, "%s %s from %s: %s %s", method, path, remote, exc.status, exc)


def register(app: Flask) -> None:
    @app.errorhandler(RocksError)
    def rocks_error(exc: RocksError) -> Response:
        log_refusal(request.method, request.path, request.remote_addr, exc)
        return Response(f"{exc}\n", status=exc.status, mimetype="text/plain")
