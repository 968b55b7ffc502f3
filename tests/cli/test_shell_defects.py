"""Defects of the thick shells, each reproduced through the real entry points."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from ksserver.cli import run
from ksserver.config import load_settings
from ksserver.values import FALSE_WORDS, TRUE_WORDS


def test_read_only_command_creates_nothing(tmp_path):
    settings = load_settings(environ={}, root=tmp_path / "state")
    err = io.StringIO()
    code = run(["list", "host"], settings=settings, out=io.StringIO(), err=err)
    assert code != 0 and "rocks init" in err.getvalue()
    assert not (tmp_path / "state").exists()


def test_list_host_in_a_bare_directory_as_a_process(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "ksserver", "list", "host"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "rocks init" in done.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv,code", [([], 2), (["bogus"], 2), (["--help"], 0)])
def test_rocks_dist_usage(argv, code, capsys):
    from ksserver.cli.rocks_dist import main

    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == code
    captured = capsys.readouterr()
    assert ("usage: rocks-dist dist" if argv != ["bogus"] else "only 'dist'") in captured.out + captured.err


def test_ksserver_without_command_is_a_usage_error(capsys):
    from ksserver.cli.serve import main

    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2 and "usage: ksserver serve" in capsys.readouterr().err


def test_one_boolean_word_list(tmp_path):
    """Settings, CLI parameters, attributes read by VM code and graph conditions agree on yes/no words."""
    from ksserver.cli.registry import BOOL
    from ksserver.graph.conditions import coerce
    from ksserver.inventory.vms import hypervisor_kind

    for word in TRUE_WORDS | {w.upper() for w in TRUE_WORDS}:
        assert load_settings(environ={"KSSERVER_EVALS": word}).evals is True
        assert BOOL.convert("x", word) is True
        assert hypervisor_kind({"kvm": word}) == "kvm"
        if not word.isdigit():  # digits stay numbers in conditions (Rocks coerced "1" to 1)
            assert coerce(word) is True
    for word in FALSE_WORDS:
        assert load_settings(environ={"KSSERVER_EVALS": word}).evals is False
        assert BOOL.convert("x", word) is False
        if not word.isdigit():
            assert coerce(word) is False


def test_options_and_keys_are_one_grammar(cluster):
    assert cluster("list", "host", "--output-format", "json").out.startswith("[")
    assert cluster("list", "host", "--output-format=json").out.startswith("[")
    bad = cluster("list", "host", "--colour")
    assert bad.code != 0 and "--output-format" in bad.err
