"""The command table: word tuples -> Command, longest match wins (Rocks grammar).

``rocks VERB NOUN [NOUN...] [ARG...] [key=value...]``: ``rocks add host vm X`` resolves to
("add", "host", "vm") while ``rocks add host X`` resolves to ("add", "host").

Each command declares its parameters once, with a type: ``rocks help``, ``docs/cli.md`` and the
parsing of ``key=value`` (also accepted as ``--key value`` / ``--key=value``) all come from that
declaration.  A command function receives the parsed ``Call`` and nothing else from the shell.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ksserver.errors import InvalidArgument
from ksserver.values import parse_bool

if TYPE_CHECKING:
    from ksserver.cli.context import Context


class ParamType:
    """Turns the text of ``key=value`` into the value a command uses."""

    metavar = "TEXT"

    def convert(self, key: str, raw: str) -> Any:
        return raw


class _Int(ParamType):
    metavar = "N"

    def convert(self, key: str, raw: str) -> int:
        try:
            return int(raw.strip())
        except ValueError:
            raise InvalidArgument(f"{key} must be a whole number, not {raw!r}") from None


class _Bool(ParamType):
    metavar = "yes|no"

    def convert(self, key: str, raw: str) -> bool:
        value = parse_bool(raw)
        if value is None:
            raise InvalidArgument(f"{key} must be yes or no, not {raw!r}")
        return value


@dataclass(frozen=True)
class Choice(ParamType):
    choices: tuple[str, ...]

    @property
    def metavar(self) -> str:  # type: ignore[override]
        return "|".join(self.choices)

    def convert(self, key: str, raw: str) -> str:
        if raw not in self.choices:
            raise InvalidArgument(f"{key} must be one of {', '.join(self.choices)}, not {raw!r}")
        return raw


TEXT, INT, BOOL = ParamType(), _Int(), _Bool()


@dataclass(frozen=True)
class Param:
    help: str
    type: ParamType = TEXT
    default: Any = None


@dataclass(frozen=True)
class Call:
    """One parsed invocation: positional words and typed key=value parameters (defaults filled in)."""

    args: list[str]
    params: Mapping[str, Any]
    given: frozenset[str] = frozenset()

    def __getitem__(self, key: str) -> Any:
        return self.params[key]

    def get(self, key: str, default: Any = None) -> Any:
        value = self.params.get(key)
        return default if value is None else value

    def has(self, key: str) -> bool:
        return key in self.given

    def arg_or(self, key: str, index: int) -> str | None:
        """``key=`` if given, else the positional argument at ``index`` (Rocks accepts both)."""
        if key in self.given:
            return str(self.params[key])
        return self.args[index] if len(self.args) > index else None


CommandFunc = Callable[["Context", Call], None]


@dataclass
class Command:
    words: tuple[str, ...]
    func: CommandFunc
    summary: str
    args: str = ""                               # positional synopsis, e.g. "HOST [HOST...]"
    params: dict[str, Param] = field(default_factory=dict)
    details: str = ""
    min_args: int = 0
    max_args: int | None = None
    output: bool = False                         # accepts output-format=
    needs_db: bool = True                        # False: runs without an initialised database
    # Where it runs when a server is up (docs/architecture.md, "The rocks client"): ``local`` commands are
    # never run by the server (interactive, streaming, long, or acting as the caller); a call giving one of
    # ``local_params`` (a path on the caller's machine) runs locally too.
    local: bool = False
    local_params: tuple[str, ...] = ()

    def local_reason(self, call: Call) -> str | None:
        """Why this call must run in the caller's process (None: the server may run it)."""
        if self.local:
            return f"'rocks {self.name}' runs in the caller's process"
        given = [p for p in self.local_params if p in call.given]
        if given:
            return f"'rocks {self.name} {given[0]}=' names a file on the caller's machine"
        return None

    @property
    def name(self) -> str:
        return " ".join(self.words)

    def synopsis(self) -> str:
        keys = " ".join(f"[{k}=]" for k in self.params)
        return " ".join(p for p in ("rocks", self.name, self.args, keys) if p)


COMMANDS: dict[tuple[str, ...], Command] = {}
_KEY_RE = re.compile(r"^([A-Za-z][A-Za-z0-9_\-]*)=(.*)$", re.S)
OUTPUT_FORMAT = Param("table (default) or json", Choice(("table", "json")), "table")


def command(*words: str, summary: str, args: str = "", params: Mapping[str, Param] | None = None,
            details: str = "", min_args: int = 0, max_args: int | None = None, output: bool = False,
            needs_db: bool = True, local: bool = False,
            local_params: tuple[str, ...] = ()) -> Callable[[CommandFunc], CommandFunc]:
    def register(func: CommandFunc) -> CommandFunc:
        all_params = dict(params or {})
        if output:
            all_params.setdefault("output-format", OUTPUT_FORMAT)
        unknown = [p for p in local_params if p not in all_params]
        assert not unknown, f"local_params {unknown} are not parameters of {' '.join(words)}"
        COMMANDS[words] = Command(words, func, summary, args, all_params, details, min_args, max_args, output,
                                  needs_db, local, tuple(local_params))
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


def _options_to_keys(cmd: Command, rest: list[str]) -> list[str]:
    """``--key value`` and ``--key=value`` for declared parameters become ``key=value``."""
    out: list[str] = []
    i = 0
    while i < len(rest):
        token = rest[i]
        if token.startswith("--") and len(token) > 2:
            key, eq, value = token[2:].partition("=")
            if key not in cmd.params:
                valid = ", ".join(f"--{k}" for k in cmd.params) or "none"
                raise InvalidArgument(f"'rocks {cmd.name}' has no option --{key} (valid: {valid})")
            if not eq:
                if i + 1 >= len(rest):
                    raise InvalidArgument(f"option --{key} needs a value")
                i += 1
                value = rest[i]
            out.append(f"{key}={value}")
        else:
            out.append(token)
        i += 1
    return out


def parse_call(cmd: Command, rest: list[str]) -> Call:
    positional: list[str] = []
    raw: dict[str, str] = {}
    for token in _options_to_keys(cmd, rest):
        m = _KEY_RE.match(token)
        if m:
            key = m[1].lower()
            if key not in cmd.params:
                valid = ", ".join(f"{k}=" for k in cmd.params) or "none"
                raise InvalidArgument(f"'rocks {cmd.name}' has no parameter {key!r} (valid: {valid})")
            if key in raw:
                raise InvalidArgument(f"parameter {key}= given twice")
            raw[key] = m[2]
        elif "=" in token and token.split("=", 1)[0] == "":
            raise InvalidArgument(f"bad key=value argument {token!r}")
        else:
            positional.append(token)
    if len(positional) < cmd.min_args:
        raise InvalidArgument(f"'rocks {cmd.name}' needs {cmd.args or 'arguments'}; usage: {cmd.synopsis()}")
    if cmd.max_args is not None and len(positional) > cmd.max_args:
        extra = " ".join(positional[cmd.max_args:])
        raise InvalidArgument(f"'rocks {cmd.name}': unexpected argument(s) {extra!r}; usage: {cmd.synopsis()}")
    values = {key: p.default for key, p in cmd.params.items()}
    values.update({key: cmd.params[key].type.convert(key, text) for key, text in raw.items()})
    return Call(positional, values, frozenset(raw))
