"""The installer runs Python 3.9 with the standard library and pyparted only: proved here with vermin
(no 3.9 interpreter can be installed) and an import with nothing else on the path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import parted

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ["rocks_partition", "installer_plugin"]


def vermin(*paths: str) -> subprocess.CompletedProcess:
    run_vermin = "import sys; from vermin.main import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", run_vermin, "-t=3.9-", "--no-tips", "--eval-annotations",
                           "--violations", *paths], capture_output=True, text=True, cwd=REPO)


def test_packages_need_at_most_python_3_9():
    result = vermin(*PACKAGES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_vermin_catches_newer_syntax(tmp_path):
    newer = tmp_path / "newer.py"
    newer.write_text("def f(x):\n    match x:\n        case 1:\n            return 1\n")
    assert vermin(str(newer)).returncode != 0


def test_packages_import_with_only_stdlib_and_pyparted(tmp_path):
    only = tmp_path / "path"
    only.mkdir()
    site = Path(parted.__file__).resolve().parent.parent
    for entry in [site / "parted", *site.glob("_ped*.so")] + [REPO / p for p in PACKAGES]:
        (only / entry.name).symlink_to(entry)
    code = f"""
import sys
sys.path = [p for p in sys.path if "-packages" not in p and p not in ("", {str(REPO)!r})] + [{str(only)!r}]
import rocks_partition, rocks_partition.records, rocks_partition.probe
import installer_plugin.cli, installer_plugin.decide, installer_plugin.bundle, installer_plugin.kickstart
import parted
outside = sorted(name for name, mod in sys.modules.items()
                 if getattr(mod, "__file__", None) and "-packages" in mod.__file__)
assert not outside, outside
assert "ksserver" not in sys.modules
print("ok")
"""
    result = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True,
                            cwd=tmp_path)
    assert result.stdout.strip() == "ok", result.stderr
