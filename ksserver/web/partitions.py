"""Installers report their partition layout; only a host's own report is accepted for it.

``POST /install/sbin/public/partitions`` takes JSON (``rocks_partition.records``);
``POST /install/sbin/public/partition-plan`` takes the plan of a stopped install; ``GET /install/sbin/public/setDbPartitions.cgi``
takes Rocks' ``X-Rocks-PartitionInfo`` header (parsed, never evaluated)."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qs

from flask import Blueprint, Response, current_app, jsonify, request

from ksserver.errors import InvalidArgument, RocksError, TooLarge
from ksserver.services import installer
from ksserver.web.errors import client_of, log_refusal
from ksserver.web.kickstart import describe_request

bp = Blueprint("partitions", __name__)
log = logging.getLogger("ksserver.web")
MAX_BODY = 256 * 1024  # a partition report is a few KB
REPORT_PATH = "/install/sbin/public/partitions"


def _describe() -> tuple[Any, installer.InstallerRequest]:
    services = current_app.extensions["ksserver"]
    return services, describe_request(request.environ, request.args.to_dict(flat=False),
                                      services.settings.trusted_proxies)


def _bounded_body(limit: int, environ: dict[str, Any] | None = None) -> bytes:
    """At most ``limit`` bytes of the body, whatever its framing (Content-Length or chunked)."""
    environ = request.environ if environ is None else environ
    length = environ.get("CONTENT_LENGTH") or ""
    if length and not (length.isascii() and length.isdigit()):
        raise InvalidArgument("malformed Content-Length")
    declared = int(length) if length else None
    if declared is not None and declared > limit:
        raise TooLarge(f"partition report larger than {limit} bytes")
    # A declared length is read exactly (one pull from the connection, no second one to see the end);
    # a chunked body is read to its end, one byte past the limit at most.
    data = environ["wsgi.input"].read(limit + 1 if declared is None else declared)
    if len(data) > limit:
        raise TooLarge(f"partition report larger than {limit} bytes")
    return bytes(data)


def _json_body() -> Any:
    try:
        return json.loads(_bounded_body(MAX_BODY) or b"null")
    except RecursionError:
        raise InvalidArgument("partition report is nested too deeply") from None
    except ValueError as exc:
        raise InvalidArgument(f"partition report is not JSON: {exc}") from None


def report_response(services: Any, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers, body) of a JSON partition report: the Flask view and the granian front (which
    answers these without Flask: a reinstall sends one per host) both answer with this."""
    try:
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        req = describe_request(environ, query, services.settings.trusted_proxies)
        name, count = installer.report_partitions(services.installer, req,
                                                  lambda: _bounded_body(MAX_BODY, environ), "json")
        status, body, kind = 200, json.dumps({"host": name, "partitions": count}) + "\n", "application/json"
    except RocksError as exc:
        log_refusal(environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""),
                    client_of(environ, services.settings.trusted_proxies), exc)
        status, body, kind = exc.status, f"{exc}\n", "text/plain; charset=utf-8"
    data = body.encode()
    return status, [("Content-Type", kind), ("Content-Length", str(len(data)))], data


@bp.post(REPORT_PATH)
def report_json() -> Response:
    status, headers, body = report_response(current_app.extensions["ksserver"], request.environ)
    return Response(body, status=status, headers=headers)


@bp.post("/install/sbin/public/partition-plan")
def report_plan() -> Response:
    """The plan an installer sends when it stops or refuses user directives: the admin sees it."""
    services, req = _describe()
    name = installer.report_plan(services.installer, req, _json_body)
    return jsonify(host=name)


@bp.get("/install/sbin/public/setDbPartitions.cgi")
def report_rocks() -> Response:
    services, req = _describe()
    header = request.headers.get("X-Rocks-PartitionInfo")
    if header is None:
        raise InvalidArgument("missing X-Rocks-PartitionInfo header")
    installer.report_partitions(services.installer, req, header, "rocks")
    return Response(b"", mimetype="application/octet-stream")
