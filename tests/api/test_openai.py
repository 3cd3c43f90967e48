"""OpenAI admin usage + costs, polled from the local server into the ledger."""

from __future__ import annotations

import json
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.api import fakes
from tests.api.server import Reply, fixture_json
from tokentui.core.pricing import Pricer
from tokentui.core.records import PICO, to_pico
from tokentui.services.poll import poll_all
from tokentui.sources.api.base import day_ts
from tokentui.sources.api.openai import _line_item_model

DAY = 86400
COVERED_DAYS = {1756684800, 1756771200}  # 2025-09-01/02 have cost lines in openai_costs.json


def completions():
    for name in ("openai_usage_completions_page1.json", "openai_usage_completions_page2.json"):
        for b in fixture_json(name)["data"]:
            for r in b["results"]:
                yield b["start_time"], r


def expected_tokens() -> int:
    total = sum(r["input_tokens"] + r["output_tokens"] for _, r in completions())
    for name in ("embeddings", "moderations"):
        total += sum(r["input_tokens"] for b in fixture_json(f"openai_usage_{name}.json")["data"] for r in b["results"])
    return total


def expected_billed() -> Decimal:
    """Dollars, each line rounded to the store's picodollar (0.0002710000000000001 → 0.000271)."""
    return sum((Decimal(to_pico(r["amount"]["value"])) / PICO for b in fixture_json("openai_costs.json")["data"]
                for r in b["results"]), Decimal(0))


def expected_estimate() -> int:
    """Per-kind list prices × tokens for completions on days without cost lines (no tiers)."""
    pricer, total = Pricer(), 0
    for start, r in completions():
        if start in COVERED_DAYS:
            continue
        rates = pricer.rates(r["model"]).base
        total += (r["input_uncached_tokens"] * rates[0] + r["output_tokens"] * rates[1]
                  + r["input_cached_tokens"] * rates[4])
    return total


@pytest.fixture
def openai_key(monkeypatch, urls):
    monkeypatch.setenv("OPENAI_ADMIN_KEY", fakes.OPENAI_KEY)


def poll(store, settings, fast, **kw):
    [res] = poll_all(store, settings, only=("openai",), now=fakes.NOW, retry=fast, **kw)
    return res


def sums(store, where="1=1"):
    return store.execute(
        "SELECT COUNT(*), SUM(input + output + cache_write_5m + cache_write_1h + cache_read), SUM(cost_pico), "
        f"SUM(requests) FROM ledger WHERE source = 'openai' AND {where}").fetchone()


def test_first_poll_backfills_in_fewest_requests(server, store, settings, fast, openai_key):
    res = poll(store, settings, fast)
    assert res.status == "ok", res.message
    hits = server.hits("/v1/organization/usage/completions")
    assert len(hits) == 2  # fixture has 2 pages; a real 91-day window is 3 pages of 31
    first = hits[0]
    assert first.q("start_time") == str(day_ts(fakes.NOW.date()) - 89 * DAY)  # 90 days incl. today
    assert first.q("end_time") == str(day_ts(fakes.NOW.date()) + DAY)  # aligned, exclusive
    assert first.q("bucket_width") == "1d" and first.q("limit") == "31"
    assert first.query["group_by"] == ["model", "project_id", "api_key_id"]  # repeated keys
    assert hits[1].q("page") == fixture_json("openai_usage_completions_page1.json")["next_page"]
    assert hits[1].q("start_time") == first.q("start_time")  # same query + page
    costs = server.hits("/v1/organization/costs")
    assert costs[0].q("limit") == "90" and costs[0].query["group_by"] == ["line_item", "project_id"]
    assert costs[0].headers["authorization"] == f"Bearer {fakes.OPENAI_KEY}"
    for name in fakes.OPENAI_SIBLINGS:
        assert len(server.hits(f"/v1/organization/usage/{name}")) == 1


