"""GET /install/sbin/kickstart.cgi: the requesting host's kickstart, as text/plain.

This is the boot-storm hot path, so it is a plain WSGI endpoint placed in front of Flask
(``KickstartEndpoint``): it parses only what it needs from the environ, answers from the
in-memory inventory snapshot and the compiled graph, and translates errors once, here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from ksserver import partition_kickstart
from ksserver.errors import RocksError
from ksserver.inventory import requester
from ksserver.services import installer
from ksserver.web.errors import client_of, log_refusal

PATHS = frozenset({"/install/sbin/kickstart.cgi", "/install/sbin/public/kickstart.cgi"})


def describe_request(environ: dict[str, Any], query: dict[str, list[str]],
                     trusted: tuple[str, ...]) -> requester.Request:
    remote = environ.get("REMOTE_ADDR") or ""
    client_ip = requester.client_address(remote, environ.get("HTTP_X_FORWARDED_FOR"), trusted)
    macs, env = requester.parse_mac_environ(environ)
    auth = environ.get("HTTP_AUTHORIZATION") or ""
    admin_token = auth[7:].strip() if auth[:7].lower() == "bearer " else None
    return requester.Request(client_ip=client_ip, macs=macs, token=_first(query, "token"),
                             preview=_first(query, "client"), admin_token=admin_token, headers_env=env)


def _first(query: dict[str, list[str]], key: str) -> str | None:
    values = query.get(key)
    return values[0] if values else None


def parse_query(qs: str) -> dict[str, list[str]]:
    """``parse_qs(qs, keep_blank_values=True)``; an installer's plain ``?arch=x86_64&np=1`` (nothing
    escaped) is split without it, a fifth of the request's parsing."""
    if "%" in qs or "+" in qs:
        return parse_qs(qs, keep_blank_values=True)
    out: dict[str, list[str]] = {}
    for pair in qs.split("&"):
        if pair:
            name, _, value = pair.partition("=")
            out.setdefault(name, []).append(value)
    return out


def kickstart_text(services: Any, environ: dict[str, Any]) -> str:
    query = parse_query(environ.get("QUERY_STRING") or "")
    req = describe_request(environ, query, services.settings.trusted_proxies)
    server = partition_kickstart.server_url(environ.get("wsgi.url_scheme", "http"), environ.get("HTTP_HOST"), "")
    return installer.kickstart(services.installer, req, arch=_first(query, "arch"), np=_first(query, "np"),
                               record=environ.get("REQUEST_METHOD") != "HEAD", server_url=server)


def kickstart_response(services: Any, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers, body) of a kickstart request; refusals are logged here, once.  The body is
    returned for HEAD too (its length is the Content-Length); servers drop it."""
    try:
        status, text = 200, kickstart_text(services, environ)
    except RocksError as exc:
        log_refusal(environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""),
                    client_of(environ, services.settings.trusted_proxies), exc)
        status, text = exc.status, f"{exc}\n"
    body = text.encode()
    services.snapshot.start_warming()  # after a load or a shared change, once this answer is made
    return status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))], body


class KickstartEndpoint:
    """WSGI middleware: serves the kickstart paths itself, passes everything else to Flask."""

    def __init__(self, services: Any, fallback: Callable[..., Iterable[bytes]]):
        self.services = services
        self.fallback = fallback

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") not in PATHS or environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return self.fallback(environ, start_response)
        status, headers, body = kickstart_response(self.services, environ)
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]
