"""GET /install/sbin/kickstart.cgi: identification rules, spoofing attempts, recording, errors."""

from __future__ import annotations

import dataclasses
import time

import pytest

from ksserver.db.models import InstallToken
from ksserver.db.session import Database
from ksserver.inventory import hosts
from ksserver.inventory.requester import hash_token
from ksserver.web import create_app
from tests.ksvalidate import assert_valid_kickstart

KS = "/install/sbin/kickstart.cgi"
C00_IP, C01_IP = "10.1.255.254", "10.1.255.253"
C00_MAC, C01_MAC = "52:54:00:00:01:00", "52:54:00:00:01:01"


@pytest.fixture
def app(cluster, settings):
    settings = dataclasses.replace(settings, reload_interval=0.0, trusted_proxies=("10.1.1.1",))
    application = create_app(settings)
    yield application
    application.extensions["ksserver"].db.dispose()


@pytest.fixture
def get(app):
    client = app.test_client()

    def fetch(remote: str, path: str = KS, headers: dict | None = None, **params: str):  # type: ignore[no-untyped-def]
        return client.get(path, query_string=params, headers=headers or {}, environ_base={"REMOTE_ADDR": remote})
    return fetch


def _mac(mac: str, n: int = 0, dev: str = "eth0") -> dict[str, str]:
    return {f"X-RHN-Provisioning-MAC-{n}": f"{dev} {mac}"}


