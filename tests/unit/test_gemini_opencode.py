"""Gemini CLI and OpenCode readers: every number of log-fixtures/README.md, plus robustness."""

from __future__ import annotations

import json
import os
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import LOG_FIXTURES
from tokentui.core.pricing import Pricer
from tokentui.core.records import ESTIMATED, UNPRICED
from tokentui.sources import gemini_cli, opencode
from tokentui.sources.common import LocalFile, parse_ts_ms

TOL = Decimal("1e-9")
GEM = LOG_FIXTURES / "gemini" / "tmp"
G_SESSION = "7c1e9a42-5b6d-4e8f-9a0b-1c2d3e4f5a6b"
A_SESSION = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
JSONL = GEM / "proj" / "chats" / "session-2026-11-20T10-02-7c1e9a42.jsonl"


@pytest.fixture
def pricer(fixture_price_table):
    return Pricer(table=fixture_price_table, use_genai=False)


def close(a, b) -> bool:
    return abs(Decimal(a) - Decimal(str(b))) <= TOL


# ---------------------------------------------------------------------------------------------
# Gemini CLI
# ---------------------------------------------------------------------------------------------

def gemini_all(pricer):
    files, problem = gemini_cli.discover()
    out = {}
    skipped = 0
    for f in files:
        recs, sk = gemini_cli.parse_file(Path(f.path).read_bytes(), f, pricer, 0)
        skipped += sk
        for r in recs:
            out[r.key] = r
    return files, problem, out, skipped


def gfile(path: Path, project: str | None = "proj") -> LocalFile:
    name = path.name
    stem = name.rsplit(".", 1)[0]
    return LocalFile(str(path), gemini_cli.SOURCE, project, stem, name)


def parse_lines(tmp_path: Path, lines: list, pricer, name: str = "s.jsonl", mtime_ms: int = 0, tail: str = "\n"):
    p = tmp_path / name
    text = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + tail
    p.write_text(text)
    return gemini_cli.parse_file(p.read_bytes(), gfile(p), pricer, mtime_ms)


def gem_msg(mid: str, tokens, ts: str = "2026-11-20T10:00:00.000Z", model: str | None = "gemini-2.5-pro", **kw):
    m = {"id": mid, "timestamp": ts, "type": "gemini", "content": [{"text": "x"}], "tokens": tokens}
    if model is not None:
        m["model"] = model
    m.update(kw)
    return m


def test_gemini_fixture_numbers(monkeypatch, pricer) -> None:
    monkeypatch.setenv("GEMINI_DATA_DIR", str(GEM))
    files, problem, recs, skipped = gemini_all(pricer)
    assert problem is None and skipped == 0
    assert len(files) == 2
    assert sorted(recs) == sorted([f"{G_SESSION}|g1-4c6e8a0b", f"{G_SESSION}|g2-6e8a0c2d", f"{A_SESSION}|a2"])
    # msg: ts, model, input, cacheRead, output (ccusage column), reasoning, total, cost
    expected = {
        f"{G_SESSION}|g1-4c6e8a0b": ("2026-11-20T10:02:19.470Z", "gemini-2.5-pro", 2276, 6144, 312, 540, 9272,
                                     "0.012133"),
        f"{G_SESSION}|g2-6e8a0c2d": ("2026-11-20T10:05:12.002Z", "gemini-2.5-pro", 992, 8192, 95, 210, 9489,
                                     "0.005314"),
        f"{A_SESSION}|a2": ("2025-10-01T08:30:40.000Z", "gemini-2.5-flash", 1200, 0, 80, 150, 1430, "0.000935"),
    }
    for key, (ts, model, inp, cr, out, reas, total, cost) in expected.items():
        r = recs[key]
        assert r.source == "gemini-cli"
        assert r.ts_ms == parse_ts_ms(ts)
        assert r.model == model
        assert (r.input, r.cache_read, r.output - r.reasoning, r.reasoning, r.total) == (inp, cr, out, reas, total)
        assert r.output == out + reas  # thoughts are inside output (priced at the output rate)
        assert r.cache_write_5m == r.cache_write_1h == 0
        assert r.cost_label == ESTIMATED and close(r.cost, cost)
        assert r.cost == Decimal(cost)  # exact in picodollars
    g1, a2 = recs[f"{G_SESSION}|g1-4c6e8a0b"], recs[f"{A_SESSION}|a2"]
    assert (g1.session, g1.project) == (G_SESSION, "proj")
    assert (a2.session, a2.project) == (A_SESSION, "d46a3d49930e5b10671a9cf9d4941635cd494fc1c7775113b2813eb82896c2ad")
    # day totals
    nov20 = [r for r in recs.values() if r.ts_ms >= parse_ts_ms("2026-11-20T00:00:00Z")]
    assert sum(r.total for r in nov20) == 9272 + 9489
    assert close(sum(r.cost for r in nov20), "0.017447")


