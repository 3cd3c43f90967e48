"""Issue 14 (local logs): numbers that must be exact on real agent logs."""

from __future__ import annotations

import json

import pytest

from tokentui.core.pricing import Pricer
from tokentui.sources import claude_code
from tokentui.sources.common import LocalFile

CLAUDE_FILE = LocalFile("/x/s.jsonl", claude_code.SOURCE, "proj", "sess", "proj/s.jsonl")
PRICER = Pricer({}, use_genai=False)


@pytest.fixture
def pricer(fixture_price_table):
    return Pricer(table=fixture_price_table, use_genai=False)


def _dumps(obj, compact: bool = True) -> bytes:
    return json.dumps(obj, separators=(",", ":") if compact else None).encode()


def _assistant(n: int, msg_id: str = "msg_1", **usage) -> dict:
    u = {"input_tokens": 10, "output_tokens": 20, **usage}
    return {"type": "assistant", "timestamp": f"2026-11-20T10:00:{n:02d}.000Z", "requestId": f"req_{msg_id}",
            "sessionId": "sess", "version": "2.1.37",
            "message": {"id": msg_id, "model": "claude-sonnet-4-5", "role": "assistant", "usage": u}}


# -- item 4: a sub-agent's result on a user line is not a corrupt line ------------------------
def _task_result_line() -> dict:
    """A user line carrying a Task sub-agent's result, as Claude Code writes it."""
    return {"type": "user", "timestamp": "2026-11-20T10:00:05.000Z", "sessionId": "sess", "version": "2.1.37",
            "cwd": "/home/u/proj", "isSidechain": False,
            "message": {"role": "user", "content": [{"tool_use_id": "toolu_1", "type": "tool_result",
                                                     "content": [{"type": "text", "text": "done"}]}]},
            "toolUseResult": {"status": "completed", "agentId": "a1", "totalDurationMs": 1200,
                              "totalTokens": 5400, "totalToolUseCount": 3,
                              "usage": {"input_tokens": 4, "cache_creation_input_tokens": 300,
                                        "cache_read_input_tokens": 5000, "output_tokens": 96,
                                        "server_tool_use": {"web_search_requests": 0},
                                        "service_tier": "standard", "cache_creation": None}}}


def test_subagent_result_on_a_user_line_is_not_corrupt() -> None:
    lines = [_dumps(_assistant(1)), _dumps(_task_result_line()), _dumps(_assistant(6, "msg_2"))]
    parser = claude_code.ClaudeParser(CLAUDE_FILE, PRICER)
    entries = parser.feed(lines)
    assert [e.record.msg_id for e in entries] == ["msg_1", "msg_2"]
    assert parser.skipped == 0


def test_really_malformed_usage_lines_still_count() -> None:
    bad = [b'{"type":"assistant","message":{"usage":{"input_tokens":1', _dumps({**_assistant(2), "timestamp": 5}),
           _dumps({"type": "assistant", "timestamp": "2026-11-20T10:00:03.000Z",
                   "message": {"id": "m", "usage": {"input_tokens": -1, "output_tokens": 1}}})]
    parser = claude_code.ClaudeParser(CLAUDE_FILE, PRICER)
    assert parser.feed(bad) == [] and parser.skipped == 3


# -- item 5: lines a JSON writer may legally produce ------------------------------------------
BOM = b"\xef\xbb\xbf"


def test_claude_usage_lines_any_legal_spelling_are_read() -> None:
    spaced = _dumps(_assistant(2, "msg_2"), compact=False)  # "usage": {  (json.dumps' default spacing)
    assert b'"usage": {' in spaced
    wide = _dumps(_assistant(3, "msg_3")).replace(b'"usage":{', b'"usage" :\t{')
    escaped = _dumps(_assistant(4, "msg_4")).replace(b'"usage":{', b'"us\\u0061ge":{')
    lines = [BOM + _dumps(_assistant(1, "msg_1")), spaced, wide, escaped]
    parser = claude_code.ClaudeParser(CLAUDE_FILE, PRICER)
    got = [e.record.msg_id for e in parser.feed(lines)]
    assert got == ["msg_1", "msg_2", "msg_3", "msg_4"] and parser.skipped == 0


