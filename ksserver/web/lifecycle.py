"""Install lifecycle endpoints: a host's iPXE script by MAC, install stage reports, kernels over HTTP.

- ``GET /install/ipxe?mac=<mac>``: always a script for a well-formed MAC (install, boot from disk, or
  "not known" + boot from disk); a malformed MAC is a 400.
- ``POST /install/sbin/public/status``: ``stage=`` (and ``log=`` with ``failed``), form-encoded or JSON,
  with the install token as ``?token=`` or a ``token`` field.
- ``GET /boot/<path>``: kernels and initrds of the TFTP tree (``images/...``), for iPXE over HTTP; the
  per-host answers in that tree (which hold tokens) are not served here.
- ``GET /install/health``: "ok" once this instance has caught up with the database's change log; the
  proxy's health check (docs/scale-out.md), silent when it succeeds.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from flask import Blueprint, Response, current_app, jsonify, request, send_from_directory

from ksserver.errors import InvalidArgument, TooLarge
from ksserver.services import lifecycle
from ksserver.web.kickstart import describe_request

bp = Blueprint("lifecycle", __name__)
MAX_STATUS_BODY = lifecycle.MAX_LOG + 4096
_PRIVATE_BOOT_FILES = ("pxelinux.cfg", "ipxe")


@bp.get("/install/ipxe")
def ipxe() -> Response:
    services = current_app.extensions["ksserver"]
    mac = request.args.get("mac")
    if not mac:
        raise InvalidArgument("mac= is required (iPXE: /install/ipxe?mac=${net0/mac})")
    answer = lifecycle.ipxe_answer(services.installer, mac)
    return Response(answer.text, mimetype="text/plain")


@bp.get("/install/health")
def health() -> Response:
    # An instance that cannot reach its database answers 5xx here and leaves the proxy's rotation.
    current_app.extensions["ksserver"].installer.snapshot.sync()
    return Response("ok\n", mimetype="text/plain")


def _status_body() -> dict[str, Any]:
    declared = request.content_length
    if declared is not None and declared > MAX_STATUS_BODY:
        raise TooLarge(f"status report larger than {MAX_STATUS_BODY} bytes")
    data = request.environ["wsgi.input"].read(MAX_STATUS_BODY + 1)
    if len(data) > MAX_STATUS_BODY:
        raise TooLarge(f"status report larger than {MAX_STATUS_BODY} bytes")
    if request.mimetype == "application/json":
        try:
            body = json.loads(data or b"{}")
        except (ValueError, RecursionError):
            raise InvalidArgument("status report is not a JSON object") from None
        if not isinstance(body, dict) or not all(isinstance(v, str) for v in body.values()):
            raise InvalidArgument("status report must be a JSON object of strings")
        return body
    try:
        form = parse_qs(data.decode(), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise InvalidArgument("status report is not UTF-8 form data") from None
    return {key: values[0] for key, values in form.items()}


@bp.post("/install/sbin/public/status")
def status() -> Response:
    services = current_app.extensions["ksserver"]
    body = _status_body()
    query = request.args.to_dict(flat=False)
    if "token" not in query and body.get("token"):
        query["token"] = [body["token"]]
    req = describe_request(request.environ, query, services.settings.trusted_proxies)
    reply = lifecycle.report_status(services.installer, req, lifecycle.StatusReport(
        stage=body.get("stage", ""), log=body.get("log", ""), host=body.get("host")))
    return jsonify(host=reply.host, stage=reply.stage, boot=reply.boot_action)


@bp.get("/boot/<path:path>")
def boot_file(path: str) -> Response:
    settings = current_app.extensions["ksserver"].settings
    parts = path.split("/")
    if parts[0] in _PRIVATE_BOOT_FILES or parts[-1].startswith("grub.cfg") or any(p.startswith(".") for p in parts):
        return Response("not found\n", status=404, mimetype="text/plain")
    return send_from_directory(settings.tftp_dir, path)
