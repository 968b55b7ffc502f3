"""The efficiency baseline: a plain Flask app returning a fixed body, under the same gunicorn setup."""

from __future__ import annotations

import os
import sys

from flask import Flask, Response


def create() -> Flask:
    size = int(os.environ.get("BENCH_BODY_BYTES", "32768"))
    body = ("#" * 79 + "\n") * (size // 80) + "#" * (size % 80)
    app = Flask("static")

    @app.get("/install/sbin/kickstart.cgi")
    def fixed_body() -> Response:
        return Response(body, mimetype="text/plain")

    return app


def main() -> None:
    from gunicorn.app.base import BaseApplication

    bind, workers = sys.argv[1], int(sys.argv[2])  # argv[3] (threads) is ignored: sync workers

    class App(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            # Same shape as ksserver's default: real sync workers (gunicorn makes threads > 1 gthread).
            for key, value in {"bind": bind, "workers": workers, "threads": 1, "worker_class": "sync",
                               "worker_connections": 2000, "backlog": 4096, "keepalive": 5,
                               "accesslog": None, "loglevel": "warning", "control_socket_disable": True}.items():
                self.cfg.set(key, value)

        def load(self):  # type: ignore[no-untyped-def]
            return create()

    App().run()


if __name__ == "__main__":
    main()
