"""The ``rocks`` command: a thin client that lets the running server execute the command.

Importing SQLAlchemy and the command table costs a process ~0.4 s; the server has both loaded already.
So ``rocks ARGS`` first looks for a server of the same state directory (the run file ``ksserver serve``
writes, ``<root>/run/server.json``), reads the admin token (``<root>/admin-token``) and POSTs its argv
to ``/cli/v1/run``; the server runs the very same dispatch (``ksserver.cli.run``) and answers the exit
code, stdout and stderr, reproduced here as they are.  Everything else runs the full CLI in this process
as before: ``KSSERVER_CLI_LOCAL=1``, no run file or a stale one (its process gone, connection refused),
no readable token, a refused token, a server of other settings, or a command declared ``local``.

This module imports the stdlib and ``ksserver.config`` (itself stdlib only) and nothing else: a test
pins it.  Settings are found by ``load_settings()`` itself, so the lookup is the in-process CLI's.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from dataclasses import fields
from pathlib import Path
TYPE_CHECKING = False  # typing itself costs a rocks process ~5 ms of imports
if TYPE_CHECKING:
    from typing import Any

LOCAL_ENV = "KSSERVER_CLI_LOCAL"
ENDPOINT = "/cli/v1/run"
PROTOCOL = 1
INTERNAL_ERROR = 70
# Settings of the serving process only; every other setting must match for the server to run a command.
SERVING_SETTINGS = frozenset({"bind", "workers", "threads", "server", "worker_class", "log_level",
                              "tftp_follow", "files_bind"})


def run_file(root: Path) -> Path:
    return root / "run" / "server.json"


def write_run_file(root: Path, host: str, port: int) -> Path | None:
    """Called by ``ksserver serve`` before it starts serving: where clients of this root find it.
    None when it cannot be written (no state directory yet, read-only): clients then run locally."""
    path = run_file(root)
    shown = f"[{host}]" if ":" in host else host
    tmp = path.with_name(f".server.json.{os.getpid()}")
    try:
        path.parent.mkdir(mode=0o700, exist_ok=True)
        tmp.write_text(json.dumps({"url": f"http://{shown}:{port}", "host": host, "port": port,
                                   "pid": os.getpid()}) + "\n")
        os.replace(tmp, path)  # a client never reads half a file
    except OSError:
        return None
    return path


def remove_run_file(root: Path) -> None:
    """Called when ``ksserver serve`` stops; leaves a file another server wrote since alone."""
    path = run_file(root)
    info = read_run_file(path)
    if info is not None and info.get("pid") == os.getpid():
        path.unlink(missing_ok=True)


def read_run_file(path: Path) -> dict[str, Any] | None:
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or not isinstance(info.get("host"), str) \
            or not isinstance(info.get("port"), int) or not isinstance(info.get("pid"), int):
        return None
    return info


def loopback_of(address: str) -> str:
    """Where a client on this machine reaches a server bound to ``address``."""
    if address in ("", "0.0.0.0"):
        return "127.0.0.1"
    if address == "::":
        return "::1"
    return address


def settings_fingerprint(settings: Any) -> dict[str, str]:
    """What must be equal between the client's and the server's settings (the root also resolved)."""
    out = {f.name: str(getattr(settings, f.name)) for f in fields(settings) if f.name not in SERVING_SETTINGS}
    out["root (resolved)"] = str(Path(settings.root).resolve())
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process (a server run as a service account)
    except OSError:
        return False
    return True


def _forced_local() -> bool:
    return os.environ.get(LOCAL_ENV, "").strip().lower() in ("1", "yes", "true", "on")


class ServerFailed(Exception):
    """The request reached the server and then failed: the command may or may not have run."""


def delegate(argv: list[str]) -> tuple[int, str, str] | None:
    """(exit code, stdout, stderr) of ``argv`` run by the local server, or None: run it in this process."""
    from ksserver.config import load_settings  # stdlib only
    from ksserver.errors import RocksError

    try:
        settings = load_settings()
    except RocksError:
        return None  # the in-process CLI reports a bad configuration as it always has
    info = read_run_file(run_file(settings.root))
    if info is None or not _alive(info["pid"]):
        return None
    try:
        token = (settings.root / "admin-token").read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not token:
        return None
    body = json.dumps({"protocol": PROTOCOL, "argv": argv,
                       "settings": settings_fingerprint(settings)}).encode()
    try:
        sock = socket.create_connection((info["host"], info["port"]), timeout=5)
    except OSError:
        return None  # stale run file: nothing listens there any more
    try:
        sock.settimeout(None)  # a command may take as long as it takes
        status, data = _exchange(sock, info["host"], token, body)
    except (OSError, ValueError) as exc:
        raise ServerFailed(f"{type(exc).__name__}: {exc}") from None
    finally:
        sock.close()
    if status in (401, 403, 413):
        return None  # refused before anything ran: the local CLI decides with its own database access
    try:
        answer = json.loads(data)
        if status == 200 and "local" in answer:
            return None
        if status == 200:
            return int(answer["exit"]), str(answer["stdout"]), str(answer["stderr"])
        raise ServerFailed(f"HTTP {status}: {answer.get('error', '')}")
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ServerFailed(f"HTTP {status}: unreadable answer {data[:200]!r}") from None


def _exchange(sock: socket.socket, host: str, token: str, body: bytes) -> tuple[int, bytes]:
    """One HTTP/1.1 POST on a connection closed after it; (status, body).  A raw socket, because
    http.client alone costs this short-lived process ~30 ms of imports (the email package)."""
    shown = f"[{host}]" if ":" in host else host
    head = (f"POST {ENDPOINT} HTTP/1.1\r\nHost: {shown}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    sock.sendall(head.encode("latin-1") + body)
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
    raw = b"".join(chunks)
    header_blob, sep, payload = raw.partition(b"\r\n\r\n")
    if not sep:
        raise ValueError("the server closed the connection before a complete answer")
    lines = header_blob.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    if headers.get("transfer-encoding", "").lower() == "chunked":
        payload = _unchunk(payload)
    elif "content-length" in headers:
        length = int(headers["content-length"])
        if len(payload) < length:
            raise ValueError("the answer was cut short")
        payload = payload[:length]
    return status, payload


def _unchunk(data: bytes) -> bytes:
    out, pos = [], 0
    while True:
        line_end = data.index(b"\r\n", pos)
        size = int(data[pos:line_end].split(b";")[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(data[line_end + 2:line_end + 2 + size])
        pos = line_end + 2 + size + 2


def main() -> None:
    argv = sys.argv[1:]
    try:
        result = None if _forced_local() else delegate(argv)
    except ServerFailed as exc:
        sys.stderr.write(f"error: the ksserver running for this state directory failed: {exc} (the command "
                         f"may have run; {LOCAL_ENV}=1 runs rocks without the server)\n")
        sys.exit(INTERNAL_ERROR)
    except KeyboardInterrupt:
        sys.exit(130)
    if result is None:
        from ksserver.cli import main as run_here

        run_here()
        return
    code, out, err = result
    sys.stdout.write(out)
    sys.stdout.flush()
    sys.stderr.write(err)
    sys.stderr.flush()
    sys.exit(code)
