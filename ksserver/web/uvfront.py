"""The default front of ``ksserver serve``: HTTP/1.1 on uvloop's event loop, requests parsed by httptools.

Why not granian (``server = granian``, still available): in a boot storm (256 installers, one connection
per fetch) granian spent 48 µs of CPU per request on a trivial Python answer, 2.5 times nginx's
whole request, mostly in handing each request from its Rust thread to the Python loop; an asyncio protocol
on uvloop costs 25 µs (docs/performance.md).  The parser is httptools (llhttp, Node.js's parser, strict:
a request with both Content-Length and Transfer-Encoding, a bad chunk or a bare LF is refused).

What is ours is the connection: one request at a time in arrival order (pipelined ones queue, and reading
pauses past a few), a deadline for a request head however it is trickled and for an idle or stalled
connection, 431 past ``HEAD_LIMIT``, 505 for a version other than 1.0/1.1, a request body read only when
the application asks for it (so a stranger is refused before the server reads it), and flow control
both ways.  The application is ``rsgi.InstallerServer``, the same one granian runs: it sees each request
through ``Exchange``, the part of RSGI's protocol object it uses; kickstarts skip even that and are
answered in the parser's callback.  Connections are accepted by ``ksserver.web.acceptor``, which serves a
storm's one-request connection before the loop registers it and hands every other one to the loop.
"""

from __future__ import annotations

import asyncio
import collections
import fcntl
import logging
import os
import signal
import socket
import struct
import termios
from http import HTTPStatus
from typing import Any

import httptools

from ksserver.config import Settings
from ksserver.web import rsgi
from ksserver.web.acceptor import Acceptor
from ksserver.web.exchange import BODY_HIGH_WATER, Exchange, Headers, Scope, decoded_path, response_head
from ksserver.web.kickstart import PATHS as KICKSTART_PATHS
from ksserver.web.kickstart import kickstart_response

log = logging.getLogger("ksserver.web")
HEAD_LIMIT = 64 * 1024         # bytes of request line + headers; more is a 431
HEAD_DEADLINE = 30.0           # seconds a request head may take, and a connection may idle or stall
PIPELINE_DEPTH = 8             # parsed requests waiting behind the one in progress before reading pauses
SWEEP_EVERY = 1.0              # seconds between looks at the connections' deadlines
_LINGER_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close sends a reset
_KICKSTART_HEADERS = tuple(name.encode() for name in rsgi._KICKSTART_HEADERS)


