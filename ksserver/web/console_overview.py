"""The cluster overview page, and the JSON the host table's script (static/live.js) polls for live state."""

from __future__ import annotations

from flask import Response, jsonify, request

from ksserver.services import overview
from ksserver.web import auth
from ksserver.web.console import _page, bp


@bp.get("/overview")
def cluster_overview() -> Response:
    auth.current()
    return _page("overview.html", overview=overview.cluster_overview(auth.cluster()))


@bp.get("/hosts/live.json")
def hosts_live() -> Response:
    """The next boot action (and install stage, once recorded) of the hosts named by ?host=."""
    auth.current()
    rows = overview.live_states(auth.cluster(), request.args.getlist("host"))
    return jsonify(hosts=[{"name": r.name, "boot": r.boot, "stage": r.stage} for r in rows])
