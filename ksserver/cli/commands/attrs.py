"""Attributes: rocks set|list|remove attr, ... host attr, ... appliance attr, ... os attr, report host attr."""

from __future__ import annotations

import json

from ksserver.cli.output import emit
from ksserver.cli.registry import command
from ksserver.errors import InvalidArgument
from ksserver.inventory import appliances, attributes, context, hosts

_KV = {"attr": "attribute name (instead of the positional ATTR)",
       "value": "attribute value (instead of the positional VALUE)"}


def _attr_value(args: list[str], kv: dict[str, str], targets: int | None) -> tuple[list[str], str, str]:
    """Split [TARGET...] ATTR VALUE (either may come as attr=/value=)."""
    rest = list(args)
    value = kv.get("value")
    attr = kv.get("attr")
    if value is None:
        if not rest:
            raise InvalidArgument("missing attribute value")
        value = rest.pop()
    if attr is None:
        if not rest:
            raise InvalidArgument("missing attribute name")
        attr = rest.pop()
    if targets is not None and len(rest) != targets:
        raise InvalidArgument(f"expected {targets} target name(s) before the attribute, got {rest}")
    return rest, attr, value


def _attr_only(args: list[str], kv: dict[str, str]) -> tuple[list[str], str]:
    rest = list(args)
    attr = kv.get("attr") or (rest.pop() if rest else None)
    if not attr:
        raise InvalidArgument("missing attribute name")
    return rest, attr


@command("set", "attr", summary="Set a global attribute.", args="ATTR VALUE", params=_KV)
def set_attr(ctx, args, kv):  # type: ignore[no-untyped-def]
    _, attr, value = _attr_value(args, kv, 0)
    with ctx.db.session(write=True) as session:
        attributes.set_global_attr(session, attr, value)


@command("list", "attr", summary="List global attributes.", output=True, max_args=0)
def list_attr(ctx, args, kv):  # type: ignore[no-untyped-def]
    with ctx.db.session() as session:
        rows = sorted(attributes.global_attrs(session).items())
    emit(ctx.out, kv.get("output-format"), ["ATTR", "VALUE"], rows)


@command("remove", "attr", summary="Remove a global attribute.", args="ATTR", params={"attr": _KV["attr"]})
def remove_attr(ctx, args, kv):  # type: ignore[no-untyped-def]
    _, attr = _attr_only(args, kv)
    with ctx.db.session(write=True) as session:
        attributes.remove_global_attr(session, attr)


@command("set", "os", "attr", summary="Set an attribute for every host of an os.", args="OS ATTR VALUE",
         params=_KV)
def set_os_attr(ctx, args, kv):  # type: ignore[no-untyped-def]
    (os_name,), attr, value = _attr_value(args, kv, 1)
    with ctx.db.session(write=True) as session:
        attributes.set_os_attr(session, os_name, attr, value)


@command("list", "os", "attr", summary="List os attributes.", args="[OS]", max_args=1, output=True)
def list_os_attr(ctx, args, kv):  # type: ignore[no-untyped-def]
    with ctx.db.session() as session:
        rows = [(r.os, r.attr, r.value) for r in attributes.os_attrs(session, args[0] if args else None)]
    emit(ctx.out, kv.get("output-format"), ["OS", "ATTR", "VALUE"], rows)


@command("remove", "os", "attr", summary="Remove an os attribute.", args="OS ATTR", params={"attr": _KV["attr"]})
def remove_os_attr(ctx, args, kv):  # type: ignore[no-untyped-def]
    rest, attr = _attr_only(args, kv)
    if len(rest) != 1:
        raise InvalidArgument("usage: rocks remove os attr OS ATTR")
    with ctx.db.session(write=True) as session:
        attributes.remove_os_attr(session, rest[0], attr)


@command("set", "appliance", "attr", summary="Set an appliance attribute.", args="APPLIANCE ATTR VALUE",
         params=_KV)
def set_appliance_attr(ctx, args, kv):  # type: ignore[no-untyped-def]
    (name,), attr, value = _attr_value(args, kv, 1)
    with ctx.db.session(write=True) as session:
        attributes.set_appliance_attr(session, appliances.get_appliance(session, name), attr, value)


@command("list", "appliance", "attr", summary="List appliance attributes.", args="[APPLIANCE...]", output=True)
def list_appliance_attr(ctx, args, kv):  # type: ignore[no-untyped-def]
    with ctx.db.session() as session:
        apps = [appliances.get_appliance(session, a) for a in args] if args else appliances.list_appliances(session)
        rows = [(a.name, k, v) for a in apps for k, v in sorted(attributes.appliance_attrs(session, a).items())]
    emit(ctx.out, kv.get("output-format"), ["APPLIANCE", "ATTR", "VALUE"], rows)


