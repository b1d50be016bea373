"""ELP installed as a tool (pipx / uv tool install from a wheel), not run from the source tree.

The wheel is built the way pipx and uv build it (an isolated PEP 517 build), installed into a
fresh virtual environment outside the clone, and run from a folder with no source in it: the
stylesheet and the French catalog must be inside the wheel, and `elp` must be its script.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )
    if build.returncode != 0 and "hatchling" in build.stderr and "No matching distribution" in build.stderr:
        pytest.skip("the isolated build could not fetch hatchling from the package index: " + build.stderr[-300:])
    assert build.returncode == 0, build.stderr
    (found,) = out.glob("elp_tui-*.whl")
    return found


def test_the_wheel_carries_the_stylesheet_the_french_catalog_and_the_elp_script(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "elp_tui/elp.tcss" in names
    assert "elp_tui/locale/fr/LC_MESSAGES/elp.mo" in names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "elp = elp_tui.__main__:main" in text
    assert not any(n.startswith("tests/") for n in names), "the tests are not shipped"


def test_installed_from_the_wheel_elp_runs_outside_the_clone_in_both_languages(wheel: Path, tmp_path: Path) -> None:
    # A fresh venv, as `pipx install` or `uv tool install` makes; its dependencies come from this
    # test run's environment (a .pth line), so nothing is downloaded and nothing of the clone is seen.
    env_dir = tmp_path / "tool"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    tool_python = env_dir / "bin" / "python"
    purelib = subprocess.run(
        [str(tool_python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    (Path(purelib) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(tool_python), "install", "--no-deps", "-q", str(wheel)],
        capture_output=True, text=True, timeout=300,
    )
    assert install.returncode == 0, install.stderr
    elp = env_dir / "bin" / "elp"
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ELP_")}
    env["PYTHONPATH"] = ""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(elp), *args], capture_output=True, text=True, cwd=work, env=env, timeout=120)

    where = subprocess.run(
        [str(tool_python), "-c", "import elp_tui; print(elp_tui.__file__)"],
        capture_output=True, text=True, cwd=work, env=env, check=True,
    ).stdout.strip()
    assert where.startswith(str(env_dir)), f"elp_tui was imported from {where}, not from the installed wheel"
    assert run("--version").stdout.strip() == "elp 0.1.0"
    store = str(work / "store" / "elp.json")
    made = run("--store", store, "demo", "--no-open")
    assert made.returncode == 0, made.stderr
    admin = "maya.okafor@lumenfox.studio"  # the demo's admin, printed by `demo`
    assert admin in made.stdout
    listed = run("--store", store, "--as", admin, "banks", "list")
    assert listed.returncode == 0 and "BK-0001" in listed.stdout, listed.stderr
    # The French catalog ships in the wheel: a refusal comes out in French.
    refused = run("--store", store, "--lang", "fr", "--as", "nobody@example.com", "banks", "list")
    assert refused.returncode != 0
    assert "nobody@example.com" in refused.stderr
    english = run("--store", store, "--as", "nobody@example.com", "banks", "list")
    assert refused.stderr != english.stderr, "the French refusal must differ from the English one"
