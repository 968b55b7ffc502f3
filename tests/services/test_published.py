"""Published builds through the database (ksserver.published): instance A runs ``rocks-dist dist``;
instance B, with its own install/ holding only its OS tree, then serves the same kickstart, the same plugin
bundle and the same build/ files, written from the database.  A corrupted or hostile row is refused, never
served.  SQLite and PostgreSQL (the ``svc`` fixture); docs/scale-out.md."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

from installer_plugin.bundle import BUNDLE_NAME
from ksserver import published
from ksserver.config import Settings, load_settings
from ksserver.db.session import Database
from ksserver.errors import DistError, GraphError
from ksserver.inventory.snapshot import InventorySnapshot
from ksserver.kickstarts import KickstartService
from ksserver.services import dist, installer, interfaces
from ksserver.services.installer import InstallerRequest, InstallerRuntime
from ksserver.web import create_app
from ksserver.web.confine import resolve_install_file

SERVER = "http://10.1.1.1"
BUNDLE = f"rocks-dist/x86_64/{BUNDLE_NAME}"


@dataclass
class Instance:
    settings: Settings
    db: Database
    runtime: InstallerRuntime

    def kickstart(self, ip: str) -> str:
        return installer.kickstart(self.runtime, InstallerRequest(client_ip=ip), server_url=SERVER)

    def file(self, rel: str) -> bytes | None:
        """What ``GET /install/<rel>`` answers (the one rule the Flask view and the granian front use)."""
        found = resolve_install_file(self.settings.dist_dir, rel)
        return Path(found[0]).read_bytes() if found else None

    def tree(self) -> dict[str, bytes]:
        """Every regular file of the published x86_64 tree (links to the OS tree left out)."""
        root = (self.settings.dist_dir / "rocks-dist" / "x86_64").resolve()
        return {rel: path.read_bytes() for rel, path, _ in published.files_of(root)}


def _instance(settings: Settings, db: Database) -> Instance:
    (settings.dist_dir / "os" / "x86_64" / "BaseOS").mkdir(parents=True, exist_ok=True)
    os_tree = settings.dist_dir / "os" / "x86_64"
    (os_tree / ".treeinfo").write_text(f"[general]\nname = {settings.root.name}\n")
    kickstarts = KickstartService(settings, db=db)
    return Instance(settings, db, InstallerRuntime(db, InventorySnapshot(db), kickstarts, settings))


@pytest.fixture
def a(svc) -> Instance:
    return _instance(svc.settings, svc.db)


@pytest.fixture
def b(svc, tmp_path) -> Instance:
    """Instance B: its own root and install/ (only its OS tree), the same database."""
    settings = load_settings(environ={}, root=tmp_path / "instance-b", database_url=svc.settings.database_url,
                             evals=True)
    settings.root.mkdir()
    db = Database.from_url(settings.effective_database_url)
    yield _instance(settings, db)
    db.dispose()


def _site_node(svc, body: str) -> None:
    nodes = svc.settings.site_profile_dir / "nodes"
    nodes.mkdir(parents=True, exist_ok=True)
    (nodes / "extend-compute.xml").write_text(f"<kickstart>\n  <post>{body}</post>\n</kickstart>\n")


def _ip(svc, host: str) -> str:
    return interfaces.list_interfaces(svc, [host])[0].ip


def test_a_second_instance_serves_what_the_first_published(svc, a, b):
    _site_node(svc, "echo published-one")
    dist.build(svc)
    ip = _ip(svc, "compute-0-0")
    assert b.file(BUNDLE) is None  # nothing of it on B yet
    theirs = a.kickstart(ip)
    assert "echo published-one" in theirs
    assert b.kickstart(ip) == theirs  # B wrote the generation from the database on the way
    assert b.file(BUNDLE) == a.file(BUNDLE) and b.file(BUNDLE)
    assert b.tree() == a.tree() and "build/nodes/extend-compute.xml" in b.tree()
    gens_a, gens_b = (i.settings.dist_dir / "rocks-dist" / ".generations" for i in (a, b))
    assert sorted(p.name for p in gens_b.iterdir()) == sorted(p.name for p in gens_a.iterdir())
    # The OS tree is B's own: the link in B's tree points into B's install/os.
    assert b.file("rocks-dist/x86_64/.treeinfo") == b"[general]\nname = instance-b\n"
    # Served by B's web app as well.
    app = create_app(b.settings, b.db)
    with app.test_client().get(f"/install/{BUNDLE}") as response:
        assert response.status_code == 200 and response.get_data() == a.file(BUNDLE)
    # Nothing left to do: the next look writes nothing.
    assert published.sync(b.settings, b.db) == []


def test_a_second_build_replaces_the_other_instances_tree(svc, a, b):
    _site_node(svc, "echo one")
    dist.build(svc)
    ip = _ip(svc, "compute-0-1")
    assert "echo one" in b.kickstart(ip)
    first = (b.settings.dist_dir / "rocks-dist" / "x86_64").readlink()
    _site_node(svc, "echo two")
    dist.build(svc)
    text_b = b.kickstart(ip)
    assert "echo two" in text_b and text_b == a.kickstart(ip)
    assert b.tree() == a.tree()
    trees = b.settings.dist_dir / "rocks-dist" / ".trees"
    served = (b.settings.dist_dir / "rocks-dist" / "x86_64").readlink().name
    assert [p.name for p in trees.iterdir()] == [served]
    assert first.name not in [p.name for p in trees.iterdir()]


def test_the_follower_writes_a_rebuild_of_the_same_generation(svc, a, b):
    """The same node files published again (a new bundle, say) give a new tree with the same generation:
    the kickstart compiler does not switch, the follower (``sync``) still puts the new tree in place."""
    dist.build(svc)
    assert published.sync(b.settings, b.db)  # the follower's first look: generation and tree written
    dist.build(svc)
    link = a.settings.dist_dir / "rocks-dist" / "x86_64"
    assert (b.settings.dist_dir / "rocks-dist" / "x86_64").readlink() != link.readlink()
    written = published.sync(b.settings, b.db)
    assert written == [f"build {link.readlink().name}"]
    assert (b.settings.dist_dir / "rocks-dist" / "x86_64").readlink() == link.readlink()
    assert b.tree() == a.tree()


def _corrupt(db: Database, relpath: str) -> None:
    with db.engine.begin() as conn:
        sha = conn.execute(text("SELECT sha256 FROM published_files WHERE relpath = :r"),
                           {"r": relpath}).scalar()
        conn.execute(text("UPDATE published_blobs SET data = :d WHERE sha256 = :s"),
                     {"d": b"#!/bin/sh\nrm -rf /\n", "s": sha})


def test_a_corrupted_file_in_the_database_is_refused_and_never_served(svc, a, b, caplog):
    dist.build(svc)
    _corrupt(svc.db, BUNDLE_NAME)
    with caplog.at_level(logging.ERROR, logger="ksserver.kickstarts"), pytest.raises(GraphError) as refused:
        b.kickstart(_ip(svc, "compute-0-0"))
    assert "does not match its SHA-256" in str(refused.value) and BUNDLE_NAME in caplog.text
    assert b.file(BUNDLE) is None
    trees = b.settings.dist_dir / "rocks-dist" / ".trees"
    assert not trees.exists() or not any(trees.iterdir())  # no staging folder left either
    with pytest.raises(DistError, match="does not match"):
        published.sync(b.settings, b.db)


def test_a_corrupted_node_file_writes_no_generation(svc, a, b):
    _site_node(svc, "echo x")
    dist.build(svc)
    _corrupt(svc.db, "1-site/nodes/extend-compute.xml")
    with pytest.raises(GraphError, match="does not match"):
        b.kickstart(_ip(svc, "compute-0-0"))
    gens = b.settings.dist_dir / "rocks-dist" / ".generations"
    assert not gens.exists() or not any(gens.iterdir())


@pytest.mark.parametrize("column,value", [
    ("relpath", "../../../../escaped.txt"), ("relpath", "/tmp/escaped.txt"), ("relpath", "build/./x"),
])
def test_a_file_name_leaving_its_folder_is_refused(svc, a, b, column, value, tmp_path):
    dist.build(svc)
    with svc.db.engine.begin() as conn:
        conn.execute(text(f"UPDATE published_files SET {column} = :v WHERE relpath = :r"),
                     {"v": value, "r": BUNDLE_NAME})
    with pytest.raises(DistError, match="leaves its folder"):
        published.sync(b.settings, b.db)
    assert not list(tmp_path.rglob("escaped.txt")) and not Path("/tmp/escaped.txt").exists()
    assert b.file(BUNDLE) is None


def test_a_tree_name_leaving_trees_is_refused(svc, a, b, tmp_path):
    dist.build(svc)
    with svc.db.engine.begin() as conn:
        conn.execute(text("UPDATE published_trees SET tree = :v"), {"v": "../../../escaped"})
    with pytest.raises(DistError, match="no tree name"):
        published.sync(b.settings, b.db)
    assert not list(tmp_path.rglob("escaped"))


def test_an_unchanged_file_is_stored_once(svc, a):
    dist.build(svc)
    with svc.db.engine.connect() as conn:
        blobs = conn.execute(text("SELECT count(*) FROM published_blobs")).scalar()
        files = conn.execute(text("SELECT count(*) FROM published_files")).scalar()
    dist.build(svc)
    with svc.db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM published_blobs")).scalar() == blobs
        assert conn.execute(text("SELECT count(*) FROM published_files")).scalar() == 2 * files
    # The generation's node files and the tree's copies of them share their bytes too.
    assert blobs < files


def test_the_serve_follower_writes_a_build_published_elsewhere(svc, a, b):
    """``ksserver serve`` runs ``follow`` in a process of its own; here in a thread, stopped by its event."""
    import threading

    stop = threading.Event()
    follower = threading.Thread(target=published.follow, args=(b.settings, stop, 0.05), daemon=True)
    follower.start()
    try:
        dist.build(svc)
        for _ in range(600):  # the follower's pace is not under test: wait for the file, then compare
            if b.file(BUNDLE) is not None:
                break
            stop.wait(0.05)
        assert b.file(BUNDLE) == a.file(BUNDLE)
    finally:
        stop.set()
        follower.join()
    assert b.tree() == a.tree()


def test_a_file_published_elsewhere_is_served_at_the_first_request(svc, a, b):
    """An installer whose kickstart came from A may fetch its bundle from B before B's follower has looked
    (about a second): B writes the publication on that miss instead of answering 404."""
    dist.build(svc)
    app = create_app(b.settings, b.db)
    with app.test_client().get(f"/install/{BUNDLE}") as response:
        assert response.status_code == 200 and response.get_data() == a.file(BUNDLE)
    assert b.tree() == a.tree()
    with app.test_client().get("/install/rocks-dist/x86_64/no-such-file") as response:
        assert response.status_code == 404


def test_a_miss_never_serves_a_corrupted_publication(svc, a, b):
    dist.build(svc)
    _corrupt(svc.db, BUNDLE_NAME)
    with create_app(b.settings, b.db).test_client().get(f"/install/{BUNDLE}") as response:
        assert response.status_code == 404
    assert b.file(BUNDLE) is None


def test_the_granian_front_serves_a_file_published_elsewhere_at_once(svc, a, b):
    from tests.web.test_granian_front import _get
    from tests.web.test_serve_http import running_server

    with running_server(b.settings) as url:
        dist.build(svc)  # A publishes while B runs
        status, _, body = _get(url, f"/install/{BUNDLE}")
        assert status == 200 and body == a.file(BUNDLE)
        assert _get(url, "/install/rocks-dist/x86_64/no-such-file")[0] == 404


def test_the_install_tree_listener_serves_a_file_published_elsewhere_at_once(svc, a, b):
    """The kickstart's url line names the install-tree listener: a miss there writes the publication too."""
    from tests.web.test_filelistener import _get, listening

    with listening(b.settings) as port:
        dist.build(svc)  # A publishes while B's listener runs
        status, _, body = _get(port, f"/install/{BUNDLE}")
        assert status == 200 and body == a.file(BUNDLE)
        assert _get(port, "/install/rocks-dist/x86_64/no-such-file")[0] == 404