def test_claude_prefilter_skips_only_lines_without_usage() -> None:
    lines = [_dumps({"type": "user", "message": {"role": "user", "content": "what is \\u0075sage?"}}),
             _dumps({"type": "summary", "summary": "usage stats"}),
             b'{"type":"assistant","message":{"us\\u0061ge": {"input_tokens": 1',  # cut short: corrupt
             _dumps(_assistant(1))]
    parser = claude_code.ClaudeParser(CLAUDE_FILE, PRICER)
    assert [e.record.msg_id for e in parser.feed(lines)] == ["msg_1"] and parser.skipped == 1


def test_codex_fork_with_a_bom_is_still_a_fork(pricer, tmp_path, monkeypatch) -> None:
    import shutil

    from tests.conftest import LOG_FIXTURES
    from tests.unit.ingest_helpers import daily, sync

    home = tmp_path / "codex"
    shutil.copytree(LOG_FIXTURES / "codex" / "sessions", home / "sessions")
    fork = next(home.rglob("*01a1f89f*.jsonl"))
    fork.write_bytes(BOM + fork.read_bytes())
    monkeypatch.setenv("CODEX_HOME", str(home))
    conn, res = sync(tmp_path / "h.db", pricer, sources=("codex",))
    assert res["codex"].skipped == 0
    assert daily(conn, "codex")["2026-11-20"]["totalTokens"] == 92350  # the replay is not counted twice


def test_codex_headless_usage_with_spacing(tmp_path) -> None:
    from tokentui.sources import codex

    f = LocalFile(str(tmp_path / "run.jsonl"), codex.SOURCE, None, "run", "headless/run.jsonl", "headless")
    lines = [BOM + b'{"type":"turn.completed","usage" : {"input_tokens" : 100, "cached_input_tokens": 40, '
             b'"output_tokens": 7}, "timestamp": "2026-11-20T10:00:00Z"}']
    parser = codex.CodexParser(f, PRICER)
    recs = parser.records(lines)
    assert [(r.input, r.cache_read, r.output) for r in recs] == [(60, 40, 7)] and parser.skipped == 0


# -- item 1: Claude fast mode -----------------------------------------------------------------
def test_claude_fast_lines_are_named_model_fast() -> None:
    fast = _assistant(1, "msg_1", speed="fast")
    fast["message"]["model"] = "claude-opus-4-8"
    std = _assistant(2, "msg_2", speed="standard")
    parser = claude_code.ClaudeParser(CLAUDE_FILE, PRICER)
    got = [(e.record.msg_id, e.record.model) for e in parser.feed([_dumps(fast), _dumps(std)])]
    assert got == [("msg_1", "claude-opus-4-8-fast"), ("msg_2", "claude-sonnet-4-5")]


def test_fast_rates_from_genai_prices_override_or_unpriced() -> None:
    from decimal import Decimal

    from tokentui.config import PriceOverride

    p = Pricer({}, use_genai=True)
    std = p.cost_pico("claude-opus-4-8", 10**6, 10**6, 10**6, 0, 10**6)
    fast = p.cost_pico("claude-opus-4-8-fast", 10**6, 10**6, 10**6, 0, 10**6)
    assert std is not None and fast == 2 * std  # genai-prices' speed=fast variant: $10/$50, cache x2
    # a model whose fast price genai-prices does not know is unpriced, never the standard price
    assert p.cost_pico("claude-opus-4-6", 1000, 1000) is not None
    assert p.cost_pico("claude-opus-4-6-fast", 1000, 1000) is None
    o = Pricer({"claude-opus-4-6-fast": PriceOverride(Decimal("30"), Decimal("150"))}, use_genai=True)
    assert o.cost_pico("claude-opus-4-6-fast", 10**6, 10**6) == 180 * 10**12
    assert Pricer({}, use_genai=False).cost_pico("claude-opus-4-8-fast", 10, 10) is None


