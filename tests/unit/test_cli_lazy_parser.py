"""`tokentop CMD ...` builds only CMD's command group: the same parser for CMD as the full one."""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout

import pytest

from tokentui.cli.main import COMMANDS, build_parser


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    [action] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def _outcome(parser: argparse.ArgumentParser, argv: list[str]) -> tuple:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            ns = vars(parser.parse_args(argv))
            code = None
        except SystemExit as exc:
            ns, code = None, exc.code
    return code, out.getvalue(), err.getvalue(), ns and {k: v for k, v in ns.items() if k != "func"}


def test_the_command_table_is_what_the_groups_register_in_help_order() -> None:
    full = _commands(build_parser())
    assert list(COMMANDS) == list(full)
    for name, group in COMMANDS.items():
        assert set(_commands(build_parser([name]))) == {n for n, g in COMMANDS.items() if g == group}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_command_parses_helps_and_fails_as_with_every_command_registered(name) -> None:
    full = build_parser()
    for argv in ([name, "--help"], [name, "--no-such-flag"], [name], [name, "list"], [name, "check", "--json"],
                 [name, "daily", "--json"]):
        assert _outcome(build_parser(argv), argv) == _outcome(full, argv), argv


def test_a_sync_does_not_import_the_other_command_groups() -> None:
    code = ("import sys\nfrom tokentui.cli.main import build_parser\nbuild_parser(['sync', '-q'])\n"
            "print(sorted(m for m in sys.modules if m.startswith('tokentui.cli.')))")
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "tokentui.cli.usage" in got
    for other in ("budget", "team", "export", "quota", "statusline", "devices", "keys"):
        assert f"tokentui.cli.{other}'" not in got, got
