"""Accounts of the web console and REST API: rocks add|list|remove user, add user token, list audit."""

from __future__ import annotations

import getpass
import time

from ksserver.cli.context import Context
from ksserver.cli.output import emit
from ksserver.cli.registry import INT, Call, Choice, Param, command
from ksserver.errors import InvalidArgument
from ksserver.services import accounts


def _read_password(ctx: Context) -> str:
    """From the terminal (twice) or one line of stdin: never argv, which every local user can read."""
    if ctx.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise InvalidArgument("the passwords differ")
        return password
    return ctx.stdin.readline().rstrip("\n")


@command("add", "user",
         local=True, summary="Add an account for the web console and the REST API.", args="NAME",
         min_args=1, max_args=1,
         params={"role": Param("admin (may change the cluster) or readonly", Choice(accounts.ROLES), "readonly")},
         details="The password is read from the terminal (twice) or as one line of standard input and stored "
                 "as an argon2id hash.")
def add_user(ctx: Context, call: Call) -> None:
    accounts.add_user(ctx.cluster, call.args[0], call["role"], _read_password(ctx))
    ctx.out.write(f"added user {call.args[0]} ({call['role']})\n")


@command("add", "user", "token", summary="Make an API token for a user (printed once, stored hashed).",
         args="NAME", min_args=1, max_args=1,
         params={"label": Param("what the token is for, shown nowhere else", default="api")},
         details="Send it as 'Authorization: Bearer TOKEN'; it carries the user's role.")
def add_user_token(ctx: Context, call: Call) -> None:
    ctx.out.write(accounts.add_user_token(ctx.cluster, call.args[0], call["label"]) + "\n")


@command("list", "user", summary="List console/API accounts.", max_args=0, output=True)
def list_user(ctx: Context, call: Call) -> None:
    emit(ctx.out, call["output-format"], ["USER", "ROLE", "TOKENS"],
         [(u.name, u.role, u.tokens) for u in accounts.list_users(ctx.cluster)])


@command("remove", "user", summary="Remove an account with its tokens and sessions.", args="NAME",
         min_args=1, max_args=1)
def remove_user(ctx: Context, call: Call) -> None:
    accounts.remove_user(ctx.cluster, call.args[0])


@command("list", "audit", summary="Show who changed what through the REST API and web console.", max_args=0,
         output=True, params={"limit": Param("show the newest N entries", INT, 100),
                              "actor": Param("only this user (or token:NAME)")})
def list_audit(ctx: Context, call: Call) -> None:
    rows = [(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(r.at)), r.actor, r.action, r.target, r.detail)
            for r in accounts.list_audit(ctx.cluster, call["limit"], call["actor"])]
    emit(ctx.out, call["output-format"], ["TIME", "ACTOR", "ACTION", "TARGET", "DETAIL"], rows)