def test_gemini_parse_is_idempotent_and_compact_rewrite_keeps_keys(tmp_path, pricer) -> None:
    data = JSONL.read_bytes()
    f = gfile(JSONL)
    a, sa = gemini_cli.parse_file(data, f, pricer, 0)
    b, sb = gemini_cli.parse_file(data, f, pricer, 0)
    assert [r.key for r in a] == [r.key for r in b] and a == b and sa == sb == 0
    # the atomic compact rewrite on resume: one line per message, no $set / $rewindTo
    lines = [json.loads(x) for x in data.decode().splitlines()]
    final = {}
    for obj in lines:
        if "id" in obj:
            final[obj["id"]] = obj
    compact, sc = parse_lines(tmp_path, [lines[0], *final.values()], pricer, name=JSONL.name)
    assert sc == 0
    assert [(r.key, r.total, r.cost_pico) for r in compact] == [(r.key, r.total, r.cost_pico) for r in a]


def test_gemini_last_write_wins(tmp_path, pricer) -> None:
    meta = {"sessionId": "s1", "projectHash": "h", "startTime": "2026-11-20T10:00:00.000Z", "kind": "main"}
    first = gem_msg("m1", {"input": 100, "output": 10, "cached": 0, "thoughts": 0, "tool": 0, "total": 110})
    second = gem_msg("m1", {"input": 300, "output": 30, "cached": 0, "thoughts": 5, "tool": 0, "total": 335},
                     toolCalls=[{"id": "t", "status": "success"}])
    recs, sk = parse_lines(tmp_path, [meta, gem_msg("m1", None), first, second], pricer)
    assert sk == 0 and len(recs) == 1
    r = recs[0]
    assert (r.key, r.input, r.output, r.reasoning, r.total) == ("s1|m1", 300, 35, 5, 335)
    # the fixture's g1 is written twice (tokens null, then tokens): counted once, second write
    fx, _ = gemini_cli.parse_file(JSONL.read_bytes(), gfile(JSONL), pricer, 0)
    assert [r.key for r in fx].count(f"{G_SESSION}|g1-4c6e8a0b") == 1


def test_gemini_rewind_keeps_spent_tokens(pricer) -> None:
    text = JSONL.read_text()
    assert '"$rewindTo":"u2-5d7f9b1c"' in text and '"$set"' in text
    recs, sk = gemini_cli.parse_file(JSONL.read_bytes(), gfile(JSONL), pricer, 0)
    assert sk == 0
    assert [r.key for r in recs] == [f"{G_SESSION}|g1-4c6e8a0b", f"{G_SESSION}|g2-6e8a0c2d"]


def test_gemini_corrupt_and_hostile_lines_are_counted(tmp_path, pricer) -> None:
    meta = {"sessionId": "s2", "kind": "main"}
    ok = {"input": 10, "output": 1, "cached": 0, "thoughts": 0, "tool": 0, "total": 11}
    lines = [
        meta,
        '{"id":"broken", "type":"gemini", "tokens": {',  # truncated JSON
        "[1, 2, 3]",  # not an object
        gem_msg("neg", {**ok, "input": -5}),
        gem_msg("str", {**ok, "output": "12"}),
        gem_msg("huge", {**ok, "input": 10**30}),
        gem_msg("flt", {**ok, "input": 1.5}),
        gem_msg("boolish", {**ok, "input": True}),
        gem_msg("tokstr", "lots"),
        gem_msg("badts", ok, ts="yesterday"),
        gem_msg("oldts", ok, ts="1901-01-01T00:00:00Z"),
        gem_msg("numts", ok, ts=1795168939),
        gem_msg("good", ok),
        gem_msg("zero", {"input": 0, "output": 0, "cached": 0, "thoughts": 0, "tool": 0, "total": 0}),
        {"id": "u", "type": "user", "content": "hi"},
        {"id": "i", "type": "info", "content": "note"},
        '{"$set": {"lastUpdated": "2026-11-20T10:00:00Z"}}',
        '{"$rewindTo": "u"}',
    ]
    recs, sk = parse_lines(tmp_path, lines, pricer)
    assert [r.key for r in recs] == ["s2|good"]
    assert sk == 11  # every line above except meta, good, zero, user, info, $set, $rewindTo
    # an unterminated last line is still being written: not counted
    recs2, sk2 = parse_lines(tmp_path, [meta, gem_msg("good", ok), '{"id":"g9","type":"gem'], pricer, tail="")
    assert ([r.key for r in recs2], sk2) == (["s2|good"], 0)


