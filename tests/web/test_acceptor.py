"""The kickstart server's acceptor (ksserver.web.acceptor): a storm's one-request connection is answered
at once, and every other connection is handed to the event loop with nothing lost or reordered."""

from __future__ import annotations

import shutil
import socket
import time

import pytest

from ksserver.web import uvfront
from tests.netboot.ksserve import ksserver
from tests.web.test_serve_files import _kickstart
from tests.web.test_serve_http import add_loopnet
from tests.web.test_uvfront import KS, _connect, _exchange, _get, _read_all, _responses, db_url, front  # noqa: F401

pytestmark = pytest.mark.timeout(120)
MAC = "X-RHN-Provisioning-MAC-0: eth0 52:54:00:00:01:00\r\n"
acceptor_only = pytest.mark.parametrize("front", ["acceptor"], indirect=True)


@acceptor_only
def test_a_storm_kickstart_never_reaches_the_event_loop(front):
    running, port = front
    raw = _exchange(port, _get(f"{KS}?arch=x86_64&np=2", close=True, extra=MAC))
    [(status, headers, body)] = _responses(raw, ["GET"])
    assert status == 200 and b"compute-0-0" in body and headers["connection"] == "close"
    assert (running.acceptor.answered, running.acceptor.adopted) == (1, 0)
    assert not running.connections


@acceptor_only
def test_a_keep_alive_connection_goes_on_after_its_first_answer(front):
    running, port = front
    with _connect(port) as sock:
        sock.sendall(_get(KS, extra=MAC))
        first = b""
        while b"\r\n\r\n" not in first or len(first) < first.index(b"\r\n\r\n") + 1000:
            first += sock.recv(65536)  # answered before the loop took the connection
        sock.sendall(_get("/install/no-such-file") + _get(KS, method="HEAD", close=True))
        raw = first + _read_all(sock)
    (s1, h1, b1), (s2, _, _), (s3, h3, _) = _responses(raw, ["GET", "GET", "HEAD"])
    assert s1 == 200 and "connection" not in h1 and b"compute-0-0" in b1
    assert s2 == 404 and s3 == 200 and h3["connection"] == "close"
    assert running.acceptor.adopted == 1


@acceptor_only
def test_a_head_that_arrives_in_pieces_is_answered_by_the_loop(front):
    running, port = front
    request = _get(KS, close=True, extra=MAC)
    with _connect(port) as sock:
        sock.sendall(request[:20])
        time.sleep(0.3)
        sock.sendall(request[20:])
        [(status, _, body)] = _responses(_read_all(sock), ["GET"])
    assert status == 200 and b"compute-0-0" in body
    assert running.acceptor.adopted == 1


@acceptor_only
def test_a_connection_silent_past_the_kernels_deferral_is_served(front):
    running, port = front
    with _connect(port) as sock:
        time.sleep(1.5)  # TCP_DEFER_ACCEPT hands it over without data after ~1 s
        sock.sendall(_get(KS, close=True, extra=MAC))
        [(status, _, _)] = _responses(_read_all(sock), ["GET"])
    assert status == 200


def test_an_answer_larger_than_the_socket_takes_arrives_whole(front, monkeypatch):
    """The first send takes part of it: the rest goes through the loop's transport, then the close.  The
    client reads slowly, longer than the deadline for one that stopped reading, and gets all of it."""
    running, port = front
    body = bytes(range(256)) * (128 * 1024)  # 32 MB, more than loopback's socket buffers hold
    monkeypatch.setattr(uvfront, "kickstart_response",
                        lambda services, environ: (200, [("Content-Type", "text/plain")], body))
    with _connect(port) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.sendall(_get(KS, close=True))
        time.sleep(0.3)  # the server's send cannot take it all
        chunks, started = [], time.monotonic()
        while chunk := sock.recv(64 * 1024):
            chunks.append(chunk)
            time.sleep(0.003)  # slowly: past the 1 s deadline in all, but never stalled that long
        assert time.monotonic() - started > 1.5
        [(status, headers, got)] = _responses(b"".join(chunks), ["GET"])
    assert status == 200 and int(headers["content-length"]) == len(body) and got == body
    assert getattr(running, "acceptor", None) is None or running.acceptor.adopted == 1
    assert not running.connections


@acceptor_only
def test_a_request_that_runs_as_a_task_is_answered_through_the_loop(front, settings):
    """A file from the tree: its answer streams after the connection was adopted, in order and whole."""
    running, port = front
    data = bytes(range(251)) * 4000  # 1 MB, several chunks
    tree = settings.dist_dir / "rocks-dist"
    tree.mkdir(parents=True)
    (tree / "file.bin").write_bytes(data)
    raw = _exchange(port, _get("/install/rocks-dist/file.bin") + _get(KS, close=True, extra=MAC))
    (s1, _, b1), (s2, _, b2) = _responses(raw, ["GET", "GET"])
    assert s1 == 200 and b1 == data and s2 == 200 and b"compute-0-0" in b2
    assert running.acceptor.adopted == 1


@pytest.mark.skipif(shutil.which("prlimit") is None, reason="prlimit not installed (Debian package util-linux)")
def test_a_worker_out_of_descriptors_waits_and_serves_again(cluster, settings):
    """With every descriptor taken by idle connections the workers stop accepting (they neither die nor
    spin); once those connections end, the installers waiting in the backlog are served."""
    add_loopnet(cluster)
    with ksserver(settings, prefix=["prlimit", "--nofile=48:48", "--"]) as port:
        held = []
        try:
            for _ in range(80):
                sock = socket.create_connection(("127.0.0.1", port), timeout=10)
                sock.sendall(b"GET / HTTP/1.1\r\n")  # a head that never ends
                held.append(sock)
            log = settings.root / "serve.log"
            deadline = time.monotonic() + 10
            while "cannot accept connections for now" not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert "cannot accept connections for now" in log.read_text()
        finally:
            for sock in held:
                sock.close()
        assert _kickstart(port).startswith("#")


@acceptor_only
def test_a_failure_serving_one_connection_leaves_the_listener_serving(front, monkeypatch, caplog):
    """A defect hit while a first read is served (forced here) costs that connection only."""
    running, port = front
    real = uvfront.Connection.data_received

    def fails_once(self, data):
        monkeypatch.setattr(uvfront.Connection, "data_received", real)
        raise RuntimeError("forced")

    monkeypatch.setattr(uvfront.Connection, "data_received", fails_once)
    assert _exchange(port, _get(KS, close=True, extra=MAC)) == b""  # closed unanswered
    [(status, _, _)] = _responses(_exchange(port, _get(KS, close=True, extra=MAC)), ["GET"])
    assert status == 200 and not running.connections
    assert "serving a new connection from" in caplog.text
