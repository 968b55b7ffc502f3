"""Attributes at global, os, appliance and host scope; the root password policy."""

from __future__ import annotations

from dataclasses import dataclass

from ksserver.errors import InvalidArgument
from ksserver.inventory import appliances, attributes, context, hosts
from ksserver.services import Cluster
from ksserver.values import MASK, is_secret_attr

SCOPES = ("global", "os", "appliance", "host")
ROOT_PASSWORD_ATTR = "Kickstart_PrivateRootPassword"
MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class AttrRow:
    target: str        # "" for global, else the os, appliance or host name
    attr: str
    value: str
    source: str        # where a host's value comes from: global, os, appliance, host, intrinsic

    def masked(self, reveal: bool) -> AttrRow:
        """The row as a listing shows it: secret values hidden unless the admin asked for them."""
        if reveal or not is_secret_attr(self.attr):
            return self
        return AttrRow(self.target, self.attr, MASK, self.source)


@dataclass(frozen=True)
class PasswordRequest:
    """Either a clear-text password (hashed here) or an existing crypt hash."""

    password: str | None = None
    hash: str | None = None


def _check_scope(scope: str, targets: list[str]) -> None:
    if scope not in SCOPES:
        raise InvalidArgument(f"unknown attribute scope {scope!r} (one of {', '.join(SCOPES)})")
    if scope == "global" and targets:
        raise InvalidArgument("global attributes take no target")
    if scope in ("os", "appliance") and len(targets) != 1:
        raise InvalidArgument(f"name exactly one {scope} (got {len(targets)})")
    if scope == "host" and not targets:
        raise InvalidArgument("name the hosts")


def set_attr(cluster: Cluster, scope: str, targets: list[str], attr: str, value: str) -> None:
    _check_scope(scope, targets)
    with cluster.db.session(write=True) as session:
        if scope == "global":
            attributes.set_global_attr(session, attr, value)
        elif scope == "os":
            attributes.set_os_attr(session, targets[0], attr, value)
        elif scope == "appliance":
            attributes.set_appliance_attr(session, appliances.get_appliance(session, targets[0]), attr, value)
        else:
            for host in hosts.get_hosts(session, targets):
                attributes.set_host_attr(session, host, attr, value)


def remove_attr(cluster: Cluster, scope: str, targets: list[str], attr: str) -> None:
    _check_scope(scope, targets)
    with cluster.db.session(write=True) as session:
        if scope == "global":
            attributes.remove_global_attr(session, attr)
        elif scope == "os":
            attributes.remove_os_attr(session, targets[0], attr)
        elif scope == "appliance":
            attributes.remove_appliance_attr(session, appliances.get_appliance(session, targets[0]), attr)
        else:
            for host in hosts.get_hosts(session, targets):
                attributes.remove_host_attr(session, host, attr)


def list_attrs(cluster: Cluster, scope: str, targets: list[str], reveal: bool = False) -> list[AttrRow]:
    """Attributes set at one scope (os and appliance: all of them when no target is named)."""
    return [r.masked(reveal) for r in _list_attrs(cluster, scope, targets)]


def _list_attrs(cluster: Cluster, scope: str, targets: list[str]) -> list[AttrRow]:
    if scope not in ("global", "os", "appliance"):
        raise InvalidArgument(f"list_attrs takes global, os or appliance, not {scope!r}")
    with cluster.db.session() as session:
        if scope == "global":
            return [AttrRow("", k, v, "global") for k, v in sorted(attributes.global_attrs(session).items())]
        if scope == "os":
            return [AttrRow(r.os, r.attr, r.value, "os")
                    for r in attributes.os_attrs(session, targets[0] if targets else None)]
        apps = ([appliances.get_appliance(session, a) for a in targets] if targets
                else appliances.list_appliances(session))
        return [AttrRow(a.name, k, v, "appliance") for a in apps
                for k, v in sorted(attributes.appliance_attrs(session, a).items())]


class _Secret(dict):
    """attr -> whether a listing masks it, decided once per attribute name."""

    def __missing__(self, attr: str) -> bool:
        secret = self[attr] = is_secret_attr(attr)
        return secret


def host_attr_table(cluster: Cluster, names: list[str], only: str | None = None, reveal: bool = False
                    ) -> list[tuple[str, str, str, str]]:
    """What 'rocks list host attr' prints: (host, attr, value, source) of the hosts by name (an unknown one is
    an error), or of all in rack/rank order, each host's attributes by name, secret values masked unless
    ``reveal``.  A few set-based selects whatever the hosts (630,000 rows at 10,000 hosts)."""
    with cluster.db.session() as session:
        resolved = list(context.resolved_attrs_of_hosts(session, names))
    secret = _Secret()
    rows: list[tuple[str, str, str, str]] = []
    for view, merged in resolved:
        name = view.name
        items = sorted(merged.items()) if only is None else [(only, merged[only])] if only in merged else []
        if reveal:
            rows += [(name, attr, value, source) for attr, (value, source) in items]
        else:
            rows += [(name, attr, MASK if secret[attr] else value, source) for attr, (value, source) in items]
    return rows


def host_attrs(cluster: Cluster, names: list[str], only: str | None = None, reveal: bool = False
               ) -> list[AttrRow]:
    """The resolved attributes of hosts, each with where its value comes from (secrets masked unless
    ``reveal``)."""
    return [AttrRow(*row) for row in host_attr_table(cluster, names, only, reveal)]


def set_root_password(cluster: Cluster, req: PasswordRequest) -> None:
    """Store the root password of installed nodes as a crypt hash (never the clear text)."""
    from ksserver.passwords import sha512_crypt

    if (req.password is None) == (req.hash is None):
        raise InvalidArgument("give either a password or a hash")
    if req.hash is not None:
        if not req.hash.startswith(("$6$", "$5$", "$y$")) or any(c.isspace() for c in req.hash):
            raise InvalidArgument("hash= must be a crypt hash ($6$..., $5$... or $y$...)")
        hashed = req.hash
    else:
        assert req.password is not None
        if len(req.password) < MIN_PASSWORD_LENGTH:
            raise InvalidArgument(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
        hashed = sha512_crypt(req.password)
    with cluster.db.session(write=True) as session:
        attributes.set_global_attr(session, ROOT_PASSWORD_ATTR, hashed)
