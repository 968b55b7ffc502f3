"""GET /install/<path>: the distribution tree (and anything else under $KSSERVER_ROOT/install)
for installers: .treeinfo, repodata, packages, images.  Paths are confined to that directory."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, send_from_directory

bp = Blueprint("files", __name__)
INSTALLER_DOTFILES = frozenset({".treeinfo", ".discinfo"})


@bp.get("/install/<path:path>")
def install_tree(path: str) -> Response:
    settings = current_app.extensions["ksserver"].settings
    if any(part.startswith(".") and part not in INSTALLER_DOTFILES for part in path.split("/")):
        return Response("not found\n", status=404, mimetype="text/plain")  # lock files, staging trees
    return send_from_directory(settings.dist_dir, path)
