"""rocks report proxy: the nginx configuration for several ksserver instances (docs/scale-out.md)."""

from __future__ import annotations

from ksserver.cli.context import Context
from ksserver.cli.registry import INT, Call, Param, command


@command("report", "proxy", summary="Print an nginx.conf that spreads installers over ksserver instances "
                                     "and retries on a live one when an instance dies.",
         needs_db=False,
         params={"backends": Param("comma-separated HOST:PORT of the ksserver instances (required)"),
                 "listen": Param("address:port nginx listens on (default 0.0.0.0:80)"),
                 "scratch": Param("directory for nginx's pid, logs and temp files (default: nginx's own)"),
                 "workers": Param("nginx worker processes (default 2)", INT, 2)},
         details="List the proxy's address in every instance's trusted_proxies: the proxy sets "
                 "X-Forwarded-For to the client it saw, and only then is the header believed.")
def report_proxy(ctx: Context, call: Call) -> None:
    from ksserver.errors import InvalidArgument
    from ksserver.proxyconf import nginx_proxy_config

    if not call.has("backends"):
        raise InvalidArgument("backends= is required (HOST:PORT,HOST:PORT)")
    backends = [b.strip() for b in call["backends"].split(",") if b.strip()]
    ctx.out.write(nginx_proxy_config(call["listen"] or "0.0.0.0:80", backends, call["scratch"],
                                     call["workers"]))
