"""Attributes: rocks set|list|remove attr, ... host attr, ... appliance attr, ... os attr, report host attr."""

from __future__ import annotations

import getpass
import json

from ksserver.cli.context import Context
from ksserver.cli.output import emit
from ksserver.cli.registry import BOOL, Call, Param, command
from ksserver.errors import InvalidArgument
from ksserver.services import attrs
from ksserver.services.attrs import PasswordRequest

_ATTR = Param("attribute name (instead of the positional ATTR)")
_SECRETS = Param("show the values of secret attributes (passwords, keys, tokens) instead of ********", BOOL, False)
_KV = {"attr": _ATTR, "value": Param("attribute value (instead of the positional VALUE)")}


def _attr_value(call: Call) -> tuple[list[str], str, str]:
    """Split [TARGET...] ATTR VALUE (either may come as attr=/value=)."""
    rest = list(call.args)
    value = call["value"] if call.has("value") else (rest.pop() if rest else None)
    attr = call["attr"] if call.has("attr") else (rest.pop() if rest else None)
    if value is None or attr is None:
        raise InvalidArgument(f"missing attribute {'value' if value is None else 'name'}")
    return rest, attr, value


def _attr_only(call: Call) -> tuple[list[str], str]:
    rest = list(call.args)
    attr = call["attr"] if call.has("attr") else (rest.pop() if rest else None)
    if not attr:
        raise InvalidArgument("missing attribute name")
    return rest, attr


def _scope_commands(scope: str, target: str, many: bool) -> None:
    """set|list|remove SCOPE attr for one scope (global when ``target`` is empty)."""
    noun = ("attr",) if scope == "global" else (scope, "attr")
    targets = f"{target} [{target}...] " if many else (f"{target} " if target else "")
    what = "a global attribute" if scope == "global" else f"an attribute of {'hosts' if many else 'a ' + scope}"

    @command("set", *noun, summary=f"Set {what}.", args=f"{targets}ATTR VALUE", params=_KV)
    def set_attr(ctx: Context, call: Call) -> None:
        names, attr, value = _attr_value(call)
        attrs.set_attr(ctx.cluster, scope, names, attr, value)

    @command("remove", *noun, summary=f"Remove {what}.", args=f"{targets}ATTR", params={"attr": _ATTR})
    def remove_attr(ctx: Context, call: Call) -> None:
        names, attr = _attr_only(call)
        attrs.remove_attr(ctx.cluster, scope, names, attr)

    if scope == "host":
        return

    @command("list", *noun, summary=f"List {scope} attributes.", args=f"[{target}...]" if target else "",
             max_args=None if target else 0, output=True, params={"secrets": _SECRETS})
    def list_attr(ctx: Context, call: Call) -> None:
        rows = attrs.list_attrs(ctx.cluster, scope, call.args, reveal=call["secrets"])
        if scope == "global":
            emit(ctx.out, call["output-format"], ["ATTR", "VALUE"], [(r.attr, r.value) for r in rows])
        else:
            emit(ctx.out, call["output-format"], [scope.upper(), "ATTR", "VALUE"],
                 [(r.target, r.attr, r.value) for r in rows])


_scope_commands("global", "", False)
_scope_commands("os", "OS", False)
_scope_commands("appliance", "APPLIANCE", False)
_scope_commands("host", "HOST", True)


@command("list", "host", "attr", summary="List the resolved attributes of hosts and where each comes from.",
         args="[HOST...]", params={"attr": Param("show only this attribute"), "secrets": _SECRETS}, output=True,
         details="SOURCE is global, os, appliance, host or intrinsic (from the host's own record).")
def list_host_attr(ctx: Context, call: Call) -> None:
    emit(ctx.out, call["output-format"], ["HOST", "ATTR", "VALUE", "SOURCE"],
         attrs.host_attr_table(ctx.cluster, call.args, call["attr"], reveal=call["secrets"]))


@command("report", "host", "attr", summary="Print a host's resolved attributes as key:value lines.",
         args="HOST", min_args=1, max_args=1,
         params={"attr": Param("print only this attribute's value (a secret one too: it was asked for)"),
                 "pydict": Param("print one JSON object instead", BOOL, False), "secrets": _SECRETS})
def report_host_attr(ctx: Context, call: Call) -> None:
    reveal = call["secrets"] or call.has("attr")
    values = {r.attr: r.value for r in attrs.host_attrs(ctx.cluster, call.args, reveal=reveal)}
    if call.has("attr"):
        if call["attr"] not in values:
            raise InvalidArgument(f"host {call.args[0]} has no attribute {call['attr']!r}")
        ctx.out.write(values[call["attr"]] + "\n")
    elif call["pydict"]:
        ctx.out.write(json.dumps(dict(sorted(values.items())), indent=1) + "\n")
    else:
        ctx.out.write("".join(f"{k}:{v}\n" for k, v in sorted(values.items())))


@command("set", "password",
         local=True, summary="Set the root password of installed nodes (stored as a SHA-512 crypt hash).",
         max_args=0,
         params={"hash": Param("an existing $6$ crypt hash instead of a password")},
         details="The password is read from the terminal (twice) or as one line of standard input, never "
                 "from the command line, where every local user could read it. The hash goes into the global "
                 "attribute Kickstart_PrivateRootPassword, which the stock graph emits as "
                 "'rootpw --iscrypted'.")
def set_password(ctx: Context, call: Call) -> None:
    if call.has("hash"):
        req = PasswordRequest(hash=call["hash"])
    elif ctx.stdin.isatty():
        password = getpass.getpass("new root password: ")
        if getpass.getpass("again: ") != password:
            raise InvalidArgument("the passwords differ")
        req = PasswordRequest(password=password)
    else:
        req = PasswordRequest(password=ctx.stdin.readline().rstrip("\n"))
    attrs.set_root_password(ctx.cluster, req)
    ctx.out.write("root password hash updated\n")
