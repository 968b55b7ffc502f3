"""GET /install/<path>: symlinks never lead out of install/ (issue #9, small item)."""

from __future__ import annotations

import pytest

from ksserver.web import create_app


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'cluster.db'}"


def plant_links(settings) -> None:  # type: ignore[no-untyped-def]
    """What an attacker (or a careless admin) leaves under install/: links to secrets outside it."""
    install = settings.dist_dir
    (install / "rocks-dist").mkdir(parents=True, exist_ok=True)
    (install / "etc").symlink_to("/etc")
    (install / "passwd").symlink_to("/etc/passwd")
    (install / "db").symlink_to(settings.root.resolve() / "cluster.db")
    (install / "rocks-dist" / "up").symlink_to("../..")
    (install / "inside.txt").write_text("inside\n")
    (install / "alias.txt").symlink_to("inside.txt")


ESCAPES = ["/install/etc/passwd", "/install/passwd", "/install/db", "/install/rocks-dist/up/cluster.db",
           "/install/rocks-dist/../../cluster.db", "/install/%2e%2e/cluster.db"]


def test_links_out_of_the_tree_are_not_followed(cluster, settings):
    plant_links(settings)
    app = create_app(settings)
    client = app.test_client()
    for path in ESCAPES:
        with client.get(path) as response:
            assert response.status_code == 404, path
            assert b"root:" not in response.get_data() and b"SQLite" not in response.get_data()
    with client.get("/install/alias.txt") as response:  # a link inside the tree is fine
        assert response.status_code == 200 and response.get_data() == b"inside\n"
    app.extensions["ksserver"].db.dispose()