def _hostname(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.get_data(as_text=True)
    text = response.get_data(as_text=True)
    assert_valid_kickstart(text)
    for line in text.splitlines():
        if line.startswith("network ") and "--hostname=" in line:
            return line.split("--hostname=")[1].split()[0].split(".")[0]
    raise AssertionError("no network --hostname line in:\n" + text)


def test_known_ip_gets_its_own_kickstart(get):
    response = get(C00_IP)
    assert response.mimetype == "text/plain"
    assert _hostname(response) == "compute-0-0"
    assert _hostname(get(C01_IP, "/install/sbin/public/kickstart.cgi")) == "compute-0-1"
    assert "rootpw --iscrypted $6$" in get(C00_IP).get_data(as_text=True)


def test_unknown_host_is_refused_with_a_reason(get, caplog):
    with caplog.at_level("WARNING", logger="ksserver.web"):
        response = get("10.1.0.99")
    assert "from 10.1.0.99: 403 unknown host: 10.1.0.99" in caplog.text
    assert response.status_code == 403
    body = response.get_data(as_text=True)
    assert body.startswith("unknown host: 10.1.0.99") and body.count("\n") == 1
    assert "rootpw" not in body


def test_mac_header_alone_needs_discovery_mode(get, cluster):
    # Off by default: a MAC is not a secret, so quoting one from a free address gets nothing.
    assert get("10.1.0.50", headers=_mac(C01_MAC)).status_code == 403
    assert get("127.0.0.1", headers=_mac(C00_MAC)).status_code == 403  # loopback has no special rights
    assert cluster("set", "network", "private", "discovery=yes").code == 0
    assert "yes" in cluster("list", "network", "private").out.split("\n")[1].split()[-1]
    assert _hostname(get("10.1.0.50", headers=_mac(C01_MAC.upper().replace(":", "-")))) == "compute-0-1"
    for where in ("192.0.2.5", "127.0.0.50", "192.168.1.77"):  # not a provisioning network in discovery mode
        outside = get(where, headers=_mac(C00_MAC))
        assert outside.status_code == 403 and "discovery mode" in outside.get_data(as_text=True), where
    # Another host's address cannot be used to quote a MAC either.
    assert get("10.1.1.1", headers=_mac(C00_MAC)).status_code == 403


def test_public_network_is_not_a_provisioning_network(app, get, cluster):
    """Issue: from 192.168.1.77 with compute-0-1's MAC the server returned its kickstart."""
    assert cluster("add", "host", "interface", "compute-0-1", "eth1", "subnet=public", "ip=192.168.1.77").code == 0
    assert cluster("set", "network", "public", "discovery=yes").code != 0  # not a provisioning network
    for headers in ({}, _mac(C01_MAC)):
        response = get("192.168.1.77", headers=headers, np="7", arch="aarch64")
        assert response.status_code == 403 and "rootpw" not in response.get_data(as_text=True)
    assert '"cpus": 1' in cluster("list", "host", "compute-0-1", "output-format=json").out.replace(
        '"cpus": 1,', '"cpus": 1')
    # ... nor overwrite its partition records
    report = {"disks": {"sda": [{"device": "sda1", "mountpoint": "/", "size": "1GB", "fstype": "ext4"}]}}
    for headers in ({}, _mac(C01_MAC)):
        posted = app.test_client().post("/install/sbin/public/partitions", json=report, headers=headers,
                                        environ_base={"REMOTE_ADDR": "192.168.1.77"})
        assert posted.status_code == 403
    assert cluster("list", "host", "partition", "compute-0-1").out == ""


def test_another_hosts_mac_header_is_refused(get):
    response = get(C01_IP, headers=_mac(C00_MAC))
    assert response.status_code == 403
    assert response.get_data(as_text=True) == (
        f"IP says compute-0-1 but MAC says compute-0-0: refusing {C01_IP}\n")
    both = get("10.1.0.50", headers={**_mac(C00_MAC, 0), **_mac(C01_MAC, 1, "eth1")})
    assert both.status_code == 403 and "belong to different hosts" in both.get_data(as_text=True)


def test_another_hosts_ip_through_forged_forwarded_for(get):
    # From a node (not a trusted proxy) the header is ignored: compute-0-1 stays compute-0-1.
    assert _hostname(get(C01_IP, headers={"X-Forwarded-For": C00_IP})) == "compute-0-1"
    # From an unknown address the forged header does not make it compute-0-0.
    assert get("10.1.0.60", headers={"X-Forwarded-For": C00_IP}).status_code == 403
    # The trusted proxy (10.1.1.1) is believed, and only its rightmost untrusted hop counts.
    assert _hostname(get("10.1.1.1", headers={"X-Forwarded-For": C00_IP})) == "compute-0-0"
    forged = get("10.1.1.1", headers={"X-Forwarded-For": f"{C00_IP}, 10.1.0.61"})
    assert forged.status_code == 403 and "10.1.0.61" in forged.get_data(as_text=True)


def _admin(settings) -> dict[str, str]:  # type: ignore[no-untyped-def]
    token = (settings.root / "admin-token").read_text().strip()
    return {"Authorization": f"Bearer {token}"}


def test_preview_needs_the_admin_token(get, settings):
    for remote in ("127.0.0.1", "127.0.0.50", C00_IP):  # loopback has no special rights
        assert get(remote, client="compute-0-1").status_code == 403, remote
    assert get("127.0.0.1", client="compute-0-1", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert _hostname(get("127.0.0.1", client="compute-0-1", headers=_admin(settings))) == "compute-0-1"
    assert _hostname(get("192.0.2.8", client="compute-0-1", headers=_admin(settings))) == "compute-0-1"
    assert get("127.0.0.1", client="nosuch", headers=_admin(settings)).status_code == 404


def test_admin_token_file_is_private(cluster, settings):
    assert (settings.root / "admin-token").stat().st_mode & 0o777 == 0o600
    assert settings.root.stat().st_mode & 0o777 == 0o700


def test_trusted_proxy_without_client_address_is_refused(get):
    """A same-box proxy that sends no X-Forwarded-For would turn every client into the proxy."""
    response = get("10.1.1.1")
    assert response.status_code == 403 and "X-Forwarded-For" in response.get_data(as_text=True)


def test_arch_and_np_are_validated_and_recorded(get, settings):
    assert get(C00_IP, arch="x86_64", np="16").status_code == 200
    db = Database.from_url(settings.effective_database_url)
    with db.session() as session:
        assert hosts.get_host(session, "compute-0-0").cpus == 16
    db.dispose()
    for params in ({"arch": "x86_64;reboot"}, {"arch": "a" * 40}, {"np": "lots"}, {"np": "0"},
                   {"np": "\uff17"}, {"np": "\u0663"}, {"arch": "x86_\u0664"}):
        response = get(C00_IP, **params)
        assert response.status_code == 400, params
        assert response.get_data(as_text=True) in ("bad arch value\n", "bad np value\n")


def test_head_changes_nothing(app, settings):
    response = app.test_client().head(KS, query_string={"np": "7"}, environ_base={"REMOTE_ADDR": C00_IP})
    assert response.status_code == 200
    db = Database.from_url(settings.effective_database_url)
    with db.session() as session:
        assert hosts.get_host(session, "compute-0-0").cpus == 1
    db.dispose()


def test_refusal_log_lines_cannot_be_forged(get, caplog):
    with caplog.at_level("WARNING", logger="ksserver.web"):
        get("10.1.0.99", client="x\nINFO ksserver.web GET /install from 10.1.1.1: 200 OK")
    lines = [r.getMessage() for r in caplog.records]
    assert lines and all("\n" not in line for line in lines)


def test_refusal_behind_proxy_logs_the_client(get, caplog):
    with caplog.at_level("WARNING", logger="ksserver.web"):
        get("10.1.1.1", headers={"X-Forwarded-For": "10.1.0.98"})
    assert "from 10.1.0.98:" in caplog.text and "from 10.1.1.1:" not in caplog.text


def test_ip_moved_between_hosts_is_followed(get, cluster):
    """Issue: after IPs move between hosts the server could not identify the new owner until restarted."""
    assert _hostname(get(C00_IP)) == "compute-0-0"
    assert _hostname(get(C01_IP)) == "compute-0-1"
    assert cluster("set", "host", "interface", "ip", "compute-0-0", "eth0", "10.1.0.200").code == 0
    assert cluster("set", "host", "interface", "ip", "compute-0-1", "eth0", C00_IP).code == 0
    assert _hostname(get(C00_IP)) == "compute-0-1"
    assert _hostname(get("10.1.0.200")) == "compute-0-0"


def test_malformed_mac_header(get):
    response = get(C00_IP, headers={"X-RHN-Provisioning-MAC-0": "eth0"})
    assert response.status_code == 400
    response = get(C00_IP, headers={"X-RHN-Provisioning-MAC-0": "eth0 not-a-mac"})
    assert response.status_code == 400 and "invalid MAC address" in response.get_data(as_text=True)
    # Header values reach <eval> scripts' environment: shell metacharacters are refused outright.
    response = get(C00_IP, headers={"X-RHN-Provisioning-MAC-0": f"eth0 {C00_MAC} $(reboot)"})
    assert response.status_code == 400 and "unexpected characters" in response.get_data(as_text=True)
    assert _hostname(get(C00_IP, headers={"X-RHN-Provisioning-MAC-0": f"eth0 {C00_MAC} virtio_net ks"})) \
        == "compute-0-0"


def test_install_tokens(get, settings):
    db = Database.from_url(settings.effective_database_url)
    with db.session(write=True) as session:
        c00 = hosts.get_host(session, "compute-0-0")
        session.add(InstallToken(host_id=c00.id, token_hash=hash_token("good-token"), expires_at=time.time() + 600))
        session.add(InstallToken(host_id=c00.id, token_hash=hash_token("old-token"), expires_at=time.time() - 1))
        session.add(InstallToken(host_id=c00.id, token_hash=hash_token("revoked"), revoked=True))
    db.dispose()
    assert _hostname(get("10.1.0.77", token="good-token")) == "compute-0-0"
    spoof = get(C01_IP, token="good-token")
    assert spoof.status_code == 403 and "token says compute-0-0 but IP says compute-0-1" in spoof.get_data(as_text=True)
    for token in ("nope", "old-token", "revoked"):
        response = get(C00_IP, token=token)
        assert response.status_code == 403, token
        assert "install token is unknown, expired or revoked" in response.get_data(as_text=True)


def test_not_kickstartable_host(cluster, get):
    cluster("add", "host", "network-0-0", "ip=10.1.0.200")
    response = get("10.1.0.200")
    assert response.status_code == 400 and "not kickstartable" in response.get_data(as_text=True)


def test_attribute_change_reaches_next_kickstart(cluster, get):
    cluster("set", "appliance", "attr", "compute", "Kickstart_Timezone", "Asia/Tokyo")
    assert "timezone Asia/Tokyo" in get(C00_IP).get_data(as_text=True)
    cluster("set", "host", "attr", "compute-0-0", "Kickstart_Timezone", "Europe/Paris")
    assert "timezone Europe/Paris" in get(C00_IP).get_data(as_text=True)
    assert "timezone Asia/Tokyo" in get(C01_IP).get_data(as_text=True)


def test_site_edit_is_served_only_after_rocks_dist_publishes_it(cluster, get, settings, caplog):
    """Issue #9 item 6: the live reload no longer defeats the rocks-dist gate."""
    good = get(C00_IP).get_data(as_text=True)
    nodes = settings.site_profile_dir / "nodes"
    nodes.mkdir(parents=True)
    (nodes / "extend-compute.xml").write_text("<kickstart>\n  <post>echo hi\n</kickstart>\n")
    response = get(C00_IP)
    assert response.status_code == 200 and response.get_data(as_text=True) == good
    assert cluster("create", "distro").code == 1
    (nodes / "extend-compute.xml").write_text(
        "<kickstart>\n<main><timezone>&nosuch;</timezone></main>\n</kickstart>\n")
    refused = cluster("create", "distro")
    assert refused.code == 1 and "nosuch" in refused.err
    assert get(C00_IP).get_data(as_text=True) == good  # a typo'd entity never reaches an installer
    (nodes / "extend-compute.xml").write_text("<kickstart>\n  <post>echo site-was-here</post>\n</kickstart>\n")
    caplog.clear()
    with caplog.at_level("WARNING", logger="ksserver.kickstarts"):
        assert get(C00_IP).get_data(as_text=True) == good  # valid, but not published yet
    assert "site profiles changed since the published generation" in caplog.text
    preview = cluster("list", "host", "profile", "compute-0-0")
    assert preview.code == 0 and "site-was-here" not in preview.out
    assert "site profiles changed since the published generation" in preview.err
    assert cluster("create", "distro").code == 0
    assert "echo site-was-here" in get(C00_IP).get_data(as_text=True)
    published = cluster("list", "host", "profile", "compute-0-0")
    assert "echo site-was-here" in published.out and published.err == ""


def test_every_worker_switches_generation_together(cluster, settings, app):
    """Two server processes' worth of state on one database: both serve one generation at a time."""
    other = create_app(dataclasses.replace(settings, reload_interval=0.0))
    workers = [app.test_client(), other.test_client()]

    def bodies() -> set[str]:
        return {w.get(KS, environ_base={"REMOTE_ADDR": C00_IP}).get_data(as_text=True) for w in workers}

    assert len(bodies()) == 1
    nodes = settings.site_profile_dir / "nodes"
    nodes.mkdir(parents=True)
    (nodes / "extend-compute.xml").write_text("<kickstart>\n<post>echo generation-two</post>\n</kickstart>\n")
    before = bodies()
    assert len(before) == 1 and "generation-two" not in before.pop()
    assert cluster("create", "distro").code == 0
    after = bodies()
    assert len(after) == 1 and "echo generation-two" in after.pop()
    other.extensions["ksserver"].db.dispose()


def test_broken_site_profile_at_start_is_not_served(cluster, settings, caplog):
    nodes = settings.site_profile_dir / "nodes"
    nodes.mkdir(parents=True)
    (nodes / "extend-compute.xml").write_text("<kickstart>\n  <post>echo hi\n</kickstart>\n")
    application = create_app(dataclasses.replace(settings, reload_interval=0.0))
    with caplog.at_level("WARNING", logger="ksserver.kickstarts"):
        response = application.test_client().get(KS, environ_base={"REMOTE_ADDR": C00_IP})
    assert response.status_code == 200  # the stock files: nothing was published
    assert _hostname(response) == "compute-0-0" and "echo hi" not in response.get_data(as_text=True)
    assert "run 'rocks-dist dist'" in caplog.text
    broken = cluster("create", "distro")
    assert broken.code == 1 and "extend-compute.xml:3" in broken.err
    application.extensions["ksserver"].db.dispose()


def test_eval_attack_through_the_test_client(cluster, settings, get):
    """Issue #9 item 9: a published node file's eval sees no secret and does not run as root."""
    import os
    import pwd

    nodes = settings.site_profile_dir / "nodes"
    nodes.mkdir(parents=True)
    (nodes / "extend-compute.xml").write_text(
        "<kickstart>\n<post>\n<eval>echo \"uid=$(id -u) hash=[$Kickstart_PrivateRootPassword]\"</eval>\n"
        "</post>\n</kickstart>\n")
    assert cluster("create", "distro").code == 0
    text = get(C00_IP).get_data(as_text=True)
    uid = pwd.getpwnam("nobody").pw_uid if os.geteuid() == 0 else os.geteuid()
    assert f"uid={uid} hash=[]" in text
    off = create_app(dataclasses.replace(settings, evals=False))
    body = off.test_client().get(KS, environ_base={"REMOTE_ADDR": C00_IP}).get_data(as_text=True)
    assert "uid=" not in body and "skipped (evals disabled)" in body
    off.extensions["ksserver"].db.dispose()
