"""Refresh workers: never overlapping, failures reported once, demo mode self-contained."""

from __future__ import annotations

import threading
import time

from tests.tui.conftest import FROZEN_NOW, settings, wait_for
from tokentui.tui.app import TokentopApp
from tokentui.services.session import Session


async def test_refreshes_never_overlap(make_app, monkeypatch):
    app = make_app()
    active, peak, runs = [0], [0], [0]
    lock = threading.Lock()
    pressed = threading.Event()  # the first refresh lasts until every press is in (a busy CI
    real = Session.refresh       # machine can take longer than any fixed sleep to send ten keys)

    def slow_refresh(self, *args, **kw):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
            runs[0] += 1
        try:
            pressed.wait(30)
            time.sleep(0.2)
            return real(self, *args, **kw)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(Session, "refresh", slow_refresh)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: runs[0] == 1, what="first refresh started")
        for _ in range(10):  # hammer "refresh now" while the first one runs
            await pilot.press("r")
        assert runs[0] == 1
        pressed.set()
        await wait_for(pilot, lambda: runs[0] >= 2 and not app._refresh_worker.is_running, what="catch-up run")
        await pilot.pause(0.5)
        assert peak[0] == 1
        assert runs[0] == 2  # the presses collapse into one follow-up refresh
        assert app._timer is not None  # the next refresh is armed only after the last finished


async def test_the_timer_keeps_refreshing(make_app):
    app = make_app(settings_kw={"refresh_seconds": 0.5})
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.session.refreshes >= 3, timeout=10, what="three timed refreshes")


async def test_a_failing_refresh_is_one_notice_not_a_crash(make_app, monkeypatch):
    from tokentui.services import dashboard

    def boom(*a, **k):
        raise RuntimeError("disk on fire")

    app = make_app()
    monkeypatch.setattr(dashboard, "build_snapshot", boom)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.status_line.startswith("⚠"), what="failure shown")
        for _ in range(3):
            await pilot.press("r")
            await pilot.pause(0.2)
        await wait_for(pilot, lambda: not app._refresh_worker.is_running)
        notes = [n for n in app._notifications if "disk on fire" in n.message]
        assert len(notes) == 1
        assert app.is_running


async def test_demo_generates_into_an_empty_store_and_reads_nothing_of_the_user(tmp_path, monkeypatch):
    # a real Claude log the demo must ignore
    logs = tmp_path / "claude" / "projects" / "-p"
    logs.mkdir(parents=True)
    (logs / "s.jsonl").write_text('{"type":"assistant"}\n')
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    db = tmp_path / "demo-store" / "history.db"
    user = settings(tmp_path, raw={"budgets": {"mine": {"usd": 5, "period": "month"}}})
    app = TokentopApp(user, db_path=db, demo=True, clock=lambda: FROZEN_NOW)
    # from the first instant, budgets are read from and written to the demo's folder only
    assert app.settings.path == db.parent / "config.toml" and app.settings.raw == {}
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.budgets is not None, timeout=20,
                       what="generated demo")
        assert app.snapshot.period("quarter").tokens > 0
        assert [r.budget.name for r in app.budgets.results] == ["api-monthly", "tokens-fy"]
    app.close_store()
    import sqlite3

    conn = sqlite3.connect(db)
    assert conn.execute("SELECT DISTINCT device FROM ledger").fetchall() == [("demo",)]
    assert conn.execute("SELECT COUNT(*) FROM files").fetchone()[0] == 0  # no log file was read
    from tokentui import paths

    assert not paths.data_dir().exists() and not paths.config_file().exists()


def test_run_app_demo_removes_its_store(tmp_path, monkeypatch):
    import tempfile

    from tokentui import tui as app_module

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    seen = {}

    def fake_run(self, *a, **k):
        seen["db"] = self.db_path
        seen["demo"] = self.demo
        self.session.store()  # create the store as the real run would
        return None

    monkeypatch.setattr(TokentopApp, "run", fake_run)
    assert app_module.run_app(settings(tmp_path), demo=True) == 0
    assert seen["demo"] and seen["db"].parent.parent == tmp_path / "tmp"
    assert not seen["db"].parent.exists()
    assert list((tmp_path / "tmp").iterdir()) == []


async def test_damaged_store_is_repaired_and_the_user_told(make_app, tmp_path):
    db = tmp_path / "damaged" / "history.db"
    db.parent.mkdir()
    db.write_bytes(b"this is not a SQLite database" * 200)
    app = make_app(db_path=db, demo=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: any(n.title == "History store repaired" for n in app._notifications),
                       what="repair notice")
        assert list(db.parent.glob("history.db.corrupt-*")), "the damaged file is kept aside"
        assert app._refresh_worker is not None


def test_a_config_changed_from_the_cli_is_used_at_the_next_refresh(isolated, tmp_path):
    """`tokentop budget set` (or any edit of config.toml) while the dashboard runs: the next
    refresh reads the file again, re-evaluates the budgets and says so; a half-written, broken
    file keeps the settings the dashboard had and says why. The demo never reads it."""
    import os

    from tokentui.config import load_settings
    from tokentui.services.session import RefreshPlan

    cfg = tmp_path / "config" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text('timezone = "UTC"\n', encoding="utf-8")
    session = Session(load_settings(cfg), db_path=tmp_path / "data" / "history.db", clock=lambda: FROZEN_NOW)
    try:
        first = session.refresh(RefreshPlan(True, True), None)
        assert first.figures.budgets.results == () and first.notices == ()
        quiet = session.refresh(RefreshPlan(False, False), first.snapshot)
        assert quiet.figures is None and quiet.notices == ()
        cfg.write_text('timezone = "UTC"\n[budgets.cli]\nusd = 50\nperiod = "month"\n', encoding="utf-8")
        os.utime(cfg, ns=(time.time_ns(), time.time_ns() + 10**9))  # a new stamp even within one tick
        changed = session.refresh(RefreshPlan(False, False), quiet.snapshot)
        assert [r.budget.name for r in changed.figures.budgets.results] == ["cli"]
        assert [t for t, _ in changed.notices] == ["Config reloaded"]
        cfg.write_text('timezone = "UTC"\n[budgets.cli\nusd = 5', encoding="utf-8")  # half-written
        os.utime(cfg, ns=(time.time_ns(), time.time_ns() + 2 * 10**9))
        broken = session.refresh(RefreshPlan(False, False), changed.snapshot)
        (notice,) = broken.notices
        assert notice[0] == "Config not reloaded" and str(cfg) in notice[1] and "keeps the settings" in notice[1]
        assert session.refresh(RefreshPlan(False, False), broken.snapshot).notices == ()  # said once
        from tokentui.services.budgets import load_budgets

        assert [b.name for b in load_budgets(session.settings).budgets] == ["cli"]
    finally:
        session.close()
