"""The cluster overview, and the live host-state JSON the host table's script polls (its CSP allows our
own script and this origin only)."""

from __future__ import annotations

import pytest

from ksserver.errors import InvalidArgument
from ksserver.services import boot, overview


def test_overview_counts_by_appliance_and_boot_action(reader, web_cluster):
    boot.set_boot(web_cluster, ["compute-0-1"], "install")
    found = overview.cluster_overview(web_cluster)
    by = {a.appliance: (a.total, a.install, a.os) for a in found.by_appliance}
    assert by["compute"] == (2, 1, 1) and by["frontend"] == (1, 0, 1)
    assert found.hosts == sum(t for t, _, _ in by.values()) and found.install == 1 and found.containers == []
    html = reader.get("/console/overview").get_data(as_text=True)
    assert 'href="/console/hosts?appliance=compute&amp;boot=install">1</a>' in html


def test_live_json_and_the_host_table_script(reader, web_cluster):
    page = reader.get("/console/hosts")
    html = page.get_data(as_text=True)
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp and "unsafe" not in csp
    assert '<script type="module" src="/console/static/live.js">' in html
    assert 'data-host="compute-0-0"' in html and 'data-live="/console/hosts/live.json"' in html
    boot.set_boot(web_cluster, ["compute-0-0"], "install")
    live = reader.get("/console/hosts/live.json?host=compute-0-0&host=compute-0-1&host=nobody").get_json()
    assert live == {"hosts": [{"name": "compute-0-0", "boot": "install", "stage": "issued"},
                              {"name": "compute-0-1", "boot": "os", "stage": None}]}
    assert web_cluster and reader.get("/console/hosts/live.json?" + "&".join(["host=x"] * 501)).status_code == 400
    anonymous = reader.application.test_client().get("/console/hosts/live.json?host=compute-0-0")
    assert anonymous.status_code == 302
    with pytest.raises(InvalidArgument):
        overview.live_states(web_cluster, ["x"] * 501)
