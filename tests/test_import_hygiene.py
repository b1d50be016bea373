"""The data layers never know the UI: portal/, store/ and models import no textual (STYLE.md)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA_LAYERS = ["elp_tui.portal", "elp_tui.store", "elp_tui.models", "elp_tui.details_text", "elp_tui.cli.details"]


def run_python(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_data_layers_import_without_textual():
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in DATA_LAYERS)
        + "ui = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich') or m.startswith(('elp_tui.screens', 'elp_tui.widgets', 'elp_tui.app')))\n"
        + "print(','.join(ui))\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"data layers pulled in UI modules: {result.stdout.strip()}"


def test_every_portal_and_store_module_imports_without_textual():
    modules = sorted(
        "elp_tui." + ".".join(p.relative_to(ROOT / "elp_tui").with_suffix("").parts)
        for layer in ("portal", "store")
        for p in (ROOT / "elp_tui" / layer).rglob("*.py")
    )
    modules = [m.removesuffix(".__init__") for m in modules]
    code = "import sys, importlib\n" f"for m in {modules!r}: importlib.import_module(m)\n" "print('textual' in sys.modules)\n"
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_import_linter_contracts_are_kept():
    lint = ROOT / ".venv" / "bin" / "lint-imports"
    if not lint.exists():
        found = shutil.which("lint-imports")
        if found is None:
            pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
        lint = Path(found)
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    # A contract naming `textual` (an external package) holds only with external packages included.
    assert config.get("include_external_packages") is True
    assert "textual" in {m for c in config.get("contracts", []) for m in c.get("forbidden_modules", [])}
    args = [str(lint), "--no-cache"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout and " 0 broken" in result.stdout
