"""Console pages for site profiles and builds: the files changed since the published generation (with
their diff), a Build button that starts ``rocks-dist dist`` as a job, and a build's progress and
failures with file, line and column.  A running build's page refreshes itself (meta refresh: no script)."""

from __future__ import annotations

from flask import Response, redirect, request, url_for

from ksserver.errors import InvalidArgument
from ksserver.services import builds, graphs, sitefiles
from ksserver.web import auth
from ksserver.web.console import _page, bp

REFRESH_SECONDS = 2


@bp.get("/site")
def site() -> Response:
    auth.current()
    cluster = auth.cluster()
    return _page("site.html", changes=sitefiles.changed_files(cluster),
                 builds=builds.list_builds(cluster, 10),
                 warning=graphs.unpublished_site_changes(cluster), message=request.args.get("done", ""))


@bp.get("/site/diff")
def site_diff() -> Response:
    auth.current()
    label, relpath = request.args.get("label", ""), request.args.get("path", "")
    if not label or not relpath:
        raise InvalidArgument("say which file: ?label=site&path=nodes/NAME.xml")
    return _page("sitediff.html", label=label, relpath=relpath,
                 diff=sitefiles.file_diff(auth.cluster(), label, relpath))


@bp.post("/builds")
def start_build() -> Response:
    principal = auth.admin()
    with auth.audited(principal, "start build", "x86_64"):
        row = builds.start_build(auth.cluster(), principal.name)
    return redirect(url_for("console.build", build_id=row.id), code=303)  # type: ignore[return-value]


@bp.get("/builds/<int:build_id>")
def build(build_id: int) -> Response:
    auth.current()
    row = builds.get_build(auth.cluster(), build_id)
    response = _page("build.html", build=row, refresh=None if row.finished else REFRESH_SECONDS)
    return response
