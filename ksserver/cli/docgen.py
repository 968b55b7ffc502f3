"""Write the CLI reference (docs/cli.md) from the command table: ``python -m ksserver.cli.docgen``."""

from __future__ import annotations

import sys
from itertools import groupby

from ksserver.cli.registry import COMMANDS

INTRO = """# `rocks` command reference

Generated from the command table by `make docs` (`python -m ksserver.cli.docgen > docs/cli.md`);
`tests/test_docs.py` fails when this file is out of date.

Grammar: `rocks VERB NOUN [NOUN...] [ARG...] [key=value...]`. Every command takes `--help`;
`--debug` shows a traceback on errors. List commands print an aligned table with upper-case headers
(the first column ends with `:` as in Rocks) or JSON with `output-format=json`. Each command runs in
one database transaction: on any error nothing is written. Exit codes: 0 success, 1 bad input or
other error, 2 something named does not exist, 3 something already exists, 70 internal error.
"""


def render() -> str:
    from ksserver.cli import _load_commands

    _load_commands()
    parts = [INTRO]
    commands = sorted(COMMANDS.values(), key=lambda c: (c.words[0], c.name))
    for verb, group in groupby(commands, key=lambda c: c.words[0]):
        parts.append(f"\n## {verb}\n")
        for cmd in group:
            parts.append(f"\n### rocks {cmd.name}\n\n{cmd.summary}\n\n```\n{cmd.synopsis()}\n```\n")
            if cmd.details:
                parts.append("\n" + cmd.details.strip() + "\n")
            if cmd.params:
                parts.append("\n| parameter | value | meaning |\n|---|---|---|\n")
                parts.extend(f"| `{k}=` | {p.type.metavar.replace('|', ' or ')} | "
                             f"{p.help.replace('|', '/')}"
                             + (f" (default {p.default})" if p.default not in (None, "") else "") + " |\n"
                             for k, p in cmd.params.items())
    return "".join(parts)


if __name__ == "__main__":
    sys.stdout.write(render())
