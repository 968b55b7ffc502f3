"""The import rules of docs/architecture.md, checked on every module's AST (function-level imports too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# package -> module prefixes it must never import
FORBIDDEN = {
    "ksserver.graph": ("ksserver.db", "ksserver.inventory", "ksserver.web", "ksserver.cli", "ksserver.services",
                       "sqlalchemy", "flask", "click", "werkzeug"),
    "ksserver.db": ("ksserver.inventory", "ksserver.services", "ksserver.web", "ksserver.cli", "ksserver.graph"),
    "ksserver.inventory": ("ksserver.services", "ksserver.web", "ksserver.cli", "flask", "click", "werkzeug"),
    "ksserver.services": ("ksserver.web", "ksserver.cli", "flask", "click", "werkzeug"),
    "ksserver.web": ("ksserver.cli",),
    # The one documented exception: 'rocks serve' builds the app (ksserver.cli.serve -> ksserver.web).
    "ksserver.cli": ("ksserver.web",),
    "xenvm": ("ksserver",),
    "installer_plugin": ("ksserver", "xenvm"),
    "rocks_partition": ("ksserver", "xenvm"),
}
ALLOWED = {("ksserver.cli.serve", "ksserver.web"),
           # and the endpoint the rocks client delegates to runs the command table (ksserver.cli.client)
           ("ksserver.web.cli_endpoint", "ksserver.cli")}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing package
                base = module.split(".")
                is_pkg = path.name == "__init__.py"
                base = base[:len(base) - node.level + (1 if is_pkg else 0)]
                found.add(".".join(base + ([node.module] if node.module else [])))
            elif node.module:
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


def _violations() -> list[str]:
    problems = []
    for package, banned in FORBIDDEN.items():
        folder = ROOT / package.replace(".", "/")
        for path in sorted(folder.rglob("*.py")):
            module = _module_name(path)
            for name in _imports(path, module):
                for prefix in banned:
                    if (name == prefix or name.startswith(prefix + ".")) and \
                            not any(module.startswith(m) and name.startswith(t) for m, t in ALLOWED):
                        problems.append(f"{module} imports {name} (forbidden for {package})")
    return problems


def test_import_rules():
    assert _violations() == []


def test_the_checker_sees_violations(tmp_path, monkeypatch):
    bad = ROOT / "xenvm" / "_layering_probe.py"
    bad.write_text("def f():\n    from ksserver.db import models\n")
    try:
        assert any("xenvm._layering_probe imports ksserver.db" in v for v in _violations())
    finally:
        bad.unlink()


@pytest.mark.parametrize("package", ["installer_plugin", "rocks_partition"])
def test_installer_packages_exist(package):
    assert (ROOT / package / "__init__.py").exists()
