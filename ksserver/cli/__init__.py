"""The ``rocks`` command: ``rocks VERB NOUN [NOUN...] [ARG...] [key=value...]``.

``run`` parses the words, runs one command from the table in ``registry``, and turns any
``RocksError`` into one line on stderr plus its exit code (the one translation of the error tree
at this edge).  A traceback is shown only with ``--debug``.

This package imports only the stdlib when loaded (the ``rocks`` client, ``ksserver.cli.client``, lives in
it and must start in a few milliseconds): the database and the commands load inside ``run``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
TYPE_CHECKING = False  # typing itself costs a rocks process ~5 ms of imports

if TYPE_CHECKING:
    from typing import Any, TextIO

    from ksserver.cli.context import Context
    from ksserver.config import Settings
    from ksserver.services import Cluster, HypervisorFactory

INTERNAL_ERROR = 70
USAGE_ERROR = 2

__all__ = ["Context", "run", "main"]


def __getattr__(name: str) -> Any:
    if name == "Context":  # ``from ksserver.cli import Context`` without loading the database at import
        from ksserver.cli.context import Context

        return Context
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _load_commands() -> None:
    from ksserver.cli import commands  # noqa: F401  (registers every command module)


def run(argv: Sequence[str], settings: Settings | None = None, out: TextIO | None = None,
        err: TextIO | None = None, hypervisor_factory: HypervisorFactory | None = None,
        stdin: TextIO | None = None, cluster: Cluster | None = None) -> int:
    """Run one rocks command; returns the exit code (used by main(), by tests, and by the server for the
    ``rocks`` client with its own ``cluster``, which is left open)."""
    _load_commands()
    from ksserver.cli import help as help_cmd
    from ksserver.cli.context import Context
    from ksserver.cli.registry import parse_call, resolve
    from ksserver.config import load_settings
    from ksserver.errors import RocksError

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
            cmd, _ = resolve([t for t in tokens if t not in ("--help", "-h")])
            out.write(help_cmd.command_help(cmd))
            return 0
        cmd, rest = resolve(tokens)
        call = parse_call(cmd, rest)
        ctx = Context(settings or load_settings(), out=out, err=err, stdin=stdin or sys.stdin,
                      hypervisor_factory=hypervisor_factory, create=not cmd.needs_db,
                      _cluster=cluster, shared=cluster is not None)
        cmd.func(ctx, call)
        return 0
    except RocksError as exc:
        if debug:
            import traceback  # only here: its imports (linecache, tokenize) cost every rocks process

            traceback.print_exc(file=err)
        err.write(f"error: {exc}\n")
        return exc.exit_code
    except Exception as exc:
        if debug:
            import traceback

            traceback.print_exc(file=err)
        else:
            err.write(f"error: internal error: {type(exc).__name__}: {exc} (run with --debug for details)\n")
        return INTERNAL_ERROR
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