def test_claude_fast_through_the_ingest(tmp_path, monkeypatch) -> None:
    from decimal import Decimal

    from tests.unit.ingest_helpers import daily, sync
    from tokentui.config import PriceOverride

    proj = tmp_path / "claude" / "projects" / "-p"
    proj.mkdir(parents=True)
    fast = _assistant(1, "msg_1", speed="fast")
    fast["message"]["model"] = "claude-opus-4-6"
    slow = _assistant(2, "msg_2")
    slow["message"]["model"] = "claude-opus-4-6"
    (proj / "s.jsonl").write_bytes(_dumps(fast) + b"\n" + _dumps(slow) + b"\n")
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    pricer = Pricer({"claude-opus-4-6": PriceOverride(Decimal("5"), Decimal("25")),
                     "claude-opus-4-6-fast": PriceOverride(Decimal("30"), Decimal("150"))}, use_genai=False)
    conn, res = sync(tmp_path / "h.db", pricer, sources=("claude-code",))
    bd = {m["modelName"]: m["cost"] for m in daily(conn, "claude-code")["2026-11-20"]["modelBreakdowns"]}
    assert bd == {"claude-opus-4-6-fast": pytest.approx((10 * 30 + 20 * 150) / 1e6),
                  "claude-opus-4-6": pytest.approx((10 * 5 + 20 * 25) / 1e6)}


# -- item 3: Codex fork replays judged by each turn's start, not by a one-second window --------
def _iso(ms: int) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


FORK_MS = 1_795_258_964_000  # 2026-11-20T10:22:44Z


def _cx(ms: int, kind: str, payload: dict) -> bytes:
    return _dumps({"timestamp": _iso(ms), "type": kind, "payload": payload})


