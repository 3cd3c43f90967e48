"""CI runs the README's test command: the same pytest runs (both lanes), in the same order."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pytest_runs(text: str) -> list[list[str]]:
    """Each ``python -m pytest ...`` of a shell line, as its arguments without ``-q``."""
    runs = []
    for part in re.split(r"&&|\n", text):
        words = shlex.split(part.strip()) if part.strip() and not part.strip().startswith("#") else []
        if words[:3] == ["python", "-m", "pytest"]:
            runs.append([w for w in words[3:] if w != "-q"])
    return runs


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("**Install the test dependencies and run the whole test suite:**", 1)[1]
    command = block.split("```sh", 1)[1].split("```", 1)[0]
    want = _pytest_runs(command)
    assert want and any("serial" in " ".join(r) for r in want)  # the wall-time lane runs too
    assert _pytest_runs((ROOT / ".ci" / "run").read_text(encoding="utf-8")) == want
