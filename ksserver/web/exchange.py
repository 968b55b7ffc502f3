"""One HTTP exchange of the uvloop front (``ksserver.web.uvfront``): the request as the application reads it
(``Scope``, ``Headers``, the body through ``Exchange``) and the response it gives, written to the connection.

``Exchange`` is RSGI's protocol object as far as ``rsgi.InstallerServer`` uses it, so the application granian
runs runs unchanged behind the uvloop front.
"""

from __future__ import annotations

import asyncio
import collections
import email.utils
import logging
import os
import time
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote_to_bytes

import httptools

from ksserver.web import rsgi

log = logging.getLogger("ksserver.web")
BODY_HIGH_WATER = 256 * 1024   # body bytes buffered before reading pauses (the application reads slower)
FILE_CHUNK = 256 * 1024        # bytes per write of a file streamed from the main port

_NO_BODY_STATUS = frozenset({204, 304})
_FRAMING = frozenset({"connection", "keep-alive", "transfer-encoding"})
_FRAMING_LENGTHS = frozenset(len(name) for name in (*_FRAMING, "content-length"))
_reasons: dict[int, bytes] = {}


def _status_line(status: int) -> bytes:
    line = _reasons.get(status)
    if line is None:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        line = _reasons[status] = f"HTTP/1.1 {status} {phrase}\r\n".encode("latin-1")
    return line


class _Clock:
    """The Date header, made once a second."""

    def __init__(self) -> None:
        self.second, self.header = 0, b""

    def date(self) -> bytes:
        now = int(time.time())
        if now != self.second:
            self.second = now
            self.header = b"Date: " + email.utils.formatdate(now, usegmt=True).encode() + b"\r\n"
        return self.header


_clock = _Clock()


def response_head(status: int, headers: list[tuple[str, str]], keep_alive: bool, body_length: int | None) -> bytes:
    """Status line and headers; Content-Length is added when the application gave none and ``body_length``
    is known (None: a HEAD, whose headers describe a body not sent)."""
    lines = []
    has_length = False
    for name, value in headers:
        if len(name) in _FRAMING_LENGTHS:  # (lower-casing every name costs more than this test)
            lowered = name.lower()
            if lowered == "content-length":
                has_length = True
            elif lowered in _FRAMING:
                continue  # the connection's framing is ours to say
        lines.append(f"{name}: {value}\r\n")
    if not has_length and body_length is not None and status not in _NO_BODY_STATUS and status >= 200:
        lines.append(f"Content-Length: {body_length}\r\n")
    lines.append("\r\n" if keep_alive else "Connection: close\r\n\r\n")
    return _status_line(status) + _clock.date() + "".join(lines).encode("latin-1")


class Headers:
    """Request headers as RSGI's header map offers them: lower-case names, repeats kept in order; decoded
    when first read (a kickstart reads a few of them once)."""

    __slots__ = ("_pairs", "raw")

    def __init__(self, raw: list[tuple[bytes, bytes]]):
        self.raw = raw
        self._pairs: list[tuple[str, str]] | None = None

    def items(self) -> list[tuple[str, str]]:
        if self._pairs is None:
            self._pairs = [(name.decode("latin-1").lower(), value.decode("latin-1")) for name, value in self.raw]
        return self._pairs

    def get(self, name: str, default: str | None = None) -> str | None:
        for key, value in self.items():
            if key == name:
                return value
        return default


class Scope:
    """What ``InstallerServer`` reads of a request (RSGI's scope)."""

    __slots__ = ("_conn", "headers", "http_version", "method", "path", "query_string")
    proto = "http"
    scheme = "http"

    def __init__(self, method: str, path: str, query_string: str, headers: Headers, conn: Any,
                 http_version: str):
        self.method, self.path, self.query_string, self.headers = method, path, query_string, headers
        self._conn, self.http_version = conn, http_version

    @property
    def client(self) -> str:
        return _host_port(self._conn.transport.get_extra_info("peername"))

    @property
    def server(self) -> str:
        return _host_port(self._conn.transport.get_extra_info("sockname"))


def _host_port(address: Any) -> str:
    """``host:port`` (IPv6 bracketed) of a socket address, as granian gives its client and server."""
    if not isinstance(address, tuple):
        return "unix:0"
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _declared_length(headers: list[tuple[str, str]]) -> int | None:
    for name, value in headers:
        if name.lower() == "content-length":
            return int(value)
    return None


