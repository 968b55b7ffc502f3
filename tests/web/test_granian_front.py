"""Both fronts of ``ksserver serve`` (the default uvloop one and granian, which share ksserver.web.rsgi's
application) over real HTTP: files keep the Flask view's rules (confinement, dotfiles), honour Range and
ETag, and a download does not hold up kickstarts."""

from __future__ import annotations

import hashlib
import http.client
import threading
from urllib.parse import urlsplit

import pytest

from ksserver.web.install_cache import single_range
from ksserver.web.rsgi import client_host
from tests.web.test_serve_http import LOOPNET_HOST, add_loopnet, running_server

pytestmark = pytest.mark.timeout(120)
SERVERS = pytest.mark.parametrize("server", ["uvloop", "granian"])


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'cluster.db'}"


def _get(url: str, path: str, headers: dict[str, str] | None = None,
         method: str = "GET", source: str | None = None) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60,
                                      source_address=(source, 0) if source else None)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_single_range_parsing():
    assert single_range("bytes=0-9", 100) == (0, 10)
    assert single_range("bytes=90-", 100) == (90, 100)
    assert single_range("bytes=-10", 100) == (90, 100)
    assert single_range("bytes=50-500", 100) == (50, 100)
    assert single_range("bytes=100-", 100) == "unsatisfiable"
    for whole in (None, "", "bytes=0-1,5-6", "items=0-1", "bytes=a-b", "bytes=-", "bytes=9-3"):
        assert single_range(whole, 100) is None, whole


def test_client_host_forms():
    assert client_host("10.1.1.1:5555") == "10.1.1.1"
    assert client_host("[fe80::1]:5555") == "fe80::1"


@SERVERS
def test_files_ranges_and_conditional_requests(cluster, settings, server):
    add_loopnet(cluster)
    package = settings.dist_dir / "rocks-dist" / "x86_64" / "Packages" / "big.rpm"
    package.parent.mkdir(parents=True, exist_ok=True)
    data = hashlib.sha256(b"seed").digest() * 40000  # 1.28 MB
    package.write_bytes(data)
    (settings.dist_dir / ".treeinfo").write_text("[general]\n")
    (settings.dist_dir / ".generations").mkdir(exist_ok=True)
    (settings.dist_dir / ".generations" / "secret.xml").write_text("secret\n")
    path = "/install/rocks-dist/x86_64/Packages/big.rpm"
    with running_server(settings, KSSERVER_SERVER=server) as url:
        status, headers, body = _get(url, path)
        assert status == 200 and body == data and headers["content-length"] == str(len(data))
        status, headers, body = _get(url, path, {"Range": "bytes=1000-1999"})
        assert status == 206 and body == data[1000:2000]
        assert headers["content-range"] == f"bytes 1000-1999/{len(data)}"
        assert _get(url, path, {"Range": f"bytes={len(data)}-"})[0] == 416
        status, headers, body = _get(url, path, method="HEAD")
        assert status == 200 and body == b"" and headers["content-length"] == str(len(data))
        assert _get(url, path, {"If-None-Match": headers["etag"]})[0] == 304
        assert _get(url, path, {"If-Modified-Since": headers["last-modified"]})[0] == 304
        assert _get(url, "/install/.treeinfo")[2] == b"[general]\n"
        for hidden in ("/install/.generations/secret.xml", "/install/%2egenerations/secret.xml",
                       "/install/rocks-dist/x86_64/Packages/big.rpm%00", "/install/rocks-dist/x86_64/"):
            status, _, body = _get(url, hidden)
            assert status == 404 and b"secret" not in body, hidden


@SERVERS
def test_a_slow_download_does_not_hold_kickstarts(cluster, settings, server):
    """Eight readers that never read their 64 MB download (more than the server's two workers, which held
    gunicorn's sync workers): kickstarts still come back."""
    add_loopnet(cluster)
    big = settings.dist_dir / "big.iso"
    big.parent.mkdir(parents=True, exist_ok=True)
    with big.open("wb") as handle:
        handle.truncate(64 * 1024 * 1024)
    with running_server(settings, KSSERVER_SERVER=server) as url:
        parts = urlsplit(url)
        stalled = []
        for _ in range(8):  # more stalled downloads than the server has workers or threads
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
            conn.request("GET", "/install/big.iso")
            stalled.append(conn)
        done = threading.Event()
        answers: list[int] = []

        def fetch() -> None:
            for _ in range(5):
                answers.append(_get(url, "/install/sbin/kickstart.cgi", {
                    "X-RHN-Provisioning-MAC-0": "eth0 52:54:00:00:01:00"}, source=LOOPNET_HOST)[0])
            done.set()

        threading.Thread(target=fetch, daemon=True).start()
        assert done.wait(60), "kickstarts were held up by downloads"
        assert answers == [200] * 5
        for conn in stalled:
            conn.close()


def test_kickstart_environ_keeps_what_identification_reads():
    from ksserver.web.rsgi import kickstart_environ, wsgi_environ

    class Scope:
        method, path, query_string, client = "GET", "/install/sbin/kickstart.cgi", "arch=x86_64", "10.1.1.1:999"
        server, http_version, scheme = "127.0.0.1:80", "1.1", "http"

        class headers:  # stands in for granian's header map
            @staticmethod
            def items():
                return [("x-rhn-provisioning-mac-0", "eth0 52:54:00:00:01:00"), ("x-forwarded-for", "1.2.3.4"),
                        ("x-forwarded-for", "10.9.9.9"), ("authorization", "Bearer t"), ("user-agent", "curl")]

    lean, full = kickstart_environ(Scope), wsgi_environ(Scope, None)
    assert {k: v for k, v in full.items() if k in lean} == lean
    assert lean["HTTP_X_FORWARDED_FOR"] == "1.2.3.4, 10.9.9.9" and "HTTP_USER_AGENT" not in lean
