"""rocks-dist dist / rocks create distro: whole-graph validation and the distribution tree."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from ksserver.dist import dist_lock
from ksserver.errors import DistError
from ksserver.web import create_app

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'cluster.db'}"


def _install_examples(settings) -> None:  # type: ignore[no-untyped-def]
    site = settings.site_profile_dir
    shutil.copytree(REPO / "site-profiles" / "nodes", site / "nodes")
    shutil.copytree(REPO / "site-profiles" / "graphs", site / "graphs")


def test_dist_validates_every_host_and_builds_the_tree(cluster, settings):
    _install_examples(settings)
    os_tree = settings.dist_dir / "os" / "x86_64"
    (os_tree / "BaseOS").mkdir(parents=True)
    (os_tree / ".treeinfo").write_text("[general]\nname = test\n")
    result = cluster("create", "distro")
    assert result.code == 0, result
    assert result.out.startswith("validated 4 kickstarts (3 templates, appliances: compute, frontend, vm-container)")
    tree = settings.dist_dir / "rocks-dist" / "x86_64"
    assert (tree / "build" / "nodes" / "base.xml").is_file()
    assert (tree / "build" / "nodes" / "extend-compute.xml").is_file()
    assert (tree / "build" / "graphs" / "default" / "site.xml").is_file()
    assert (tree / ".treeinfo").read_text().startswith("[general]")
    app = create_app(settings)
    client = app.test_client()

    def fetch(path: str) -> tuple[int, bytes]:
        with client.get(path) as response:
            return response.status_code, response.get_data()

    status, body = fetch("/install/rocks-dist/x86_64/.treeinfo")  # what anaconda reads first
    assert status == 200 and body.startswith(b"[general]")
    assert fetch("/install/rocks-dist/x86_64/build/nodes/base.xml")[0] == 200
    assert fetch("/install/../cluster.db")[0] == 404
    assert fetch("/install/.rocks-dist.lock")[0] == 404  # other dot-files stay hidden
    assert fetch("/install/rocks-dist/.x86_64.old/build")[0] == 404
    app.extensions["ksserver"].db.dispose()


def test_dist_reports_every_failing_host_and_keeps_the_old_tree(cluster, settings):
    assert cluster("create", "distro").code == 0
    tree = settings.dist_dir / "rocks-dist" / "x86_64"
    marker = tree / "build" / "MANIFEST"
    before = marker.read_text()
    cluster("set", "appliance", "attr", "compute", "Kickstart_Timezone", "Not a zone; really")
    nodes = settings.site_profile_dir / "nodes"
    nodes.mkdir(parents=True)
    (nodes / "extend-compute.xml").write_text("<kickstart>\n<main><frobnicate/></main>\n</kickstart>\n")
    broken = cluster("create", "distro")
    assert broken.code == 1 and "extend-compute.xml:2" in broken.err, broken
    (nodes / "extend-compute.xml").write_text(
        "<kickstart>\n<main><timezone>&nosuch;</timezone></main>\n</kickstart>\n")
    failed = cluster("create", "distro")
    assert failed.code == 1
    assert "2 of 4 kickstarts failed" in failed.err
    assert "compute-0-0:" in failed.err and "compute-0-1:" in failed.err and "nosuch" in failed.err
    assert marker.read_text() == before


def test_dist_lock_refuses_a_second_run(settings):
    with dist_lock(settings.dist_dir):
        with pytest.raises(DistError, match="another rocks-dist is running"):
            with dist_lock(settings.dist_dir):
                pass
    with dist_lock(settings.dist_dir):  # released, also when a holder dies (flock)
        pass


def test_rocks_dist_entry_point(cluster, settings, monkeypatch, capsys):
    from ksserver.cli import rocks_dist

    monkeypatch.setenv("KSSERVER_ROOT", str(settings.root))
    monkeypatch.setenv("KSSERVER_DATABASE_URL", settings.database_url)
    monkeypatch.setattr("sys.argv", ["rocks-dist", "dist"])
    with pytest.raises(SystemExit) as done:
        rocks_dist.main()
    assert done.value.code == 0
    assert "validated 4 kickstarts" in capsys.readouterr().out
    assert dataclasses.is_dataclass(settings)


def test_publish_is_one_atomic_step_and_a_killed_run_leaves_the_old_tree(cluster, settings, monkeypatch):
    """Issue #9 item 7: a crash at the swap leaves the old tree in place; the next run cleans up."""
    import os

    assert cluster("create", "distro").code == 0
    dist_root = settings.dist_dir / "rocks-dist"
    tree = dist_root / "x86_64"
    assert tree.is_symlink()
    before = (tree / "build" / "MANIFEST").read_text()
    nodes = settings.site_profile_dir / "nodes"
    nodes.mkdir(parents=True)
    (nodes / "extend-compute.xml").write_text("<kickstart>\n  <post>echo new</post>\n</kickstart>\n")

    def crash(src, dst):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt("killed between writing the new tree and publishing it")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        cluster("create", "distro")
    monkeypatch.undo()
    assert (tree / "build" / "MANIFEST").read_text() == before  # never a moment without x86_64
    preview = cluster("list", "host", "profile", "compute-0-0")
    assert "echo new" not in preview.out  # the database still names the old generation
    # What a kill -9 at any step leaves behind: a staging tree, a half-made link, a staging generation.
    (dist_root / ".trees" / ".staging-dead").mkdir()
    (dist_root / ".x86_64.link-999").symlink_to(".trees/nowhere")
    (dist_root / ".generations" / ".staging-dead").mkdir()
    assert cluster("create", "distro").code == 0
    assert "echo new" in cluster("list", "host", "profile", "compute-0-0").out
    assert [p.name for p in dist_root.iterdir() if p.name.startswith(".x86_64")] == []
    assert [p.name for p in (dist_root / ".trees").iterdir()] == [os.readlink(tree).split("/")[-1]]
    assert not any(p.name.startswith(".staging-") for p in (dist_root / ".generations").iterdir())


