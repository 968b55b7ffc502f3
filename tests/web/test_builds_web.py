"""Builds through /api/v1 and the console's Site profiles page: roles, CSRF, audit, failures with file,
line and column, and site-profile content that tries to inject markup."""

from __future__ import annotations

import re

import pytest

from ksserver.services import builds
from tests.web.apiclient import Api, OpenApiChecker
from tests.web.consoleclient import csrf as _csrf
from tests.web.consoleclient import login as _login

XSS = "<script>alert(1)</script>"


@pytest.fixture
def api(web_app, tokens) -> Api:
    client = web_app.test_client()
    return Api(client, OpenApiChecker(client.get("/api/v1/openapi.json").get_json()))


def _broken_profile(settings) -> str:  # type: ignore[no-untyped-def]
    nodes = settings.site_profile_dir / "nodes"
    nodes.mkdir(parents=True, exist_ok=True)
    path = nodes / "extend-compute.xml"
    path.write_text(f"<kickstart>\n<main><{'frobnicate'}/></main>\n<post>{XSS.replace('<', '&lt;')}</post>\n"
                    "</kickstart>\n")
    return str(path)


def test_api_build_runs_as_a_job_and_is_audited(api, tokens, web_cluster):
    started = api("POST", "/builds", token=tokens.admin, json={})
    assert started.status_code == 202, started.get_json()
    body = started.get_json()
    assert started.headers["Location"] == f"/api/v1/builds/{body['id']}" and body["requested_by"] == "alice"
    builds.wait_build(web_cluster, body["id"])
    done = api("GET", f"/builds/{body['id']}", token=tokens.reader).get_json()
    assert done["state"] == "succeeded" and done["finished"] and len(done["generation"]) == 64
    assert [b["id"] for b in api("GET", "/builds", token=tokens.reader).get_json()["items"]] == [body["id"]]
    assert api("GET", "/site/changes", token=tokens.reader).get_json() == {"items": []}
    audit = api("GET", "/audit", token=tokens.admin).get_json()["items"]
    assert any(a["action"] == "start build" and a["actor"] == "alice" for a in audit)


def test_api_build_errors(api, tokens, web_cluster, settings):
    assert api("POST", "/builds", token=tokens.reader, json={}).status_code == 403
    assert api("POST", "/builds", json={}).status_code == 401
    assert api("GET", "/builds", token=tokens.reader).get_json() == {"items": []}  # refusals queue nothing
    bad = api("POST", "/builds", token=tokens.admin, json={"arch": 5})
    assert bad.status_code == 400 and bad.get_json()["field"] == "arch"
    assert api("POST", "/builds", token=tokens.admin, json={"arch": "../etc"}).status_code == 400
    assert api("GET", "/builds?limit=0", token=tokens.admin).get_json()["field"] == "limit"
    assert api("GET", "/builds/999", token=tokens.admin).status_code == 404
    path = _broken_profile(settings)
    changes = api("GET", "/site/changes", token=tokens.reader).get_json()["items"]
    assert changes == [{"label": "site", "relpath": "nodes/extend-compute.xml", "change": "added",
                        "path": path}]
    build_id = api("POST", "/builds", token=tokens.admin, json={}).get_json()["id"]
    busy = api("POST", "/builds", token=tokens.admin, json={})
    assert busy.status_code in (202, 409)  # 409 while the first still runs; it may already have finished
    builds.wait_build(web_cluster, build_id)
    if busy.status_code == 202:
        builds.wait_build(web_cluster, busy.get_json()["id"])
    failed = api("GET", f"/builds/{build_id}", token=tokens.admin).get_json()
    assert failed["state"] == "failed" and failed["generation"] == ""
    assert {(f["file"], f["line"]) for f in failed["failures"]} == {(path, 2)}


def test_console_build_button_needs_admin_and_csrf(admin, reader, web_cluster, settings):
    page = reader.get("/console/site").get_data(as_text=True)
    assert 'id="build"' not in page                                           # no button for read-only
    assert reader.post("/console/builds", data={"csrf_token": _csrf(reader)}).status_code == 403
    assert admin.post("/console/builds").status_code == 403                  # no CSRF token
    assert admin.post("/console/builds", data={"csrf_token": "forged"}).status_code == 403
    assert builds.list_builds(web_cluster) == []
    assert 'id="build"' in admin.get("/console/site").get_data(as_text=True)
    started = admin.post("/console/builds", data={"csrf_token": _csrf(admin, "/console/site")})
    assert started.status_code == 303
    build_id = int(re.search(r"/console/builds/(\d+)$", started.headers["Location"])[1])
    assert builds.wait_build(web_cluster, build_id).state == "succeeded"
    done = admin.get(f"/console/builds/{build_id}")
    html = done.get_data(as_text=True)
    assert 'id="state" class="state-succeeded"' in html and "http-equiv" not in html  # finished: no refresh
    assert "script-src" not in done.headers["Content-Security-Policy"]


def test_console_shows_failures_with_file_line_column_escaped(admin, reader, web_cluster, settings):
    nodes = settings.site_profile_dir / "nodes"
    nodes.mkdir(parents=True, exist_ok=True)
    evil = nodes / f"x{XSS.replace('/', '')}.xml"                            # a file name that is markup
    evil.write_text(f"<kickstart>\n<main>\n<{XSS}\n</kickstart>\n")          # not even XML
    site = reader.get("/console/site").get_data(as_text=True)
    assert "<script>" not in site and "&lt;script&gt;" in site and "added" in site
    diff = reader.get("/console/site/diff", query_string={"label": "site", "path": f"nodes/{evil.name}"})
    assert diff.status_code == 200
    text = diff.get_data(as_text=True)
    assert "<script>" not in text and "+&lt;kickstart&gt;" in text
    build_id = int(admin.post("/console/builds", data={"csrf_token": _csrf(admin, "/console/site")})
                   .headers["Location"].rsplit("/", 1)[1])
    row = builds.wait_build(web_cluster, build_id)
    assert row.state == "failed" and row.failures[0].file == str(evil), row
    html = reader.get(f"/console/builds/{build_id}").get_data(as_text=True)
    assert "<script>" not in html and 'class="state-failed"' in html
    assert f'<td class="line">{row.failures[0].line}</td>' in html and row.failures[0].line == 3
    assert f'<td class="column">{row.failures[0].column}</td>' in html


def test_a_running_build_page_refreshes_itself(admin, web_cluster):
    from ksserver.db.models import Build

    with web_cluster.db.session(write=True) as session:
        session.add(Build(state="running", worker="elsewhere.invalid:1", progress="validating", percent=10))
    html = admin.get("/console/builds/1").get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="2">' in html and 'value="10"' in html
