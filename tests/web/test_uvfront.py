"""The uvloop front (ksserver.web.uvfront) on real loopback sockets: requests in order, framing attacks
refused, deadlines for trickled heads, idle and stalled connections, bodies read only when asked for."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from ksserver.web import acceptor, rsgi, uvfront
from tests.web.test_partition_reports import LAYOUT
from tests.web.test_serve_http import LOOPNET_HOST, add_loopnet

uvloop = pytest.importorskip("uvloop", reason="uvloop not installed (pip install uvloop)")
pytestmark = pytest.mark.timeout(120)
KS = "/install/sbin/kickstart.cgi"


@pytest.fixture
def db_url(tmp_path):  # the front's behaviour does not depend on the database: SQLite only
    return f"sqlite:///{tmp_path / 'cluster.db'}"


@pytest.fixture(params=["acceptor", "loop"])
def front(request, cluster, settings, monkeypatch):
    """A front on its own loop in a thread, with short deadlines: (Front, port).  Its connections are
    accepted by the ``Acceptor`` as ``ksserver serve`` does (first reads served at once, the rest adopted
    by the loop), or by uvloop's own server (what an adopted connection is from its start)."""
    add_loopnet(cluster)
    monkeypatch.setattr(uvfront, "HEAD_DEADLINE", 1.0)
    monkeypatch.setattr(uvfront, "SWEEP_EVERY", 0.2)
    loop = uvloop.new_event_loop()
    app = rsgi.load(settings)
    running = uvfront.Front(loop, app)
    listener = socket.create_server(("127.0.0.1", 0))
    if request.param == "acceptor":
        running.acceptor = acceptor.Acceptor(running, listener)
        running.acceptor.start()  # (TCP_DEFER_ACCEPT set before any test connects)
        stop = running.acceptor.stop
    else:
        stop = loop.run_until_complete(loop.create_server(running.protocol, sock=listener)).close
    loop.call_later(0.2, running.sweep)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield running, listener.getsockname()[1]
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    stop()
    app.__rsgi_del__(loop)
    loop.close()
    listener.close()


def _connect(port: int, source: str = LOOPNET_HOST) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=15, source_address=(source, 0))
    return sock


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def _exchange(port: int, data: bytes, source: str = LOOPNET_HOST) -> bytes:
    with _connect(port, source) as sock:
        sock.sendall(data)
        return _read_all(sock)


def _responses(raw: bytes, methods: list[str]) -> list[tuple[int, dict[str, str], bytes]]:
    """Split what came back into responses (Content-Length framing; HEAD answers carry no body)."""
    out = []
    for method in methods:
        head, sep, raw = raw.partition(b"\r\n\r\n")
        assert sep and head.startswith(b"HTTP/1.1 "), f"no response for {method} here: {head[:200]!r}"
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = 0 if method == "HEAD" or status in (204, 304) or 100 <= status < 200 else int(headers["content-length"])
        out.append((status, headers, raw[:length]))
        raw = raw[length:]
    assert raw == b"", f"more than {len(methods)} responses: {raw[:200]!r}"
    return out


def _get(path: str, close: bool = False, method: str = "GET", extra: str = "") -> bytes:
    return (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}"
            + ("Connection: close\r\n" if close else "") + "\r\n").encode()


def test_pipelined_requests_are_answered_in_order(front):
    _, port = front
    raw = _exchange(port, _get(f"{KS}?arch=x86_64&np=2") + _get("/install/no-such-file")
                    + _get("/install/sbin/public/kickstart.cgi", method="HEAD", close=True))
    (s1, h1, b1), (s2, _, _), (s3, h3, b3) = _responses(raw, ["GET", "GET", "HEAD"])
    assert s1 == 200 and b"compute-0-0" in b1 and int(h1["content-length"]) == len(b1)
    assert "date" in h1 and "connection" not in h1  # keep-alive, as HTTP/1.1 asked
    assert s2 == 404
    assert s3 == 200 and b3 == b"" and int(h3["content-length"]) > 1000 and h3["connection"] == "close"


