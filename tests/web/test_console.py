"""The web console through Flask's test client: login, session fixation, CSRF, XSS, roles, host pages."""

from __future__ import annotations

import re

import pytest

from ksserver.inventory.hosts import HostRequest
from ksserver.services import attrs, hosts, hostviews
from ksserver.web.auth import SESSION_COOKIE
from tests.web.consoleclient import CSRF_RE
from tests.web.consoleclient import csrf as _csrf
from tests.web.consoleclient import login as _login

VERSION_RE = re.compile(r'name="version" value="([^"]+)"')


def _cookie(client) -> str | None:  # type: ignore[no-untyped-def]
    cookie = client.get_cookie(SESSION_COOKIE)
    return cookie.value if cookie else None


def test_pages_need_a_login(web_app, tokens):
    client = web_app.test_client()
    response = client.get("/console/hosts/compute-0-0")
    assert response.status_code == 302 and response.headers["Location"].startswith("/console/login")
    assert client.get("/").headers["Location"] == "/console/"
    wrong = _login(client, "alice", "not-her-password")
    assert wrong.status_code == 401 and "wrong user name or password" in wrong.get_data(as_text=True)
    assert _login(client, "nobody", "whatever-pw").status_code == 401
    assert _cookie(client) is None


def test_login_sets_a_fresh_hardened_session_and_logout_ends_it(web_app, tokens):
    client = web_app.test_client()
    client.set_cookie(SESSION_COOKIE, "planted-by-an-attacker", path="/")  # session fixation attempt
    response = _login(client, "alice", "alice-password", "/console/hosts/compute-0-0")
    assert response.status_code == 303 and response.headers["Location"] == "/console/hosts/compute-0-0"
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(SESSION_COOKIE + "="))
    assert "HttpOnly" in header and "SameSite=Strict" in header
    session_id = _cookie(client)
    assert session_id and session_id != "planted-by-an-attacker"
    attacker = web_app.test_client()
    attacker.set_cookie(SESSION_COOKIE, "planted-by-an-attacker", path="/")
    assert attacker.get("/console/hosts").status_code == 302          # the planted id is worth nothing
    page = client.get("/console/hosts")
    assert page.status_code == 200 and "alice (admin)" in page.get_data(as_text=True)
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert client.post("/console/logout", data={"csrf_token": _csrf(client)}).status_code == 303
    stolen = web_app.test_client()
    stolen.set_cookie(SESSION_COOKIE, session_id, path="/")
    assert stolen.get("/console/hosts").status_code == 302             # logged out means gone server-side


def test_open_redirect_after_login_is_refused(web_app, tokens):
    client = web_app.test_client()
    for target in ("https://evil.example/", "//evil.example/console/", "/console/\\evil"):
        assert _login(client, "alice", "alice-password", target).headers["Location"] == "/console/hosts"


def test_login_form_needs_its_own_token(web_app, tokens):
    client = web_app.test_client()
    response = client.post("/console/login", data={"user": "alice", "password": "alice-password"})
    assert response.status_code == 403 and _cookie(client) is None


def test_writes_need_the_csrf_token(admin, web_cluster):
    for data in ({}, {"csrf_token": "guessed"}):
        response = admin.post("/console/hosts/boot", data={**data, "host": "compute-0-0", "action": "install"})
        assert response.status_code == 403 and "CSRF" in response.get_data(as_text=True)
    assert hostviews.host_detail(web_cluster, "compute-0-0").summary.boot == "os"
    done = admin.post("/console/hosts/boot", data={"csrf_token": _csrf(admin), "host": ["compute-0-0", "compute-0-1"],
                                                   "action": "install", "back": "/console/hosts?q=compute"})
    assert done.status_code == 303 and done.headers["Location"].startswith("/console/hosts?q=compute&done=")
    assert hostviews.host_detail(web_cluster, "compute-0-1").summary.boot == "install"
    # the API, with the session cookie, needs the CSRF token too
    assert admin.post("/api/v1/hosts/boot", json={"hosts": ["frontend"], "action": "install"}).status_code == 403
    assert admin.post("/api/v1/hosts/boot", json={"hosts": ["frontend"], "action": "install"},
                      headers={"X-CSRF-Token": _csrf(admin)}).status_code == 200


