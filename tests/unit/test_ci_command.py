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
        part = part.strip().strip("()").strip()  # .ci/run runs the command in a subshell
        words = shlex.split(part) if part and not part.startswith("#") else []
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


def _ci_tail(python_status: int, tmp_path: Path):
    """.ci/run from its test command on, with pip, python and lint-imports as stand-ins (python
    exits ``python_status``): what CI does when the tests fail or pass."""
    import subprocess

    text = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    tail = text[text.index("# --- the README's test command"):]
    stubs = (f"set -euo pipefail\npip() {{ :; }}\npython() {{ return {python_status}; }}\n"
             "lint-imports() { echo LINT-RAN; }\n")
    script = tmp_path / "ci-tail.sh"
    script.write_text(stubs + tail, encoding="utf-8")
    return subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=60)


def test_ci_fails_when_the_tests_fail(tmp_path) -> None:
    """`set -e` does not stop at a failure inside an && list: the script must still end non-zero
    (and not report the import check's success as CI's)."""
    failed = _ci_tail(1, tmp_path)
    assert failed.returncode != 0 and "LINT-RAN" not in failed.stdout, failed
    passed = _ci_tail(0, tmp_path)
    assert passed.returncode == 0 and "LINT-RAN" in passed.stdout, passed