def test_gemini_odd_files(tmp_path, pricer) -> None:
    broken = tmp_path / "session-x.json"
    broken.write_text('{\n  "sessionId": "x",\n  "messages": [\n    {"id": "a"')
    assert gemini_cli.parse_file(broken.read_bytes(), gfile(broken), pricer, 0) == ([], 1)
    logs = tmp_path / "logs.json"  # gemini's per-project prompt log: a JSON list, no usage
    logs.write_text('[{"sessionId": "x", "messageId": 0, "type": "user", "message": "hi"}]')
    assert gemini_cli.parse_file(logs.read_bytes(), gfile(logs), pricer, 0) == ([], 0)
    empty = tmp_path / "e.jsonl"
    empty.write_bytes(b"")
    assert gemini_cli.parse_file(b"", gfile(empty), pricer, 0) == ([], 0)
    assert gemini_cli.parse_file(b"\x00\xff garbage\n", gfile(empty), pricer, 0) == ([], 1)
    assert gemini_cli.parse_file(b"\x00\xff garbage", gfile(empty), pricer, 0) == ([], 0)  # may be mid-write


def test_gemini_model_session_timestamp_fallbacks(tmp_path, pricer) -> None:
    tok = {"input": 1000, "output": 100, "cached": 0, "thoughts": 0, "tool": 0, "total": 1100}
    mtime = parse_ts_ms("2026-01-02T03:04:05Z")
    lines = [gem_msg("a", tok, model="gemini-2.5-flash"),
             gem_msg("b", tok, model=None),  # no model: the last one seen in the file
             {k: v for k, v in gem_msg("c", tok).items() if k != "timestamp"}]  # no timestamp: mtime
    recs, sk = parse_lines(tmp_path, lines, pricer, name="session-abc.jsonl", mtime_ms=mtime)
    assert sk == 0
    by = {r.key: r for r in recs}
    assert set(by) == {"session-abc|a", "session-abc|b", "session-abc|c"}  # no sessionId: file stem
    assert by["session-abc|b"].model == "gemini-2.5-flash"
    assert by["session-abc|c"].ts_ms == mtime
    recs, sk = parse_lines(tmp_path, [gem_msg("d", tok, model=None)], pricer)
    assert (recs, sk) == ([], 1)  # no model anywhere: dropped and counted
    # unknown model: kept, unpriced
    recs, sk = parse_lines(tmp_path, [gem_msg("e", tok, model="gemini-99-ultra")], pricer)
    assert sk == 0 and recs[0].cost_pico is None and recs[0].cost_label == UNPRICED


def test_gemini_cached_outside_input_is_not_subtracted(tmp_path, pricer) -> None:
    # total != input+output+thoughts+tool → cached is not inside input (ccusage rule)
    tok = {"input": 500, "output": 20, "cached": 300, "thoughts": 0, "tool": 7, "total": 827}
    recs, _ = parse_lines(tmp_path, [{"sessionId": "s"}, gem_msg("m", tok)], pricer)
    r = recs[0]
    assert (r.input, r.cache_read, r.output, r.total) == (507, 300, 20, 827)


def test_gemini_headless_stats_capture(tmp_path, pricer) -> None:
    doc = {"response": "ok", "stats": {"models": {"gemini-2.5-pro": {"api": {"totalRequests": 1}, "tokens": {
        "prompt": 8420, "candidates": 312, "total": 9272, "cached": 6144, "thoughts": 540, "tool": 0}}}}}
    p = tmp_path / "run.json"
    p.write_text(json.dumps(doc))
    mtime = parse_ts_ms("2026-11-20T12:00:00Z")
    recs, sk = gemini_cli.parse_file(p.read_bytes(), gfile(p, None), pricer, mtime)
    assert sk == 0 and len(recs) == 1
    r = recs[0]
    assert (r.input, r.cache_read, r.output, r.reasoning, r.total, r.ts_ms) == (2276, 6144, 852, 540, 9272, mtime)
    assert r.cost == Decimal("0.012133")


