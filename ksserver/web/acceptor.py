"""Accepting the kickstart server's connections: a boot storm's request answered before the loop knows it.

A boot storm is one short connection per installer: connect, one request, the kickstart, close.  Handed
to uvloop, each such connection cost ten system calls (accept, getsockname, setsockopt, getpeername,
epoll registration, a wake-up, read, write, close) and a transport object, about a fifth of the server's
CPU per kickstart.  The ``Acceptor`` accepts in batches itself and reads each new connection once, at once:
the listener defers accepting until a request's first bytes have arrived (``TCP_DEFER_ACCEPT``), so that
read nearly always holds the whole request.  The connection (``uvfront.Connection``, the same parser and
rules as for any other) answers it into an ``Unregistered`` transport; when the answer is complete and the
connection closes, it is sent with one call and the socket closed: four system calls.

Everything else is adopted by the event loop with its state: a head still arriving, a keep-alive
connection, a request that runs as a task, an answer the socket could not take whole.  Until the loop's
transport exists the connection counts as not writable, so nothing streams into the gap; what it wrote
meanwhile is sent first.
"""

from __future__ import annotations

import _socket
import asyncio
import errno
import logging
import socket
from typing import Any

log = logging.getLogger("ksserver.web")

ACCEPT_BATCH = 64        # connections accepted per wake-up before other events get their turn
READ_SIZE = 65536        # the first read; a request head of a kickstart is a few hundred bytes
ACCEPT_PAUSE = 0.2       # seconds the listener is left alone when the process is out of descriptors
DEFER_SECONDS = 1        # TCP_DEFER_ACCEPT: the kernel hands over a connection once its data arrived
_RETRY = (BlockingIOError, InterruptedError)
# What fails one connection only: it was aborted, or accept(2) passes on a network error of the new socket.
_ONE_CONNECTION = frozenset({errno.ECONNABORTED, errno.EPROTO, errno.EPERM, errno.ENETDOWN, errno.ENOPROTOOPT,
                             errno.EHOSTDOWN, errno.ENONET, errno.EHOSTUNREACH, errno.EOPNOTSUPP,
                             errno.ENETUNREACH})


class Unregistered:
    """The transport of a connection the loop does not know yet: what the connection writes is kept to be
    sent at once, and closing, aborting and reading pauses are noted to be done on adoption."""

    __slots__ = ("sock", "peer", "sockname", "out", "closed", "aborted", "reading_paused")

    def __init__(self, sock: Any, peer: Any):
        self.sock, self.peer, self.sockname = sock, peer, None
        self.out: list[bytes] = []
        self.closed = self.aborted = self.reading_paused = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "peername":
            return self.peer
        if name == "sockname":
            if self.sockname is None:  # (kept: a request's task may ask after the socket went to the loop)
                self.sockname = self.sock.getsockname()
            return self.sockname
        return default

    def write(self, data: bytes) -> None:
        if data and not self.closed:  # (as a loop transport: nothing is written once it is closing)
            self.out.append(data)

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = self.aborted = True

    def get_write_buffer_size(self) -> int:
        return sum(map(len, self.out))

    def pause_reading(self) -> None:
        self.reading_paused = True

    def resume_reading(self) -> None:
        self.reading_paused = False

    def send_kept(self) -> bool:
        """Send what was written, without blocking; True when all of it went (or the peer is gone)."""
        if not self.out:
            return True
        data = self.out[0] if len(self.out) == 1 else b"".join(self.out)
        try:
            sent = self.sock.send(data, socket.MSG_DONTWAIT)
        except _RETRY:
            sent = 0
        except OSError:  # the client is gone: nothing more to deliver
            self.out = []
            return True
        self.out = [data[sent:]] if sent < len(data) else []
        return not self.out

    def hand_over(self, transport: Any) -> None:
        """Replay on the loop's ``transport`` what happened before it existed."""
        if self.out:
            transport.write(b"".join(self.out))
            self.out = []
        if self.aborted:
            transport.abort()
        elif self.closed:
            transport.close()
        elif self.reading_paused:
            transport.pause_reading()


class Acceptor:
    """Accepts on ``listener`` for ``front`` (``uvfront.Front``) and serves each connection's first read."""

    answered = adopted = 0  # connections finished at once / handed to the loop (tests, diagnostics)

    def __init__(self, front: Any, listener: socket.socket):
        self.front, self.loop, self.listener = front, front.loop, listener
        self.family = listener.family
        self.accept = listener._accept  # (fd, address): no socket object for a connection served at once
        self.watching = False

    def start(self) -> None:
        self.listener.setblocking(False)
        if hasattr(socket, "TCP_DEFER_ACCEPT"):
            self.listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, DEFER_SECONDS)
        self._watch()

    def stop(self) -> None:
        if self.watching:
            self.loop.remove_reader(self.listener.fileno())
            self.watching = False

    def _watch(self) -> None:
        if not self.watching:
            self.loop.add_reader(self.listener.fileno(), self.accept_ready)
            self.watching = True

    def accept_ready(self) -> None:
        for _ in range(ACCEPT_BATCH):
            try:
                fd, address = self.accept()
            except _RETRY:
                return
            except OSError as exc:
                if exc.errno in _ONE_CONNECTION:
                    continue
                # Out of descriptors (or memory): connections wait in the backlog while some of ours end
                # (deadlines end idle ones).  Anything unexpected waits too, rather than spinning.
                log.warning("cannot accept connections for now (%s); retrying in %.1f s", exc.strerror, ACCEPT_PAUSE)
                self.stop()
                self.loop.call_later(ACCEPT_PAUSE, self._watch)
                return
            self.serve(_socket.socket(self.family, socket.SOCK_STREAM, 0, fd), address)

    def serve(self, sock: Any, address: Any) -> None:
        try:
            data = sock.recv(READ_SIZE, socket.MSG_DONTWAIT)
        except _RETRY:
            self._adopt(sock, self.front.protocol())  # nothing yet (the kernel's deferral ran out)
            return
        except OSError:
            sock.close()
            return
        if not data:
            sock.close()
            return
        conn = self.front.protocol()
        transport = Unregistered(sock, address)
        try:
            conn.connection_made(transport)
            conn.data_received(data)
        except Exception:  # a bug: this connection is lost, the listener and the worker are not
            log.exception("serving a new connection from %s failed", address)
            conn.connection_lost(None)
            sock.close()
            return
        if transport.closed and (transport.aborted or transport.send_kept()):
            self.answered += 1
            conn.connection_lost(None)  # (before the client can see the close)
            sock.close()
            return
        transport.send_kept()  # what is answered goes now; the rest follows on the loop's transport
        transport.get_extra_info("sockname")  # kept now: a request's task may ask once the socket is the loop's
        conn.writing_paused = True  # no request starts, no file streams, until the transport is there
        self._adopt(sock, conn)

    def _adopt(self, sock: Any, conn: Any) -> None:
        self.adopted += 1
        whole = socket.socket(self.family, socket.SOCK_STREAM, 0, sock.detach())
        whole.setblocking(False)
        whole.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        task = self.loop.create_task(self.loop.connect_accepted_socket(lambda: conn, whole))
        task.add_done_callback(lambda done: self._adoption_failed(done, conn, whole))

    @staticmethod
    def _adoption_failed(done: asyncio.Task[Any], conn: Any, sock: socket.socket) -> None:
        if done.cancelled() or done.exception() is not None:
            sock.close()
            if not conn.lost:
                conn.connection_lost(None if done.cancelled() else done.exception())
