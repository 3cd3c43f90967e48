"""A big first ingest into an empty ledger builds the ledger's secondary indexes once, at its
end (store.db.bulk_load): the same ledger as an ingest that keeps them, the same indexes as
the migrations make, and never a store left without them."""

from __future__ import annotations

import re
import sqlite3

import pytest

from tests.corpus import make_corpus, stored, truth
from tokentui.core.pricing import Pricer
from tokentui.services import ingest as ingest_mod
from tokentui.services.ingest import Ingestor
from tokentui.store import db
from tokentui.store.db import LEDGER_INDEXES, connect

LEDGER = ("SELECT source, key, kind, ts_ms, model, input, output, cache_write_5m, cache_write_1h, cache_read, "
          "reasoning, project, session, cost_pico, cost_label, msg_id, sidechain, has_speed FROM ledger "
          "ORDER BY source, key")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("corpus"), mb=2, seed=5, days=4)


def _indexes(conn: sqlite3.Connection) -> dict[str, str]:
    return {name: sql for name, sql in conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'ledger' AND sql IS NOT NULL")}


def _ingest(path, corpus, monkeypatch, *, big: bool, statements: list | None = None):
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(corpus / "claude"))
    monkeypatch.setenv("CODEX_HOME", str(corpus / "codex"))
    conn = connect(path)
    if statements is not None:
        conn.set_trace_callback(statements.append)
    Ingestor(conn, Pricer(), device="t", mode="calculate", workers=1,
             parallel_min_bytes=0 if big else 1 << 40).run(("claude-code", "codex"))
    conn.set_trace_callback(None)
    return conn


def test_the_indexes_are_the_ones_the_migrations_make(tmp_path) -> None:
    """LEDGER_INDEXES repeats the migrations' index definitions: they must stay the same."""
    conn = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    db.migrate(conn)
    made = _indexes(conn)
    assert set(made) == set(LEDGER_INDEXES)
    for name, sql in LEDGER_INDEXES.items():
        assert re.sub(r"\s+", " ", made[name]) == sql.replace(" IF NOT EXISTS", "")


def test_a_big_first_ingest_drops_and_builds_the_indexes_once(tmp_path, corpus, monkeypatch) -> None:
    kept = _ingest(tmp_path / "kept.db", corpus, monkeypatch, big=False)
    seen: list[str] = []
    bulk = _ingest(tmp_path / "bulk.db", corpus, monkeypatch, big=True, statements=seen)
    assert stored(bulk) == truth(corpus)
    assert bulk.execute(LEDGER).fetchall() == kept.execute(LEDGER).fetchall()
    assert _indexes(bulk) == _indexes(kept)
    assert bulk.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    drops = [s for s in seen if s.startswith("DROP INDEX")]
    first_insert = next(i for i, s in enumerate(seen) if s.startswith("INSERT INTO ledger"))
    built = [i for i, s in enumerate(seen) if s.startswith("CREATE INDEX")]
    assert len(drops) == len(LEDGER_INDEXES) and seen.index(drops[-1]) < first_insert
    assert len(built) == len(LEDGER_INDEXES) and built[0] > max(
        i for i, s in enumerate(seen) if s.startswith("INSERT INTO ledger"))


def test_a_ledger_that_holds_rows_keeps_its_indexes(tmp_path, corpus, monkeypatch) -> None:
    conn = _ingest(tmp_path / "a.db", corpus, monkeypatch, big=False)
    conn.execute("DELETE FROM files")  # every file is read again, into a ledger that has rows
    conn.close()
    seen: list[str] = []
    again = _ingest(tmp_path / "a.db", corpus, monkeypatch, big=True, statements=seen)
    assert not [s for s in seen if s.startswith("DROP INDEX")]
    assert stored(again) == truth(corpus)


def test_a_failed_bulk_load_still_builds_the_indexes(tmp_path, corpus, monkeypatch) -> None:
    """The ingest fails after its first commit: the rows it committed stay, with every index."""
    real = ingest_mod.Ingestor._jsonl
    calls = []

    def fail_second(self, *a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk gone")
        return real(self, *a, **k)

    monkeypatch.setattr(ingest_mod.Ingestor, "_jsonl", fail_second)
    with pytest.raises(OSError):
        _ingest(tmp_path / "f.db", corpus, monkeypatch, big=True)
    conn = sqlite3.connect(tmp_path / "f.db")
    assert set(_indexes(conn)) == set(LEDGER_INDEXES)
    assert conn.execute("SELECT COUNT(*) FROM ledger").fetchone()[0] > 0


def test_a_writer_open_builds_indexes_a_killed_bulk_load_left_out(tmp_path) -> None:
    conn = connect(tmp_path / "k.db")
    for name in LEDGER_INDEXES:  # what a bulk load killed before its end leaves
        conn.execute(f"DROP INDEX {name}")
    conn.close()
    ro = connect(tmp_path / "k.db", readonly=True)  # a reader changes nothing
    assert _indexes(ro) == {}
    ro.close()
    assert set(_indexes(connect(tmp_path / "k.db"))) == set(LEDGER_INDEXES)
