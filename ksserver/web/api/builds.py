"""/api/v1/builds: ``rocks-dist dist`` as an asynchronous job; /api/v1/site/changes: what it would publish."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Response, jsonify, request, url_for

from ksserver.services import builds, sitefiles
from ksserver.services.builds import BuildRow
from ksserver.web import auth
from ksserver.web.api import FieldError, bp, json_body


def build_json(row: BuildRow) -> dict[str, Any]:
    return {**dataclasses.asdict(row), "finished": row.finished}


@bp.post("/builds")
def start_build() -> Response:
    principal = auth.admin()
    arch = json_body().get("arch", "x86_64")
    if not isinstance(arch, str):
        raise FieldError("arch", "must be a string")
    with auth.audited(principal, "start build", arch):
        row = builds.start_build(auth.cluster(), principal.name, arch)
    response = jsonify(build_json(row))
    response.status_code = 202
    response.headers["Location"] = url_for("api.get_build", build_id=row.id)
    return response


@bp.get("/builds")
def list_builds() -> Response:
    auth.current()
    limit = request.args.get("limit", "20")
    if not limit.isdigit() or not 1 <= int(limit) <= builds.MAX_LISTED:
        raise FieldError("limit", f"must be a whole number from 1 to {builds.MAX_LISTED}")
    return jsonify(items=[build_json(r) for r in builds.list_builds(auth.cluster(), int(limit))])


@bp.get("/builds/<int:build_id>")
def get_build(build_id: int) -> Response:
    auth.current()
    return jsonify(build_json(builds.get_build(auth.cluster(), build_id)))


@bp.get("/site/changes")
def site_changes() -> Response:
    auth.current()
    return jsonify(items=[c.as_dict() for c in sitefiles.changed_files(auth.cluster())])
