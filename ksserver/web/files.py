"""GET /install/<path>: the distribution tree (and anything else under $KSSERVER_ROOT/install)
for installers: .treeinfo, repodata, packages, images.  Paths are confined to that directory,
after symlinks are resolved: a link pointing out of the tree (an admin's ``ln -s /etc``, or one
planted by a site-profile or roll file) is a 404, not a read of the server's files.  The published
tree's own links (``rocks-dist/<arch>`` and its OS-tree entries) point inside ``install/``."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, send_file

from ksserver import published
from ksserver.web.confine import resolve_install_path

bp = Blueprint("files", __name__)


def _not_found() -> Response:
    return Response("not found\n", status=404, mimetype="text/plain")


@bp.get("/install/<path:path>")
def install_tree(path: str) -> Response:
    services = current_app.extensions["ksserver"]
    real = resolve_install_path(services.settings.dist_dir, path)
    if real is None and published.may_be_published(path) and published.catch_up(services.settings, services.db):
        real = resolve_install_path(services.settings.dist_dir, path)  # published elsewhere a moment ago
    if real is None:
        return _not_found()
    return send_file(real, conditional=True, etag=True)
