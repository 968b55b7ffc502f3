"""The kickstart server's application, as an RSGI app: granian runs it (``server = granian``), and the
default front (``ksserver.web.uvfront``) runs it through an RSGI-shaped adapter.

Why not one sync worker per connection (gunicorn): a 200 MB package download or a client trickling its
headers held a whole worker, and kickstarts queued behind it.  Here the front owns every connection
(header reads and timeouts included: granian's Rust runtime, or uvfront's protocol), so this application
sees a request only once its head is complete:

- kickstart.cgi is answered on the worker's event loop (render is ~0.02 ms from the snapshot), with the
  same ``kickstart_response`` the WSGI endpoint uses;
- files under ``/install/`` are checked in Python (``resolve_install_file``: the same confinement rule
  as the Flask view; the answer kept a second by ``install_cache``) and sent from memory (small files)
  or by granian from Rust (``response_file``): no Python thread is held for the transfer.  A miss under
  rocks-dist/ first writes what the database has published and this instance lacks (another instance
  may have published it a moment ago).  granian's own static serving (2.8.9) was measured and not used:
  it ignores Range (dnf resumes with it), sends no ETag or Content-Length, serves dotfiles (lock files,
  staging trees) and answers 404 itself for paths Flask owns under /install/;
- everything else goes to the Flask app in a thread pool, its body read lazily from the connection, so a
  stranger is still refused before the server reads a byte: installers' own views under /install/
  (partition and status reports, iPXE answers) on one pool, the console and the API on another, so
  neither can starve the other.
"""

from __future__ import annotations

import asyncio
import io
import logging
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ksserver import published
from ksserver.config import Settings
from ksserver.web.install_cache import InstallFile, InstallFileCache, file_plan
from ksserver.web.kickstart import PATHS as KICKSTART_PATHS
from ksserver.web.kickstart import kickstart_response
from ksserver.web.partitions import REPORT_PATH, report_response

INSTALL_PREFIX = "/install/"
log = logging.getLogger("ksserver.web")
WARM_AFTER = 1.0  # seconds an idle new worker waits before filling its host cache
INSTALLER_THREADS_PER_THREAD = 4  # the installer pool's size, in units of the ``threads`` setting


def flask_install_paths(app: Any) -> frozenset[str]:
    """The Flask views that live under /install/ (partition reports, iPXE answers, status): everything else
    there is a file of the install tree."""
    return frozenset(r.rule for r in app.url_map.iter_rules() if r.rule.startswith(INSTALL_PREFIX))


_NOT_FOUND = b"not found\n"
_ERROR = b"internal server error\n"
_NOT_FOUND_HEADERS = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(_NOT_FOUND)))]


def client_host(client: str) -> str:
    """The address part of granian's ``host:port`` client string (IPv6 may come bracketed)."""
    host = client.rpartition(":")[0] if ":" in client else client
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def wsgi_environ(scope: Any, body: Any) -> dict[str, Any]:
    """A PEP 3333 environ for ``scope``; repeated headers are joined with ', ' as WSGI servers do."""
    server_host, _, server_port = scope.server.rpartition(":")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope.method, "SCRIPT_NAME": "",
        # WSGI carries the decoded path as latin-1 code points of its UTF-8 bytes.
        "PATH_INFO": scope.path.encode("utf-8", "surrogateescape").decode("latin-1"),
        "QUERY_STRING": scope.query_string, "SERVER_NAME": server_host or "localhost",
        "SERVER_PORT": server_port or "80", "SERVER_PROTOCOL": f"HTTP/{scope.http_version}",
        "REMOTE_ADDR": client_host(scope.client), "wsgi.version": (1, 0), "wsgi.url_scheme": scope.scheme,
        "wsgi.input": body, "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": True,
        "wsgi.run_once": False, "wsgi.input_terminated": True}
    for name, value in scope.headers.items():
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
            continue
        key = "HTTP_" + key
        environ[key] = f"{environ[key]}, {value}" if key in environ else value
    return environ


