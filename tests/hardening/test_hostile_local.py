"""Hostile and broken agent logs: the local parsers never raise, and never yield a record
with negative, fractional, absurd or unstorable numbers, whatever bytes they are fed."""

from __future__ import annotations

import json
import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import LOG_FIXTURES
from tests.hardening.sanity import assert_sane, store_and_sum
from tests.hardening.strategies import examples, JSON, NASTY_INTS, ODD_TIMESTAMPS, build, deep, dump, maybe
from tokentui.core.pricing import Pricer, load_price_table
from tokentui.sources import claude_code, claude_dedupe, codex, gemini_cli, opencode
from tokentui.sources.common import LocalFile

PRICER = Pricer(table=load_price_table(LOG_FIXTURES / "pricing" / "litellm-fixture.json"), use_genai=False)
FAST = examples(300)
TOKENS = st.integers(min_value=0, max_value=50_000) | NASTY_INTS | JSON

CLAUDE_LINE = build({
    "type": "assistant", "sessionId": maybe("s-1"), "version": maybe("2.1.37"), "timestamp": ODD_TIMESTAMPS | JSON,
    "requestId": maybe("req_1"), "isSidechain": maybe(False), "costUSD": maybe(0.01),
    "message": maybe({"id": "msg_1", "model": "claude-sonnet-4-5-20250929"} | {}) | build({
        "id": maybe("msg_1"), "model": maybe("claude-sonnet-4-5-20250929"),
        "usage": build({"input_tokens": TOKENS, "output_tokens": TOKENS, "cache_read_input_tokens": maybe(100),
                        "cache_creation_input_tokens": maybe(0), "speed": maybe("fast"),
                        "cache_creation": maybe({"ephemeral_5m_input_tokens": 3}) | build({
                            "ephemeral_5m_input_tokens": TOKENS, "ephemeral_1h_input_tokens": TOKENS})})}),
})
USAGE = build({"input_tokens": TOKENS, "cached_input_tokens": TOKENS, "output_tokens": TOKENS,
               "reasoning_output_tokens": maybe(0), "total_tokens": maybe(0) | TOKENS})
CODEX_EVENT = st.one_of(
    build({"timestamp": ODD_TIMESTAMPS | JSON, "type": "event_msg",
           "payload": build({"type": "token_count", "info": maybe(None) | build({
               "total_token_usage": maybe(None) | USAGE, "last_token_usage": maybe(None) | USAGE,
               "model": maybe("gpt-5-codex")})})}),
    build({"timestamp": ODD_TIMESTAMPS, "type": "turn_context", "payload": build({"model": maybe("codex-auto-review")})}),
    build({"timestamp": ODD_TIMESTAMPS, "type": "session_meta", "payload": build({
        "forked_from_id": maybe("parent-1"), "timestamp": ODD_TIMESTAMPS | JSON,
        "source": maybe({"subagent": {"thread_spawn": {"parent_thread_id": "p"}}})})}),
    build({"usage": USAGE, "model": maybe("gpt-5"), "timestamp": maybe("2026-11-20T10:00:00Z")}),
)
GEMINI_MSG = build({"id": maybe("g1") | NASTY_INTS, "timestamp": ODD_TIMESTAMPS | JSON, "type": maybe("gemini"),
                    "model": maybe("gemini-2.5-pro"),
                    "tokens": maybe(None) | build({k: TOKENS for k in ("input", "output", "cached", "thoughts",
                                                                         "tool", "total")})})
OPENCODE_MSG = build({"id": maybe("msg_1"), "sessionID": maybe("ses_1"), "modelID": maybe("claude-sonnet-4-5"),
                      "providerID": maybe("anthropic"), "cost": maybe(0.02) | NASTY_INTS,
                      "time": build({"created": maybe(1_795_000_000_000) | NASTY_INTS}),
                      "path": maybe({"root": "/p"}),
                      "tokens": maybe(None) | build({"input": TOKENS, "output": TOKENS, "reasoning": TOKENS,
                                                     "cache": maybe({}) | build({"read": TOKENS, "write": TOKENS})})})