def _tc(ms: int, total: int, last: int) -> bytes:
    def u(n):
        return {"input_tokens": n, "cached_input_tokens": 0, "output_tokens": n // 10,
                "reasoning_output_tokens": 0, "total_tokens": n + n // 10}
    return _cx(ms, "event_msg", {"type": "token_count", "info": {"total_token_usage": u(total),
                                                               "last_token_usage": u(last)}})


def _turn(ms: int, turn_id: str, started_at_s: int | None) -> list[bytes]:
    started = {} if started_at_s is None else {"started_at": started_at_s}
    return [_cx(ms, "turn_context", {"turn_id": turn_id, "cwd": "/p", "model": "gpt-5"}),
            _cx(ms + 1, "event_msg", {"type": "task_started", "turn_id": turn_id, **started})]


def _fork_meta() -> bytes:
    return _cx(FORK_MS, "session_meta", {"id": "01a1f89f-7c84-7b1d-8e3f-5a6b7c8d9e0f",
                                         "forked_from_id": "01a1f83b-fd78-7a3c-9d2e-4b5f6a7c8d9e",
                                         "timestamp": _iso(FORK_MS - 10)})


def _parse_fork(lines: list[bytes], parent=None) -> tuple[list, object]:
    from tokentui.sources import codex

    f = LocalFile("/c/sessions/r.jsonl", codex.SOURCE, None, "r", "r.jsonl")
    parser = codex.CodexParser(f, PRICER, None, lambda pid, until: parent)
    return parser.records(lines), parser


def test_codex_fork_replay_longer_than_a_second_is_not_counted_again() -> None:
    # the parent file is gone; the replayed history spans 3 seconds of the fork's first lines
    lines = [_fork_meta(), *_turn(FORK_MS + 100, "t-parent-1", FORK_MS // 1000 - 3600)]
    total = 0
    for i in range(30):  # 30 replayed rows, 100 ms apart
        total += 1000
        lines.append(_tc(FORK_MS + 200 + 100 * i, total, 1000))
    lines += _turn(FORK_MS + 3500, "t-parent-2", FORK_MS // 1000 - 60)
    total += 500
    lines.append(_tc(FORK_MS + 3600, total, 500))
    # the fork's own turn, much later
    lines += _turn(FORK_MS + 60_000, "t-live-1", FORK_MS // 1000 + 60)
    lines.append(_tc(FORK_MS + 61_000, total + 700, 700))
    recs, parser = _parse_fork(lines)
    assert [(r.input, r.output) for r in recs] == [(700, 70)]
    assert parser.duplicates == 31


def test_codex_fork_own_first_turn_in_its_first_second_is_counted() -> None:
    lines = [_fork_meta(), *_turn(FORK_MS + 50, "t-parent-1", FORK_MS // 1000 - 600),
             _tc(FORK_MS + 60, 4000, 4000),
             *_turn(FORK_MS + 300, "t-live-1", FORK_MS // 1000),  # the fork's own turn, same second
             _tc(FORK_MS + 800, 4900, 900)]
    recs, parser = _parse_fork(lines)
    assert [(r.input, r.output) for r in recs] == [(900, 90)] and parser.duplicates == 1
    # the same when the parent is found: its events decide nothing once turns carry their start
    recs, _ = _parse_fork(lines, parent=[[4000, 0, 400, 0, 4400]])
    assert [(r.input, r.output) for r in recs] == [(900, 90)]


def test_codex_fork_turn_start_from_uuid7_turn_id() -> None:
    """No started_at: a UUIDv7 turn id carries the turn's start time (Codex's ids are v7)."""
    def v7(ms: int) -> str:
        h = f"{ms:012x}"
        return f"{h[:8]}-{h[8:]}-7abc-8def-0123456789ab"

    lines = [_fork_meta(), *_turn(FORK_MS + 50, v7(FORK_MS - 90_000), None),
             _tc(FORK_MS + 60, 4000, 4000), _tc(FORK_MS + 1500, 6000, 2000),
             *_turn(FORK_MS + 1600, v7(FORK_MS + 1600), None), _tc(FORK_MS + 1900, 6300, 300)]
    recs, _ = _parse_fork(lines)
    assert [(r.input, r.output) for r in recs] == [(300, 30)]


def test_codex_fork_untimed_own_turn_without_parent_is_counted() -> None:
    lines = [_fork_meta(), _tc(FORK_MS + 20, 4000, 4000), _tc(FORK_MS + 2500, 6000, 2000),
             *_turn(FORK_MS + 2600, "own", None), _tc(FORK_MS + 2700, 6300, 300)]
    recs, _ = _parse_fork(lines)
    assert [(r.input, r.output) for r in recs] == [(300, 30)]  # the 2.5 s replay is not counted
    recs, _ = _parse_fork([_fork_meta(), *_turn(FORK_MS + 100, "own", None), _tc(FORK_MS + 200, 300, 300)])
    assert [(r.input, r.output) for r in recs] == [(300, 30)]  # its own first turn, first second


# -- item 13: a headless output file overwritten by the next run keeps the earlier run ---------
def _overwrite(path, data: bytes, bump_s: int) -> None:
    import os

    path.write_bytes(data)
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + bump_s * 10**9))


def test_gemini_json_capture_overwritten_keeps_both_runs(pricer, tmp_path, monkeypatch) -> None:
    from tests.unit.ingest_helpers import sync

    root = tmp_path / "gem"
    (root / "proj").mkdir(parents=True)
    cap = root / "proj" / "out.json"

    def run(prompt: int, response: str) -> bytes:
        return _dumps({"response": response, "stats": {"models": {"gemini-2.5-pro": {"tokens": {
            "prompt": prompt, "candidates": 10, "total": prompt + 10, "cached": 0, "thoughts": 0, "tool": 0}}}}})

    monkeypatch.setenv("GEMINI_DATA_DIR", str(root))
    _overwrite(cap, run(1000, "first"), 0)
    conn, _ = sync(tmp_path / "h.db", pricer, sources=("gemini-cli",))
    _overwrite(cap, run(2000, "second"), 60)  # `gemini -p ... --output-format json > out.json` again
    conn, res = sync(tmp_path / "h.db", pricer, sources=("gemini-cli",))
    got = conn.execute("SELECT SUM(input), COUNT(*) FROM ledger WHERE source='gemini-cli'").fetchone()
    assert got == (3000, 2)
    conn, _ = sync(tmp_path / "h.db", pricer, sources=("gemini-cli",))  # nothing new: idempotent
    _overwrite(cap, run(2000, "second"), 120)  # the same bytes again (touched): the same run
    conn, _ = sync(tmp_path / "h.db", pricer, sources=("gemini-cli",))
    assert conn.execute("SELECT SUM(input), COUNT(*) FROM ledger WHERE source='gemini-cli'").fetchone() == (3000, 2)


def test_codex_exec_json_overwritten_at_the_same_offsets_keeps_both_runs(pricer, tmp_path, monkeypatch) -> None:
    from tests.unit.ingest_helpers import sync

    home = tmp_path / "exec"
    home.mkdir()
    out = home / "ci.jsonl"

    def run(thread: str, n: int) -> bytes:
        return (_dumps({"type": "thread.started", "thread_id": thread}) + b"\n"
                + _dumps({"type": "turn.started"}) + b"\n"
                + _dumps({"type": "turn.completed", "usage": {"input_tokens": n, "cached_input_tokens": 0,
                                                                "output_tokens": 7}}) + b"\n")

    a, b = run("0199a000-0000-7000-8000-000000000001", 1234), run("0199a000-0000-7000-8000-000000000002", 4321)
    assert len(a) == len(b)  # the second run's lines land at the same byte offsets
    monkeypatch.setenv("CODEX_HOME", str(home))
    _overwrite(out, a, 0)
    conn, _ = sync(tmp_path / "h.db", pricer, sources=("codex",))
    _overwrite(out, b, 60)
    conn, _ = sync(tmp_path / "h.db", pricer, sources=("codex",))
    assert conn.execute("SELECT SUM(input), COUNT(*) FROM ledger WHERE source='codex'").fetchone() == (5555, 2)
    # appending a line to the second run adds only that line
    with open(out, "ab") as fh:
        fh.write(_dumps({"type": "turn.completed", "usage": {"input_tokens": 5, "output_tokens": 1}}) + b"\n")
    conn, _ = sync(tmp_path / "h.db", pricer, sources=("codex",))
    assert conn.execute("SELECT SUM(input), COUNT(*) FROM ledger WHERE source='codex'").fetchone() == (5560, 3)


# -- item 12 (local): a line no request can produce is quarantined, counted and reported ------
def test_a_line_with_ten_billion_tokens_is_quarantined_and_reported(pricer, tmp_path, monkeypatch) -> None:
    from tests.unit.ingest_helpers import sync
    from tokentui.config import load_settings
    from tokentui.services import status

    proj = tmp_path / "claude" / "projects" / "-p"
    proj.mkdir(parents=True)
    huge = _assistant(2, "msg_2", cache_read_input_tokens=10**10)  # one corrupt line: ~$3,000+ of reads
    (proj / "s.jsonl").write_bytes(b"\n".join([_dumps(_assistant(1)), _dumps(huge), _dumps(_assistant(3, "msg_3"))])
                                   + b"\n")
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    conn, res = sync(tmp_path / "h.db", pricer, sources=("claude-code",))
    assert conn.execute("SELECT COUNT(*), SUM(cache_read) FROM ledger").fetchone() == (2, 0)
    assert res["claude-code"].skipped == 1 and res["claude-code"].implausible == 1
    conn, res = sync(tmp_path / "h.db", pricer, sources=("claude-code",))  # nothing new: still said
    st = {s.name: s for s in status.source_statuses(conn, load_settings())}["claude-code"]
    assert (st.skipped_lines, st.implausible_lines) == (1, 1)
    assert st.as_json()["implausible_lines"] == 1


def test_opencode_and_gemini_impossible_messages_are_quarantined(pricer, tmp_path, monkeypatch) -> None:
    from tests.unit.ingest_helpers import sync
    from tests.unit.test_gemini_opencode import add_row, make_oc, oc_msg

    d = make_oc(tmp_path / "oc")
    add_row(d / "opencode.db", "msg_huge", oc_msg(tokens={"input": 10**10, "output": 1}))
    gem = tmp_path / "gem" / "proj"
    gem.mkdir(parents=True)
    (gem / "out.json").write_bytes(_dumps({"response": "x", "stats": {"models": {"gemini-2.5-pro": {"tokens": {
        "prompt": 5 * 10**8, "candidates": 1, "total": 5 * 10**8 + 1}}}}}))
    monkeypatch.setenv("OPENCODE_DATA_DIR", str(d))
    monkeypatch.setenv("GEMINI_DATA_DIR", str(tmp_path / "gem"))
    for n in range(2):  # the second sync reads nothing new and still says so
        conn, res = sync(tmp_path / "h.db", pricer, sources=("gemini-cli", "opencode"))
        assert res["opencode"].implausible == 1 and res["opencode"].records == (3, 0)[n]
        assert conn.execute("SELECT MAX(input) FROM ledger").fetchone()[0] < 10**6
        detail = {s: json.loads(v) for s, v in conn.execute("SELECT source, detail FROM source_status")}
        assert detail["opencode"]["implausible_lines"] == 1 and detail["gemini-cli"]["implausible_lines"] == 1


# -- item 6: Codex service_tier = "fast" in config.toml ---------------------------------------
def test_codex_service_tier_fast_is_priced_fast_and_labelled(pricer, tmp_path, monkeypatch) -> None:
    import shutil

    from tests.conftest import LOG_FIXTURES
    from tests.unit.ingest_helpers import daily, sync

    home = tmp_path / "codex"
    shutil.copytree(LOG_FIXTURES / "codex" / "sessions", home / "sessions")
    (home / "config.toml").write_text('model = "gpt-5.1-codex"\nservice_tier = "fast"\n')
    monkeypatch.setenv("CODEX_HOME", str(home))
    conn, _ = sync(tmp_path / "h.db", pricer, sources=("codex",))
    d = daily(conn, "codex")["2026-11-20"]
    assert d["totalTokens"] == 92350  # tokens are what they were
    assert d["totalCost"] == pytest.approx(2 * 0.04816, abs=1e-9)  # Codex fast mode: 2x the standard rate
    costs = {m["modelName"]: m["cost"] for m in d["modelBreakdowns"]}
    assert costs == {"gpt-5-codex-fast": pytest.approx(2 * 0.0119325), "gpt-5.1-codex-fast": pytest.approx(2 * 0.0362275)}
    assert set(d["fallbackModels"]) >= {"gpt-5-codex-fast", "gpt-5.1-codex-fast"}  # an estimate: today's config
    keys = {k for (k,) in conn.execute("SELECT key FROM ledger")}
    assert all("-fast" not in k for k in keys)  # the same event keeps its key whatever the config says


def test_fast_fallback_multiplier_only_for_openai_models() -> None:
    p = Pricer({}, use_genai=True)
    assert p.cost_pico("gpt-5.4-fast", 10**6, 10**6) == 2 * p.cost_pico("gpt-5.4", 10**6, 10**6)
    assert p.cost_pico("gpt-5.5-fast", 10**6, 0) == 5 * p.cost_pico("gpt-5.5", 10**6, 0) // 2
    assert p.cost_pico("claude-opus-4-6-fast", 10**6, 0) is None