_KICKSTART_HEADERS = ("x-rhn-provisioning-mac-", "x-forwarded-for", "authorization", "host")


def kickstart_environ(scope: Any) -> dict[str, Any]:
    """The part of the environ the kickstart path reads (``kickstart.describe_request``): the hot path
    skips the rest.  Repeated headers are joined as in ``wsgi_environ``."""
    environ: dict[str, Any] = {"REQUEST_METHOD": scope.method, "PATH_INFO": scope.path,
                               "QUERY_STRING": scope.query_string, "REMOTE_ADDR": client_host(scope.client),
                               "wsgi.url_scheme": scope.scheme}  # Host + scheme: the plugin's server URL
    for name, value in scope.headers.items():
        if name.startswith(_KICKSTART_HEADERS):
            key = "HTTP_" + name.upper().replace("-", "_")
            environ[key] = f"{environ[key]}, {value}" if key in environ else value
    return environ


class _LazyBody(io.RawIOBase):
    """wsgi.input for a Flask thread: pulls chunks from the connection only when the view reads."""

    def __init__(self, proto: Any, loop: asyncio.AbstractEventLoop):
        self._proto, self._loop = proto, loop
        self._chunks: Any = None
        self._buffer = b""
        self._done = False

    def readable(self) -> bool:
        return True

    async def _next_chunk(self) -> bytes:
        if self._chunks is None:
            self._chunks = self._proto.__aiter__()
        try:
            return bytes(await self._chunks.__anext__())
        except StopAsyncIteration:
            return b""

    def read(self, size: int | None = -1) -> bytes:
        while not self._done and (size is None or size < 0 or len(self._buffer) < size):
            chunk = asyncio.run_coroutine_threadsafe(self._next_chunk(), self._loop).result()
            if not chunk:
                self._done = True
            self._buffer += chunk
        if size is None or size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def readinto(self, target: Any) -> int:
        data = self.read(len(target))
        target[:len(data)] = data
        return len(data)