def test_stored_totals_match_the_served_fixtures(store, settings, fast, openai_key):
    poll(store, settings, fast)
    n, tokens, cost, requests = sums(store)
    assert tokens == expected_tokens()
    billed = sums(store, "cost_label = 'billed'")[2]
    assert Decimal(billed) / PICO == expected_billed()
    estimated = sums(store, "cost_label = 'estimated'")[2]
    assert estimated == expected_estimate()
    assert cost == billed + estimated  # token buckets of billed days add $0, not a second copy
    # token buckets on billed days carry $0 billed; their dollars are the cost lines'
    for key, cost_pico, label, raw in store.execute(
            "SELECT key, cost_pico, cost_label, raw FROM ledger WHERE key LIKE 'completions|%'"):
        day = int(key.split("|")[1])
        assert (cost_pico, label) == ((0, "billed") if day in COVERED_DAYS else (cost_pico, "estimated"))
        assert json.loads(raw)["cost_basis"] in ("billed: in this day's costs records", "per-request estimate")


def test_report_counts_each_dollar_once(store, settings, fast, openai_key):
    from tokentui.services import report

    poll(store, settings, fast)
    data = report.build(store, report.ReportRequest("daily", tz=ZoneInfo("UTC"), sources=("openai",)))
    assert data["totals"]["totalTokens"] == expected_tokens()
    want = (expected_billed() + Decimal(expected_estimate()) / PICO)
    assert abs(Decimal(str(data["totals"]["totalCost"])) - want) < Decimal("1e-9")
    first = data["daily"][0]
    assert first["date"] == "2025-09-01"
    gpt4o = next(m for m in first["modelBreakdowns"] if m["modelName"] == "gpt-4o-2024-08-06")
    assert gpt4o["cost"] == pytest.approx(0.45585 + 0.4121 + 0.12)  # cost lines carry the model


def test_record_shapes(store, settings, fast, openai_key):
    poll(store, settings, fast)
    row = store.execute("SELECT ts_ms, width_s, model, input, output, cache_read, cache_write_5m, requests, kind "
                        "FROM ledger WHERE key = 'completions|1756684800|86400|model=gpt-4o-2024-08-06|"
                        "project_id=|api_key_id='").fetchone()
    assert row == (1756684800000, DAY, "gpt-4o-2024-08-06", 182340, 41210, 96000, 0, 412, "api")
    # siblings: raw fields kept, tokens only where they are tokens, no double-counted requests
    emb = store.execute("SELECT input, requests FROM ledger WHERE key LIKE 'embeddings|%'").fetchone()
    assert emb == (1204310, 3120)
    web = store.execute("SELECT input, requests, raw FROM ledger WHERE key LIKE 'web_search_calls|%'").fetchone()
    assert web[:2] == (0, 0) and json.loads(web[2])["result"]["num_requests"] == 25
    vs = store.execute("SELECT raw FROM ledger WHERE key LIKE 'vector_stores|%'").fetchone()
    assert json.loads(vs[0])["result"]["usage_bytes"] == 52428800
    line = store.execute("SELECT model, cost_label, requests FROM ledger WHERE key LIKE 'costs|%file search%'")
    assert line.fetchone() == (None, "billed", 0)


def test_second_poll_refetches_three_days_and_stores_nothing_twice(server, store, settings, fast, openai_key):
    poll(store, settings, fast)
    before = sums(store)
    server.requests.clear()
    res = poll(store, settings, fast)
    assert res.status == "ok"
    assert sums(store) == before
    q = server.hits("/v1/organization/usage/completions")[0]
    assert q.q("start_time") == str(day_ts(fakes.NOW.date()) - 2 * DAY) and q.q("limit") == "3"


