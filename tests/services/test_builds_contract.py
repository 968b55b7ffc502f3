"""Build jobs (``rocks-dist dist`` from the API/console) and the site-profile changes they publish,
on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import socket

import pytest

from ksserver.db.models import Build
from ksserver.errors import BuildBusy, NotFound
from ksserver.services import builds, sitefiles


def _node(settings, name: str, text: str):  # type: ignore[no-untyped-def]
    nodes = settings.site_profile_dir / "nodes"
    nodes.mkdir(parents=True, exist_ok=True)
    (nodes / name).write_text(text)
    return nodes / name


def test_a_build_publishes_a_generation_and_reports_it(svc):
    started = builds.start_build(svc, "alice")
    assert started.state in ("queued", "running", "succeeded") and started.requested_by == "alice"
    done = builds.wait_build(svc, started.id)
    assert done.state == "succeeded", done
    assert len(done.generation) == 64 and done.hosts >= 1 and done.percent == 100 and not done.failures
    assert [b.id for b in builds.list_builds(svc)] == [started.id]


def test_a_broken_site_profile_fails_with_file_line_and_column(svc, settings):
    path = _node(settings, "extend-compute.xml", "<kickstart>\n<main><frobnicate/></main>\n</kickstart>\n")
    done = builds.wait_build(svc, builds.start_build(svc, "alice").id)
    assert done.state == "failed" and done.generation == ""
    assert done.failures, done
    first = done.failures[0]
    assert first.file == str(path) and first.line == 2, first        # the live file, not its copy
    assert ".generations" not in done.error
    # XML that does not parse at all: the loader names file, line and column
    _node(settings, "extend-compute.xml", "<kickstart>\n<main>\n  <post>oops</mai>\n</kickstart>\n")
    done = builds.wait_build(svc, builds.start_build(svc, "alice").id)
    assert done.state == "failed" and done.failures[0].file == str(path), done
    assert done.failures[0].line == 3 and done.failures[0].column is not None, done.failures


def test_one_build_at_a_time_and_unknown_builds(svc):
    with svc.db.session(write=True) as session:
        session.add(Build(state="running", worker=f"elsewhere.invalid:{os.getpid()}", requested_by="bob"))
    with pytest.raises(BuildBusy, match="still queued or running"):
        builds.start_build(svc, "alice")
    with pytest.raises(NotFound):
        builds.get_build(svc, 424242)


def test_a_build_whose_server_died_is_marked_failed(svc):
    dead = os.fork()
    if dead == 0:
        os._exit(0)
    os.waitpid(dead, 0)  # a pid that no longer exists
    with svc.db.session(write=True) as session:
        session.add(Build(state="running", worker=f"{socket.gethostname()}:{dead}", requested_by="bob"))
    row = builds.list_builds(svc)[0]
    assert row.state == "failed" and "stopped" in row.error
    assert builds.wait_build(svc, builds.start_build(svc, "alice").id).state == "succeeded"


def test_problem_parsing_keeps_host_file_line_column():
    found = builds.problem("compute-0-0: /s/nodes/x.xml:12:5: unknown tag <frobnicate>")
    assert (found.host, found.file, found.line, found.column) == ("compute-0-0", "/s/nodes/x.xml", 12, 5)
    assert found.message == "/s/nodes/x.xml:12:5: unknown tag <frobnicate>"
    bare = builds.problem("another rocks-dist is running (pid 7)")
    assert bare.file == "" and bare.line is None
    copy = "/r/install/rocks-dist/.generations/" + "a" * 64 + "/1-site/nodes/x.xml:3:1: bad"
    gens = "/r/install/rocks-dist/.generations"
    assert builds.live_paths(copy, ["/stock", "/site"], gens) == "/site/nodes/x.xml:3:1: bad"


def test_site_files_changed_since_the_published_generation(svc, settings):
    _node(settings, "extend-compute.xml", "<kickstart><main/></kickstart>\n")
    before = sitefiles.changed_files(svc)
    assert [(c.label, c.relpath, c.change) for c in before] == [("site", "nodes/extend-compute.xml", "added")]
    assert builds.wait_build(svc, builds.start_build(svc, "alice").id).state == "succeeded"
    assert sitefiles.changed_files(svc) == []
    _node(settings, "extend-compute.xml", "<kickstart><main><!-- edited --></main></kickstart>\n")
    _node(settings, "replace-auto-partition.xml", "<kickstart><main/></kickstart>\n")
    after = {(c.relpath, c.change) for c in sitefiles.changed_files(svc)}
    assert after == {("nodes/extend-compute.xml", "changed"), ("nodes/replace-auto-partition.xml", "added")}
    (settings.site_profile_dir / "nodes" / "extend-compute.xml").unlink()
    gone = {(c.relpath, c.change) for c in sitefiles.changed_files(svc)}
    assert ("nodes/extend-compute.xml", "removed") in gone
    assert json.dumps([c.as_dict() for c in sitefiles.changed_files(svc)])
