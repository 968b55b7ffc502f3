"""Real HTTP on loopback: `ksserver serve` (gunicorn) answers curl with dracut's flags and headers."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.ksvalidate import assert_valid_kickstart

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'cluster.db'}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(settings, **env_extra: str):  # type: ignore[no-untyped-def]
    port = _free_port()
    env = dict(os.environ, KSSERVER_ROOT=str(settings.root), KSSERVER_DATABASE_URL=settings.database_url,
               **env_extra)
    proc = subprocess.Popen([sys.executable, "-m", "ksserver.cli.serve", "serve", "--bind", f"127.0.0.1:{port}",
                             "--workers", "2", "--threads", "4"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


@pytest.fixture
def server(cluster, settings):
    with running_server(settings) as url:
        yield url


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_curl_as_anaconda_fetches_a_kickstart(server):
    url = f"{server}/install/sbin/kickstart.cgi?arch=x86_64&np=2"
    argv = ["curl", "--globoff", "--location", "--retry", "3", "--retry-connrefused", "--fail", "-sS",
            "-H", "X-Anaconda-Architecture: x86_64", "-H", "X-Anaconda-System-Release: Rocky Linux",
            "-H", "X-RHN-Provisioning-MAC-0: eth0 52:54:00:00:01:00", url]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert_valid_kickstart(done.stdout)
    assert "compute-0-0" in done.stdout
    refused = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                              "X-RHN-Provisioning-MAC-0: eth0 52:54:00:99:99:99", url],
                             capture_output=True, text=True, timeout=60)
    assert refused.stdout == "403"


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
    import urllib.request

    req = urllib.request.Request(f"{url}/install/sbin/kickstart.cgi",
                                 headers={"X-RHN-Provisioning-MAC-0": f"eth0 {mac}"})
    with urllib.request.urlopen(req, timeout=30) as response:
        return response.read().decode()


def test_eval_attack_over_http(cluster, settings):
    """Issue #9 item 9 against the real server: off unless enabled; when enabled, unprivileged and
    without the root password hash."""
    import pwd

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