def test_a_stranger_gets_403_and_http10_closes(front):
    _, port = front
    raw = _exchange(port, f"GET {KS} HTTP/1.0\r\n\r\n".encode(), source="127.0.0.1")
    [(status, headers, body)] = _responses(raw, ["GET"])
    assert status == 403 and b"unknown host" in body and headers["connection"] == "close"


@pytest.mark.parametrize("attack", [
    # Content-Length with Transfer-Encoding: the classic request smuggling
    b"POST /install/x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"POST /install/x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",  # two lengths
    b"GET /install/x HTTP/1.1\nHost: a\n\n",                      # bare LF
    b"GET /install/x HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",     # obsolete line folding
    b"GET /a b HTTP/1.1\r\n\r\n",                                  # space in the target
    b"GET install/x HTTP/1.1\r\nHost: a\r\n\r\n",                  # not a path
])
def test_framing_attacks_are_refused_and_nothing_after_them_runs(front, attack):
    _, port = front
    smuggled = _get(KS, close=True)
    raw = _exchange(port, attack + smuggled)
    [(status, headers, _)] = _responses(raw, ["GET"])  # one answer: the smuggled kickstart never runs
    assert status == 400 and headers["connection"] == "close"


@pytest.mark.parametrize("request_line", [b"GET / HTTP/2.0\r\n\r\n", b"GET / HTTP/0.9\r\n\r\n"])
def test_other_http_versions_get_505(front, request_line):
    _, port = front
    [(status, _, _)] = _responses(_exchange(port, request_line), ["GET"])
    assert status == 505


def test_a_head_over_the_limit_is_431_whole_or_trickled(front):
    _, port = front
    big = _get(KS, extra=f"X-Padding: {'a' * (uvfront.HEAD_LIMIT + 10)}\r\n")
    [(status, _, _)] = _responses(_exchange(port, big), ["GET"])
    assert status == 431
    with _connect(port) as sock:  # the same head in small pieces, never finished
        sock.sendall(b"GET / HTTP/1.1\r\nX-Padding: ")
        sent = 0
        try:
            while sent <= uvfront.HEAD_LIMIT + 8192:
                sock.sendall(b"a" * 4096)
                sent += 4096
        except (BrokenPipeError, ConnectionResetError):
            pass
        [(status, _, _)] = _responses(_read_all(sock), ["GET"])
    assert status == 431


def test_trickled_and_idle_connections_are_dropped_at_the_deadline(front):
    running, port = front
    trickler = _connect(port)
    trickler.sendall(b"GET " + KS.encode() + b" HTTP/1.1\r\nHost: a\r\n")  # and never the end of the head
    idle = _connect(port)
    idle.sendall(_get(KS))
    _responses(idle.recv(65536), ["GET"])  # answered; the connection then idles
    time.sleep(0.3)
    assert _responses(_exchange(port, _get(KS, close=True)), ["GET"])[0][0] == 200  # others are served meanwhile
    deadline = time.monotonic() + 10
    while running.connections and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not running.connections
    assert _read_all(trickler) == b"" and _read_all(idle) == b""
    trickler.close()
    idle.close()


def test_a_client_that_stops_reading_is_let_go(front, settings):
    running, port = front
    big = settings.dist_dir / "big.iso"
    big.parent.mkdir(parents=True, exist_ok=True)
    with big.open("wb") as handle:
        handle.truncate(64 * 1024 * 1024)
    with _connect(port) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(_get("/install/big.iso"))
        time.sleep(0.5)
        assert running.connections  # the download is stalled, not finished
        deadline = time.monotonic() + 10
        while running.connections and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not running.connections
        # Reset, not closed: the megabytes the client never read are dropped, not sent on at its pace.
        started = time.monotonic()
        assert len(_read_all(sock)) < 64 * 1024 * 1024
        assert time.monotonic() - started < 10


