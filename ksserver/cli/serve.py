"""``ksserver serve``: the production kickstart server (ksserver's uvloop front by default, or granian, or
gunicorn).  Also ``rocks serve``.

Parsed by the same command table as every ``rocks`` command (``--bind X`` is ``bind=X``).  Why not one
sync worker per connection, and why not granian by default: docs/performance.md."""

from __future__ import annotations

import functools
import sys
from typing import Any

from ksserver.cli.client import loopback_of, remove_run_file, write_run_file
from ksserver.cli.context import Context
from ksserver.cli.registry import INT, Call, Choice, Param, command
from ksserver.config import SERVERS, Settings, load_settings
from ksserver.errors import ConfigError


def _gunicorn_app(settings: Settings) -> Any:
    from gunicorn.app.base import BaseApplication

    from ksserver.web import create_app

    class KsServer(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            # gunicorn silently turns "sync" into "gthread" when threads > 1: keep sync really sync.
            options = {"bind": settings.bind, "workers": settings.workers,
                       "threads": settings.threads if settings.worker_class == "gthread" else 1,
                       "worker_class": settings.worker_class,
                       # Installers beyond workers*threads wait in the accept queue instead of
                       # being refused: dracut's curl retries only ~3 times.
                       "worker_connections": 2000, "backlog": 4096, "keepalive": 5, "timeout": 60,
                       "accesslog": None, "errorlog": "-", "loglevel": settings.log_level.lower(),
                       # gunicorn's control socket lives in ~/.gunicorn: two servers would fight over it.
                       "control_socket_disable": True}
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return create_app(settings)

    return KsServer()


def split_bind(bind: str) -> tuple[str, int]:
    """'host:port' or '[v6]:port' -> (host, port)."""
    host, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"bind must be ADDRESS:PORT, not {bind!r}")
    return (host[1:-1] if host.startswith("[") else host) or "0.0.0.0", int(port)


def _granian_server(settings: Settings) -> Any:
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, TaskImpl
    from granian.http import HTTP1Settings

    from ksserver.web import rsgi

    address, port = split_bind(settings.bind)
    return Granian(
        "ksserver.web.rsgi:load", address=address, port=port, interface=Interfaces.RSGI,
        workers=settings.workers, runtime_threads=1, http=HTTPModes.http1, websockets=False,
        # Rust-driven tasks: ~15 % more requests per second than asyncio's on one-fetch connections.
        # granian calls them experimental (a warning at start); every test runs with them.
        task_impl=TaskImpl.rust,
        # Every download and every waiting installer is one request in flight: let thousands wait in
        # the kernel queue and be served rather than refused (dracut's curl retries only ~3 times).
        backlog=4096, backpressure=4096,
        # A client that trickles its headers costs a Rust task, not a worker; it is dropped after 30 s.
        http1_settings=HTTP1Settings(header_read_timeout=30_000, keep_alive=True),
        log_level=settings.log_level.lower(), log_access=False, respawn_failed_workers=True,
        workers_kill_timeout=10,  # a stop is not held up by stalled downloads
    ), functools.partial(rsgi.load, settings)


def _listen(bind: str, setting: str, what: str) -> Any:
    """A listening socket on ``bind``, made here before anything starts: a port in use is a clear error
    naming the ``setting``, not a worker's log line."""
    from ksserver.web import filelistener

    address, port = split_bind(bind)
    try:
        return filelistener.listen(address, port)
    except OSError as exc:
        raise ConfigError(f"{what} cannot bind {bind} (setting {setting}): {exc.strerror}") from exc


def _start_tftp_follower(settings: Settings) -> None:
    """One follower process per instance, not per worker (ksserver.services.tftpsync).  A process, not
    a thread: the server forks (and re-forks) its workers, and a fork taken while a thread holds a lock
    copies the lock held.  It ends with this process (daemon), or notices that its parent is gone."""
    import multiprocessing
    import os

    from ksserver.services import tftpsync

    multiprocessing.get_context("spawn").Process(target=tftpsync.run_process, args=(settings, os.getpid()),
                                                 name="ksserver-tftpsync", daemon=True).start()


def _start_publish_follower(settings: Settings) -> None:
    """One process per instance writing the published trees this instance lacks from the database
    (ksserver.published), so the plugin bundle and build/ files answer here however they were published."""
    import multiprocessing
    import os

    from ksserver import published

    multiprocessing.get_context("spawn").Process(target=published.run_process, args=(settings, os.getpid()),
                                                 name="ksserver-published", daemon=True).start()