def test_gemini_discovery_env(monkeypatch, tmp_path) -> None:
    home = Path(os.environ["HOME"])
    # default: ~/.gemini/tmp
    assert gemini_cli.discover() == ([], None)
    chats = home / ".gemini" / "tmp" / "p" / "chats"
    chats.mkdir(parents=True)
    (chats / "session-1.jsonl").write_text("{}\n")
    (chats / "notes.txt").write_text("x")
    files, problem = gemini_cli.discover()
    assert problem is None and [(f.project, f.session, f.rel) for f in files] == [
        ("p", "session-1", "p/chats/session-1.jsonl")]
    # GEMINI_CLI_HOME replaces the home dir (.gemini still appended)
    alt = tmp_path / "alt"
    (alt / ".gemini" / "tmp" / "q" / "chats").mkdir(parents=True)
    (alt / ".gemini" / "tmp" / "q" / "chats" / "s.json").write_text("{}")
    monkeypatch.setenv("GEMINI_CLI_HOME", str(alt))
    assert [f.project for f in gemini_cli.discover()[0]] == ["q"]
    # GEMINI_DATA_DIR: comma list pointing at tmp dirs; replaces both defaults
    monkeypatch.setenv("GEMINI_DATA_DIR", f" {GEM} , {tmp_path / 'missing'},{GEM}")
    files, problem = gemini_cli.discover()
    assert problem is None
    assert sorted(f.project for f in files) == ["d46a3d49930e5b10671a9cf9d4941635cd494fc1c7775113b2813eb82896c2ad",
                                                "proj"]
    # extra roots from config are added; a .gemini dir is read through tmp/
    files, _ = gemini_cli.discover([str(home / ".gemini")])
    assert len(files) == 3
    monkeypatch.setenv("GEMINI_DATA_DIR", str(tmp_path / "missing"))
    files, problem = gemini_cli.discover()
    assert files == [] and "GEMINI_DATA_DIR" in problem


# ---------------------------------------------------------------------------------------------
# OpenCode
# ---------------------------------------------------------------------------------------------

OC = LOG_FIXTURES / "opencode"
M2, M3, M4 = ("msg_6a1f0c2c2002AbCdEfGhIjKl", "msg_6a1f0c2c3003AbCdEfGhIjKl", "msg_6a1f0c2d4004AbCdEfGhIjKl")
OC_SESSION = "ses_6a1f0c2b3ffeAbCdEfGhIjKl"


def make_oc(d: Path, db_name: str = "opencode.db") -> Path:
    """A writable copy of the OpenCode fixture: SQL loaded into a DB, storage/ next to it."""
    d.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(d / db_name)
    conn.executescript((OC / "opencode-db.sql").read_text())
    conn.commit()
    conn.close()
    for src in (OC / "storage").rglob("*.json"):
        dst = d / src.relative_to(OC)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(src.read_bytes())
    return d


def add_row(db: Path, mid: str, data) -> None:
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO message (id, session_id, data) VALUES (?, ?, ?)",
                 (mid, OC_SESSION, data if isinstance(data, str) else json.dumps(data)))
    conn.commit()
    conn.close()


def oc_msg(**kw) -> dict:
    m = {"role": "assistant", "modelID": "claude-haiku-4-5", "providerID": "anthropic", "cost": 0,
         "tokens": {"input": 1000, "output": 0, "reasoning": 0, "cache": {"read": 0, "write": 0}},
         "time": {"created": 1795170800000}}
    m.update(kw)
    return m


