"""Real HTTP on loopback: `ksserver serve` (gunicorn) answers curl with dracut's flags and headers."""

from __future__ import annotations

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


LOOPNET_HOST = "127.0.5.10"  # stands in for a node's address on a provisioning network


@pytest.fixture
def server(cluster, settings):
    # A provisioning network made of loopback addresses, so real HTTP from a node's own address works here.
    assert cluster("add", "network", "loopnet", "subnet=127.0.5.0", "netmask=255.255.255.0",
                   "provisioning=yes").code == 0
    assert cluster("add", "host", "interface", "compute-0-0", "eth1", "subnet=loopnet", f"ip={LOOPNET_HOST}",
                   "mac=52:54:00:00:05:10").code == 0
    port = _free_port()
    env = dict(os.environ, KSSERVER_ROOT=str(settings.root), KSSERVER_DATABASE_URL=settings.database_url)
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
    yield f"http://127.0.0.1:{port}"
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=20)


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
