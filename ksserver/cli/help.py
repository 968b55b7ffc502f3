"""``rocks help`` and ``rocks VERB NOUN --help``."""

from __future__ import annotations

from collections.abc import Sequence

from ksserver.cli.registry import COMMANDS, Command


def overview(filter_words: Sequence[str] = ()) -> str:
    lines = ["usage: rocks VERB NOUN [NOUN...] [ARG...] [key=value...] [--debug]", "",
             "Commands (rocks VERB NOUN --help for details):"]
    cmds = sorted(COMMANDS.values(), key=lambda c: c.name)
    if filter_words:
        cmds = [c for c in cmds if list(c.words[:len(filter_words)]) == list(filter_words)]
    width = max((len(c.name) for c in cmds), default=0)
    for cmd in cmds:
        lines.append(f"  {cmd.name.ljust(width)}  {cmd.summary}")
    return "\n".join(lines) + "\n"


def command_help(cmd: Command) -> str:
    lines = [f"usage: {cmd.synopsis()}", "", cmd.summary]
    if cmd.details:
        lines += ["", cmd.details.strip()]
    if cmd.params:
        lines += ["", "Parameters:"]
        keys = {k: f"{k}={p.type.metavar}" for k, p in cmd.params.items()}
        width = max(len(v) for v in keys.values())
        lines += [f"  {keys[k].ljust(width)}  {p.help}" + (f" (default {p.default})" if p.default not in (None, "")
                                                           else "") for k, p in cmd.params.items()]
    return "\n".join(lines) + "\n"