def decoded_path(raw: bytes) -> str | None:
    """The percent-decoded path of a request target (origin or absolute form); invalid UTF-8 is kept as
    surrogates, as WSGI and the confinement rule expect.  None: not a path."""
    path = httptools.parse_url(raw).path if not raw.startswith(b"/") else raw.split(b"?", 1)[0]
    if not path or not path.startswith(b"/"):
        return None
    return unquote_to_bytes(path).decode("utf-8", "surrogateescape") if b"%" in path else \
        path.decode("utf-8", "surrogateescape")


class Exchange:
    """One request and its response: RSGI's protocol object as far as ``InstallerServer`` uses it."""

    expect_continue = body_done = asked = responded = app_done = streaming = False
    buffered = 0
    waiter: asyncio.Future[None] | None = None

    def __init__(self, conn: Any, scope: Scope, keep_alive: bool):  # conn: uvfront.Connection
        self.conn, self.scope, self.keep_alive = conn, scope, keep_alive
        self.chunks: collections.deque[bytes] = collections.deque()

    # -- the request body, read when the application asks for it ------------------------------------
    def __aiter__(self) -> Exchange:
        return self

    async def __anext__(self) -> bytes:
        conn = self.conn
        self.asked = True
        while not self.chunks:
            if self.body_done or conn.lost:
                raise StopAsyncIteration
            if self.expect_continue and not self.responded:
                self.expect_continue = False
                conn.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.waiter = conn.loop.create_future()
            conn.arm_deadline()  # a body trickled too slowly is let go
            conn.want_body()
            await self.waiter
            if not conn.writing_paused:  # (a client that stopped reading keeps its deadline)
                conn.deadline = None
        chunk = self.chunks.popleft()
        self.buffered -= len(chunk)
        if self.buffered < BODY_HIGH_WATER:
            conn.want_body()
        return chunk

    def _wake(self) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- the response ----------------------------------------------------------------------------------
    def response_bytes(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        head = self.scope.method == "HEAD"
        self._respond(response_head(status, headers, self._keep_alive(), None if head else len(body))
                      + (b"" if head else body))

    def response_empty(self, status: int, headers: list[tuple[str, str]]) -> None:
        self._respond(response_head(status, headers, self._keep_alive(), None if self.scope.method == "HEAD" else 0))

    def response_file(self, status: int, headers: list[tuple[str, str]], path: str) -> None:
        self.response_file_range(status, headers, path, 0, None)

    def response_file_range(self, status: int, headers: list[tuple[str, str]], path: str, start: int,
                            end: int | None) -> None:
        """The bytes [start, end) of ``path`` (end None: to its end), streamed with the transport's flow
        control; the application's headers carry the length."""
        try:
            handle = open(path, "rb")  # noqa: SIM115  (closed by the stream)
        except OSError:
            self.response_bytes(404, rsgi._NOT_FOUND_HEADERS, rsgi._NOT_FOUND)
            return
        length = _declared_length(headers)
        if length is None:
            length = (end if end is not None else os.fstat(handle.fileno()).st_size) - start
        self._respond(response_head(status, headers, self._keep_alive(), length))
        self.streaming = True
        # Exactly the promised length, whatever the file does meanwhile: more would be read as the next response.
        self.conn.loop.create_task(self._stream(handle, start, start + length))

    async def _stream(self, handle: Any, start: int, end: int) -> None:
        conn = self.conn
        try:
            with handle:
                handle.seek(start)
                left = end - start
                while left > 0 and not conn.lost:
                    # A read from the page cache (the tree's files are read by every installer): a thread
                    # hop per chunk would cost more than it saves; the listener on port + 1 serves trees.
                    chunk = handle.read(min(FILE_CHUNK, left))
                    if not chunk:  # the file shrank under us: the promised length cannot be kept
                        self.keep_alive = False
                        break
                    conn.transport.write(chunk)
                    left -= len(chunk)
                    await conn.drained()
        except Exception:  # a read error ends this response, not the worker
            log.exception("streaming %s failed", self.scope.path)
            self.keep_alive = False
        self.streaming = False
        conn.exchange_done(self)

    def _keep_alive(self) -> bool:
        if not self.body_done:
            self.keep_alive = False  # an unread body would be taken for the next request
        return self.keep_alive

    def _respond(self, data: bytes) -> None:
        if self.responded:
            return
        self.responded = True
        if not self.conn.lost:
            self.conn.transport.write(data)

    def application_done(self, task: asyncio.Task[None] | None = None) -> None:
        if task is not None and not task.cancelled() and task.exception() is not None:
            log.error("%s %s failed", self.scope.method, self.scope.path, exc_info=task.exception())
        if not self.responded:
            self.response_bytes(500, [("Content-Type", "text/plain; charset=utf-8")], rsgi._ERROR)
        self.app_done = True
        self.conn.exchange_done(self)
