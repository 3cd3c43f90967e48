"""Goose (spec/agents.md §7): session totals from SQLite, labelled estimated; the fixture's totals
in UTC and Los Angeles; later growth dated when seen; a busy or damaged database."""

from __future__ import annotations

import runpy
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.unit.ingest_helpers import daily, sync, tokens
from tokentui.core.pricing import Pricer
from tokentui.sources import goose

FIX = FIXTURES / "agents" / "goose"
SRC = ("goose",)


@pytest.fixture
def pricer(fixture_price_table):
    return Pricer(table=fixture_price_table, use_genai=False)


@pytest.fixture
def data(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "goose-root"
    runpy.run_path(str(FIX / "make_fixture.py"))["build"](str(root / "data"))
    monkeypatch.setenv("GOOSE_PATH_ROOT", str(root))
    return root / "data"


def _reasoning(conn) -> dict:
    return dict(conn.execute("SELECT substr(datetime(ts_ms/1000,'unixepoch'),1,10), SUM(reasoning) FROM ledger "
                             "WHERE source='goose' GROUP BY 1"))


@pytest.mark.parametrize("tz", ["UTC", "America/Los_Angeles"])  # every session starts on the same day in both
def test_fixture_totals(data, pricer, tmp_path, tz) -> None:
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert (res["goose"].files, res["goose"].records, res["goose"].skipped) == (1, 3, 0)
    d = daily(conn, "goose", tz)
    assert sorted(d) == ["2026-11-20", "2026-11-21"]
    assert tokens(d["2026-11-20"]) == (81800, 4550, 0, 0, 86350)
    assert tokens(d["2026-11-21"]) == (3900, 200, 0, 0, 4100)
    assert d["2026-11-20"]["estimatedTokens"] == 86350 and d["2026-11-21"]["estimatedTokens"] == 4100
    assert _reasoning(conn) == {"2026-11-20": 250, "2026-11-21": 0}


def test_growth_is_dated_when_seen_and_never_counted_twice(data, pricer, tmp_path) -> None:
    sync(tmp_path / "h.db", pricer, sources=SRC)
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert res["goose"].files_read == 0  # unchanged database: not read
    db = sqlite3.connect(data / "sessions" / "sessions.db")
    db.execute("UPDATE sessions SET accumulated_input_tokens = 60000, accumulated_output_tokens = 3500, "
               "accumulated_total_tokens = 63500, updated_at = '2026-11-22 08:00:00' WHERE id = '20261120_1'")
    db.commit()
    db.close()
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    d = daily(conn, "goose")
    assert tokens(d["2026-11-20"]) == (81800, 4550, 0, 0, 86350)  # the first sight stays where it was
    assert tokens(d["2026-11-22"]) == (8000, 400, 0, 0, 8400)  # the increase, when it was seen
    for _ in range(2):  # touched again with nothing new, then re-read: nothing added
        db = sqlite3.connect(data / "sessions" / "sessions.db")
        db.execute("UPDATE sessions SET updated_at = '2026-11-22 08:00:00' WHERE id = '20261120_1'")
        db.commit()
        db.close()
        conn, _ = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert sum(r["totalTokens"] for r in daily(conn, "goose").values()) == 86350 + 4100 + 8400
    db = sqlite3.connect(data / "sessions" / "sessions.db")
    db.execute("DELETE FROM sessions WHERE id = '20261120_2'")  # a deleted session keeps its history
    db.commit()
    db.close()
    conn, _ = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert daily(conn, "goose")["2026-11-20"]["totalTokens"] == 86350


def test_corrupt_rows_and_a_locked_database(data, pricer, tmp_path) -> None:
    db = sqlite3.connect(data / "sessions" / "sessions.db")
    db.execute("INSERT INTO sessions (id, working_dir, created_at, updated_at, accumulated_input_tokens, "
               "accumulated_output_tokens, model_config_json) VALUES ('bad1', '/x', 'not a date', "
               "'2026-11-22 00:00:00', 5, 5, '{\"model_name\":\"gpt-5.1\"}')")
    db.execute("INSERT INTO sessions (id, working_dir, created_at, updated_at, accumulated_input_tokens, "
               "accumulated_output_tokens, model_config_json) VALUES ('bad2', '/x', '2026-11-22 00:00:00', "
               "'2026-11-22 00:00:00', -5, 'lots', '{\"model_name\":\"gpt-5.1\"}')")
    db.execute("INSERT INTO sessions (id, working_dir, created_at, updated_at, accumulated_input_tokens, "
               "model_config_json) VALUES ('bad3', '/x', '2026-11-22 00:00:00', '2026-11-22 00:00:00', 9, '{oops')")
    db.commit()
    db.execute("BEGIN EXCLUSIVE")  # Goose holds the write lock: the read waits, then says so
    try:
        goose.BUSY_MS, saved = 100, goose.BUSY_MS
        conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
        assert res["goose"].records == 0 and "cannot read" in res["goose"].errors[0]
    finally:
        goose.BUSY_MS = saved
        db.rollback()
        db.close()
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)  # read again once it is free
    assert (res["goose"].records, res["goose"].skipped) == (3, 3)
    assert daily(conn, "goose")["2026-11-20"]["totalTokens"] == 86350


def test_locations(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("GOOSE_PATH_ROOT", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert goose.data_dirs() == []
    (tmp_path / "home" / ".local" / "share" / "goose" / "sessions").mkdir(parents=True)
    (tmp_path / "home" / ".local" / "share" / "goose" / "sessions" / "sessions.db").write_bytes(b"")
    assert goose.data_dirs() == [tmp_path / "home" / ".local" / "share" / "goose"]
    monkeypatch.setenv("GOOSE_PATH_ROOT", str(tmp_path / "nowhere"))
    assert goose.data_dirs() == [] and "GOOSE_PATH_ROOT" in goose.where()[1]


def test_what_was_counted_comes_from_the_history_itself(data, pricer, tmp_path) -> None:
    """The baseline of each session is what the ledger holds for it: losing the reader's own
    bookkeeping (sync state) re-reads the database and adds nothing."""
    sync(tmp_path / "h.db", pricer, sources=SRC)
    db = sqlite3.connect(data / "sessions" / "sessions.db")
    db.execute("UPDATE sessions SET accumulated_input_tokens = 60000, updated_at = '2026-11-22 08:00:00' "
               "WHERE id = '20261120_1'")
    db.commit()
    db.close()
    conn, _ = sync(tmp_path / "h.db", pricer, sources=SRC)
    conn.execute("DELETE FROM sync_state WHERE source = 'goose'")
    conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
    assert res["goose"].files_read == 1
    assert sum(r["totalTokens"] for r in daily(conn, "goose").values()) == 86350 + 4100 + 8000


def test_a_database_being_written_in_wal_mode_is_read_as_committed(data, pricer, tmp_path) -> None:
    path = data / "sessions" / "sessions.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("BEGIN IMMEDIATE")  # Goose in the middle of a write: not committed yet
    writer.execute("UPDATE sessions SET accumulated_input_tokens = 99999999 WHERE id = '20261120_1'")
    try:
        conn, res = sync(tmp_path / "h.db", pricer, sources=SRC)
        assert res["goose"].errors == [] and res["goose"].records == 3
        assert daily(conn, "goose")["2026-11-20"]["totalTokens"] == 86350
    finally:
        writer.execute("ROLLBACK")
        writer.close()
