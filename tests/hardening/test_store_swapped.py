"""history.db deleted, replaced or truncated under a running dashboard (issue 15, item 13).

The dashboard holds a long-lived connection. When the file is deleted, that connection writes
on into an unlinked file that vanishes when it quits; when it is truncated, the pages are gone.
Each case has to be noticed and said in plain words, with what to do:

* the dashboard notices (by ``stat``: the path is gone, is another file, or is empty; never by
  opening the file, which would drop the process's SQLite locks), says so once, and goes on with
  the store now at the path (a new one, re-read from the logs; the replacement; the repaired one);
* `report --no-sync` with no store says there is no history (deleted, or never synced) instead of
  printing zeros, and never creates one;
* a new store never adopts the deleted one's -wal/-shm that the dashboard still uses (that made
  `sync` fail with "disk I/O error … check the disk");
* a truncated store is damaged, moved aside and rebuilt, never "check the disk" nor "busy".
"""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import LOG_FIXTURES
from tests.hardening.helpers import env_for, tokentop
from tests.tui.conftest import demo_db, demo_template, make_app, wait_for  # noqa: F401 (fixtures)
from tokentui import paths
from tokentui.store import dbfile as store_db
from tokentui.store.db import connect, transaction

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=timezone.utc)


def _filled(path: Path):
    """A store with demo history, open like the dashboard's (a long-lived connection)."""
    from tokentui.services.demo import generate

    conn = connect(path)
    generate(conn, now=NOW, tz=ZoneInfo("UTC"), days=30)
    with transaction(conn):  # one more commit: the WAL holds frames the file does not
        conn.execute("INSERT INTO meta (key, value) VALUES ('dashboard', 'was here')")
    return conn


def _no_disk_blame(err: str) -> None:
    assert "check the disk" not in err and "disk I/O" not in err and "busy" not in err, err
    assert "Traceback" not in err and "unexpected" not in err, err


# --- the connection itself -------------------------------------------------------------------

def test_file_changed_tells_deleted_replaced_emptied(tmp_path) -> None:
    path = tmp_path / "history.db"
    conn = _filled(path)
    try:
        assert store_db.file_changed(conn) is None
        os.rename(path, tmp_path / "moved.db")
        assert store_db.file_changed(conn) == "deleted"
        other = connect(path)
        other.close()
        assert store_db.file_changed(conn) == "replaced"
        os.unlink(path)
        os.rename(tmp_path / "moved.db", path)
        assert store_db.file_changed(conn) is None  # its own file is back
        os.truncate(path, 0)
        assert store_db.file_changed(conn) == "emptied"
    finally:
        conn.close()


# --- the command line while a dashboard holds the store ---------------------------------------