class Connection(asyncio.Protocol):
    """One client connection: parses requests and runs them one at a time, in order."""

    # Defaults at class level: a boot storm makes a connection per kickstart, and each assignment counts.
    transport: Any = None
    remote = ""                              # the client's address (REMOTE_ADDR)
    lost = closing = reading_paused = writing_paused = dispatching = in_body = False
    active: Exchange | None = None
    parsing: Exchange | None = None          # the exchange whose body is still arriving
    error: int | None = None                 # a refusal to send once the requests before it are answered
    url = b""
    head_bytes = chunk = heads = 0           # read while a head is incomplete; the read being parsed; heads seen
    unsent = 0                               # bytes waiting in the transport when writing paused or last moved
    drain_waiter: asyncio.Future[None] | None = None
    kickstart: tuple[str, str, str] | None = None  # (method, path, query) of a kickstart answered at its end

    def __init__(self, front: Front):
        self.front, self.loop, self.app = front, front.loop, front.app
        self.parser = httptools.HttpRequestParser(self)
        self.queue: collections.deque[Exchange] = collections.deque()
        self.pairs: list[tuple[bytes, bytes]] = []
        self.deadline: float | None = None
        self.arm_deadline()

    def arm_deadline(self) -> None:
        """The connection is let go if still in this state HEAD_DEADLINE seconds from now."""
        self.deadline = self.loop.time() + HEAD_DEADLINE

    # -- transport events ------------------------------------------------------------------------------
    def connection_made(self, transport: Any) -> None:
        early, self.transport = self.transport, transport
        if early is not None:  # adopted: its first read was served by the Acceptor (ksserver.web.acceptor)
            self.writing_paused = False
            early.hand_over(transport)  # (may pause writing again)
            if not self.writing_paused:
                self.resume_writing()
            return
        peer = transport.get_extra_info("peername")
        self.remote = peer[0] if isinstance(peer, tuple) else ""
        self.front.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.front.connections.discard(self)
        if self.active is not None or self.parsing is not None or self.queue:
            for ex in (self.active, self.parsing, *self.queue):
                if ex is not None:
                    ex._wake()
            self.queue.clear()
        self._wake_drain()
        # The parser points back at this protocol (uvloop drops the transport's link itself): without the
        # cycle a connection is freed when it ends, not by the cyclic collector (a storm makes one per kickstart).
        self.parser = None

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        heads = self.heads
        self.chunk = len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse_after(400)  # no protocol switching here; answered requests stand
        except httptools.HttpParserError:
            self._refuse_after(431 if self.head_bytes > HEAD_LIMIT else 400)
        else:
            # What httptools buffers of a head still incomplete counts too (a head that ended in this read
            # was counted whole in on_headers_complete).
            if heads != self.heads:
                self.head_bytes = 0
            elif not self.in_body:
                self.head_bytes += len(data)
                if self.head_bytes > HEAD_LIMIT:
                    self._refuse_after(431)
        if self.queue or self.parsing is not None or self.reading_paused or self.writing_paused:
            self._update_reading()

    def pause_writing(self) -> None:
        self.writing_paused = True
        self.unsent = _unsent(self.transport)
        if self.deadline is None:
            self.arm_deadline()  # a client that stopped reading is let go

    def resume_writing(self) -> None:
        self.writing_paused = False
        if self.active is not None:
            self.deadline = None
        elif self.deadline is not None:
            self.arm_deadline()  # the client reads: idle (or flushing its last answer) from now, not stalled
        self._wake_drain()
        self._dispatch()  # requests wait while a client is not reading what it asked for
        self._update_reading()

    async def drained(self) -> None:
        while self.writing_paused and not self.lost:
            self.drain_waiter = self.loop.create_future()
            await self.drain_waiter

    def _wake_drain(self) -> None:
        waiter, self.drain_waiter = self.drain_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- parser callbacks --------------------------------------------------------------------------------
    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.pairs.append((name, value))

    def on_headers_complete(self) -> None:
        self.in_body = True
        self.heads += 1
        if not self.writing_paused:  # (a client that stopped reading keeps its deadline)
            self.deadline = None
        parser = self.parser
        # The head's size, counted exactly only when the bytes read while it arrived could exceed the limit.
        if self.head_bytes + self.chunk > HEAD_LIMIT and \
                len(self.url) + sum(len(n) + len(v) + 4 for n, v in self.pairs) > HEAD_LIMIT:
            self._refuse_after(431)
            raise httptools.HttpParserError("request head too large")
        version = parser.get_http_version()
        if version not in ("1.1", "1.0"):
            self._refuse_after(505)
            raise httptools.HttpParserError("unsupported version")  # stops this feed: nothing more is read
        path = decoded_path(self.url)
        if path is None:
            self._refuse_after(400)
            raise httptools.HttpParserError("bad request target")
        query = self.url.partition(b"?")[2].partition(b"#")[0].decode("latin-1")
        method = parser.get_method().decode("latin-1")
        if path in KICKSTART_PATHS and method in ("GET", "HEAD") and self.active is None and not self.queue \
                and not self.writing_paused:
            self.kickstart = (method, path, query)  # the boot storm's request: no exchange, no task
            self.arm_deadline()  # for the rest of its message, if any
            return
        scope = Scope(method, path, query, Headers(self.pairs), self, version)
        ex = Exchange(self, scope, parser.should_keep_alive())
        self.parsing = ex
        self.queue.append(ex)
        if path not in KICKSTART_PATHS:  # (a kickstart waits for the end of its message)
            self._dispatch()

    def on_body(self, body: bytes) -> None:
        ex = self.parsing
        if ex is not None and ex.scope.path not in KICKSTART_PATHS:  # (a kickstart's body is read and dropped)
            ex.chunks.append(body)
            ex.buffered += len(body)
            ex._wake()

    def on_message_complete(self) -> None:
        self.in_body = False
        if self.kickstart is not None:
            self._answer_kickstart()
        else:
            ex, self.parsing = self.parsing, None
            if ex is not None:
                ex.body_done = True
                ex._wake()
                self._dispatch()
        self.url, self.pairs = b"", []  # (an exchange keeps its own list)

    def _answer_kickstart(self) -> None:
        """The kickstart whose message just ended, nothing before it waiting: answered here."""
        method, path, query = self.kickstart  # type: ignore[misc]
        self.kickstart = None
        status, headers, body = self._kickstart(self._kickstart_environ(method, path, query, self.pairs))
        keep_alive = self.parser.should_keep_alive() and not self.closing
        head = method == "HEAD"
        self.transport.write(response_head(status, headers, keep_alive, None if head else len(body))
                             + (b"" if head else body))
        if keep_alive:
            self.arm_deadline()  # idle keep-alive
        else:
            self._close()

    # -- running requests ----------------------------------------------------------------------------------
    def _dispatch(self) -> None:
        if self.dispatching:
            return
        self.dispatching = True
        try:
            while self.active is None and self.queue and not self.lost and not self.writing_paused:
                ex = self.queue[0]
                if ex.scope.path in KICKSTART_PATHS and not ex.body_done:
                    break  # answered whole, once its message (and any body) has been read
                self.active = self.queue.popleft()
                self._start(ex)
            if self.active is None and not self.queue and self.error is not None and not self.lost:
                self._send_refusal()
        finally:
            self.dispatching = False

    def _start(self, ex: Exchange) -> None:
        scope = ex.scope
        if scope.path in KICKSTART_PATHS and scope.method in ("GET", "HEAD"):
            # The boot storm's request, answered here: no task, no thread (render is ~0.02 ms).
            status, headers, body = self._kickstart(self._kickstart_environ(
                scope.method, scope.path, scope.query_string, scope.headers.raw))
            ex.response_bytes(status, headers, body)
            ex.app_done = True
            self.exchange_done(ex)
            return
        expect = scope.headers.get("expect")
        ex.expect_continue = expect is not None and expect.lower() == "100-continue"
        task = self.loop.create_task(self.app.__rsgi__(scope, ex))
        task.add_done_callback(ex.application_done)

    def _kickstart(self, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        try:
            return kickstart_response(self.app.services, environ)
        except Exception:  # a bug: a 500 and its traceback, as for any other view (the parser must not see it)
            log.exception("%s %s failed", environ["REQUEST_METHOD"], environ["PATH_INFO"])
            return 500, [("Content-Type", "text/plain; charset=utf-8")], rsgi._ERROR

    def _kickstart_environ(self, method: str, path: str, query: str,
                           pairs: list[tuple[bytes, bytes]]) -> dict[str, Any]:
        """``rsgi.kickstart_environ`` from the raw header bytes: only the headers it keeps are decoded."""
        environ: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
                                   "REMOTE_ADDR": self.remote, "wsgi.url_scheme": "http"}
        keys = _ENVIRON_KEYS
        for name, value in pairs:
            key = keys.get(name, _UNSEEN)
            if key is _UNSEEN:
                key = _environ_key(name)
            if key is not None:
                text = value.decode("latin-1")
                environ[key] = f"{environ[key]}, {text}" if key in environ else text
        return environ

    def exchange_done(self, ex: Exchange) -> None:
        if not ex.app_done or ex.streaming or ex is not self.active:
            return
        self.active = None
        if not ex.keep_alive or self.lost:
            self._close()
            return
        self._dispatch()
        if self.active is None and self.parsing is None and not self.lost:
            self.arm_deadline()  # idle keep-alive
        self._update_reading()

    def want_body(self) -> None:
        """The application asks for body bytes: read (again) if the reading waits for it."""
        self._update_reading()

    def _update_reading(self) -> None:
        if self.lost or self.transport is None:
            return
        ex = self.parsing
        # A body is read only for the request in progress, once its application asks (a stranger is
        # refused before its body is read), and only so far ahead of the application.
        wanted = not self.closing and not self.writing_paused and len(self.queue) < PIPELINE_DEPTH and (
            ex is None or ex is self.active and ex.asked and (ex.waiter is not None or ex.buffered < BODY_HIGH_WATER)
            or ex.scope.path in KICKSTART_PATHS)
        if wanted and self.reading_paused:
            self.reading_paused = False
            self.transport.resume_reading()
        elif not wanted and not self.reading_paused:
            self.reading_paused = True
            self.transport.pause_reading()

    def _refuse_after(self, status: int) -> None:
        """Answer ``status`` and close once the requests before it are answered; read nothing more."""
        if self.error is None:
            self.error = status
        self.closing = True
        ex, self.parsing = self.parsing, None
        if ex is not None:
            if ex is self.active:  # its body ends here, short: the application sees that, and the connection closes
                ex.body_done, ex.keep_alive = True, False
                ex._wake()
            else:
                self.queue.remove(ex)  # its head was fine but what followed is not: it is not run
        self._dispatch()

    def _send_refusal(self) -> None:
        status = self.error or 400
        body = f"{status} {HTTPStatus(status).phrase.lower()}\n".encode()
        self.transport.write(response_head(status, [("Content-Type", "text/plain; charset=utf-8")], False,
                                           len(body)) + body)
        self._close()

    def _close(self) -> None:
        self.closing = True
        self.queue.clear()
        if not self.lost:
            self.transport.close()

    def expire(self) -> None:
        """The deadline passed: a head trickled too long, an idle keep-alive, a client that stopped reading."""
        if self.writing_paused:
            unsent = _unsent(self.transport)
            if unsent < self.unsent:  # it reads, slowly: not stalled (nginx's send_timeout is per write too)
                self.unsent = unsent
                self.arm_deadline()
                return
            _drop_unsent(self.transport)
            self.transport.abort()
        else:
            self._close()


