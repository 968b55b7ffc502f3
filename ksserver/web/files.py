"""GET /install/<path>: the distribution tree (and anything else under $KSSERVER_ROOT/install)
for installers: .treeinfo, repodata, packages, images.  Paths are confined to that directory,
after symlinks are resolved: a link pointing out of the tree (an admin's ``ln -s /etc``, or one
planted by a site-profile or roll file) is a 404, not a read of the server's files.  The published
tree's own links (``rocks-dist/<arch>`` and its OS-tree entries) point inside ``install/``."""

from __future__ import annotations

import os

from flask import Blueprint, Response, current_app, send_file

bp = Blueprint("files", __name__)
INSTALLER_DOTFILES = frozenset({".treeinfo", ".discinfo"})


def _not_found() -> Response:
    return Response("not found\n", status=404, mimetype="text/plain")


def resolve_install_path(dist_dir: str | os.PathLike[str], path: str) -> str | None:
    """The real file that ``/install/<path>`` (decoded, without the prefix) names, or None (a 404).

    Shared by the Flask view and the granian front (``ksserver.web.rsgi``): one rule for both."""
    parts = path.split("/")
    if any(part.startswith(".") and part not in INSTALLER_DOTFILES for part in parts) or "" in parts:
        return None  # lock files, staging trees, generations, '..'
    if "\x00" in path:
        return None
    base = os.path.realpath(dist_dir)
    real = os.path.realpath(os.path.join(base, *parts))
    if os.path.commonpath([base, real]) != base or not os.path.isfile(real):
        return None
    # Callers serve the resolved path, so the read follows no link that the check did not see.
    return real


@bp.get("/install/<path:path>")
def install_tree(path: str) -> Response:
    real = resolve_install_path(current_app.extensions["ksserver"].settings.dist_dir, path)
    if real is None:
        return _not_found()
    return send_file(real, conditional=True, etag=True)
