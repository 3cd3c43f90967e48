"""Hostile dates (issue 15, item 11): every date a user gives is checked where it is read.

`report --until 99991231` and `export --period 2026-01-01..9999-12-31` ended in an internal
OverflowError (exit 70): the day after 9999-12-31 does not exist. Every date argument and
config date (report --since/--until, export --period, budget --start and ``start`` in
config.toml, the TUI's budget form) now has to lie in the range tokentop stores, 2000-01-01
… 2099-12-31 (no record outside it is ever kept), and one outside is a plain usage error.
"""

from __future__ import annotations

from datetime import date

import pytest

from tests.hardening.helpers import tokentop
from tokentui import paths
from tokentui.cli import main

#: year 1, the epoch, just outside, the edges, just outside, the last years Python can hold
OUTSIDE = ["0001-01-01", "00010101", "1970-01-01", "1999-12-31", "2100-01-01", "9998-12-31", "9999-12-31",
           "99991231"]
EDGES = ["2000-01-01", "20000101", "2099-12-31", "20991231"]


def _one_error(err: str, *words: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln]
    assert "Traceback" not in err and "unexpected" not in err, err
    assert lines and lines[0].startswith("tokentop: error:"), err
    assert len(lines) <= 2 and all(ln.startswith("  hint:") for ln in lines[1:]), err
    for w in words:
        assert w in lines[0], (w, err)
    return lines[0]


def _iso(text: str) -> str:
    return text if "-" in text else f"{text[:4]}-{text[4:6]}-{text[6:]}"


@pytest.mark.parametrize("flag", ["--since", "--until"])
@pytest.mark.parametrize("day", OUTSIDE)
@pytest.mark.parametrize("kind", ["daily", "session"])
def test_report_dates_outside_the_range_are_usage_errors(capsys, flag, day, kind) -> None:
    code = main(["report", kind, "--no-sync", flag, day, "--timezone", "Pacific/Kiritimati"])
    _, err = capsys.readouterr()
    assert code == 2, err
    _one_error(err, flag, _iso(day), "2000-01-01", "2099-12-31")


@pytest.mark.parametrize("tz", ["UTC", "Pacific/Kiritimati", "Etc/GMT+12"])
def test_report_edges_of_the_range_work_in_every_zone(capsys, tz) -> None:
    from tokentui.store.db import connect

    connect(paths.history_db()).close()  # an (empty) store: --no-sync reads it
    for since, until in (("2000-01-01", "20991231"), ("20000101", "2099-12-31")):
        for kind in ("daily", "weekly", "monthly", "session"):
            code = main(["report", kind, "--no-sync", "--json", "--since", since, "--until", until, "--timezone", tz])
            out, err = capsys.readouterr()
            assert code == 0, err
            assert '"totals"' in out


@pytest.mark.parametrize("first,last", [("2026-01-01", "9999-12-31"), ("0001-01-01", "0001-01-02"),
                                        ("9999-12-30", "9999-12-31"), ("1999-12-31", "2026-01-01"),
                                        ("2026-01-01", "2100-01-01")])
def test_export_periods_outside_the_range_are_usage_errors(capsys, tmp_path, first, last) -> None:
    from tokentui.store.db import connect

    connect(paths.history_db()).close()
    out = tmp_path / "snap.md"
    code = main(["export", "--no-sync", "--period", f"{first}..{last}", "-o", str(out)])
    _, err = capsys.readouterr()
    assert code == 2, err
    _one_error(err, "2000-01-01", "2099-12-31")
    assert not out.exists()


def test_export_of_the_whole_range_works(capsys, tmp_path) -> None:
    out = tmp_path / "snap.json"
    code = main(["export", "--no-sync", "--format", "json", "--period", "2000-01-01..2099-12-31", "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    assert out.stat().st_size > 0


@pytest.mark.parametrize("day", OUTSIDE)
def test_budget_start_outside_the_range(capsys, day) -> None:
    code = main(["budget", "set", "b", "--usd", "5", "--period", "year", "--start", day])
    _, err = capsys.readouterr()
    assert code == 2, err
    _one_error(err, "--start")
    assert not paths.config_file().exists() or "budgets" not in paths.config_file().read_text()


@pytest.mark.parametrize("day", ["0001-01-01", "1999-12-31", "2100-01-01", "9999-12-31"])
def test_a_config_date_outside_the_range(capsys, day) -> None:
    cfg = paths.config_file()
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(f'[budgets.b]\nusd = 5\nperiod = "year"\nstart = {day}\n')
    code = main(["budget", "check", "--no-sync"])
    _, err = capsys.readouterr()
    assert code == 3, err  # budget check's own "could not run"
    _one_error(err, "budgets.b.start", day)
    code = main(["budget", "list"])
    _, err = capsys.readouterr()
    assert code == 2, err
    _one_error(err, "budgets.b.start")


def test_the_budget_form_and_the_export_modal_share_the_checks() -> None:
    """The TUI reads the same dates through the same functions."""
    from tokentui.core.budgets import BudgetError
    from tokentui.export.model import SnapshotError, parse_period
    from tokentui.tui.screens.budget_form import budget_from_form

    for day in ("0001-01-01", "9999-12-31", "2100-01-01"):
        with pytest.raises(BudgetError, match="2099-12-31"):
            budget_from_form("b", "5", "usd", "year", day)
        with pytest.raises(SnapshotError, match="2099-12-31"):
            parse_period(f"2026-01-01..{day}" if day > "2026" else f"{day}..2026-01-01", date(2026, 11, 20),
                         lambda p: date(2026, 11, 1))
    assert budget_from_form("b", "5", "usd", "year", "2099-12-31").start == date(2099, 12, 31)


def test_through_a_real_process() -> None:
    proc = tokentop("report", "daily", "--no-sync", "--until", "99991231")
    assert proc.returncode == 2, proc.stderr
    _one_error(proc.stderr, "--until", "9999-12-31")
    proc = tokentop("export", "--no-sync", "--period", "2026-01-01..9999-12-31", "-o", "-")
    assert proc.returncode == 2, proc.stderr
    _one_error(proc.stderr, "9999-12-31")