_UNSEEN = object()
_ENVIRON_KEYS: dict[bytes, str | None] = {}  # header name as sent -> its environ key, or None: not kept
_ENVIRON_KEYS_MAX = 512                      # (a client inventing names only refills it)


def _environ_key(name: bytes) -> str | None:
    """The environ key of a header a kickstart reads (``rsgi.kickstart_environ``), None for the others;
    remembered per spelling: a storm's installers send the same few names."""
    lowered = name.lower()
    key = "HTTP_" + lowered.decode("latin-1").upper().replace("-", "_") \
        if lowered.startswith(_KICKSTART_HEADERS) else None
    if len(_ENVIRON_KEYS) >= _ENVIRON_KEYS_MAX:
        _ENVIRON_KEYS.clear()
    _ENVIRON_KEYS[name] = key
    return key


def _unsent(transport: Any) -> int:
    """Bytes written and not yet taken by the client: the transport's buffer and the kernel's send queue
    (which alone may hold megabytes a slow client is still reading)."""
    unsent = transport.get_write_buffer_size()
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            unsent += struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]
        except OSError:
            pass
    return unsent


def _drop_unsent(transport: Any) -> None:
    """Make closing ``transport`` reset the connection: the kernel drops what the client has not read
    instead of sending it on for minutes to a client that reads nothing (several MB of a stalled download)."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        except OSError:
            pass


class Front:
    """One worker process's server: the application, its connections, the deadline sweep."""

    def __init__(self, loop: asyncio.AbstractEventLoop, app: rsgi.InstallerServer):
        self.loop, self.app = loop, app
        self.connections: set[Connection] = set()
        self.master = os.getppid()

    def protocol(self) -> Connection:
        return Connection(self)

    def sweep(self) -> None:
        now = self.loop.time()
        for conn in [c for c in self.connections if c.deadline is not None and c.deadline < now]:
            conn.expire()
        if os.getppid() != self.master:  # the supervisor is gone (killed): do not serve on alone
            self.loop.stop()
            return
        self.loop.call_later(SWEEP_EVERY, self.sweep)


def serve_worker(settings: Settings, listener: socket.socket) -> None:
    """One worker process: the application on uvloop, accepting on the shared ``listener`` until SIGTERM."""
    import uvloop

    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    app = rsgi.load(settings)
    front = Front(loop, app)
    acceptor = Acceptor(front, listener)
    acceptor.start()
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    loop.add_signal_handler(signal.SIGINT, loop.stop)
    loop.call_later(SWEEP_EVERY, front.sweep)
    try:
        loop.run_forever()
    finally:
        acceptor.stop()
        app.__rsgi_del__(loop)
