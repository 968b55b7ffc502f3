"""``ksserver serve``: the production kickstart server (gunicorn).  Also ``rocks serve``.

Parsed by the same command table as every ``rocks`` command (``--bind X`` is ``bind=X``)."""

from __future__ import annotations

import sys
from typing import Any

from ksserver.cli.context import Context
from ksserver.cli.registry import INT, Call, Choice, Param, command
from ksserver.config import Settings, load_settings


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


@command("serve", summary="Run the production kickstart server for $KSSERVER_ROOT (gunicorn).", max_args=0,
         needs_db=False,
         params={"bind": Param("address:port (default from settings, 127.0.0.1:8080)"),
                 "workers": Param("worker processes (default from settings)", INT),
                 "threads": Param("threads per worker, gthread only (default from settings)", INT),
                 "worker-class": Param("gunicorn worker class", Choice(("sync", "gthread"))),
                 "config": Param("TOML config file")},
         details="Also started as 'ksserver serve --bind ADDR:PORT --workers N'.")
def serve(ctx: Context, call: Call) -> None:
    settings = load_settings(call["config"], bind=call["bind"], workers=call["workers"], threads=call["threads"],
                             worker_class=call["worker-class"]) if call.given else ctx.settings
    shape = f"{settings.workers} {settings.worker_class} workers"
    if settings.worker_class == "gthread":
        shape += f" x {settings.threads} threads"
    ctx.out.write(f"ksserver serving {settings.root} on http://{settings.bind}/install/sbin/kickstart.cgi "
                  f"({shape})\n")
    ctx.out.flush()
    _gunicorn_app(settings).run()


def main(argv: list[str] | None = None) -> None:
    from ksserver.cli import USAGE_ERROR, run

    words = sys.argv[1:] if argv is None else argv
    if not words or words[0] not in ("serve", "help", "--help", "-h"):
        sys.stderr.write("usage: ksserver serve [--bind ADDR:PORT] [--workers N] [--threads N] "
                         "[--worker-class sync|gthread] [--config FILE]\n")
        sys.exit(USAGE_ERROR)
    sys.exit(run(["serve", "--help"] if words[0] != "serve" else words))


if __name__ == "__main__":
    main()
