"""Issue 10's 'done means': `rocks add roll` of the Rocks 6.2 corpus (and core-7.0 + base-7.0), then
`rocks-dist dist` succeeds and the server serves each appliance's kickstart (RHEL6 / RHEL7 syntax)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from ksserver.config import load_settings
from ksserver.web import create_app
from tests.ksvalidate import assert_valid_kickstart

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "rocks-corpus"
RELEASES = {"6.2": [("base", "base-6.2", "replace")],
            "7.0": [("core", "core-7.0", "replace"), ("base", "base-7.0", "add")]}
# What a Rocks frontend of that release supplied as global attributes (rocks-reference.md §1.3).
SITE_ATTRS = {"Kickstart_Langsupport": "en_US", "Kickstart_Multicast": "226.0.0.1",
              "Kickstart_PrivateKickstartCGI": "sbin/kickstart.cgi", "Kickstart_Mouse": "genericps/2",
              "Info_CertificateCountry": "US", "Info_CertificateState": "California",
              "Info_CertificateLocality": "San Diego", "Info_CertificateOrganization": "SDSC",
              "Info_ClusterContact": "admin@example.org", "Info_ClusterURL": "http://example.org/",
              "Info_ClusterLatlong": "N32.87 W117.22", "HttpRoot": "/var/www/html", "HttpConf": "/etc/httpd/conf",
              "HttpConfigDirExt": "/etc/httpd/conf.d", "Server_Partitioning": "force-default",
              "disableServices": "", "RepositoryLocal": "true", "Kickstart_PublicMTU": "1500",
              "Kickstart_PrivateMTU": "1500", "release": "Rocks"}
HOSTS = {"frontend": ("frontend", "membership=Frontend", "ip=10.1.1.1", "mac=52:54:00:00:00:01"),
         "compute": ("compute-0-0", "mac=52:54:00:00:01:00"),
         "nas": ("nas-0-0", "mac=52:54:00:00:03:00"),
         "login": ("login-0-0", "mac=52:54:00:00:04:00"),
         "devel-server": ("devel-server-0-0", "mac=52:54:00:00:05:00")}


@pytest.fixture
def settings(tmp_path, db_url):
    # Rocks' evals call /opt/rocks programs that do not exist here: they stay off (the default).
    return load_settings(environ={}, root=tmp_path / "state", database_url=db_url, evals=False)


@pytest.fixture(params=sorted(RELEASES))
def release_cluster(request, rocks):
    release = request.param
    assert rocks("init").code == 0
    assert rocks("add", "appliance", "login", "node=login").code == 0
    assert rocks("add", "appliance", "devel-server", "node=devel-appliance").code == 0
    for attr, value in {**SITE_ATTRS, "ks_version": f"RHEL{release[0]}", "rocks_version": release,
                        "rocks_version_major": release[0], "os_version_major": release[0],
                        "version": release}.items():
        assert rocks("set", "attr", attr, value).code == 0, attr
    for args in HOSTS.values():
        assert rocks("add", "host", *args).code == 0, args
    for name, folder, mode in RELEASES[release]:
        result = rocks("add", "roll", name, f"path={(CORPUS / folder).resolve()}", f"graphs={mode}",
                       f"version={release}")
        assert result.code == 0, result
    return release, rocks


def test_rocks_dist_publishes_the_rolls_and_the_server_serves_them(release_cluster, settings):
    release, rocks = release_cluster
    built = rocks("create", "distro")
    assert built.code == 0, built
    assert f"validated {len(HOSTS)} kickstarts" in built.out
    if release == "7.0":  # base-7.0 orders database-server, which no 7.0 roll has: warned once, with file:line
        assert built.err.count("database-server") >= 1 and "base-7.0/graphs/default/base.xml:" in built.err
    app = create_app(dataclasses.replace(settings, reload_interval=0.0))
    client = app.test_client()
    try:
        ips = {h["host"]: h["ip"] for h in __import__("json").loads(
            rocks("list", "host", "interface", "output-format=json").out)}
        for appliance, (name, *_rest) in HOSTS.items():
            response = client.get("/install/sbin/kickstart.cgi", environ_base={"REMOTE_ADDR": ips[name]})
            text = response.get_data(as_text=True)
            assert response.status_code == 200, (appliance, text)
            assert_valid_kickstart(text, f"RHEL{release[0]}")
            assert "roll base" in text  # the node files came from the roll
            assert "rocks remove host route" not in text  # reconfigure-phase sections never reach installs
    finally:
        app.extensions["ksserver"].db.dispose()


def test_disabling_a_replacing_roll_goes_back_to_the_stock_graph(release_cluster):
    release, rocks = release_cluster
    for name, _folder, _mode in RELEASES[release]:
        assert rocks("disable", "roll", name).code == 0
    # devel-server and login have no stock root node: without the rolls their kickstarts cannot be made.
    assert rocks("remove", "host", "login-0-0", "devel-server-0-0").code == 0
    assert rocks("remove", "attr", "ks_version").code == 0  # the stock graph is EL9
    built = rocks("create", "distro")
    assert built.code == 0, built
    assert "roll base" not in rocks("list", "host", "profile", "compute-0-0").out
