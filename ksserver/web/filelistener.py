"""The install-tree listener: files under ``/install/`` sent by the kernel (sendfile), beside granian.

Why a second listener: granian copies a response's bytes twice (into Rust under the GIL, then into the
socket), so 300 KB packages came out at ~0.6 of nginx; here the kernel moves the pages and Python only
parses the request head (docs/performance.md).  Installers reach it through the kickstart's ``url`` line
(attribute ``Kickstart_PrivateInstallHost``); the main port still serves the same files.

Shape: ``ksserver serve`` binds the socket and starts one supervisor process (``python -m
ksserver.web.filelistener``), which forks ``workers`` processes sharing it and re-forks any that dies.
A worker gives each connection a thread: reading a head, ``open``, ``fstat`` and ``sendfile`` all release
the GIL, so a 200 MB download or a client trickling its headers costs a sleeping thread, never a worker.
The same confinement rule as every other path to the tree (``resolve_install_file``: no dotfiles, no
escape by ``..`` or links), ETag/If-Modified-Since (304), one Range (206/416), HEAD, keep-alive.
Anything but GET/HEAD of a file is refused here: views (kickstart.cgi, reports) live on the main port."""

from __future__ import annotations

import email.utils
import logging
import os
import pickle
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from urllib.parse import unquote

from ksserver.config import Settings
from ksserver.web.install_cache import InstallFile, InstallFileCache, file_plan

log = logging.getLogger("ksserver.files")

PREFIX = "/install/"
HEAD_LIMIT = 16 * 1024        # bytes of request line + headers; more is a 431
IDLE_TIMEOUT = 30.0           # seconds a recv or a send may wait (idle keep-alive, trickled head, stalled reader)
HEAD_DEADLINE = 30.0          # seconds a whole request head may take to arrive, however it is trickled
MAX_CONNECTIONS = 2048        # per worker process; further clients wait in the kernel's accept queue
_STATUS = {200: "OK", 206: "Partial Content", 304: "Not Modified", 400: "Bad Request", 404: "Not Found",
           405: "Method Not Allowed", 416: "Range Not Satisfiable", 431: "Request Header Fields Too Large",
           505: "HTTP Version Not Supported"}


class _Closed(Exception):
    """The client went away, stalled or sent something that ends the connection."""