class InstallerServer:
    """The RSGI application: one per granian worker process, built by ``load``."""

    def __init__(self, settings: Settings):
        from ksserver.web import create_app

        self.settings = settings
        self.flask = create_app(settings)
        self.services = self.flask.extensions["ksserver"]
        self.flask_paths = flask_install_paths(self.flask)
        self.files = InstallFileCache(settings.dist_dir)
        self.pool = ThreadPoolExecutor(max(1, settings.threads), thread_name_prefix="ksserver-flask")
        # Installers' own writes (partition and status reports under /install/) get their own, larger pool:
        # they mostly wait for a shared commit, and an admin's console cannot starve them, nor they it.
        self.installer_pool = ThreadPoolExecutor(INSTALLER_THREADS_PER_THREAD * max(1, settings.threads),
                                                 thread_name_prefix="ksserver-installer")
        self._look_lock = asyncio.Lock()  # one look at the published trees at a time (a miss under rocks-dist/)
        self._looks_started = 0
        self._warm_up()

    def _warm_up(self) -> None:
        """Read the inventory and compile the served graph before the first connection; the host cache is
        filled in the background after this worker's first answer, or once it has been idle WARM_AFTER
        seconds: every worker, not only the one that happens to get the first installer, is ready when a
        storm begins (a worker's first kickstart otherwise paid the graph's load, ~0.3 s), and a cold
        start's first answer does not share the interpreter with the warming."""
        services = self.services
        try:
            services.snapshot.sync()
            services.kickstarts.compiler(services.snapshot.generation)
        except Exception as exc:  # the first request reports it as it always did; serving goes on
            log.warning("worker warm-up: %s", exc)
            return
        timer = threading.Timer(WARM_AFTER, services.snapshot.start_warming)
        timer.daemon = True
        timer.start()

    async def __rsgi__(self, scope: Any, proto: Any) -> None:
        if scope.proto != "http":
            return
        path, method = scope.path, scope.method
        if method in ("GET", "HEAD") and path.startswith(INSTALL_PREFIX) and path not in self.flask_paths:
            if path in KICKSTART_PATHS:
                status, headers, body = kickstart_response(self.services, kickstart_environ(scope))
                proto.response_bytes(status, headers, b"" if method == "HEAD" else body)
            else:
                rel = path[len(INSTALL_PREFIX):]
                entry = self.files.lookup(rel)
                if entry is None and published.may_be_published(rel):
                    entry = await self._lookup_after_catching_up(rel)
                self._send_file(scope, proto, entry)
            return
        if method == "POST" and path == REPORT_PATH:  # one per host in a reinstall: no Flask on the way
            await self._in_thread(scope, proto, self.installer_pool, self._call_report)
            return
        await self._in_thread(scope, proto, self.installer_pool if path in self.flask_paths else self.pool,
                              self._call_flask)

    def __rsgi_del__(self, loop: Any) -> None:
        self.pool.shutdown(wait=False)
        self.installer_pool.shutdown(wait=False)
        self.services.snapshot.close()
        self.services.db.dispose()

    async def _lookup_after_catching_up(self, rel: str) -> InstallFile | None:
        """The file, once this instance has written what the database has published and it lacks
        (``published.catch_up``, on the installers' pool).  Misses that arrive while a look runs share
        the next one, not the running one, which may have begun before the publication they need; so a
        flood of misses costs one look at a time per worker."""
        asked_at = self._looks_started
        async with self._look_lock:
            if self._looks_started == asked_at:  # no look began since this request arrived: start one
                self._looks_started += 1
                await asyncio.get_running_loop().run_in_executor(
                    self.installer_pool, published.catch_up, self.settings, self.services.db)
        return self.files.lookup(rel)

    def _send_file(self, scope: Any, proto: Any, entry: InstallFile | None) -> None:
        if entry is None:
            proto.response_bytes(404, _NOT_FOUND_HEADERS, _NOT_FOUND)
            return
        status, headers, span = file_plan(entry, scope.headers)
        if scope.method == "HEAD" or status in (304, 416):
            proto.response_empty(status, headers)
        elif entry.body is not None:  # small file, kept in memory: no file I/O on tokio's blocking pool
            proto.response_bytes(status, headers, entry.body if span is None else entry.body[span[0]:span[1]])
        elif span is None:
            proto.response_file(status, headers, entry.real)
        else:
            proto.response_file_range(status, headers, entry.real, span[0], span[1])

    def _call_report(self, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        try:
            return report_response(self.services, environ)
        except Exception:  # what Flask would answer for a bug: a 500, logged with its traceback
            log.exception("POST %s failed", REPORT_PATH)
            return 500, [("Content-Type", "text/plain; charset=utf-8"),
                         ("Content-Length", str(len(_ERROR)))], _ERROR

    async def _in_thread(self, scope: Any, proto: Any, pool: ThreadPoolExecutor,
                         call: Callable[[dict[str, Any]], tuple[int, list[tuple[str, str]], bytes]]) -> None:
        loop = asyncio.get_running_loop()
        environ = wsgi_environ(scope, _LazyBody(proto, loop))
        status, headers, body = await loop.run_in_executor(pool, call, environ)
        proto.response_bytes(status, headers, body)

    def _call_flask(self, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        answer: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            answer["status"], answer["headers"] = int(status.split(" ", 1)[0]), headers

        chunks = self.flask.wsgi_app(environ, start_response)
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        return answer["status"], answer["headers"], b"" if environ["REQUEST_METHOD"] == "HEAD" else body


def load(settings: Settings) -> InstallerServer:
    """granian's target loader, called in each worker process after it starts."""
    return InstallerServer(settings)

