"""The web edge of the error tree: RocksError -> HTTP status + one line of text."""

from __future__ import annotations

import logging

from flask import Flask, Response, request

from ksserver.errors import RocksError

log = logging.getLogger("ksserver.web")


def register(app: Flask) -> None:
    @app.errorhandler(RocksError)
    def rocks_error(exc: RocksError) -> Response:
        level = logging.WARNING if exc.status < 500 else logging.ERROR
        log.log(level, "%s %s from %s: %s %s", request.method, request.path, request.remote_addr, exc.status, exc)
        return Response(f"{exc}\n", status=exc.status, mimetype="text/plain")