def test_deleted_under_a_dashboard_report_says_no_history_and_sync_starts_clean(tmp_path) -> None:
    db = paths.history_db()
    db.parent.mkdir(parents=True)
    dashboard = _filled(db)
    try:
        for suffix in ("",):
            os.unlink(f"{db}{suffix}")  # `rm history.db`; the dashboard keeps its -wal and -shm
        proc = tokentop("report", "daily", "--no-sync")
        assert proc.returncode == 0, proc.stderr
        assert "No history yet" in proc.stdout and str(db) in proc.stdout and "deleted" in proc.stdout
        assert "$" not in proc.stdout  # no table of zeros
        proc = tokentop("report", "daily", "--no-sync", "--json")
        assert proc.returncode == 1 and proc.stdout == ""
        assert proc.stderr.startswith("tokentop: error: there is no history yet") and str(db) in proc.stderr
        assert not db.exists()  # reporting created nothing
        # a sync starts a new store beside the dashboard's orphaned WAL, and does not adopt it
        env = env_for(CLAUDE_CONFIG_DIR=str(LOG_FIXTURES / "claude"))
        proc = tokentop("sync", "-q", env=env)
        assert proc.returncode == 0, proc.stderr
        _no_disk_blame(proc.stderr)
        assert store_db.file_changed(dashboard) == "replaced"
        assert dashboard.execute("SELECT value FROM meta WHERE key = 'dashboard'").fetchone() == ("was here",)
    finally:
        dashboard.close()  # the dashboard quits: its old files must not take the new store's with them
    proc = tokentop("report", "daily", "--no-sync", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["totals"]["totalTokens"] > 0
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT COUNT(*) FROM meta WHERE key = 'dashboard'").fetchone() == (0,)
    finally:
        conn.close()


@pytest.mark.parametrize("cmd", [("export", "--no-sync", "-o", "-"), ("leverage", "--no-sync")])
def test_other_no_sync_commands_say_there_is_no_history(cmd) -> None:
    proc = tokentop(*cmd)
    assert proc.returncode == 0, proc.stderr
    [line] = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert line.startswith("tokentop: warning: there is no history yet") and str(paths.history_db()) in line
    assert "tokentop sync" in line


@pytest.mark.parametrize("cut", ["zero", "page", "half"])
def test_truncated_under_a_dashboard_is_damage_with_the_recovery_path(cut) -> None:
    db = paths.history_db()
    db.parent.mkdir(parents=True)
    dashboard = _filled(db)
    try:
        dashboard.execute("PRAGMA wal_checkpoint(PASSIVE)")
        with transaction(dashboard):
            dashboard.execute("INSERT INTO meta (key, value) VALUES ('after', 'checkpoint')")
        size = db.stat().st_size
        os.truncate(db, {"zero": 0, "page": 4096, "half": size // 2}[cut])
        for args in (("report", "daily", "--no-sync"), ("sync", "-q")):
            proc = tokentop(*args)
            _no_disk_blame(proc.stderr)
            if "damaged" in proc.stderr:
                assert "moved to" in proc.stderr and "re-reads" in proc.stderr, proc.stderr
                break
        else:
            pytest.fail(f"the truncated store was never reported damaged: {proc.stderr}")
        assert list(db.parent.glob("history.db.corrupt-*"))
        assert store_db.file_changed(dashboard) == "replaced"  # moved aside: the dashboard can tell
    finally:
        dashboard.close()


# --- the dashboard ------------------------------------------------------------------------

async def _refresh(app, pilot) -> None:
    before = app.session.refreshes
    app._start_refresh(full=True)
    await wait_for(pilot, lambda: app.session.refreshes > before and not (app._refresh_worker and
                                                                    app._refresh_worker.is_running),
                   what="a refresh")
    await pilot.pause(0.1)


def _notes(app, word: str) -> list[str]:
    return [n.message for n in app._notifications if word in n.message]


async def test_the_dashboard_notices_a_deleted_store_and_starts_a_new_one(make_app, demo_db) -> None:  # noqa: F811
    app = make_app()
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)
        await _refresh(app, pilot)
        os.unlink(demo_db)  # `rm history.db` in another terminal
        await _refresh(app, pilot)
        await _refresh(app, pilot)
        notes = _notes(app, "deleted")
        assert len(notes) == 1, [n.message for n in app._notifications]
        assert str(demo_db) in notes[0] and "new" in notes[0]
        assert demo_db.exists()  # the new store, at the path the user expects
        conn = sqlite3.connect(demo_db)
        try:
            assert conn.execute("SELECT COUNT(*) FROM ledger").fetchone()[0] > 0  # written to the new file
        finally:
            conn.close()
        assert app.is_running and app.snapshot is not None


async def test_the_dashboard_follows_a_replaced_store(make_app, demo_db, tmp_path) -> None:  # noqa: F811
    app = make_app()
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)
        await _refresh(app, pilot)
        backup = tmp_path / "restored.db"
        conn = connect(backup)
        with transaction(conn):
            conn.execute("INSERT INTO meta (key, value) VALUES ('restored', 'yes')")
        conn.close()
        os.replace(backup, demo_db)  # a backup restored over it
        await _refresh(app, pilot)
        assert len(_notes(app, "replaced")) == 1, [n.message for n in app._notifications]
        assert app.session._conn is not None and store_db.file_changed(app.session._conn) is None
        assert app.session._conn.execute("SELECT value FROM meta WHERE key = 'restored'").fetchone() == ("yes",)
        assert app.is_running


async def test_the_dashboard_notices_an_emptied_store(make_app, demo_db) -> None:  # noqa: F811
    app = make_app()
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)
        await _refresh(app, pilot)
        os.truncate(demo_db, 0)
        await _refresh(app, pilot)
        await _refresh(app, pilot)
        assert _notes(app, "emptied"), [n.message for n in app._notifications]
        assert not _notes(app, "disk I/O"), [n.message for n in app._notifications]
        assert list(demo_db.parent.glob("history.db.corrupt-*"))  # moved aside, rebuilt
        assert app.is_running and app.session._conn is not None and store_db.file_changed(app.session._conn) is None


async def test_the_history_and_poll_workers_follow_the_store_too(make_app, demo_db, tmp_path) -> None:  # noqa: F811
    """The history worker's and the poll worker's connections are checked before each use,
    not only the refresh worker's: after a restore, neither reads or writes the old file."""
    from tokentui.tui.messages import HistoryRequested

    app = make_app(demo=False)  # reads the stored demo history; polls the (keyless) API sources
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)
        app.post_message(HistoryRequested(app._history_query))
        await wait_for(pilot, lambda: app.history is not None and app.history.total_tokens > 0, what="history")
        await wait_for(pilot, lambda: app.session._poll_conn is not None, what="the first poll")
        await wait_for(pilot, lambda: not (app._poll_worker and app._poll_worker.is_running), what="poll end")
        empty = tmp_path / "restored.db"
        connect(empty).close()
        os.replace(empty, demo_db)  # an empty backup restored over it
        await _refresh(app, pilot)
        app.history = None
        app.post_message(HistoryRequested(app._history_query))
        await wait_for(pilot, lambda: app.history is not None, what="history again")
        assert app.history.total_tokens == 0  # read from the restored file, not the old one
        app._start_poll(force=True)
        await pilot.pause(0.2)
        await wait_for(pilot, lambda: not (app._poll_worker and app._poll_worker.is_running), what="poll end")
        conn = sqlite3.connect(demo_db)
        try:
            polled = {s for (s,) in conn.execute("SELECT source FROM source_status")}
        finally:
            conn.close()
        assert "openai" in polled  # the poll wrote its statuses into the restored file