def _start_file_listener(settings: Settings) -> Any:
    """The install-tree listener (ksserver.web.filelistener): bound here, so a port in use stops ``serve``
    with a clear error; served by a supervisor process and its ``workers`` forks.  None when off."""
    import os
    import pickle
    import subprocess

    bind = settings.effective_files_bind
    if bind is None:
        return None
    with _listen(bind, "files_bind", "install-tree listener") as listener:
        proc = subprocess.Popen([sys.executable, "-m", "ksserver.web.filelistener", str(listener.fileno()),
                                 str(settings.workers), str(os.getpid())],
                                pass_fds=[listener.fileno()], stdin=subprocess.PIPE)
        assert proc.stdin is not None
        proc.stdin.write(pickle.dumps(settings))
        proc.stdin.close()
    return proc


def _stop(proc: Any) -> None:
    import subprocess

    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@command("serve",
         local=True, summary="Run the production kickstart server for $KSSERVER_ROOT (uvloop, granian or gunicorn).",
         max_args=0, needs_db=False,
         params={"bind": Param("address:port (default from settings, 127.0.0.1:8080)"),
                 "workers": Param("worker processes (default from settings)", INT),
                 "threads": Param("threads per worker: gunicorn gthread, or the Flask views of uvloop and "
                                  "granian (default from settings)", INT),
                 "server": Param("HTTP server (default from settings: uvloop)", Choice(SERVERS)),
                 "worker-class": Param("gunicorn worker class", Choice(("sync", "gthread"))),
                 "config": Param("TOML config file")},
         details="Also started as 'ksserver serve --bind ADDR:PORT --workers N'.")
def serve(ctx: Context, call: Call) -> None:
    settings = load_settings(call["config"], bind=call["bind"], workers=call["workers"], threads=call["threads"],
                             server=call["server"], worker_class=call["worker-class"]) if call.given else ctx.settings
    if settings.server in ("uvloop", "granian"):
        shape = f"{settings.server}, {settings.workers} workers"
    else:
        shape = f"gunicorn, {settings.workers} {settings.worker_class} workers"
        if settings.worker_class == "gthread":
            shape += f" x {settings.threads} threads"
    files = settings.effective_files_bind
    ctx.out.write(f"ksserver serving {settings.root} on http://{settings.bind}/install/sbin/kickstart.cgi "
                  f"({shape})" + (f"; install tree on http://{files}/install/" if files else "") + "\n")
    ctx.out.flush()
    address, port = split_bind(settings.bind)
    # The uvloop front's socket (ksserver.web.uvfront); granian and gunicorn bind their own.
    listener = _listen(settings.bind, "bind", "kickstart server") if settings.server == "uvloop" else None
    file_listener = _start_file_listener(settings)
    # Where the rocks client finds this server (ksserver.cli.client); gone when it stops.
    write_run_file(settings.root, loopback_of(address), port)
    if settings.tftp_follow:
        _start_tftp_follower(settings)
    if not settings.effective_database_url.startswith("sqlite"):
        # Several instances share a server database (docs/scale-out.md); an embedded SQLite file has one.
        _start_publish_follower(settings)
    try:
        if listener is not None:
            import logging

            from ksserver.web import filelistener, uvfront

            # The workers' log (refusals, warm-up, tracebacks) in the form of the other ksserver processes.
            logging.basicConfig(level=settings.log_level.upper(), format="[%(levelname)s] %(name)s: %(message)s")

            filelistener.supervise(settings, listener, settings.workers, None, uvfront.serve_worker,
                                   name="kickstart server")
        elif settings.server == "granian":
            server, loader = _granian_server(settings)
            server.serve(target_loader=loader, wrap_loader=False)
        else:
            _gunicorn_app(settings).run()
    finally:
        remove_run_file(settings.root)
        if file_listener is not None:
            _stop(file_listener)


def main(argv: list[str] | None = None) -> None:
    from ksserver.cli import USAGE_ERROR, run

    words = sys.argv[1:] if argv is None else argv
    if not words or words[0] not in ("serve", "help", "--help", "-h"):
        sys.stderr.write("usage: ksserver serve [--bind ADDR:PORT] [--workers N] [--threads N] "
                         "[--server uvloop|granian|gunicorn] [--worker-class sync|gthread] [--config FILE]\n")
        sys.exit(USAGE_ERROR)
    sys.exit(run(["serve", "--help"] if words[0] != "serve" else words))


if __name__ == "__main__":
    main()
