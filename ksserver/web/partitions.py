"""Installers report their partition layout; only a host's own report is accepted for it.

``POST /install/sbin/public/partitions`` takes JSON; ``GET /install/sbin/public/setDbPartitions.cgi``
takes Rocks' ``X-Rocks-PartitionInfo`` header (parsed, never evaluated)."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from ksserver.errors import InvalidArgument, TooLarge
from ksserver.inventory import partition_reports, requester
from ksserver.web.kickstart import describe_request

bp = Blueprint("partitions", __name__)
MAX_BODY = 256 * 1024  # a partition report is a few KB


def _store(specs: list) -> tuple[Any, str, int]:  # type: ignore[type-arg]
    services = current_app.extensions["ksserver"]
    req = describe_request(request.environ, request.args.to_dict(flat=False), services.settings.trusted_proxies)
    if req.preview is not None:
        raise InvalidArgument("client= is not accepted here: a host reports only its own partitions")
    snap = services.snapshot
    snap.sync()
    host = requester.identify(snap, req)
    with services.db.session(write=True) as session:
        count = partition_reports.replace_partitions(session, host.id, specs)
    return services, host.name, count


@bp.post("/install/sbin/public/partitions")
def report_json() -> Response:
    if (request.content_length or 0) > MAX_BODY:
        raise TooLarge(f"partition report larger than {MAX_BODY} bytes")
    try:
        data = json.loads(request.get_data(cache=False) or b"null")
    except ValueError as exc:
        raise InvalidArgument(f"partition report is not JSON: {exc}") from None
    _, name, count = _store(partition_reports.parse_json_report(data))
    return jsonify(host=name, partitions=count)


@bp.get("/install/sbin/public/setDbPartitions.cgi")
def report_rocks() -> Response:
    header = request.headers.get("X-Rocks-PartitionInfo")
    if header is None:
        raise InvalidArgument("missing X-Rocks-PartitionInfo header")
    _store(partition_reports.parse_rocks_header(header))
    return Response(b"", mimetype="application/octet-stream")
