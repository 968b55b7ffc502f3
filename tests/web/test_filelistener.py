"""The install-tree listener (ksserver.web.filelistener) over real HTTP on loopback: what dnf and curl see
(ETag, Range, HEAD, keep-alive), the confinement rules every other path to the tree keeps, and clients
that misbehave.  In-process servers here; ``ksserver serve`` with its listener in test_serve_files.py."""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ksserver.config import Settings, load_settings
from ksserver.web import filelistener
from tests.web.test_granian_front import _get as get

pytestmark = pytest.mark.timeout(60)

PACKAGE = os.urandom(300_000)


@contextlib.contextmanager
def listening(root: Path | Settings, **options: float) -> Iterator[int]:
    """A FileServer for ``root``/install (or those settings) on a free loopback port, in a thread; yields
    the port."""
    settings = root if isinstance(root, Settings) else load_settings(environ={}, root=root)
    listener = filelistener.listen("127.0.0.1", 0)
    server = filelistener.FileServer(settings, listener, **options)  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        with contextlib.suppress(OSError):  # wake the blocked accept
            socket.create_connection(("127.0.0.1", 1), timeout=0.1)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    install = tmp_path / "install"
    (install / "os" / "Packages").mkdir(parents=True)
    (install / "os" / "Packages" / "bash.rpm").write_bytes(PACKAGE)
    (install / "os" / ".treeinfo").write_text("[general]\n")  # an installer dotfile: served
    (install / "os" / ".lock").write_text("held\n")            # any other dotfile: never
    (tmp_path / "secret").write_text("outside the tree\n")
    (install / "os" / "escape").symlink_to(tmp_path / "secret")
    (install / "os" / "inside").symlink_to(install / "os" / "Packages" / "bash.rpm")
    return tmp_path


@pytest.fixture
def port(tree: Path) -> Iterator[int]:
    with listening(tree) as port:
        yield port


