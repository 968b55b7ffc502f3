"""nginx on loopback, started by the bench itself: the physical limit ksserver's serving is measured against.

It serves the same bytes: ``/install/`` from the same directory (sendfile on), and the kickstart path from a
file holding the kickstart ksserver returned, so both answer the same wrk script with the same body."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench.http import KS_PATH, free_port


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)


def config(port: int, install_dir: Path, kickstart_file: Path, scratch: Path, workers: int = 2) -> str:
    # The same shape as ksserver's default: two worker processes on loopback, one connection per installer.
    user = "user root;" if os.geteuid() == 0 else ""  # the bench's files are in a 0700 temporary directory
    temp = "\n".join(f"  {kind}_temp_path {scratch}/{kind};" for kind in ("client_body", "proxy", "fastcgi",
                                                                          "uwsgi", "scgi"))
    return f"""{user}
worker_processes {workers};
daemon off;
pid {scratch}/nginx.pid;
error_log {scratch}/error.log warn;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 5;
  default_type application/octet-stream;
{temp}
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    location = {KS_PATH} {{ default_type "text/plain; charset=utf-8"; alias {kickstart_file}; }}
    location /install/ {{ alias {install_dir}/; }}
  }}
}}
"""


@contextlib.contextmanager
def nginx(install_dir: Path, kickstart_body: bytes, workers: int = 2) -> Iterator[str]:
    """Yield the base URL of an nginx serving ``install_dir`` and ``kickstart_body``."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed (Debian package nginx-light)")
    scratch = Path(tempfile.mkdtemp(prefix="ksserver-bench-nginx-"))
    kickstart = scratch / "kickstart.txt"
    kickstart.write_bytes(kickstart_body)
    port = free_port()
    conf = scratch / "nginx.conf"
    conf.write_text(config(port, install_dir.resolve(), kickstart, scratch, workers))
    proc = subprocess.Popen([binary, "-c", str(conf), "-p", str(scratch)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {proc.stderr.read().decode()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("nginx did not start") from None
                time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGQUIT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(scratch, ignore_errors=True)