def test_opencode_fixture_numbers(tmp_path, pricer) -> None:
    d = make_oc(tmp_path / "oc")
    recs, skipped, problem = opencode.read_all(d, pricer)
    assert (skipped, problem) == (0, None)
    by = {r.key: r for r in recs}
    assert sorted(by) == sorted([M2, M3, M4])
    # ts, model, in, out (ccusage: without reasoning), cacheWrite, cacheRead, reasoning, cost, logged cost
    # output includes tokens.reasoning (README: for every source), priced at the output rate
    # (issue 14 item 2; tokscale's numbers): msg 2002's 96 reasoning tokens add 96 x $15/M
    expected = {
        M2: ("2026-11-20T10:30:05Z", "claude-sonnet-4-5", 2120, 418, 1024, 14336, 96, "0.0222108", None),
        M3: ("2026-11-20T10:31:40Z", "gpt-5", 5400, 610, 0, 3072, 256, "0.0112", "0.0112"),
        M4: ("2026-11-20T10:33:20Z", "claude-haiku-4-5", 900, 60, 0, 0, 0, "0.0012", None),
    }
    for key, (ts, model, inp, out, cw, cr, reas, cost, logged) in expected.items():
        r = by[key]
        assert r.source == "opencode" and r.session == OC_SESSION and r.msg_id == key
        assert (r.ts_ms, r.model) == (parse_ts_ms(ts), model)
        assert (r.input, r.output - r.reasoning, r.cache_write_5m, r.cache_write_1h, r.cache_read) == (
            inp, out, cw, 0, cr)
        assert r.reasoning == reas
        assert r.cost_label == ESTIMATED and close(r.cost, cost) and r.cost == Decimal(cost)
        assert (r.logged_cost_pico is None) == (logged is None)
    assert sum(r.total for r in recs) - sum(r.reasoning for r in recs) == 27940  # ccusage's total
    assert sum(r.total for r in recs) == 27940 + 352
    assert close(sum(r.cost for r in recs), "0.0346108")
    again, _, _ = opencode.read_all(d, pricer)
    assert [r.key for r in again] == [r.key for r in recs] and again == recs


def test_opencode_db_wins_over_legacy_copy(tmp_path, pricer) -> None:
    d = make_oc(tmp_path / "oc")
    legacy = d / "storage" / "message" / OC_SESSION / f"{M2}.json"
    obj = json.loads(legacy.read_text())
    obj["tokens"]["input"] = 999999
    legacy.write_text(json.dumps(obj))
    by = {r.key: r for r in opencode.read_all(d, pricer)[0]}
    assert by[M2].input == 2120
    # without the DB, the legacy copy is read (its id from the JSON, session from sessionID)
    (d / "opencode.db").unlink()
    recs, sk, problem = opencode.read_all(d, pricer)
    assert {r.key for r in recs} == {M2, M3} and (sk, problem) == (0, None)
    assert {r.key: r for r in recs}[M2].input == 999999


def test_opencode_channel_dbs_and_wal_ignored(tmp_path, pricer) -> None:
    d = make_oc(tmp_path / "oc")
    make_oc(tmp_path / "tmpl", "opencode-stable.db")
    (d / "opencode-stable.db").write_bytes((tmp_path / "tmpl" / "opencode-stable.db").read_bytes())
    add_row(d / "opencode-stable.db", "msg_stable1", oc_msg())
    (d / "opencode.db-wal").write_bytes(b"not a database")
    (d / "opencode-x.db-shm").write_bytes(b"junk")
    assert [p.name for p in opencode.db_files(d)] == ["opencode.db", "opencode-stable.db"]
    recs, sk, problem = opencode.read_all(d, pricer)
    assert (sk, problem) == (0, None)
    assert sorted(r.key for r in recs) == sorted([M2, M3, M4, "msg_stable1"])  # duplicates across DBs once


def test_opencode_db_opened_read_only(tmp_path, pricer) -> None:
    d = make_oc(tmp_path / "oc")
    db = d / "opencode.db"
    before = (db.stat().st_mtime_ns, db.read_bytes())
    opencode.read_all(d, pricer)
    assert (db.stat().st_mtime_ns, db.read_bytes()) == before
    assert sorted(p.name for p in d.iterdir()) == ["opencode.db", "storage"]


def test_opencode_corrupt_and_hostile_messages(tmp_path, pricer) -> None:
    d = make_oc(tmp_path / "oc")
    db = d / "opencode.db"
    good_tokens = {"input": 10, "output": 1, "cache": {"read": 0, "write": 0}}
    hostile = {
        "bad_json": "{not json",
        "not_obj": "[1,2]",
        "neg": oc_msg(tokens={**good_tokens, "input": -1}),
        "str": oc_msg(tokens={**good_tokens, "output": "5"}),
        "huge": oc_msg(tokens={**good_tokens, "input": 10**20}),
        "cache_list": oc_msg(tokens={**good_tokens, "cache": [1]}),
        "tok_str": oc_msg(tokens="many"),
        "no_model": oc_msg(modelID=""),
        "no_provider": oc_msg(providerID=None),
        "ts_seconds": oc_msg(time={"created": 1795170800}),
        "ts_str": oc_msg(time={"created": "2026-11-20T10:00:00Z"}),
        "ts_missing": oc_msg(time=None),
    }
    for mid, data in hostile.items():
        add_row(db, mid, data)
    add_row(db, "zero", oc_msg(tokens={"input": 0, "output": 0}))  # no usage: silently ignored
    add_row(db, "user2", {"role": "user", "time": {"created": 1795170800000}})
    add_row(db, "weird_cost", oc_msg(cost=-3))  # negative stored cost: priced instead
    add_row(db, "str_cost", oc_msg(cost="0.5"))  # wrong type: priced instead
    sess = d / "storage" / "message" / OC_SESSION
    (sess / "msg_broken.json").write_text('{"id": "msg_broken", "tokens": {')
    (sess / "msg_list.json").write_text("[]")
    recs, sk, problem = opencode.read_all(d, pricer)
    assert problem is None
    assert sk == len(hostile) + 2
    by = {r.key: r for r in recs}
    assert set(by) == {M2, M3, M4, "weird_cost", "str_cost"}
    assert by["weird_cost"].cost == by["str_cost"].cost == Decimal("0.001")  # 1000 haiku input tokens