@command("remove", "appliance", "attr", summary="Remove an appliance attribute.", args="APPLIANCE ATTR",
         params={"attr": _KV["attr"]})
def remove_appliance_attr(ctx, args, kv):  # type: ignore[no-untyped-def]
    rest, attr = _attr_only(args, kv)
    if len(rest) != 1:
        raise InvalidArgument("usage: rocks remove appliance attr APPLIANCE ATTR")
    with ctx.db.session(write=True) as session:
        attributes.remove_appliance_attr(session, appliances.get_appliance(session, rest[0]), attr)


@command("set", "host", "attr", summary="Set an attribute on hosts.", args="HOST [HOST...] ATTR VALUE",
         params=_KV)
def set_host_attr(ctx, args, kv):  # type: ignore[no-untyped-def]
    names, attr, value = _attr_value(args, kv, None)
    if not names:
        raise InvalidArgument("usage: rocks set host attr HOST [HOST...] ATTR VALUE")
    with ctx.db.session(write=True) as session:
        for host in hosts.get_hosts(session, names):
            attributes.set_host_attr(session, host, attr, value)


@command("remove", "host", "attr", summary="Remove an attribute from hosts.", args="HOST [HOST...] ATTR",
         params={"attr": _KV["attr"]})
def remove_host_attr(ctx, args, kv):  # type: ignore[no-untyped-def]
    names, attr = _attr_only(args, kv)
    if not names:
        raise InvalidArgument("usage: rocks remove host attr HOST [HOST...] ATTR")
    with ctx.db.session(write=True) as session:
        for host in hosts.get_hosts(session, names):
            attributes.remove_host_attr(session, host, attr)


@command("list", "host", "attr", summary="List the resolved attributes of hosts and where each comes from.",
         args="[HOST...]", params={"attr": "show only this attribute"}, output=True,
         details="SOURCE is global, os, appliance, host or intrinsic (from the host's own record).")
def list_host_attr(ctx, args, kv):  # type: ignore[no-untyped-def]
    rows = []
    with ctx.db.session() as session:
        for host in hosts.get_hosts(session, args):
            for item in sorted(context.resolved_attrs(session, host).values(), key=lambda r: r.attr):
                if kv.get("attr") in (None, item.attr):
                    rows.append((host.name, item.attr, item.value, item.source))
    emit(ctx.out, kv.get("output-format"), ["HOST", "ATTR", "VALUE", "SOURCE"], rows)


@command("report", "host", "attr", summary="Print a host's resolved attributes as key:value lines.",
         args="HOST", min_args=1, max_args=1,
         params={"attr": "print only this attribute's value", "pydict": "yes: print one JSON object instead"})
def report_host_attr(ctx, args, kv):  # type: ignore[no-untyped-def]
    with ctx.db.session() as session:
        attrs = {k: r.value for k, r in context.resolved_attrs(session, hosts.get_host(session, args[0])).items()}
    if "attr" in kv:
        if kv["attr"] not in attrs:
            raise InvalidArgument(f"host {args[0]} has no attribute {kv['attr']!r}")
        ctx.out.write(attrs[kv["attr"]] + "\n")
    elif kv.get("pydict", "no").lower() in ("yes", "true", "1"):
        ctx.out.write(json.dumps(dict(sorted(attrs.items())), indent=1) + "\n")
    else:
        ctx.out.write("".join(f"{k}:{v}\n" for k, v in sorted(attrs.items())))


@command("set", "password", summary="Set the root password of installed nodes (stored as a SHA-512 crypt hash).",
         max_args=0,
         params={"password": "the password (default: read from the terminal twice, or one line of stdin)",
                 "hash": "an existing $6$ crypt hash instead of a password"},
         details="The hash goes into the global attribute Kickstart_PrivateRootPassword, which the stock "
                 "graph emits as 'rootpw --iscrypted'.")
def set_password(ctx, args, kv):  # type: ignore[no-untyped-def]
    import getpass
    import sys

    from ksserver.passwords import sha512_crypt

    if "hash" in kv:
        hashed = kv["hash"]
        if not hashed.startswith(("$6$", "$5$", "$y$")):
            raise InvalidArgument("hash= must be a crypt hash ($6$..., $5$... or $y$...)")
    else:
        password = kv.get("password")
        if password is None:
            if sys.stdin.isatty():
                password = getpass.getpass("new root password: ")
                if getpass.getpass("again: ") != password:
                    raise InvalidArgument("the passwords differ")
            else:
                password = sys.stdin.readline().rstrip("\n")
        if len(password) < 8:
            raise InvalidArgument("the password must have at least 8 characters")
        hashed = sha512_crypt(password)
    with ctx.db.session(write=True) as session:
        attributes.set_global_attr(session, "Kickstart_PrivateRootPassword", hashed)
    ctx.out.write("root password hash updated\n")
