"""SVG snapshots with plan-limit samples (frozen clock, frozen demo data): the dashboard's
gauges at 80×24 and 160×48, and the Budgets screen's curves at 80×24 and 160×48."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.snapshots.test_dashboard_snapshots import _painted, _screen
from tests.tui.conftest import FROZEN_NOW, settings, write_template
from tests.tui.quota_data import add_samples


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    db = write_template(tmp_path_factory.mktemp("quota-snapshot-demo") / "history.db")
    add_samples(db)
    return db


def _app(template: Path, tmp_path: Path):
    from tokentui.tui.app import TokentopApp

    db = tmp_path / "store" / "history.db"
    db.parent.mkdir()
    shutil.copy(template, db)
    return TokentopApp(settings(tmp_path), db_path=db, demo=True, theme="tokentop-dark", clock=lambda: FROZEN_NOW)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_dashboard_quota_gauges(snap_compare, template, tmp_path, size):
    assert snap_compare(_app(template, tmp_path), terminal_size=size, run_before=_painted)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_budgets_quota_curves(snap_compare, template, tmp_path, size):
    assert snap_compare(_app(template, tmp_path), terminal_size=size, run_before=_screen("3"))