def test_pipelined_requests_wait_while_the_client_does_not_read(front, monkeypatch):
    """3,000 kickstarts asked in one go by a client that reads nothing: the server answers only what the
    socket buffers take, not all of them, and lets the client go at the deadline."""
    running, port = front
    answered = []
    real = uvfront.kickstart_response

    def counted(services, environ):
        answered.append(1)
        return real(services, environ)

    monkeypatch.setattr(uvfront, "kickstart_response", counted)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.bind((LOOPNET_HOST, 0))
    sock.connect(("127.0.0.1", port))
    with sock:
        sock.sendall(_get(KS) * 3000)
        deadline = time.monotonic() + 10
        while not answered and time.monotonic() < deadline:
            time.sleep(0.05)
        while running.connections and time.monotonic() < deadline:
            time.sleep(0.1)
        assert answered and not running.connections
    assert 0 < len(answered) < 1500


def test_a_file_replaced_while_its_answer_is_kept_cannot_break_the_framing(front, settings):
    """The answer about a file is kept a second (install_cache); a bigger file put in its place meanwhile
    is sent at the length the headers promised, so the next response on the connection stays intact."""
    running, port = front
    running.app.files.ttl = 60.0  # the kept answer outlives the replacement, whatever this machine's speed
    path = settings.dist_dir / "images" / "big.img"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"a" * (2 * 1024 * 1024))
    [(status, _, body)] = _responses(_exchange(port, _get("/install/images/big.img", close=True)), ["GET"])
    assert status == 200 and len(body) == 2 * 1024 * 1024
    (path.parent / "new.img").write_bytes(b"b" * (3 * 1024 * 1024))
    (path.parent / "new.img").rename(path)
    raw = _exchange(port, _get("/install/images/big.img") + _get("/install/no-such-file", close=True))
    (first, headers, body), (second, _, _) = _responses(raw, ["GET", "GET"])
    assert first == 200 and len(body) == int(headers["content-length"]) == 2 * 1024 * 1024 and second == 404


def test_a_strangers_body_is_never_read(front):
    """403 comes back at once for a report whose 100 MB body was announced and never sent."""
    _, port = front
    with _connect(port, source="127.0.0.1") as sock:
        sock.sendall(b"POST /install/sbin/public/partitions HTTP/1.1\r\nHost: a\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 104857600\r\n\r\n{")
        [(status, headers, body)] = _responses(_read_all(sock), ["POST"])
    assert status == 403 and b"unknown host" in body and headers["connection"] == "close"


def test_expect_100_continue_and_a_chunked_body(front, cluster):
    _, port = front
    body = json.dumps(LAYOUT).encode()
    with _connect(port) as sock:
        sock.sendall(b"POST /install/sbin/public/partitions HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                     b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
        assert sock.recv(64).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        half = len(body) // 2
        sock.sendall(body[:half])
        time.sleep(0.2)
        sock.sendall(body[half:])
        chunked = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:100], body[100:])) + b"0\r\n\r\n"
        sock.sendall(b"POST /install/sbin/public/partitions HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
                     b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked)
        answers = _responses(_read_all(sock), ["POST", "POST"])
    for status, _, answer in answers:
        assert status == 200 and json.loads(answer) == {"host": "compute-0-0", "partitions": 5}
    rows = json.loads(cluster("list", "host", "partition", "compute-0-0", "output-format=json").out)
    assert {r["device"] for r in rows} == {"sda1", "sda2", "sda3", "sda5", "sdb"}


def test_a_failing_kickstart_is_a_500_not_a_dead_worker(front, monkeypatch):
    _, port = front

    def broken(services, environ):
        raise RuntimeError("a bug")

    monkeypatch.setattr(uvfront, "kickstart_response", broken)
    [(status, _, _)] = _responses(_exchange(port, _get(KS, close=True)), ["GET"])
    assert status == 500
    monkeypatch.undo()
    [(status, _, _)] = _responses(_exchange(port, _get(KS, close=True)), ["GET"])
    assert status == 200

