"""Hostile provider responses: every API parser either returns sane records or raises the
client's own :class:`ApiError` (a plain "malformed" status), never anything else."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.hardening.sanity import assert_sane, store_and_sum
from tests.hardening.strategies import examples, JSON, NASTY_INTS, ODD_TIMESTAMPS, build, deep, maybe
from tokentui.core.pricing import Pricer
from tokentui.sources.api import anthropic, balances, openai, openrouter
from tokentui.sources.api.base import Fetched, PollContext, Window
from tokentui.sources.api.http import ApiClient, ApiError, error_text

FAST = examples(200)
PRICER = Pricer()
KEY = "sk-admin-HOSTILEtestKEY0123456789abcdefghij"
NOW = datetime(2025, 9, 8, 12, 0, tzinfo=timezone.utc)
COUNT = st.integers(0, 10**6) | NASTY_INTS | JSON
AMOUNT = st.sampled_from(["45.702", "-3.5", "1e400", "NaN", "Infinity", "1e14", "99999999999999999", "0x10",
                          " 7 ", ""]) | st.floats() | NASTY_INTS | JSON
EPOCH = st.sampled_from([1756684800, 0, -1, 2**63, 10**30, 253402300800, 1756684800.5]) | JSON


class FakeClient(ApiClient):
    """An :class:`ApiClient` whose ``get_json`` answers from a function instead of the network."""

    def __init__(self, answer) -> None:
        self.label, self.base_url, self.notes, self.requests, self._secret = "Fake", "https://x.test", [], 0, KEY
        self._answer = answer

    async def get_json(self, path, params=()):
        self.requests += 1
        if self.requests > 400:
            raise ApiError("too many calls", kind="http")
        return self._answer(path, dict(params))

    async def pace(self, seconds):  # no waiting between calls here
        return None


def _ctx(source: str, state: dict | None = None) -> PollContext:
    return PollContext(source, NOW, Window(date(2025, 9, 6), date(2025, 9, 8)), state or {}, PRICER, KEY)


def _run(fetch, answer, source: str, state: dict | None = None) -> Fetched | None:
    try:
        out = asyncio.run(fetch(FakeClient(answer), _ctx(source, state)))
    except ApiError as exc:
        assert exc.message and KEY not in exc.message
        return None
    assert isinstance(out, Fetched)
    for r in out.records:
        assert r.source == source and r.kind == "api"
        assert_sane(r)
    store_and_sum(out.records)
    json.dumps(out.detail)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in out.state.items())
    assert all(isinstance(k, str) for k in out.delete)
    return out


def _page(results_strategy, time_field: str, time_values):
    bucket = build({time_field: time_values, "results": maybe([]) | st.lists(results_strategy, max_size=3)})
    return build({"data": maybe([]) | st.lists(bucket | JSON, max_size=3), "has_more": maybe(False),
                  "next_page": maybe(None) | st.text(max_size=3)})


OPENAI_RESULT = build({"input_tokens": COUNT, "output_tokens": COUNT, "input_cached_tokens": maybe(0) | COUNT,
                       "input_uncached_tokens": maybe(None) | COUNT, "num_model_requests": COUNT,
                       "model": maybe("gpt-4o-2024-08-06") | JSON, "project_id": maybe(None) | JSON,
                       "amount": build({"value": AMOUNT, "currency": maybe("usd") | JSON}),
                       "line_item": maybe("gpt-4o, input") | JSON})
ANTHROPIC_RESULT = build({"uncached_input_tokens": COUNT, "output_tokens": COUNT, "cache_read_input_tokens": COUNT,
                          "cache_creation": maybe({}) | build({"ephemeral_5m_input_tokens": COUNT}),
                          "model": maybe("claude-sonnet-4-20250514") | JSON, "amount": AMOUNT,
                          "currency": maybe("USD") | JSON, "context_window": maybe("200k-1M") | JSON,
                          "actor": maybe({"type": "user_actor", "email_address": "a@b"}) | JSON,
                          "date": maybe(None) | ODD_TIMESTAMPS, "model_breakdown": maybe([]) | JSON})
OPENROUTER_ROW = build({"date": ODD_TIMESTAMPS | JSON, "model": maybe("openai/gpt-4.1") | JSON, "usage": AMOUNT,
                        "requests": COUNT, "prompt_tokens": COUNT, "completion_tokens": COUNT,
                        "reasoning_tokens": COUNT, "byok_usage_inference": maybe(0.0) | AMOUNT})
OPENROUTER_KEY = build({"data": build({"usage": AMOUNT, "usage_daily": maybe(None) | AMOUNT,
                                       "limit": maybe(None) | AMOUNT, "is_management_key": maybe(False) | JSON,
                                       "limit_reset": maybe(None) | JSON})})


@FAST
@given(_page(OPENAI_RESULT, "start_time", EPOCH), _page(OPENAI_RESULT, "start_time", EPOCH) | JSON)
def test_openai_fetch(usage_page, cost_page) -> None:
    _run(openai.fetch, lambda path, q: cost_page if path.endswith("costs") else usage_page, "openai")


@FAST
@given(_page(ANTHROPIC_RESULT, "starting_at", ODD_TIMESTAMPS | JSON), _page(ANTHROPIC_RESULT, "starting_at",
                                                                           ODD_TIMESTAMPS) | JSON,
       st.lists(ANTHROPIC_RESULT | JSON, max_size=3))
def test_anthropic_fetch(usage_page, cost_page, claude_code) -> None:
    def answer(path, q):
        if path.endswith("cost_report"):
            return cost_page
        if path.endswith("claude_code"):
            return {"data": claude_code, "has_more": False}
        return usage_page
    _run(anthropic.fetch, answer, "anthropic")


@FAST
@given(OPENROUTER_KEY | JSON, build({"data": st.lists(OPENROUTER_ROW | JSON, max_size=4)}) | JSON,
       build({"data": build({"total_credits": AMOUNT, "total_usage": AMOUNT})}) | JSON,
       st.sampled_from([{}, {"key_id": "x", "day_start": '{"day": "2025-09-07", "usage": "1.5"}'}]))
def test_openrouter_fetch(key, activity, credits, state) -> None:
    answers = {"key": key, "activity": activity, "credits": credits}
    _run(openrouter.fetch, lambda path, q: answers.get(path, {}), "openrouter", state)


@FAST
@given(build({"is_available": maybe(True) | JSON, "balance_infos": maybe([]) | st.lists(build({
    "currency": maybe("CNY") | JSON, "total_balance": AMOUNT, "granted_balance": AMOUNT}) | JSON, max_size=3)}) | JSON,
    build({"code": maybe(0) | JSON, "data": build({"available_balance": AMOUNT, "cash_balance": AMOUNT})}) | JSON)
def test_balance_fetches(deepseek, moonshot) -> None:
    _run(balances.deepseek_fetch, lambda p, q: deepseek, "deepseek")
    _run(balances.moonshot_fetch, lambda p, q: moonshot, "moonshot")


@FAST
@given(JSON)
def test_checks_and_anything_at_all(body) -> None:
    for fetch, source in ((openai.fetch, "openai"), (anthropic.fetch, "anthropic"), (openrouter.fetch, "openrouter"),
                          (openai.check, "openai"), (anthropic.check, "anthropic"), (openrouter.check, "openrouter"),
                          (balances.deepseek_check, "deepseek"), (balances.moonshot_check, "moonshot")):
        try:
            asyncio.run(fetch(FakeClient(lambda p, q: body), _ctx(source)))
        except ApiError:
            pass


@pytest.mark.parametrize("kind", ["list", "dict"])
def test_deep_json_bodies_are_malformed_not_a_crash(kind) -> None:
    """A 10k-deep body fails as Malformed in the decoder and in the error-text reader."""
    import httpx

    body = deep(10_000, kind)
    assert error_text(body) == "" or isinstance(error_text(body), str)
    client = ApiClient("Fake", "https://x.test", {}, secret=KEY)
    with pytest.raises(ApiError) as err:
        client._decode(httpx.Response(200, content=body), "x")
    assert err.value.kind == "malformed"


@pytest.mark.parametrize("body", [b"\x80\x81 not utf-8", b"1" * 5000, b'{"data": [' + b"9" * 5000 + b"]}", b"",
                                  b"\xef\xbb\xbf{}", b"nul\x00l"],
                         ids=["invalid-utf8", "5000-digit-int", "5000-digit-in-list", "empty", "bom", "nul"])
def test_undecodable_bodies_are_malformed(body) -> None:
    import httpx

    client = ApiClient("Fake", "https://x.test", {}, secret=KEY)
    try:
        client._decode(httpx.Response(200, content=body), "x")
    except ApiError as exc:
        assert exc.kind == "malformed"
    assert isinstance(error_text(body), str)


def test_costs_beyond_int64_in_one_day_still_sum_exactly() -> None:
    """Two $5M cost lines on one day: SQLite's SUM would overflow; the report stays exact."""
    from zoneinfo import ZoneInfo

    from tokentui.core.records import BILLED, UsageRecord
    from tokentui.services import report
    from tokentui.store import ledger
    from tokentui.store.db import connect

    conn = connect(Path(os.environ["TOKENTOP_DATA_DIR"]) / "history.db")
    five_m = 5_000_000 * 10**12
    recs = [UsageRecord("openai", f"costs|{i}", 1_756_684_800_000, "gpt-4o", cost_pico=five_m, cost_label=BILLED,
                        kind="api", width_s=86400, requests=0) for i in range(3)]
    assert ledger.upsert(conn, recs, "dev") == 3
    data = report.build(conn, report.ReportRequest("daily", tz=ZoneInfo("UTC")))
    assert data["totals"]["totalCost"] == 15_000_000
