"""Who is asking for a kickstart?  Identification rules of the kickstart server (docs/security.md).

A kickstart (it carries the root password hash), a partition report, anything an installer sends,
belongs to a host identified by

1. a valid install token bound to that host, or
2. the host's own recorded address on a network marked as a provisioning network (the stock
   ``private`` network is one; ``public``, the site LAN, is not).

Anaconda's ``X-RHN-Provisioning-MAC-<n>: <dev> <mac>`` headers may only confirm that identity:
every clue present must point at the same host.  A MAC alone identifies a host only from an
unassigned address of a provisioning network whose discovery mode the admin turned on.
Loopback has no special rights; ``?client=`` previews need an admin token.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import re
import time
from collections.abc import Mapping
from typing import Any, NamedTuple

from ksserver.errors import Forbidden, HostNotFound, InvalidArgument
from ksserver.inventory import validate
from ksserver.inventory.snapshot import HostView, InventorySnapshot

_MAC_KEY = "HTTP_X_RHN_PROVISIONING_MAC_"  # and a number: X-RHN-Provisioning-MAC-<n> in a WSGI environ
_MAC_KEY_LEN = len(_MAC_KEY)
_ARCH_RE = re.compile(r"^[A-Za-z0-9_\-]{1,32}\Z", re.ASCII)
_NP_RE = re.compile(r"^[0-9]{1,5}\Z", re.ASCII)
_HEADER_WORDS = re.compile(r"[A-Za-z0-9_.:\-]{1,64}(?: [A-Za-z0-9_.:\-]{1,64}){1,3}")  # 2 to 4 plain words


class Request(NamedTuple):
    """What the web layer extracted from the HTTP request (a named tuple: immutable, and made per kickstart
    at a third of a frozen dataclass's cost)."""

    client_ip: str                      # after X-Forwarded-For handling
    macs: tuple[str, ...] = ()          # normalised MACs from the provisioning headers
    token: str | None = None
    preview: str | None = None          # ?client=NAME (an admin's preview; needs ``admin``)
    admin_token: str | None = None      # Authorization: Bearer ... (checked by the service layer)
    admin: bool = False                 # set once admin_token was verified
    headers_env: dict[str, str] | None = None  # the provisioning headers, for <eval> scripts


def parse_mac_environ(environ: Mapping[str, Any]) -> tuple[tuple[str, ...], dict[str, str]]:
    """MACs from ``X-RHN-Provisioning-MAC-n: <dev> <mac> [driver] [ks]`` (as ``HTTP_X_RHN_PROVISIONING_MAC_n``
    in a WSGI environ) and the HTTP_* env for evals.

    Header values reach ``<eval>`` scripts as environment variables, so anything but plain words
    (device, MAC, driver, the ``ks`` flag) is refused rather than passed on."""
    macs: list[str] = []
    env: dict[str, str] = {}
    for key, value in environ.items():
        if not key.startswith(_MAC_KEY) or not (key[_MAC_KEY_LEN:].isascii() and key[_MAC_KEY_LEN:].isdigit()):
            continue
        parts = value.split()
        if len(parts) < 2:
            raise InvalidArgument(f"malformed {_header_name(key)} header (expected '<device> <mac>')")
        words = " ".join(parts)
        if not _HEADER_WORDS.fullmatch(words):
            raise InvalidArgument(f"malformed {_header_name(key)} header: unexpected characters")
        macs.append(validate.mac(parts[1]))
        env[key] = words
    return tuple(macs), env


def _header_name(key: str) -> str:
    return key[5:].replace("_", "-")


def client_address(remote_addr: str, forwarded_for: str | None, trusted_proxies: tuple[str, ...]) -> str:
    """The peer address, or the last untrusted hop of X-Forwarded-For when the peer is a trusted proxy."""
    if remote_addr not in trusted_proxies:
        return remote_addr
    if not forwarded_for:
        # A same-box proxy that forgets the header would otherwise turn every client into the proxy.
        raise Forbidden(f"request through trusted proxy {remote_addr} carries no X-Forwarded-For client address")
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in trusted_proxies:
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                raise Forbidden(f"unparseable X-Forwarded-For hop {hop!r}") from None
    return remote_addr


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _host_for_token(snap: InventorySnapshot, token: str) -> HostView:
    row = snap.tokens.get(hash_token(token))
    host = snap.host(row.host_id) if row else None
    if row is None or host is None or row.revoked or (row.expires_at and row.expires_at < time.time()):
        raise Forbidden("install token is unknown, expired or revoked")
    return host


def identify(snap: InventorySnapshot, req: Request) -> HostView:
    """The host this request belongs to, or Forbidden with a one-line reason."""
    if req.preview is not None:
        if not req.admin:
            raise Forbidden(f"client={req.preview} previews need an admin token (Authorization: Bearer ...)")
        host = snap.host(snap.by_name.get(req.preview.lower()))
        if host is None:
            raise HostNotFound(f"unknown host {req.preview!r}")
        return host
    by_token = _host_for_token(snap, req.token) if req.token else None
    by_ip = snap.host(snap.by_ip.get(req.client_ip))
    by_mac: HostView | None = None
    if req.macs:
        hosts, by_mac_index = snap.hosts, snap.by_mac
        found: dict[int, HostView] = {}
        for mac in req.macs:
            hid = by_mac_index.get(mac)
            if hid in hosts:
                found[hid] = hosts[hid]
        if len(found) > 1:
            names = ", ".join(sorted(h.name for h in found.values()))
            raise Forbidden(f"MAC headers from {req.client_ip} belong to different hosts ({names})")
        by_mac = next(iter(found.values()), None)
    if by_token is None and by_ip is None:
        if by_mac is None:
            macs = " ".join(req.macs) or "no MAC headers"
            raise Forbidden(f"unknown host: {req.client_ip} ({macs}) is not a host's address on a provisioning "
                            f"network, and no install token was given")
        _check_discovery_source(snap, req)
    # Every clue present names the same host: the first (token, then address, then MAC) against the others.
    first_what, first = ("token", by_token) if by_token else ("IP", by_ip) if by_ip else ("MAC", by_mac)
    for what, other in (("IP", by_ip), ("MAC", by_mac)):
        if other is not None and other is not first and other.id != first.id:  # type: ignore[union-attr]
            raise Forbidden(f"{first_what} says {first.name} but {what} says {other.name}: refusing "  # type: ignore[union-attr]
                            f"{req.client_ip}")
    return first  # type: ignore[return-value]


def _check_discovery_source(snap: InventorySnapshot, req: Request) -> None:
    """A MAC alone (no known address, no token) identifies a host only from an address of a provisioning
    network in discovery mode that no host owns (a DHCP pool): MACs are not secrets."""
    known = snap.discovery_source(req.client_ip)
    if known is None:
        raise Forbidden(f"bad client address {req.client_ip!r}")
    if not known:
        raise Forbidden(f"{req.client_ip} is not on a provisioning network in discovery mode; a MAC header "
                        f"alone does not identify a host from there")
    if req.client_ip in snap.owned_ips:
        raise Forbidden(f"{req.client_ip} belongs to another host's interface; a MAC header cannot claim it")


@functools.lru_cache(maxsize=64)  # every installer of a storm says the same few things
def validate_install_report(arch: str | None, np: str | None) -> tuple[str | None, int | None]:
    """Check the arch= and np= query values the installer sends (Rocks 6.2 refused odd ones)."""
    if arch is not None and not _ARCH_RE.match(arch):
        raise InvalidArgument("bad arch value")
    cpus = None
    if np is not None:
        if not _NP_RE.match(np):  # ASCII digits only: int() would take '\uff17' and friends
            raise InvalidArgument("bad np value")
        cpus = int(np)
        if not 1 <= cpus <= 65536:
            raise InvalidArgument("bad np value")
    return arch, cpus
