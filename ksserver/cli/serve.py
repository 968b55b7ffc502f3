"""``ksserver serve``: the production kickstart server (gunicorn, threaded workers)."""

from __future__ import annotations

import argparse
import sys

from ksserver.config import load_settings
from ksserver.errors import RocksError


def _gunicorn_app(settings, bind: str, workers: int, threads: int):  # type: ignore[no-untyped-def]
    from gunicorn.app.base import BaseApplication

    from ksserver.web import create_app

    class KsServer(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            # gunicorn silently turns "sync" into "gthread" when threads > 1: keep sync really sync.
            options = {"bind": bind, "workers": workers,
                       "threads": threads if settings.worker_class == "gthread" else 1,
                       "worker_class": settings.worker_class,
                       # Installers beyond workers*threads wait in the accept queue instead of
                       # being refused: dracut's curl retries only ~3 times.
                       "worker_connections": 2000, "backlog": 4096, "keepalive": 5, "timeout": 60,
                       "accesslog": None, "errorlog": "-", "loglevel": settings.log_level.lower(),
                       # gunicorn's control socket lives in ~/.gunicorn: two servers would fight over it.
                       "control_socket_disable": True}
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):  # type: ignore[no-untyped-def]
            return create_app(settings)

    return KsServer()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ksserver", description="ksserver kickstart server")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the production server for $KSSERVER_ROOT")
    serve.add_argument("--bind", help="address:port (default from settings, 127.0.0.1:8080)")
    serve.add_argument("--workers", type=int, help="worker processes (default from settings)")
    serve.add_argument("--threads", type=int, help="threads per worker, gthread only (default from settings)")
    serve.add_argument("--worker-class", choices=("sync", "gthread"), help="gunicorn worker class")
    serve.add_argument("--config", help="TOML config file")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config, bind=args.bind, workers=args.workers, threads=args.threads,
                                 worker_class=args.worker_class)
    except RocksError as exc:
        sys.exit(f"error: {exc}")
    host = settings.bind
    shape = f"{settings.workers} {settings.worker_class} workers"
    if settings.worker_class == "gthread":
        shape += f" x {settings.threads} threads"
    print(f"ksserver serving {settings.root} on http://{host}/install/sbin/kickstart.cgi ({shape})", flush=True)
    _gunicorn_app(settings, settings.bind, settings.workers, settings.threads).run()


if __name__ == "__main__":
    main()
