"""The REST API for admins and scripts: ``/api/v1``, JSON in and out, a thin shell over
``ksserver.services``.  Reads need any account; writes the admin role, and each is audited."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request

from ksserver.errors import InvalidArgument, RocksError

bp = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_BODY = 1024 * 1024


class FieldError(InvalidArgument):
    """A request body or query value at fault, named in the JSON error as ``field``."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


def error_body(exc: RocksError) -> Response:
    body: dict[str, Any] = {"error": exc.message, "status": exc.status}
    if isinstance(exc, FieldError):
        body["field"] = exc.field
    response = Response(json.dumps(body) + "\n", status=exc.status, mimetype="application/json")
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="ksserver"'
    return response


def json_body() -> dict[str, Any]:
    """The request's JSON object (at most 1 MB, not nested absurdly deep)."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        from ksserver.errors import TooLarge

        raise TooLarge(f"request body larger than {MAX_BODY} bytes")
    raw = request.get_data(cache=True)[: MAX_BODY + 1]
    try:
        data = json.loads(raw or b"{}")
    except RecursionError:
        raise FieldError("body", "nested too deeply") from None
    except ValueError as exc:
        raise FieldError("body", f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise FieldError("body", "must be a JSON object")
    return data


@bp.errorhandler(RocksError)
def _rocks_error(exc: RocksError) -> Response:
    from ksserver.web.errors import client_of, log_refusal

    trusted = current_app.extensions["ksserver"].settings.trusted_proxies
    log_refusal(request.method, request.path, client_of(request.environ, trusted), exc)
    return error_body(exc)


def register(app: Flask) -> None:
    from ksserver.web.api import builds, hosts, lifecycle, openapi, resources  # noqa: F401  (routes on bp)

    app.register_blueprint(bp)

    @app.errorhandler(404)
    @app.errorhandler(405)
    def not_here(exc):  # type: ignore[no-untyped-def]
        if request.path.startswith(bp.url_prefix or "/api"):
            error = RocksError(exc.description or "not found")
            error.status = exc.code
            return error_body(error)
        return exc
