"""Every command has help and is in docs/cli.md; every setting is in docs/configuration.md."""

from __future__ import annotations

from pathlib import Path

from ksserver.cli import _load_commands, run
from ksserver.cli.docgen import render
from ksserver.cli.registry import COMMANDS
from ksserver.config import SETTINGS_HELP

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_command_has_help(capsys):
    _load_commands()
    assert len(COMMANDS) > 30
    for words, cmd in COMMANDS.items():
        assert cmd.summary and cmd.summary.endswith("."), cmd.name
        assert run([*words, "--help"]) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"usage: rocks {cmd.name}"), cmd.name
        for key in cmd.params:
            assert f"{key}=" in out, (cmd.name, key)


def test_rocks_help_lists_every_command(capsys):
    _load_commands()
    assert run(["help"]) == 0
    out = capsys.readouterr().out
    for cmd in COMMANDS.values():
        assert f"  {cmd.name} " in out, cmd.name


def test_cli_reference_is_current():
    current = (DOCS / "cli.md").read_text()
    for cmd in COMMANDS.values():
        assert f"### rocks {cmd.name}\n" in current, f"{cmd.name} missing from docs/cli.md (run make docs)"
    assert current == render(), "docs/cli.md is out of date: run make docs"


def test_every_setting_is_documented():
    text = (DOCS / "configuration.md").read_text()
    for name in SETTINGS_HELP:
        assert f"`{name}`" in text and f"KSSERVER_{name.upper()}" in text, name


def test_api_reference_is_current():
    from ksserver.web.api.docgen import render as render_api

    assert (DOCS / "api.md").read_text() == render_api(), "docs/api.md is out of date: run make docs"