class FileServer:
    """One worker process's server on an already listening socket."""

    def __init__(self, settings: Settings, listener: socket.socket, idle_timeout: float = IDLE_TIMEOUT,
                 head_deadline: float = HEAD_DEADLINE, max_connections: int = MAX_CONNECTIONS):
        self.settings, self.listener = settings, listener
        # No bodies kept in memory: sendfile reads the page cache directly.
        self.files = InstallFileCache(settings.dist_dir, max_body=0)
        self._files_lock = threading.Lock()
        self._timeval = struct.pack("ll", int(idle_timeout), int((idle_timeout % 1) * 1e6))
        self.head_deadline = head_deadline
        self._slots = threading.BoundedSemaphore(max_connections)
        self._date = (0, "")
        self._heads: dict[str, tuple[InstallFile, int, bool, bytes]] = {}
        self._db = None
        self._look_lock = threading.Lock()
        self._looks_started = 0

    def serve_forever(self) -> None:
        while True:
            self._slots.acquire()
            try:
                conn, _ = self.listener.accept()
            except OSError as exc:  # out of descriptors: let some connections end first
                self._slots.release()
                if self.listener.fileno() < 0:
                    return  # closed: this server is done
                log.warning("accept: %s", exc)
                time.sleep(0.1)
                continue
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # Kernel timeouts on a blocking socket: a stalled recv or sendfile fails with EAGAIN.
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, self._timeval)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, self._timeval)
            pending = b""
            while True:
                end = pending.find(b"\r\n\r\n")
                if end < 0:
                    pending = self._read_head(conn, pending)
                    continue
                if end > HEAD_LIMIT:
                    self._send_error(conn, 431, close=True)
                    return
                head, pending = pending[:end], pending[end + 4:]
                if not self._answer(conn, head):
                    return
        except (_Closed, OSError):
            pass
        except Exception:  # a bug: this connection ends, the worker goes on
            log.exception("file listener connection failed")
        finally:
            conn.close()
            self._slots.release()

    def _read_head(self, conn: socket.socket, pending: bytes) -> bytes:
        """``pending`` plus what arrives until a whole request head is there (the caller splits it)."""
        started = time.monotonic()
        while True:
            if len(pending) > HEAD_LIMIT:
                self._send_error(conn, 431, close=True)
                raise _Closed
            chunk = conn.recv(65536)
            if not chunk:
                raise _Closed
            pending += chunk
            if pending.find(b"\r\n\r\n") >= 0:
                return pending
            if time.monotonic() - started > self.head_deadline:
                raise _Closed

    def _answer(self, conn: socket.socket, head: bytes) -> bool:
        """Answer one request; False when the connection ends with it."""
        first, _, rest = head.partition(b"\r\n")
        parts = first.split(b" ")
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
            self._send_error(conn, 400 if len(parts) != 3 else 505, close=True)
            return False
        method, target, version = parts
        headers = _headers(rest)
        if headers is None:
            self._send_error(conn, 400, close=True)
            return False
        connection = headers.get("connection", "").lower()
        keep = ("close" not in connection) if version == b"HTTP/1.1" else ("keep-alive" in connection)
        # A body we would not read: answer, then close, so it is never taken for the next request.
        if headers.get("transfer-encoding") or headers.get("content-length", "0") not in ("", "0"):
            keep = False
        if method not in (b"GET", b"HEAD"):
            self._send(conn, 405, [("Allow", "GET, HEAD")] + _text_headers(b"method not allowed\n"),
                       b"method not allowed\n", close=True)
            return False
        rel = _relative_path(target)
        entry = self._lookup(rel) if rel is not None else None
        if entry is None:
            self._send(conn, 404, _text_headers(b"not found\n"), b"" if method == b"HEAD" else b"not found\n",
                       close=not keep)
            return keep
        status, extra, span = file_plan(entry, headers)
        if method == b"HEAD" or status in (304, 416):
            self._send(conn, status, extra, b"", close=not keep)
            return keep
        return self._send_file(conn, rel, entry, status, extra, span, keep)  # type: ignore[arg-type]

    def _lookup(self, rel: str) -> InstallFile | None:
        with self._files_lock:
            entry = self.files.lookup(rel)
        if entry is None:
            from ksserver import published  # SQLAlchemy loads on the first miss, not at start

            if published.may_be_published(rel):
                entry = self._lookup_after_catching_up(rel)
        return entry

    def _lookup_after_catching_up(self, rel: str) -> InstallFile | None:
        """As the granian front: a miss under rocks-dist/ first writes what the database has published
        and this instance lacks; misses arriving during a look share the next one."""
        asked_at = self._looks_started
        with self._look_lock:
            if self._looks_started == asked_at:
                self._looks_started += 1
                if self._db is None:
                    from ksserver.db.session import Database

                    self._db = Database.from_url(self.settings.effective_database_url)
                from ksserver import published

                published.catch_up(self.settings, self._db)
        with self._files_lock:
            self.files.forget(rel)
            return self.files.lookup(rel)

    def _send_file(self, conn: socket.socket, rel: str, entry: InstallFile, status: int,
                   headers: list[tuple[str, str]], span: tuple[int, int] | None, keep: bool) -> bool:
        fd = _open_same(entry)
        if fd is None:  # replaced or removed since it was looked at: look again, once
            with self._files_lock:
                self.files.forget(rel)
                fresh = self.files.lookup(rel)
            fd = _open_same(fresh) if fresh is not None else None
            if fd is None:
                self._send(conn, 404, _text_headers(b"not found\n"), b"not found\n", close=not keep)
                return keep
            entry = fresh  # type: ignore[assignment]
            status, headers, span = file_plan(entry, {})  # the validators described the old file
        try:
            start, end = span or (0, entry.size)
            data = self._plain_head(entry, not keep) if headers is entry.ok_headers else \
                self._head(status, headers, not keep)
            # MSG_MORE holds the head back so it leaves in one segment with the file's first bytes.
            sent = conn.send(data, socket.MSG_MORE)
            while sent < len(data):
                sent += conn.send(data[sent:], socket.MSG_MORE)
            out = conn.fileno()
            while start < end:
                sent = os.sendfile(out, fd, start, end - start)
                if sent == 0:  # truncated under us: the length promised cannot be kept
                    raise _Closed
                start += sent
        finally:
            os.close(fd)
        return keep

    def _head(self, status: int, headers: list[tuple[str, str]], close: bool) -> bytes:
        now = int(time.time())
        if self._date[0] != now:
            self._date = (now, email.utils.formatdate(now, usegmt=True))
        lines = [f"HTTP/1.1 {status} {_STATUS[status]}", f"Date: {self._date[1]}", "Server: ksserver"]
        lines += [f"{k}: {v}" for k, v in headers]
        if close:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _plain_head(self, entry: InstallFile, close: bool) -> bytes:
        """The head of a plain 200 for ``entry``, built once per file and second (the Date changes)."""
        now = int(time.time())
        kept = self._heads.get(entry.real)
        if kept is not None and kept[0] is entry and kept[1] == now and kept[2] == close:
            return kept[3]
        data = self._head(200, entry.ok_headers, close)
        if len(self._heads) >= 4096:
            self._heads.clear()
        self._heads[entry.real] = (entry, now, close, data)
        return data

    def _send(self, conn: socket.socket, status: int, headers: list[tuple[str, str]], body: bytes,
              close: bool) -> None:
        conn.sendall(self._head(status, headers, close) + body)

    def _send_error(self, conn: socket.socket, status: int, close: bool) -> None:
        body = f"{_STATUS[status].lower()}\n".encode()
        self._send(conn, status, _text_headers(body), body, close)


