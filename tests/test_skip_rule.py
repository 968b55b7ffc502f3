"""A skip is honest only when its reason names what is missing, and CI installs it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP_CALL = re.compile(r"(?:importorskip|skipif)\((?:[^()]|\([^()]*\))*\)", re.S)


def test_every_skip_names_what_is_missing():
    vague = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for m in SKIP_CALL.finditer(path.read_text()):
            text = m.group(0)
            if "reason" not in text:
                vague.append(f"{path.relative_to(ROOT)}: {text[:80]}")
    assert vague == []


def test_ci_fails_on_skips(pytester, monkeypatch):
    pytester.makeconftest((ROOT / "tests" / "conftest.py").read_text().split("# -- CI runs everything")[1]
                          .split("\n", 1)[1])
    pytester.makepyfile("import pytest\n\ndef test_a():\n    pytest.skip('foo not installed')\n")
    monkeypatch.setenv("CI", "true")
    assert pytester.runpytest_subprocess().ret == 1
    monkeypatch.delenv("CI")
    assert pytester.runpytest_subprocess().ret == 0
