"""A tiny HTTP server that records every request (method, path, headers, body) as JSON lines, for
network-boot tests.  It runs as its own process so that it can be started inside a network namespace
(``ip netns exec NS python httpd.py ...``); the test reads the log to see what the guest fetched.

GET serves files under --root (the query string is ignored for the lookup); POST answers "ok".
It stops by itself after --lifetime seconds.  The part under ``__main__`` uses the stdlib only.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self
from urllib.parse import unquote, urlsplit

MAX_BODY = 1 << 20


def _serve(bind: str, port: int, root: Path, log: Path, ready: Path, lifetime: float) -> None:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def _record(self, body: bytes) -> None:
            entry = {"method": self.command, "path": self.path, "client": self.client_address[0],
                     "headers": {k.lower(): v for k, v in self.headers.items()},
                     "body": body.decode("utf-8", "replace")}
            with lock, open(log, "a") as handle:
                handle.write(json.dumps(entry) + "\n")

        def _reply(self, status: int, data: bytes, send_body: bool = True) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            if send_body:
                self.wfile.write(data)

        def _file(self) -> Path | None:
            rel = unquote(urlsplit(self.path).path).lstrip("/")
            target = (root / rel).resolve()
            if rel and target.is_relative_to(root) and target.is_file():
                return target
            return None

        def do_GET(self) -> None:
            self._record(b"")
            target = self._file()
            if target is None:
                self._reply(404, b"not found\n")
            else:
                self._reply(200, target.read_bytes())

        def do_HEAD(self) -> None:
            self._record(b"")
            target = self._file()
            self._reply(200 if target else 404, target.read_bytes() if target else b"", send_body=False)

        def do_POST(self) -> None:
            length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
            self._record(self.rfile.read(length))
            self._reply(200, b"ok\n")

        def log_message(self, format: str, *args: object) -> None:  # the JSON log is enough
            pass

    root = root.resolve()
    server = ThreadingHTTPServer((bind, port), Handler)
    server.daemon_threads = True
    timer = threading.Timer(lifetime, server.shutdown)
    timer.daemon = True
    timer.start()
    tmp = ready.with_suffix(".tmp")
    tmp.write_text(str(server.server_address[1]))
    os.replace(tmp, ready)
    server.serve_forever(poll_interval=0.2)


class RecordingServer:
    """Parent side: start the server (optionally under a command prefix such as ``ip netns exec NS``),
    learn its port, read what it recorded, stop it."""

    def __init__(self, workdir: Path, root: Path, bind: str = "127.0.0.1", prefix: list[str] | None = None,
                 lifetime: float = 300.0):
        self.workdir, self.root, self.bind = workdir, root, bind
        self.prefix = prefix or []
        self.lifetime = lifetime
        self.log = workdir / "http-requests.jsonl"
        self.port = 0
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 20.0) -> RecordingServer:
        ready = self.workdir / "http-port"
        ready.unlink(missing_ok=True)
        self.log.touch()
        cmd = [*self.prefix, sys.executable, str(Path(__file__).resolve()), "--bind", self.bind,
               "--root", str(self.root), "--log", str(self.log), "--ready", str(ready),
               "--lifetime", str(self.lifetime)]
        with open(self.workdir / "http-stderr.log", "w") as stderr:
            self.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=stderr)
        deadline = time.monotonic() + timeout
        while not ready.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("HTTP server did not start: "
                                   + (self.workdir / "http-stderr.log").read_text())
            time.sleep(0.05)
        self.port = int(ready.read_text())
        return self

    def requests(self) -> list[dict]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--ready", type=Path, required=True)
    parser.add_argument("--lifetime", type=float, default=300.0)
    args = parser.parse_args()
    _serve(args.bind, args.port, args.root, args.log, args.ready, args.lifetime)


if __name__ == "__main__":
    main()