def test_unaligned_legacy_bucket_joins_its_day(server, store, settings, fast, openai_key):
    server.route("/v1/organization/usage/completions",
                 Reply(200, fixture_json("openai_usage_completions_legacy_fields.json")))
    poll(store, settings, fast)
    keys = [k for (k,) in store.execute("SELECT key FROM ledger WHERE key LIKE 'completions|%' ORDER BY key")]
    assert keys[0].startswith("completions|1756684800|86400|")  # 17:31:39 snapped to midnight
    row = store.execute("SELECT input, cache_read, output FROM ledger WHERE key LIKE 'completions|1756857600|%'")
    assert row.fetchone() == (3718360 - 76544, 76544, 97756)  # input_tokens is total input; audio not added


@pytest.mark.parametrize("key,status,needle", [
    (fakes.OPENAI_PROJECT_KEY, 403, "this is a project key; usage needs an admin key with api.usage.read"),
    ("sk-admin-WRONGkey0123456789abcdefghijklmnop", 401, "invalid or revoked"),
])
def test_non_admin_and_wrong_keys_explained(server, store, settings, fast, urls, monkeypatch, key, status, needle):
    monkeypatch.setenv("OPENAI_ADMIN_KEY", key)
    res = poll(store, settings, fast)
    assert res.status == "error" and needle in res.message
    assert "platform.openai.com/settings/organization/admin-keys" in res.message or status == 401
    assert key not in res.message
    assert store.execute("SELECT COUNT(*) FROM ledger").fetchone()[0] == 0
    assert store.execute("SELECT status, message FROM source_status WHERE source='openai'").fetchone() == \
        ("error", res.message)
    assert len(server.requests) == 1  # an auth failure is not retried


def test_missing_scope_as_401_envelope_is_still_needs_admin(server, store, settings, fast, urls, monkeypatch):
    monkeypatch.setenv("OPENAI_ADMIN_KEY", fakes.OPENAI_KEY)
    server.auth = lambda req: Reply(401, fixture_json("openai_error_missing_scope_401_envelope.json"))
    res = poll(store, settings, fast)
    assert "lacks the api.usage.read scope" in res.message and "admin-keys" in res.message


def test_missing_sibling_endpoint_is_a_note(server, store, settings, fast, openai_key):
    del server.routes["/v1/organization/usage/file_search_calls"]
    res = poll(store, settings, fast)
    assert res.status == "ok" and "file_search_calls usage is not available" in res.message


@pytest.mark.parametrize("body", [
    {"object": "page", "data": [{"start_time": 1756684800, "results": [{"input_tokens": "many"}]}]},
    {"object": "page", "data": [{"start_time": "yesterday", "results": []}]},
    {"object": "page", "data": "nope"},
    [1, 2, 3],
])
def test_wrong_types_mark_the_source_error(server, store, settings, fast, openai_key, body):
    server.route("/v1/organization/usage/embeddings", Reply(200, body))
    res = poll(store, settings, fast)
    assert res.status == "error" and "expected" in res.message
    assert store.execute("SELECT COUNT(*) FROM ledger").fetchone()[0] == 0  # nothing half-written


def test_cost_amount_as_string_and_non_usd(server, store, settings, fast, openai_key):
    body = {"object": "page", "has_more": False, "next_page": None, "data": [
        {"start_time": 1756684800, "end_time": 1756771200, "results": [
            {"amount": {"value": "0.10", "currency": "usd"}, "line_item": "gpt-4o-2024-08-06, input"},
            {"amount": {"value": 5, "currency": "eur"}, "line_item": "gpt-4o-2024-08-06, output"}]}]}
    server.route("/v1/organization/costs", Reply(200, body))
    res = poll(store, settings, fast)
    assert "EUR was kept unpriced" in res.message
    billed = sums(store, "key LIKE 'costs|%' AND cost_label = 'billed'")[2]
    assert billed == 100_000_000_000


def test_line_item_models():
    assert _line_item_model("gpt-4o-2024-08-06, input") == "gpt-4o-2024-08-06"
    assert _line_item_model("evals | gpt-4o-mini-2024-07-18, input") == "gpt-4o-mini-2024-07-18"
    assert _line_item_model("assistants api | file search") is None
    assert _line_item_model(None) is None
