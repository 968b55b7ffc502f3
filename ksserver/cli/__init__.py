"""The ``rocks`` command: ``rocks VERB NOUN [NOUN...] [ARG...] [key=value...]``.

``main`` parses the words, runs one command from the table in ``registry``, and turns any
``RocksError`` (or ``xenvm`` ``VMError``) into one line on stderr plus an exit code.  A
traceback is shown only with ``--debug``.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from ksserver.config import Settings, load_settings
from ksserver.db.session import Database
from ksserver.errors import RocksError


@dataclass
class Context:
    settings: Settings
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    hypervisor_factory: Callable[[str, str], Any] | None = None  # tests inject libvirt connections
    _db: Database | None = None

    @property
    def db(self) -> Database:
        if self._db is None:
            self.settings.root.mkdir(parents=True, exist_ok=True)
            self._db = Database.from_url(self.settings.effective_database_url)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()


def _load_commands() -> None:
    from ksserver.cli import commands  # noqa: F401  (registers every command module)


def run(argv: Sequence[str], settings: Settings | None = None, out: TextIO | None = None,
        err: TextIO | None = None, hypervisor_factory: Callable[[str, str], Any] | None = None) -> int:
    """Run one rocks command; returns the exit code (used by main() and by tests)."""
    _load_commands()
    from ksserver.cli import help as help_cmd
    from ksserver.cli.registry import resolve, split_args

    out = out or sys.stdout
    err = err or sys.stderr
    tokens = list(argv)
    debug = "--debug" in tokens
    tokens = [t for t in tokens if t != "--debug"]
    ctx: Context | None = None
    try:
        if not tokens or tokens[0] in ("help", "--help", "-h"):
            out.write(help_cmd.overview(tokens[1:]))
            return 0
        if any(t in ("--help", "-h") for t in tokens):
            words = [t for t in tokens if t not in ("--help", "-h")]
            cmd, _ = resolve(words)
            out.write(help_cmd.command_help(cmd))
            return 0
        cmd, rest = resolve(tokens)
        args, kv = split_args(cmd, rest)
        ctx = Context(settings or load_settings(), out=out, err=err, hypervisor_factory=hypervisor_factory)
        cmd.func(ctx, args, kv)
        return 0
    except RocksError as exc:
        if debug:
            traceback.print_exc(file=err)
        err.write(f"error: {exc}\n")
        return exc.exit_code
    except Exception as exc:  # VMError and friends carry exit_code too
        if getattr(exc, "exit_code", None) is not None and not debug:
            err.write(f"error: {exc}\n")
            return int(exc.exit_code)  # type: ignore[attr-defined]
        if debug:
            traceback.print_exc(file=err)
        else:
            err.write(f"error: internal error: {type(exc).__name__}: {exc} (run with --debug for details)\n")
        return 70
    finally:
        if ctx is not None:
            ctx.close()


def main() -> None:
    try:
        code = run(sys.argv[1:])
    except KeyboardInterrupt:
        code = 130
    sys.stdout.flush()
    sys.exit(code)
