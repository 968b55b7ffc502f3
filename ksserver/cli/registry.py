"""The command table: word tuples -> Command, longest match wins (Rocks grammar).

``rocks VERB NOUN [NOUN...] [ARG...] [key=value...]``: ``rocks add host vm X`` resolves to
("add", "host", "vm") while ``rocks add host X`` resolves to ("add", "host").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ksserver.errors import InvalidArgument


@dataclass
class Command:
    words: tuple[str, ...]
    func: Callable[..., Any]
    summary: str
    args: str = ""                               # positional synopsis, e.g. "HOST [HOST...]"
    params: dict[str, str] = field(default_factory=dict)  # key -> help
    details: str = ""
    min_args: int = 0
    max_args: int | None = None
    output: bool = False                         # accepts output-format=

    @property
    def name(self) -> str:
        return " ".join(self.words)

    def synopsis(self) -> str:
        keys = " ".join(f"[{k}=]" for k in self.params)
        return " ".join(p for p in ("rocks", self.name, self.args, keys) if p)


COMMANDS: dict[tuple[str, ...], Command] = {}
_KEY_RE = re.compile(r"^([A-Za-z][A-Za-z0-9_\-]*)=(.*)$", re.S)


def command(*words: str, summary: str, args: str = "", params: dict[str, str] | None = None,
            details: str = "", min_args: int = 0, max_args: int | None = None, output: bool = False
            ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        all_params = dict(params or {})
        if output:
            all_params.setdefault("output-format", "table (default) or json")
        COMMANDS[words] = Command(words, func, summary, args, all_params, details, min_args, max_args, output)
        return func
    return register


def resolve(tokens: list[str]) -> tuple[Command, list[str]]:
    for n in range(min(len(tokens), 4), 0, -1):
        cmd = COMMANDS.get(tuple(tokens[:n]))
        if cmd is not None:
            return cmd, tokens[n:]
    prefix = " ".join(tokens[:2])
    near = sorted(c.name for c in COMMANDS.values() if c.name.startswith(tokens[0] if tokens else ""))
    hint = f"; commands starting with {tokens[0]!r}: {', '.join(near[:12])}" if near else ""
    raise InvalidArgument(f"unknown command 'rocks {prefix}'{hint} (see 'rocks help')")


def split_args(cmd: Command, rest: list[str]) -> tuple[list[str], dict[str, str]]:
    positional: list[str] = []
    keyed: dict[str, str] = {}
    for token in rest:
        m = _KEY_RE.match(token)
        if m:
            key = m[1].lower()
            if key not in cmd.params:
                valid = ", ".join(f"{k}=" for k in cmd.params) or "none"
                raise InvalidArgument(f"'rocks {cmd.name}' has no parameter {key!r} (valid: {valid})")
            if key in keyed:
                raise InvalidArgument(f"parameter {key}= given twice")
            keyed[key] = m[2]
        elif "=" in token and token.split("=", 1)[0] == "":
            raise InvalidArgument(f"bad key=value argument {token!r}")
        else:
            positional.append(token)
    if len(positional) < cmd.min_args:
        raise InvalidArgument(f"'rocks {cmd.name}' needs {cmd.args or 'arguments'}; usage: {cmd.synopsis()}")
    if cmd.max_args is not None and len(positional) > cmd.max_args:
        extra = " ".join(positional[cmd.max_args:])
        raise InvalidArgument(f"'rocks {cmd.name}': unexpected argument(s) {extra!r}; usage: {cmd.synopsis()}")
    return positional, keyed