def _file(source: str, kind: str = "session") -> LocalFile:
    return LocalFile(f"/x/{source}.jsonl", source, "proj", "sess", "proj/sess.jsonl", kind)


def _lines(values, raw: list[bytes]) -> list[bytes]:
    return [dump(v) for v in values] + raw


def _claude(lines: list[bytes]):
    entries = claude_code.ClaudeParser(_file(claude_code.SOURCE), PRICER, "auto").feed(lines)
    recs = [e.record for e in entries]
    upsert, delete, dups = claude_dedupe.resolve_duplicates([claude_code.dedupe_item(e) for e in entries], {})
    assert set(upsert) <= {r.key for r in recs}
    return recs


def _codex(lines: list[bytes], kind: str = "session"):
    p = codex.CodexParser(_file(codex.SOURCE, kind), PRICER, None, lambda pid, until: [[1, 0, 1, 0, 2]], 0)
    recs = p.records(lines, 0)
    json.dumps(p.state)  # the state is stored with the cursor: it must stay JSON
    assert p.skipped >= 0 and p.duplicates >= 0
    return recs


def _check(recs) -> None:
    for r in recs:
        assert_sane(r)
    store_and_sum(recs)


RAW = st.lists(st.binary(max_size=200), max_size=4)


@FAST
@given(st.lists(CLAUDE_LINE, max_size=6), RAW)
def test_claude_parser_survives_anything(values, raw) -> None:
    _check(_claude(_lines(values, raw)))


@FAST
@given(st.lists(CODEX_EVENT, max_size=8), RAW, st.sampled_from(["session", "headless"]))
def test_codex_parser_survives_anything(values, raw, kind) -> None:
    _check(_codex(_lines(values, raw), kind))


@FAST
@given(st.lists(GEMINI_MSG | JSON, max_size=6), RAW, st.booleans(), st.integers(-2**63, 2**63))
def test_gemini_parser_survives_anything(values, raw, whole, mtime) -> None:
    if whole:
        data = dump({"sessionId": "s", "messages": values})
    else:
        data = b"\n".join(_lines(values, raw))
    f = LocalFile("/x/s.json" if whole else "/x/s.jsonl", gemini_cli.SOURCE, "p", "s", "p/s.jsonl")
    recs, skipped = gemini_cli.parse_file(data, f, PRICER, mtime)
    assert skipped >= 0
    _check(recs)


@FAST
@given(OPENCODE_MSG | JSON, st.none() | st.text(max_size=5))
def test_opencode_message_survives_anything(obj, mid) -> None:
    r = opencode.message_record(obj, mid or None, None, PRICER)
    if r is not None and r is not opencode.SKIP:
        _check([r])


@examples(100)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_and_invalid_utf8_never_raise(data) -> None:
    lines = data.split(b"\n") + [b'{"usage":{' + data, b'"token_count"' + data, b'\xff\xfe{"usage":{"x":1}}']
    _check(_claude(lines))
    _check(_codex(lines))
    _check(_codex(lines, "headless"))
    f = LocalFile("/x/s.json", gemini_cli.SOURCE, "p", "s", "p/s.json")
    _check(gemini_cli.parse_file(data, f, PRICER, 0)[0])


@pytest.mark.parametrize("kind", ["list", "dict"])
def test_deep_nesting_10k(kind) -> None:
    d = deep(10_000, kind)
    usage_deep = b'{"message":{"usage":{"input_tokens":' + d + b',"output_tokens":1}},"timestamp":"2026-11-20T10:00:00Z"}'
    codex_deep = b'{"type":"event_msg","payload":{"type":"token_count","info":' + d + b'}}'
    assert _claude([d, usage_deep, b'"usage":{' + d]) == []
    assert _codex([d, codex_deep, b'"token_count"' + d]) == []
    assert _codex([b'{"usage":' + d + b'}'], "headless") == []
    f = LocalFile("/x/s.jsonl", gemini_cli.SOURCE, "p", "s", "p/s.jsonl")
    assert gemini_cli.parse_file(d + b"\n" + d, f, PRICER, 0)[0] == []
    assert opencode.message_record(json.loads("[" * 500 + "]" * 500), None, None, PRICER) is opencode.SKIP