def _get(port: int, path: str, headers: dict[str, str] | None = None,
         method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    return get(f"http://127.0.0.1:{port}", path, headers, method)


def _raw(port: int, data: bytes, timeout: float = 10) -> bytes:
    """Everything the server sends for ``data`` until it closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)


def test_a_package_comes_whole_with_its_validators(port):
    status, headers, body = _get(port, "/install/os/Packages/bash.rpm")
    assert status == 200 and body == PACKAGE
    assert headers["content-length"] == str(len(PACKAGE)) and headers["accept-ranges"] == "bytes"
    assert headers["etag"].startswith('"') and headers["last-modified"].endswith("GMT")
    status, head_headers, body = _get(port, "/install/os/Packages/bash.rpm", method="HEAD")
    assert status == 200 and body == b"" and head_headers["content-length"] == str(len(PACKAGE))
    assert _get(port, "/install/os/.treeinfo")[2] == b"[general]\n"
    assert _get(port, "/install/os/inside")[2] == PACKAGE  # a link that stays in the tree


def test_dnf_resumes_and_revalidates(port):
    path = "/install/os/Packages/bash.rpm"
    status, headers, body = _get(port, path, {"Range": "bytes=1000-"})
    assert status == 206 and body == PACKAGE[1000:]
    assert headers["content-range"] == f"bytes 1000-{len(PACKAGE) - 1}/{len(PACKAGE)}"
    assert _get(port, path, {"Range": "bytes=-10"})[2] == PACKAGE[-10:]
    status, headers, _ = _get(port, path, {"Range": f"bytes={len(PACKAGE)}-"})
    assert status == 416 and headers["content-range"] == f"bytes */{len(PACKAGE)}"
    etag = _get(port, path, method="HEAD")[1]["etag"]
    assert _get(port, path, {"If-None-Match": etag})[0] == 304
    assert _get(port, path, {"If-None-Match": '"other"'})[0] == 200
    assert _get(port, path, {"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"})[0] == 304


@pytest.mark.parametrize("path", ["/install/os/.lock", "/install/os/escape", "/install/os/../../secret",
                                  "/install/os/%2e%2e/%2e%2e/secret", "/install/os/Packages",
                                  "/install/os/Packages/bash.rpm%00", "/install/os/nothing",
                                  "/etc/passwd", "/install/sbin/kickstart.cgi", "/install/os/%ff"])
def test_nothing_outside_the_rules_is_served(port, path):
    status, _, body = _get(port, path)
    assert status == 404 and b"outside" not in body and b"held" not in body


def test_keep_alive_and_pipelined_requests(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(3):  # one connection, as dnf keeps it
        conn.request("GET", "/install/os/.treeinfo")
        assert conn.getresponse().read() == b"[general]\n"
    conn.close()
    two = (b"GET /install/os/.treeinfo HTTP/1.1\r\nHost: x\r\n\r\n"
           b"GET /install/os/.treeinfo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    answer = _raw(port, two)
    assert answer.count(b"HTTP/1.1 200 OK") == 2 and answer.endswith(b"[general]\n")


@pytest.mark.parametrize("request_bytes, status", [
    (b"POST /install/os/.treeinfo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi", b"405"),
    (b"GET /install/os/.treeinfo\r\n\r\n", b"400"),
    (b"GET /install/os/.treeinfo HTTP/2.0\r\n\r\n", b"505"),
    (b"GET /install/os/.treeinfo HTTP/1.1\r\nRange bytes=0-1\r\n\r\n", b"400"),
    (b"GET /install/os/.treeinfo HTTP/1.1\r\nX: " + b"y" * 40_000 + b"\r\n\r\n", b"431"),
])
def test_bad_requests_get_an_error_and_the_connection_ends(port, request_bytes, status):
    answer = _raw(port, request_bytes)
    assert answer.startswith(b"HTTP/1.1 " + status) and answer.count(b"HTTP/1.1") == 1


def test_a_request_with_a_body_is_answered_then_closed(port):
    """A body the server does not read must never be taken for the next request (smuggling)."""
    smuggled = b"GET /install/os/.treeinfo HTTP/1.1\r\nHost: x\r\n\r\n"
    data = (b"GET /install/os/.treeinfo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(smuggled)
            + smuggled)
    answer = _raw(port, data)
    assert answer.count(b"HTTP/1.1 200") == 1 and b"Connection: close" in answer


def test_a_trickling_client_is_dropped_and_holds_nobody_up(tree):
    with listening(tree, idle_timeout=0.5, head_deadline=1.0) as port:
        slow = socket.create_connection(("127.0.0.1", port), timeout=10)
        slow.sendall(b"GET /install/os/.treeinfo HTTP/1.1\r\n")
        started = time.monotonic()
        assert _get(port, "/install/os/Packages/bash.rpm")[2] == PACKAGE  # others are served meanwhile
        for _ in range(8):  # a byte every 0.3 s: never idle, but the head takes too long
            try:
                slow.sendall(b"X")
            except OSError:
                break
            time.sleep(0.3)
        slow.settimeout(5)
        with contextlib.suppress(ConnectionResetError):
            assert slow.recv(100) == b""  # dropped
        assert time.monotonic() - started < 5
        slow.close()


def test_a_file_replaced_on_disk_is_served_as_it_is_now(port, tree):
    path = tree / "install" / "os" / "Packages" / "bash.rpm"
    assert _get(port, "/install/os/Packages/bash.rpm")[2] == PACKAGE
    replacement = os.urandom(1234)
    tmp = path.with_name("bash.rpm.new")
    tmp.write_bytes(replacement)
    os.replace(tmp, path)  # within the lookup's second: the kept answer describes the old file
    status, headers, body = _get(port, "/install/os/Packages/bash.rpm")
    assert status == 200 and body == replacement and headers["content-length"] == "1234"
