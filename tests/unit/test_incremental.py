"""Incremental ingest: appended bytes only, partial lines, rescans, dedupe across runs, the corpus."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import LOG_FIXTURES
from tests.corpus import make_corpus, stored, truth
from tests.unit.ingest_helpers import daily, sync, tokens
from tokentui.core.pricing import Pricer

CLAUDE_MAIN = LOG_FIXTURES / "claude/projects/-home-u-proj/5f1c2d3e-8a9b-4c7d-9e0f-1a2b3c4d5e6f.jsonl"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def pricer(fixture_price_table):
    return Pricer(table=fixture_price_table, use_genai=False)


def _claude_root(tmp_path: Path, monkeypatch) -> Path:
    proj = tmp_path / "claude" / "projects" / "-home-u-proj"
    proj.mkdir(parents=True)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    return proj


def test_appends_split_anywhere_give_the_same_totals(tmp_path, monkeypatch, pricer) -> None:
    """Feed the fixture tree in random byte-sized pieces (mid-line too), syncing after each."""
    src = LOG_FIXTURES / "claude"
    live = tmp_path / "live"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(live))
    files = {p: p.read_bytes() for p in src.rglob("*.jsonl")}
    pos = dict.fromkeys(files, 0)
    rng = random.Random(5)
    db = tmp_path / "h.db"
    while any(pos[p] < len(d) for p, d in files.items()):
        for p, data in files.items():
            n = rng.randint(1, 700)
            piece = data[pos[p]:pos[p] + n]
            if not piece:
                continue
            target = live / p.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "ab") as fh:
                fh.write(piece)
            pos[p] += len(piece)
        sync(db, pricer)
    conn, _ = sync(db, pricer)
    d = daily(conn, "claude-code")
    assert tokens(d["2026-11-20"]) == (842, 2020, 15500, 39500, 57862)
    assert tokens(d["2026-11-21"]) == (8, 115, 800, 30200, 31123)
    assert d["2026-11-20"]["totalCost"] == pytest.approx(0.111431, abs=1e-9)


def test_partial_last_line_waits_for_its_newline(tmp_path, monkeypatch, pricer) -> None:
    proj = _claude_root(tmp_path, monkeypatch)
    line = CLAUDE_MAIN.read_bytes().splitlines(keepends=True)[4]  # L5, a complete usage line
    f = proj / "s.jsonl"
    f.write_bytes(line[:50])
    conn, res = sync(tmp_path / "h.db", pricer)
    assert res["claude-code"].records == 0
    assert conn.execute("SELECT offset FROM files").fetchone()[0] == 0
    with open(f, "ab") as fh:
        fh.write(line[50:])
    conn, res = sync(tmp_path / "h.db", pricer)
    assert res["claude-code"].records == 1
    assert conn.execute("SELECT offset FROM files").fetchone()[0] == len(line)


def test_complete_last_line_without_newline_is_read_once(tmp_path, monkeypatch, pricer) -> None:
    proj = _claude_root(tmp_path, monkeypatch)
    line = CLAUDE_MAIN.read_bytes().splitlines()[4]
    f = proj / "s.jsonl"
    f.write_bytes(line)
    conn, res = sync(tmp_path / "h.db", pricer)
    assert res["claude-code"].records == 1
    with open(f, "ab") as fh:
        fh.write(b"\n")
    conn, _ = sync(tmp_path / "h.db", pricer)
    assert conn.execute("SELECT COUNT(*) FROM ledger").fetchone()[0] == 1


def test_more_complete_streamed_copy_in_a_later_run_replaces(tmp_path, monkeypatch, pricer) -> None:
    proj = _claude_root(tmp_path, monkeypatch)
    lines = CLAUDE_MAIN.read_bytes().splitlines(keepends=True)
    f = proj / "s.jsonl"
    f.write_bytes(lines[3])  # L4: partial copy, 8 output tokens
    conn, _ = sync(tmp_path / "h.db", pricer)
    assert conn.execute("SELECT output FROM ledger").fetchall() == [(8,)]
    with open(f, "ab") as fh:
        fh.write(lines[4])  # L5: same message and request, complete
    conn, res = sync(tmp_path / "h.db", pricer)
    assert conn.execute("SELECT output FROM ledger").fetchall() == [(245,)]
    assert res["claude-code"].duplicates == 1
    f2 = proj / "resumed.jsonl"  # the partial copy again, in another file, later: still a duplicate
    f2.write_bytes(lines[3])
    conn, _ = sync(tmp_path / "h.db", pricer)
    assert conn.execute("SELECT output FROM ledger").fetchall() == [(245,)]


def test_sidechain_replay_first_then_main_copy_keeps_main(tmp_path, monkeypatch, pricer) -> None:
    proj = _claude_root(tmp_path, monkeypatch)
    main_line = json.loads(CLAUDE_MAIN.read_bytes().splitlines()[4])
    replay = dict(main_line, isSidechain=True, requestId="req_replay_0001")
    sub = proj / "sess" / "subagents"
    sub.mkdir(parents=True)
    (sub / "agent-x.jsonl").write_text(json.dumps(replay, separators=(",", ":")) + "\n")
    conn, _ = sync(tmp_path / "h.db", pricer)
    assert conn.execute("SELECT sidechain FROM ledger").fetchall() == [(1,)]
    (proj / "sess.jsonl").write_text(json.dumps(main_line, separators=(",", ":")) + "\n")
    conn, _ = sync(tmp_path / "h.db", pricer)
    assert conn.execute("SELECT sidechain, output FROM ledger").fetchall() == [(0, 245)]


def test_corrupt_lines_are_skipped_counted_and_reported(tmp_path, monkeypatch, pricer) -> None:
    proj = _claude_root(tmp_path, monkeypatch)
    good = CLAUDE_MAIN.read_bytes().splitlines()[4]
    bad = [good[:-20], b'{"message":{"usage":{"input_tokens":-5,"output_tokens":1}},"timestamp":"2026-11-20T09:00:00Z"}',
           b'{"usage":{ not json', b'\xff\xfe"usage":{'.ljust(40, b"x")]
    (proj / "s.jsonl").write_bytes(b"\n".join(bad + [good]) + b"\n")
    conn, res = sync(tmp_path / "h.db", pricer)
    assert res["claude-code"].records == 1 and res["claude-code"].skipped == 4
    from tokentui.config import load_settings
    from tokentui.services.status import source_statuses

    status = {s.name: s for s in source_statuses(conn, load_settings())}["claude-code"]
    assert status.status == "ok" and status.skipped_lines == 4


def test_shrunk_or_replaced_file_is_rescanned_and_history_kept(tmp_path, monkeypatch, pricer) -> None:
    proj = _claude_root(tmp_path, monkeypatch)
    lines = CLAUDE_MAIN.read_bytes().splitlines(keepends=True)
    f = proj / "s.jsonl"
    f.write_bytes(b"".join(lines))
    conn, _ = sync(tmp_path / "h.db", pricer)
    n = conn.execute("SELECT COUNT(*) FROM ledger").fetchone()[0]
    f.write_bytes(lines[0])  # truncated (the agent's cleanup or a rewrite)
    conn, res = sync(tmp_path / "h.db", pricer)
    assert conn.execute("SELECT offset FROM files").fetchone()[0] == len(lines[0])
    assert conn.execute("SELECT COUNT(*) FROM ledger").fetchone()[0] == n  # history outlives the log
    tmp = proj / "new.tmp"
    tmp.write_bytes(b"".join(lines))
    os.replace(tmp, f)  # a different file under the same name
    conn, res = sync(tmp_path / "h.db", pricer)
    assert res["claude-code"].files_read == 1
    assert conn.execute("SELECT COUNT(*) FROM ledger").fetchone()[0] == n


def test_rewritten_in_place_is_noticed(tmp_path, monkeypatch, pricer) -> None:
    proj = _claude_root(tmp_path, monkeypatch)
    lines = CLAUDE_MAIN.read_bytes().splitlines(keepends=True)
    sonnet = [ln for ln in lines if b'"usage":{' in ln and b"claude-sonnet-4-5" in ln]
    opus = next(ln for ln in lines if b"claude-opus-4-5" in ln)
    f = proj / "s.jsonl"
    f.write_bytes(sonnet[0])
    sync(tmp_path / "h.db", pricer)
    with open(f, "r+b") as fh:  # same inode, different content, longer than before
        fh.write(opus)
        fh.truncate()
        fh.write(sonnet[-1])
    conn, _ = sync(tmp_path / "h.db", pricer)
    models = {m for (m,) in conn.execute("SELECT model FROM ledger")}
    assert "claude-opus-4-5-20251101" in models


# --- the generated corpus ---------------------------------------------------------------------

def _corpus(tmp_path: Path, mb: float = 1.5, seed: int = 11) -> Path:
    return make_corpus(tmp_path / "corpus", mb, seed)


def test_corpus_matches_truth_after_one_sync_and_resync_adds_nothing(tmp_path, monkeypatch) -> None:
    out = _corpus(tmp_path)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(out / "claude"))
    monkeypatch.setenv("CODEX_HOME", str(out / "codex"))
    conn, _ = sync(tmp_path / "h.db", Pricer())
    assert stored(conn) == truth(out)
    conn, res = sync(tmp_path / "h.db", Pricer())
    assert sum(r.records for r in res.values()) == 0
    assert stored(conn) == truth(out)


def test_corpus_matches_truth_after_many_small_appends(tmp_path, monkeypatch) -> None:
    out = _corpus(tmp_path, mb=1.0, seed=12)
    live = tmp_path / "live"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(live / "claude"))
    monkeypatch.setenv("CODEX_HOME", str(live / "codex"))
    files = {p: p.read_bytes() for p in out.rglob("*.jsonl")}
    pos = dict.fromkeys(files, 0)
    rng = random.Random(3)
    db = tmp_path / "h.db"
    pricer = Pricer()
    rounds = 0
    while any(pos[p] < len(d) for p, d in files.items()):
        for p in rng.sample(list(files), k=max(1, len(files) // 3)):
            piece = files[p][pos[p]:pos[p] + rng.randint(200, 60_000)]
            if piece:
                target = live / p.relative_to(out)
                target.parent.mkdir(parents=True, exist_ok=True)
                with open(target, "ab") as fh:
                    fh.write(piece)
                pos[p] += len(piece)
        sync(db, pricer)
        rounds += 1
    conn, _ = sync(db, pricer)
    assert rounds > 5
    assert stored(conn) == truth(out)


def test_two_concurrent_sync_processes_give_exact_totals(tmp_path) -> None:
    out = _corpus(tmp_path, mb=2.0, seed=13)
    env = dict(os.environ, CLAUDE_CONFIG_DIR=str(out / "claude"), CODEX_HOME=str(out / "codex"))
    procs = [subprocess.Popen([sys.executable, "-m", "tokentui", "sync", "--quiet"], env=env,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stderr.read()
    from tokentui import paths
    from tokentui.store.db import connect

    assert stored(connect(paths.history_db())) == truth(out)


def test_a_write_by_another_process_between_batches_is_seen(tmp_path, monkeypatch, pricer) -> None:
    """A first ingest keeps the entries it stored in memory instead of looking them up; a row
    another process commits meanwhile (a sidechain replay of a later message) must still be
    found, and replaced by the main copy, not counted beside it."""
    from tokentui.core.records import UsageRecord
    from tokentui.services import ingest
    from tokentui.store import ledger
    from tokentui.store.db import connect, transaction

    proj = _claude_root(tmp_path, monkeypatch)
    main_line = json.loads(CLAUDE_MAIN.read_bytes().splitlines()[4])
    (proj / "a.jsonl").write_text(json.dumps(dict(main_line, requestId="req_a", message=dict(
        main_line["message"], id="msg_a")), separators=(",", ":")) + "\n")
    (proj / "b.jsonl").write_text(json.dumps(main_line, separators=(",", ":")) + "\n")
    msg_b = main_line["message"]["id"]
    monkeypatch.setattr(ingest, "BATCH", 1)  # one file per batch
    real = ingest.Ingestor._batches
    db = tmp_path / "h.db"

    def batches(self, *args):
        for n, batch in enumerate(real(self, *args)):
            if n == 1:  # between the two batches, another process stores a replay of b's message
                other = connect(db)
                with transaction(other):
                    ledger.upsert(other, [UsageRecord("claude-code", f"{msg_b}|req_replay", 1_795_000_000_000,
                                                      "claude-x", 1, 1, msg_id=msg_b, sidechain=True)], "other")
                other.close()
            yield batch

    monkeypatch.setattr(ingest.Ingestor, "_batches", batches)
    conn = connect(db)
    ingest.Ingestor(conn, pricer, device="test", mode="calculate").run(("claude-code",))
    rows = conn.execute("SELECT key, sidechain FROM ledger ORDER BY key").fetchall()
    assert rows == sorted([("msg_a|req_a", 0), (f"{msg_b}|{main_line['requestId']}", 0)])