def test_huge_and_negative_counts_are_skipped_not_stored() -> None:
    base = {"type": "assistant", "timestamp": "2026-11-20T10:00:00Z", "requestId": "r",
            "message": {"id": "m", "model": "claude-sonnet-4-5-20250929", "usage": {}}}
    lines = []
    for i, (inp, out) in enumerate([(2**63, 1), (10**30, 1), (-5, 1), (1.5, 1), (1e300, 1), ("7", 1), (True, 1),
                                    (10**11, 1)]):
        obj = json.loads(json.dumps(base))
        obj["requestId"] = f"r{i}"
        obj["message"]["usage"] = {"input_tokens": inp, "output_tokens": out}
        lines.append(dump(obj))
    p = claude_code.ClaudeParser(_file(claude_code.SOURCE), PRICER)
    assert p.feed(lines) == [] and p.skipped == len(lines)
    row = {"timestamp": "2026-11-20T10:00:00Z", "type": "event_msg", "payload": {"type": "token_count", "info": {
        "last_token_usage": {"input_tokens": 10**30, "output_tokens": 1}, "model": "gpt-5"}}}
    assert _codex([dump(row)]) == []


def test_opencode_database_with_hostile_rows(tmp_path) -> None:
    d = tmp_path / "opencode"
    d.mkdir()
    conn = sqlite3.connect(d / "opencode.db")
    conn.execute("CREATE TABLE message (id, session_id, data)")
    rows = [("m1", "s", '{"tokens":{"input":1e400}}'), ("m2", None, b"\xff\xfe"), (None, "s", "{}"), (3, 4, 5),
            ("m3", "s", "[" * 5000 + "]" * 5000), ("m4", "s", json.dumps({
                "modelID": "x", "providerID": "y", "time": {"created": 1_795_000_000_000},
                "tokens": {"input": 10**20, "output": 1}})),
            ("m5", "s", json.dumps({"modelID": "claude-sonnet-4-5", "providerID": "anthropic",
                                    "time": {"created": 1_795_000_000_000}, "cost": 1e300,
                                    "tokens": {"input": 10, "output": 1}}))]
    conn.executemany("INSERT INTO message VALUES (?, ?, ?)", rows)
    conn.commit()
    conn.close()
    recs, skipped, problem = opencode.read_all(d, PRICER)
    assert problem is None and skipped == 6
    assert [r.key for r in recs] == ["m5"]
    _check(recs)
    (d / "opencode.db").write_bytes(b"not a database at all" * 100)
    recs, skipped, problem = opencode.read_all(d, PRICER)
    assert recs == [] and "cannot read" in problem


@pytest.mark.parametrize("stamp,utc", [
    ("2026-11-20T10:00:00+05:45", "2026-11-20T04:15:00"), ("2026-11-20T10:00:00-12:00", "2026-11-20T22:00:00"),
    ("2026-11-20T01:00:00+14:00", "2026-11-19T11:00:00"), ("2026-11-20T10:00:00.999Z", "2026-11-20T10:00:00.999"),
    ("2026-11-20T10:00:00-00:00", "2026-11-20T10:00:00"), ("2026-11-20T10:00:00+23:59", "2026-11-19T10:01:00"),
])
def test_odd_offsets_land_on_the_right_utc_instant(stamp, utc) -> None:
    from datetime import datetime, timezone

    from tokentui.sources.common import parse_ts_ms

    want = int(datetime.fromisoformat(utc).replace(tzinfo=timezone.utc).timestamp() * 1000)
    assert parse_ts_ms(stamp) == want
    line = dump({"type": "assistant", "timestamp": stamp, "requestId": "r", "message": {
        "id": "m", "model": "claude-sonnet-4-5-20250929", "usage": {"input_tokens": 1, "output_tokens": 2}}})
    [rec] = _claude([line])
    assert rec.ts_ms == want