def test_opencode_unreadable_db_is_a_problem_not_fatal(tmp_path, pricer) -> None:
    d = make_oc(tmp_path / "oc")
    (d / "opencode.db").write_bytes(b"this is not sqlite" * 100)
    recs, sk, problem = opencode.read_all(d, pricer)
    assert problem and "opencode.db" in problem
    assert {r.key for r in recs} == {M2, M3}  # legacy files still read
    other = tmp_path / "nodb"
    other.mkdir()
    sqlite3.connect(other / "opencode.db").close()  # empty DB: no message table
    recs, sk, problem = opencode.read_all(other, pricer)
    assert recs == [] and "no such table" in problem


def test_opencode_price_candidates(tmp_path) -> None:
    assert opencode.price_candidates("claude-sonnet-4.5", "anthropic") == [
        "claude-sonnet-4.5", "claude-sonnet-4-5", "anthropic/claude-sonnet-4.5"]
    assert opencode.price_candidates("k2p6")[:2] == ["k2p6", "kimi-k2.6"]
    table = {"claude-sonnet-4-5": {"input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
                                   "cache_creation_input_token_cost": 3.75e-06, "cache_read_input_token_cost": 3e-07},
             "myproxy/house-model": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06}}
    pricer = Pricer(table=table, use_genai=False)
    d = tmp_path / "oc"
    sess = d / "storage" / "message" / "ses_x"
    sess.mkdir(parents=True)
    msgs = {"m_dot": oc_msg(modelID="claude-sonnet-4.5", tokens={"input": 1000, "output": 100}),
            "m_prov": oc_msg(modelID="house-model", providerID="myproxy", tokens={"input": 1000, "output": 100}),
            "m_none": oc_msg(modelID="mystery-1", providerID="nobody", tokens={"input": 1000, "output": 100})}
    for mid, m in msgs.items():
        (sess / f"{mid}.json").write_text(json.dumps(m))  # no "id" field: the file stem is the id
    by = {r.key: r for r in opencode.read_all(d, pricer)[0]}
    assert by["m_dot"].cost == Decimal("0.0045") and by["m_dot"].model == "claude-sonnet-4.5"
    assert by["m_prov"].cost == Decimal("0.0012")
    assert by["m_none"].cost is None and by["m_none"].cost_label == UNPRICED
    assert by["m_dot"].session == "ses_x"  # no sessionID: the directory name


def test_opencode_data_dirs_env(monkeypatch, tmp_path) -> None:
    home = Path(os.environ["HOME"])
    assert opencode.data_dirs() == []
    default = home / ".local" / "share" / "opencode"
    default.mkdir(parents=True)
    assert opencode.data_dirs() == [default]
    xdg = tmp_path / "xdg"
    (xdg / "opencode").mkdir(parents=True)
    monkeypatch.setenv("XDG_DATA_HOME", str(xdg))
    assert opencode.data_dirs() == [xdg / "opencode"]
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    monkeypatch.setenv("OPENCODE_DATA_DIR", f"{a}, {tmp_path / 'missing'} ,{b},{a}")
    assert opencode.data_dirs() == [a, b]
    assert opencode.data_dirs([str(default)]) == [a, b, default]


def test_opencode_signature_tracks_changes(tmp_path, pricer) -> None:
    d = make_oc(tmp_path / "oc")
    s1 = opencode.signature(d)
    assert opencode.signature(d) == s1
    add_row(d / "opencode.db", "msg_new", oc_msg())
    s2 = opencode.signature(d)
    assert s2 != s1
    (d / "storage" / "message" / OC_SESSION / "msg_more.json").write_text(json.dumps(oc_msg()))
    assert opencode.signature(d) != s2
