"""rocks report proxy: the nginx or HAProxy configuration for several ksserver instances (docs/scale-out.md)."""

from __future__ import annotations

from ksserver.cli.context import Context
from ksserver.cli.registry import INT, Call, Choice, Param, command


@command("report", "proxy", summary="Print an nginx.conf (or haproxy.cfg) that spreads installers over ksserver "
                                     "instances and retries on a live one when an instance dies.",
         needs_db=False,
         params={"backends": Param("comma-separated HOST:PORT of the ksserver instances (required)"),
                 "listen": Param("address:port the proxy listens on (default 0.0.0.0:80)"),
                 "scratch": Param("directory for the proxy's pid, logs and temp files (default: its own)"),
                 "workers": Param("nginx worker processes, or HAProxy threads (default 2)", INT, 2),
                 "format": Param("which proxy: nginx or haproxy (default nginx)", Choice(("nginx", "haproxy")),
                                 "nginx")},
         details="List the proxy's address in every instance's trusted_proxies: the proxy sets "
                 "X-Forwarded-For to the client it saw, and only then is the header believed.")
def report_proxy(ctx: Context, call: Call) -> None:
    from ksserver.errors import InvalidArgument
    from ksserver.proxyconf import haproxy_proxy_config, nginx_proxy_config

    if not call.has("backends"):
        raise InvalidArgument("backends= is required (HOST:PORT,HOST:PORT)")
    backends = [b.strip() for b in call["backends"].split(",") if b.strip()]
    render = haproxy_proxy_config if call["format"] == "haproxy" else nginx_proxy_config
    ctx.out.write(render(call["listen"] or "0.0.0.0:80", backends, call["scratch"], call["workers"]))