def test_failed_dist_publishes_nothing_and_keeps_no_copy(cluster, settings):
    assert cluster("create", "distro").code == 0
    gens = settings.dist_dir / "rocks-dist" / ".generations"
    before = sorted(p.name for p in gens.iterdir())
    nodes = settings.site_profile_dir / "nodes"
    nodes.mkdir(parents=True)
    (nodes / "extend-compute.xml").write_text(
        "<kickstart>\n<main><timezone>&nosuch;</timezone></main>\n</kickstart>\n")
    assert cluster("create", "distro").code == 1
    assert sorted(p.name for p in gens.iterdir()) == before


def test_legacy_tree_directory_is_replaced_by_the_link(cluster, settings):
    legacy = settings.dist_dir / "rocks-dist" / "x86_64"
    (legacy / "build").mkdir(parents=True)
    assert cluster("create", "distro").code == 0
    assert legacy.is_symlink() and (legacy / "build" / "nodes" / "base.xml").is_file()


def test_dist_names_the_one_host_whose_own_attribute_breaks_it_in_a_big_group(cluster, settings, tmp_path):
    """Hosts of one appliance share the template's validation (graph.batch); a host's own value that
    changes its kickstart's words is still validated on its own, and an attribute only some hosts
    have is still reported per host."""
    rows = "name,mac\n" + "".join(f"compute-1-{i},52:54:00:01:00:{i:02x}\n" for i in range(60))
    (tmp_path / "hosts.csv").write_text(rows)
    assert cluster("add", "host", f"file={tmp_path / 'hosts.csv'}").code == 0
    nodes = settings.site_profile_dir / "nodes"
    nodes.mkdir(parents=True)
    (nodes / "extend-compute.xml").write_text("<kickstart>\n<main><timezone>&site_tz;</timezone></main>\n</kickstart>\n")
    cluster("set", "attr", "site_tz", "Asia/Tokyo")
    cluster("set", "host", "attr", "compute-1-12", "site_tz", "Europe/Paris")  # differs, still one word
    cluster("set", "host", "attr", "compute-1-37", "site_tz", "Asia/Tokyo extra")
    failed = cluster("create", "distro")
    assert failed.code == 1
    assert "1 of 64 kickstarts failed" in failed.err, failed
    assert "compute-1-37: " in failed.err and "timezone" in failed.err
    cluster("remove", "host", "attr", "compute-1-37", "site_tz")
    assert cluster("create", "distro").code == 0
    cluster("remove", "attr", "site_tz")  # now only compute-1-12 has it
    lacking = cluster("create", "distro")
    assert lacking.code == 1 and "61 of 64 kickstarts failed" in lacking.err, lacking
    assert "compute-1-12: " not in lacking.err and "compute-1-13: " in lacking.err
    assert "undefined entity &site_tz;" in lacking.err and "compute-1-59" in lacking.err
