"""The package installs and runs on every Python it claims (``requires-python = ">=3.11"``):
a fresh venv per interpreter found on this machine, ``pip install`` of the project as a user
does it, then ``tokentop --version``, a JSON report on the fixture logs (exact totals) and the
TUI's import. An interpreter that is not here is skipped; the one running the suite is tested
by the suite itself.

Installing fetches the dependencies from the package registry, and tests never talk to the
network by default: run it with ``TOKENTOP_TEST_OTHER_PYTHONS=1``."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import LOG_FIXTURES

REPO = Path(__file__).resolve().parents[2]
CLAIMED = ("3.11", "3.12", "3.13")
#: taken before any test moves HOME: pyenv's interpreters and pip's cache live under the real one
REAL_ENV = dict(os.environ)
PYENV_ROOT = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")


def _interpreter(version: str) -> str | None:
    """A working ``pythonX.Y``: on PATH (a pyenv shim may name one it cannot run), else pyenv's."""
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(glob.glob(str(PYENV_ROOT / "versions" / f"{version}.*" / "bin" / f"python{version}")))
    for exe in filter(None, candidates):
        probe = subprocess.run([exe, "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"],
                               capture_output=True, text=True, env=REAL_ENV)
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return exe
    return None


@pytest.mark.skipif(os.environ.get("TOKENTOP_TEST_OTHER_PYTHONS") != "1",
                    reason="downloads dependencies: set TOKENTOP_TEST_OTHER_PYTHONS=1 to run")
@pytest.mark.parametrize("version", [v for v in CLAIMED if v != "%d.%d" % sys.version_info[:2]])
def test_installs_and_runs_on(version: str, tmp_path: Path, isolated: Path) -> None:
    exe = _interpreter(version)
    if exe is None:
        pytest.skip(f"no python{version} on this machine")
    venv = tmp_path / "venv"
    subprocess.run([exe, "-m", "venv", str(venv)], check=True, timeout=120, env=REAL_ENV)
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(REPO)], capture_output=True, text=True,
                         timeout=600, env=REAL_ENV)
    assert pip.returncode == 0, pip.stderr[-2000:]
    tokentop = str(venv / "bin" / "tokentop")
    env = {**os.environ, "CLAUDE_CONFIG_DIR": str(LOG_FIXTURES / "claude")}
    env.pop("PYTHONPATH", None)  # the installed package, not the work tree
    version_line = subprocess.run([tokentop, "--version"], capture_output=True, text=True, env=env, timeout=60)
    assert version_line.returncode == 0 and version_line.stdout.startswith("tokentop "), version_line.stderr
    report = subprocess.run([tokentop, "report", "daily", "--json", "--source", "claude-code"], capture_output=True,
                            text=True, env=env, timeout=120)
    assert report.returncode == 0, report.stderr
    assert json.loads(report.stdout)["totals"]["totalTokens"] == 88985
    tui = subprocess.run([str(venv / "bin" / "python"), "-c", "import tokentui.tui.app"], capture_output=True,
                         text=True, env=env, cwd=tmp_path, timeout=120)
    assert tui.returncode == 0, tui.stderr[-2000:]
