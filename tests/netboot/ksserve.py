"""A real ``ksserver serve`` for network-boot tests, on a port of its own, optionally inside a network
namespace (``prefix=ns.prefix``, bound to the namespace's server address).  Stopped (its whole process
group) on exit, whatever happened; its log stays in the state directory for the assertion messages."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

from ksserver.config import Settings
from tests.procs import free_port, stop_group

__all__ = ["free_port", "ksserver"]


def _reachable(bind: str, port: int, prefix: list[str]) -> bool:
    if not prefix:
        with contextlib.suppress(OSError), socket.create_connection((bind, port), timeout=0.5):
            return True
        return False
    probe = f"import socket; socket.create_connection(({bind!r}, {port}), timeout=0.5).close()"
    done = subprocess.run([*prefix, sys.executable, "-c", probe], check=False, capture_output=True, timeout=30)
    return done.returncode == 0


@contextlib.contextmanager
def ksserver(settings: Settings, bind: str = "127.0.0.1", prefix: list[str] | None = None,
             timeout: float = 30.0, port: int | None = None, env: dict[str, str] | None = None,
             files_port: int | None = None) -> Iterator[int]:
    """Yields the port; raises if the server does not answer within ``timeout`` seconds.  ``env``: extra
    KSSERVER_* settings for this server.  The install-tree listener gets ``files_port`` (default: a free
    port, not the kickstart port + 1, which another test's server may hold)."""
    port = port or free_port()
    environ = dict(os.environ, KSSERVER_ROOT=str(settings.root), KSSERVER_DATABASE_URL=settings.database_url,
                   KSSERVER_INSTALL_SERVER_URL=settings.install_server_url,
                   KSSERVER_FILES_BIND=f"{bind}:{files_port or free_port()}")
    environ.update(env or {})
    log_path = settings.root / "serve.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([*(prefix or []), sys.executable, "-m", "ksserver.cli.serve", "serve", "--bind",
                                 f"{bind}:{port}", "--workers", "2"], env=environ, stdout=subprocess.DEVNULL,
                                stderr=log, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while not _reachable(bind, port, prefix or []):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ksserver serve did not answer on {bind}:{port}:\n{log_path.read_text()[-2000:]}")
            time.sleep(0.1)
        yield port
    finally:
        stop_group(proc)
