"""rocks add|list|enable|disable|remove roll, and rocks report host reconfigure."""

from __future__ import annotations

import json
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "rocks-corpus"


def _roll(tmp_path: Path, name: str) -> Path:
    root = tmp_path / name
    (root / "nodes").mkdir(parents=True)
    (root / "graphs" / "default").mkdir(parents=True)
    return root


def test_roll_lifecycle(cluster, tmp_path):
    a = _roll(tmp_path, "sge")
    assert cluster("add", "roll", "sge", f"path={a}").code == 0
    assert cluster("add", "roll", "base", f"path={CORPUS / 'base-6.2'}", "graphs=replace", "version=6.2").code == 0
    rows = json.loads(cluster("list", "roll", "output-format=json").out)
    assert [(r["name"], r["graphs"], r["enabled"], r["version"]) for r in rows] == [
        ("sge", "add", "yes", ""), ("base", "replace", "yes", "6.2")]
    assert cluster("disable", "roll", "sge").code == 0
    assert json.loads(cluster("list", "roll", "output-format=json").out)[0]["enabled"] == "no"
    assert cluster("enable", "roll", "sge").code == 0
    assert cluster("remove", "roll", "sge").code == 0
    assert [r["name"] for r in json.loads(cluster("list", "roll", "output-format=json").out)] == ["base"]


def test_roll_errors(cluster, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    for argv, code in ((["add", "roll", "x", f"path={empty}"], 1), (["add", "roll", "x", "path=relative/dir"], 1),
                       (["add", "roll", "x"], 1), (["add", "roll", "x", f"path={_roll(tmp_path, 'r')}", "graphs=merge"], 1),
                       (["add", "roll", "bad name", f"path={_roll(tmp_path, 'q')}"], 1),
                       (["enable", "roll", "nosuch"], 2), (["remove", "roll", "nosuch"], 2)):
        result = cluster(*argv)
        assert result.code == code and result.err.startswith("error: "), (argv, result)
    ok = _roll(tmp_path, "ok")
    assert cluster("add", "roll", "ok", f"path={ok}").code == 0
    assert cluster("add", "roll", "ok", f"path={ok}").code == 3


def test_report_host_reconfigure(cluster):
    result = cluster("report", "host", "reconfigure", "compute-0-0")
    assert result.code == 0, result
    assert cluster("report", "host", "reconfigure", "nosuch").code == 2