def _headers(block: bytes) -> dict[str, str] | None:
    """Lower-cased names -> values (repeated ones joined with ', '); None for a malformed line."""
    headers: dict[str, str] = {}
    for line in block.split(b"\r\n") if block else ():
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip():
            return None
        key = name.decode("latin-1").lower()
        text = value.strip().decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


def _text_headers(body: bytes) -> list[tuple[str, str]]:
    return [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]


def _relative_path(target: bytes) -> str | None:
    """The decoded path under /install/ that a request target names (origin or absolute form), or None."""
    if target.startswith((b"http://", b"https://")):
        slash = target.find(b"/", target.find(b"//") + 2)
        target = target[slash:] if slash >= 0 else b"/"
    path = target.split(b"?", 1)[0].split(b"#", 1)[0]
    try:
        text = path.decode("ascii")
        if "%" in text:
            text = unquote(text, errors="strict")
    except (UnicodeDecodeError, ValueError):
        return None
    return text[len(PREFIX):] if text.startswith(PREFIX) else None


def _open_same(entry: InstallFile) -> int | None:
    """A descriptor of ``entry.real`` if it is still the file that was checked (size and mtime), else None."""
    try:
        fd = os.open(entry.real, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return None
    st = os.fstat(fd)
    if (st.st_size, st.st_mtime_ns) != (entry.size, entry.mtime_ns):
        os.close(fd)
        return None
    return fd


# --- processes --------------------------------------------------------------------------------------

def listen(address: str, port: int, backlog: int = 4096) -> socket.socket:
    """The listening socket ``ksserver serve`` binds before it starts the supervisor (a port in use is an
    error the admin sees at once, not in a child's log)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return socket.create_server((address, port), family=family, backlog=backlog)


def _serve_files(settings: Settings, listener: socket.socket) -> None:
    threading.stack_size(512 * 1024)  # thousands of connection threads, each mostly asleep
    FileServer(settings, listener).serve_forever()


def supervise(settings: Settings, listener: socket.socket, workers: int, parent: int | None,
              serve: Callable[[Settings, socket.socket], None] = _serve_files, name: str = "file listener") -> None:
    """Fork ``workers`` processes running ``serve`` on ``listener`` (re-forking any that ends) until
    ``parent`` (None: no parent watched) is gone or a SIGTERM/SIGINT arrives; then end them and return.
    ``ksserver serve``'s default front runs its workers with this too (ksserver.web.uvfront)."""
    children: dict[int, float] = {}
    stopping = threading.Event()

    def stop(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def fork() -> None:
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            try:
                serve(settings, listener)
            finally:
                os._exit(1)
        children[pid] = time.monotonic()

    for _ in range(max(1, workers)):
        fork()
    while not stopping.is_set() and (parent is None or os.getppid() == parent):
        stopping.wait(0.5)
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            started = children.pop(pid, None)
            if started is not None and not stopping.is_set():
                log.error("%s worker %d ended (status %d): starting another", name, pid, status)
                if time.monotonic() - started < 1:
                    time.sleep(1)  # a worker that dies at once is not re-forked in a tight loop
                fork()
    for pid in children:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for pid in children:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def main() -> None:
    """``python -m ksserver.web.filelistener FD WORKERS PARENT``, the pickled Settings on stdin (written by
    ``ksserver serve``, its own parent: never a client's bytes)."""
    fd, workers, parent = (int(arg) for arg in sys.argv[1:4])
    settings: Settings = pickle.loads(sys.stdin.buffer.read())
    logging.basicConfig(level=settings.log_level.upper(), format="[%(levelname)s] %(name)s: %(message)s")
    listener = socket.socket(fileno=fd)
    supervise(settings, listener, workers, parent)


if __name__ == "__main__":
    main()