def test_read_only_users_see_no_forms_and_cannot_post(reader, web_cluster):
    page = reader.get("/console/hosts").get_data(as_text=True)
    assert "bulk-install" not in page and "rita (readonly)" in page
    host_page = reader.get("/console/hosts/compute-0-0").get_data(as_text=True)
    assert 'id="kickstart"' not in host_page and "attr-set" not in host_page and "$6$" not in host_page
    token = _csrf(reader)
    response = reader.post("/console/hosts/boot", data={"csrf_token": token, "host": "compute-0-0",
                                                        "action": "install"})
    assert response.status_code == 403 and "read-only" in response.get_data(as_text=True)
    assert reader.get("/console/hosts/compute-0-0?secrets=yes").get_data(as_text=True).count("********") >= 1
    assert hostviews.host_detail(web_cluster, "compute-0-0").summary.boot == "os"


def test_host_page_changes_are_guarded_by_the_version_shown(admin, web_cluster):
    page = admin.get("/console/hosts/compute-0-0").get_data(as_text=True)
    assert "--hostname=compute-0-0" in page and "<svg" not in page and "graph.svg" in page
    csrf, version = CSRF_RE.search(page)[1], VERSION_RE.search(page)[1]
    done = admin.post("/console/hosts/compute-0-0", data={"csrf_token": csrf, "version": version, "change": "attr",
                                                          "attr": "site_rack_label", "value": "R12"})
    assert done.status_code == 303
    page = admin.get(done.headers["Location"]).get_data(as_text=True)
    assert "R12" in page and "set site_rack_label" in page
    stale = admin.post("/console/hosts/compute-0-0", data={"csrf_token": csrf, "version": version,
                                                           "change": "boot", "action": "install"})
    assert stale.status_code == 412 and "changed by someone else" in stale.get_data(as_text=True)
    assert hostviews.host_detail(web_cluster, "compute-0-0").summary.boot == "os"


def test_graph_is_an_svg_image(admin):
    response = admin.get("/console/appliances/compute/graph.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert b"<svg" in response.data and "script-src" not in response.headers["Content-Security-Policy"]


XSS = '<script>alert(1)</script>'


def test_everything_shown_is_escaped(admin, web_cluster):
    hosts.add_host(web_cluster, HostRequest(name="compute-0-5"))
    attrs.set_attr(web_cluster, "host", ["compute-0-5"], "note", XSS + '"><img src=x onerror=alert(2)>')
    attrs.set_attr(web_cluster, "global", [], "site_motd", XSS)
    from ksserver.services.hosts import set_hosts_field

    set_hosts_field(web_cluster, ["compute-0-5"], "comment", XSS)
    pages = [admin.get("/console/hosts/compute-0-5").get_data(as_text=True),
             admin.get("/console/hosts?q=" + XSS).get_data(as_text=True),
             admin.get("/console/hosts/" + XSS).get_data(as_text=True),
             admin.get("/console/hosts?done=" + XSS).get_data(as_text=True)]
    for page in pages:
        assert "<script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0]


def test_host_table_pages_and_filters(admin, web_cluster):
    for rank in range(60):
        hosts.add_host(web_cluster, HostRequest(name=f"compute-3-{rank}", rack=3, rank=rank))
    first = admin.get("/console/hosts?rack=3").get_data(as_text=True)
    assert first.count('name="host"') == 50 and "Page 1 of 2 (60 matching)" in first
    second = admin.get("/console/hosts?rack=3&page=2").get_data(as_text=True)
    assert second.count('name="host"') == 10
    assert "compute-3-7<" in admin.get("/console/hosts?q=compute-3-7").get_data(as_text=True)
    assert "No host matches" in admin.get("/console/hosts?appliance=nothing").get_data(as_text=True)


def test_host_page_shows_install_stage_and_partitioning(admin, reader, web_cluster):
    from ksserver.services import boot, partitions

    boot.set_boot(web_cluster, ["compute-0-0"], "install")
    partitions.set_reset(web_cluster, ["compute-0-0"], True)
    page = admin.get("/console/hosts/compute-0-0").get_data(as_text=True)
    assert 'id="install"' in page and "issued" in page and 'id="reset"' in page
    assert 'id="install"' in reader.get("/console/hosts/compute-0-0").get_data(as_text=True)


def test_next_install_plan_page(admin, reader):
    page = admin.get("/console/hosts/compute-0-0")
    assert 'id="plan-link"' in page.get_data(as_text=True)
    plan = admin.get("/console/hosts/compute-0-0/plan")
    assert plan.status_code == 200 and "no partition report" in plan.get_data(as_text=True)
    assert reader.get("/console/hosts/compute-0-0/plan").status_code == 403


def test_host_table_filters_by_install_stage(admin, web_cluster):
    from ksserver.services import boot

    boot.set_boot(web_cluster, ["compute-0-1"], "install")
    page = admin.get("/console/hosts?stage=issued").get_data(as_text=True)
    assert 'data-host="compute-0-1"' in page and 'data-host="compute-0-0"' not in page
