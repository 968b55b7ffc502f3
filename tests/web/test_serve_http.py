"""Real HTTP on loopback: `ksserver serve` answers curl with dracut's flags and headers."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess

import pytest

from tests.ksvalidate import assert_valid_kickstart
from tests.netboot.ksserve import ksserver

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'cluster.db'}"


LOOPNET_HOST = "127.0.5.10"  # stands in for a node's address on a provisioning network


@contextlib.contextmanager
def running_server(settings, **env_extra: str):  # type: ignore[no-untyped-def]
    with ksserver(settings, env=env_extra) as port:
        yield f"http://127.0.0.1:{port}"


def add_loopnet(cluster) -> None:  # type: ignore[no-untyped-def]
    """A provisioning network made of loopback addresses, so real HTTP from a node's own address works here."""
    assert cluster("add", "network", "loopnet", "subnet=127.0.5.0", "netmask=255.255.255.0",
                   "provisioning=yes").code == 0
    assert cluster("add", "host", "interface", "compute-0-0", "eth1", "subnet=loopnet", f"ip={LOOPNET_HOST}",
                   "mac=52:54:00:00:05:10").code == 0


@pytest.fixture
def server(cluster, settings):
    add_loopnet(cluster)
    with running_server(settings) as url:
        yield url


def _curl(*args: str) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    return subprocess.run(["curl", "-s", *args], capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_curl_as_anaconda_fetches_a_kickstart(server):
    url = f"{server}/install/sbin/kickstart.cgi?arch=x86_64&np=2"
    argv = ["curl", "--interface", LOOPNET_HOST, "--globoff", "--location", "--retry", "3",
            "--retry-connrefused", "--fail", "-sS",
            "-H", "X-Anaconda-Architecture: x86_64", "-H", "X-Anaconda-System-Release: Rocky Linux",
            "-H", "X-RHN-Provisioning-MAC-0: eth0 52:54:00:00:01:00", url]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert_valid_kickstart(done.stdout)
    assert "compute-0-0" in done.stdout
    refused = _curl("--interface", LOOPNET_HOST, "-o", "/dev/null", "-w", "%{http_code}", "-H",
                    "X-RHN-Provisioning-MAC-0: eth0 52:54:00:00:01:01", url)  # another host's MAC
    assert refused.stdout == "403"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_loopback_and_mac_only_get_nothing(server):
    """Issue: any 127.0.0.0/8 address was 'the server itself' (previews, MAC-only identification)."""
    ks = f"{server}/install/sbin/kickstart.cgi"
    for source, extra in (("127.0.0.1", ["-H", "X-RHN-Provisioning-MAC-0: eth0 52:54:00:00:01:01"]),
                          ("127.0.0.50", ["-H", "X-RHN-Provisioning-MAC-0: eth0 52:54:00:00:01:01"]),
                          ("127.0.0.1", []), ("127.0.5.99", ["-H", "X-RHN-Provisioning-MAC-0: eth0 52:54:00:00:01:01"])):
        for url in (ks, f"{ks}?client=compute-0-1"):
            done = _curl("--interface", source, "-o", "/dev/null", "-w", "%{http_code}", *extra, url)
            assert done.stdout == "403", (source, url)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_chunked_body_is_bounded_and_read_only_after_identification(server, tmp_path):
    """Issue: Transfer-Encoding: chunked bypassed the 256 KB limit (300 MB accepted)."""
    big = tmp_path / "big.json"
    big.write_bytes(b'{"disks": {"sda": [' + b'{"device": "sda1"},' * 40000 + b'{"device": "sda2"}]}}')
    url = f"{server}/install/sbin/public/partitions"
    common = ["-o", "/dev/null", "-w", "%{http_code}", "-H", "Transfer-Encoding: chunked",
              "-H", "Content-Type: application/json", "--data-binary", f"@{big}", url]
    assert _curl("--interface", LOOPNET_HOST, *common).stdout == "413"
    assert _curl("--interface", "127.0.0.1", *common).stdout == "403"  # a stranger: refused before reading
    deep = tmp_path / "deep.json"
    deep.write_bytes(b"[" * 100000 + b"]" * 100000)
    assert _curl("--interface", LOOPNET_HOST, "-o", "/dev/null", "-w", "%{http_code}", "-H",
                 "Transfer-Encoding: chunked", "--data-binary", f"@{deep}", url).stdout in ("400", "413")
    nested = tmp_path / "nested.json"
    nested.write_bytes(b'{"disks": ' + b"[" * 50000 + b"]" * 50000 + b"}")
    assert _curl("--interface", LOOPNET_HOST, "-o", "/dev/null", "-w", "%{http_code}",
                 "--data-binary", f"@{nested}", url).stdout == "400"


def test_symlinks_out_of_install_are_refused_over_http(server, settings):
    """The same attacks as tests/web/test_install_files.py, against the real server on loopback."""
    import http.client
    from urllib.parse import urlsplit

    from tests.web.test_install_files import ESCAPES, plant_links

    plant_links(settings)
    address = urlsplit(server)
    for path in ESCAPES + ["/install/alias.txt"]:
        conn = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
        conn.request("GET", path)  # sent as written: no client-side '..' clean-up
        response = conn.getresponse()
        body = response.read()
        conn.close()
        expected = 200 if path.endswith("alias.txt") else 404
        assert response.status == expected, path
        assert b"root:" not in body


EVAL_NODE = """<kickstart>
<post>
<eval>echo "eval-uid=$(id -u) hash=[$Kickstart_PrivateRootPassword] host=$hostname"</eval>
</post>
</kickstart>
"""


def _fetch_ks(url: str, mac: str = "52:54:00:00:01:00") -> str:
    """compute-0-0's kickstart, fetched from its own address on the loopback provisioning network."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30, source_address=(LOOPNET_HOST, 0))
    try:
        conn.request("GET", "/install/sbin/kickstart.cgi", headers={"X-RHN-Provisioning-MAC-0": f"eth0 {mac}"})
        response = conn.getresponse()
        body = response.read().decode()
        assert response.status == 200, body
        return body
    finally:
        conn.close()


def test_eval_attack_over_http(cluster, settings):
    """Issue #9 item 9 against the real server: off unless enabled; when enabled, unprivileged and
    without the root password hash."""
    import pwd

    add_loopnet(cluster)
    nodes = settings.site_profile_dir / "nodes"
    nodes.mkdir(parents=True)
    (nodes / "extend-compute.xml").write_text(EVAL_NODE)
    assert cluster("create", "distro").code == 0
    with running_server(settings) as url:  # default settings: evals off
        text = _fetch_ks(url)
        assert "eval-uid" not in text and "skipped (evals disabled)" in text
    with running_server(settings, KSSERVER_EVALS="yes") as url:
        text = _fetch_ks(url)
        assert "hash=[] host=compute-0-0" in text and "rootpw --iscrypted $6$" in text
        uid = pwd.getpwnam("nobody").pw_uid if os.geteuid() == 0 else os.geteuid()
        assert f"eval-uid={uid} " in text


def test_real_server_serves_only_the_published_generation(cluster, settings):
    """Issue #9 item 6 over HTTP, two gunicorn workers: a broken or unpublished site file is never
    served (with the old live reload, reload_interval=0 served it, or a 500, at once)."""
    add_loopnet(cluster)
    with running_server(settings, KSSERVER_RELOAD_INTERVAL="0") as url:
        good = _fetch_ks(url)
        nodes = settings.site_profile_dir / "nodes"
        nodes.mkdir(parents=True)
        (nodes / "extend-compute.xml").write_text("<kickstart>\n  <post>echo hi\n</kickstart>\n")
        assert {_fetch_ks(url) for _ in range(6)} == {good}
        (nodes / "extend-compute.xml").write_text("<kickstart>\n<post>echo published-now</post>\n</kickstart>\n")
        assert {_fetch_ks(url) for _ in range(6)} == {good}
        assert cluster("create", "distro").code == 0
        after = {_fetch_ks(url) for _ in range(6)}
        assert len(after) == 1 and "echo published-now" in after.pop()
