"""Anthropic Admin API: messages usage, cost report (cents strings), Claude Code analytics."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.api import fakes
from tests.api.server import Reply, fixture_json
from tokentui.core.pricing import Pricer
from tokentui.core.records import PICO
from tokentui.services.poll import poll_all

SEP1 = 1756684800
SEP2 = SEP1 + 86400


@pytest.fixture
def anthropic_key(monkeypatch, urls):
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", fakes.ANTHROPIC_KEY)


def poll(store, settings, fast):
    [res] = poll_all(store, settings, only=("anthropic",), now=fakes.NOW, retry=fast)
    return res


def test_requests_use_brackets_headers_and_max_limits(server, store, settings, fast, anthropic_key):
    res = poll(store, settings, fast)
    assert res.status == "ok", res.message
    first = server.hits("/v1/organizations/usage_report/messages")[0]
    assert first.headers["x-api-key"] == fakes.ANTHROPIC_KEY and first.headers["anthropic-version"] == "2023-06-01"
    assert first.query["group_by[]"] == ["model", "workspace_id", "api_key_id", "context_window",
                                         "service_tier"]
    assert first.q("starting_at") == "2025-06-11T00:00:00Z" and first.q("ending_at") == "2025-09-09T00:00:00Z"
    assert first.q("limit") == "31" and first.q("bucket_width") == "1d"
    cost = server.hits("/v1/organizations/cost_report")[0]
    assert cost.query["group_by[]"] == ["workspace_id", "description"] and cost.q("limit") == "31"
    cc = server.hits("/v1/organizations/usage_report/claude_code")
    assert len(cc) == 90 and cc[-1].q("starting_at") == "2025-09-08" and cc[-1].q("limit") == "1000"


def test_tokens_costs_in_cents_and_estimates(store, settings, fast, anthropic_key):
    poll(store, settings, fast)
    usage = [r for b in fixture_json("anthropic_usage_messages.json")["data"] for r in b["results"]]
    want_tokens = sum(r["uncached_input_tokens"] + r["cache_read_input_tokens"] + r["output_tokens"]
                      + r["cache_creation"]["ephemeral_5m_input_tokens"]
                      + r["cache_creation"]["ephemeral_1h_input_tokens"] for r in usage)
    tokens = store.execute("SELECT SUM(input + output + cache_write_5m + cache_write_1h + cache_read) FROM ledger "
                           "WHERE source = 'anthropic'").fetchone()[0]
    assert tokens == want_tokens
    cents = sum(Decimal(r["amount"]) for b in fixture_json("anthropic_cost_report.json")["data"]
                for r in b["results"])
    billed = store.execute("SELECT SUM(cost_pico) FROM ledger WHERE key LIKE 'costs|%'").fetchone()[0]
    assert Decimal(billed) / PICO == cents / 100 == Decimal("2.34527")
    # Sep 1 has cost lines: its buckets carry $0 billed; Sep 2 has none: base-tier estimate
    rows = dict(store.execute("SELECT key, cost_pico FROM ledger WHERE key LIKE 'messages|%'"))
    assert all(v == 0 for k, v in rows.items() if k.startswith(f"messages|{SEP1}|"))
    [(key, est)] = [(k, v) for k, v in rows.items() if k.startswith(f"messages|{SEP2}|")]
    r = fixture_json("anthropic_usage_messages.json")["data"][1]["results"][0]
    base = Pricer().rates(r["model"]).base
    assert est == (r["uncached_input_tokens"] * base[0] + r["output_tokens"] * base[1]
                   + r["cache_creation"]["ephemeral_5m_input_tokens"] * base[2]
                   + r["cache_creation"]["ephemeral_1h_input_tokens"] * base[3]
                   + r["cache_read_input_tokens"] * base[4])
    label, raw = store.execute("SELECT cost_label, raw FROM ledger WHERE key = ?", (key,)).fetchone()
    assert label == "estimated" and json.loads(raw)["cost_basis"] == "base-tier estimate"


def test_claude_code_records_keep_raw_without_tokens_or_cost(store, settings, fast, anthropic_key):
    poll(store, settings, fast)
    rows = store.execute("SELECT key, ts_ms, input + output + cache_read + cache_write_5m, cost_pico, raw "
                         "FROM ledger WHERE key LIKE 'claude_code|%' ORDER BY key").fetchall()
    assert [r[0] for r in rows] == ["claude_code|1757289600|api=ci-claude-code|terminal_type=tmux",
                                    "claude_code|1757289600|user=developer@company.com|terminal_type=vscode"]
    assert all(r[1] == 1757289600000 and r[2] == 0 and r[3] is None for r in rows)
    raw = json.loads(rows[1][4])["result"]
    assert raw["model_breakdown"][0]["estimated_cost"]["amount"] == 85
    assert raw["core_metrics"]["lines_of_code"]["added"] == 1543


def test_repoll_is_idempotent_and_short(server, store, settings, fast, anthropic_key):
    poll(store, settings, fast)
    before = store.execute("SELECT COUNT(*), SUM(cost_pico) FROM ledger").fetchone()
    server.requests.clear()
    poll(store, settings, fast)
    assert store.execute("SELECT COUNT(*), SUM(cost_pico) FROM ledger").fetchone() == before
    assert len(server.hits("/v1/organizations/usage_report/claude_code")) == 3  # last 3 days only


@pytest.mark.parametrize("key,needle", [
    (fakes.ANTHROPIC_API_KEY, "this is not an admin key"),
    ("sk-ant-admin01-REVOKED0123456789abcdefghijklmnopqrstuv", "invalid or revoked"),
])
def test_wrong_keys_explained(store, settings, fast, urls, monkeypatch, key, needle):
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", key)
    res = poll(store, settings, fast)
    assert res.status == "error" and needle in res.message and key not in res.message


def test_long_context_bucket_uses_the_long_context_tier(server, store, settings, fast, anthropic_key):
    body = {"has_more": False, "next_page": None, "data": [{"starting_at": "2025-09-05T00:00:00Z", "results": [
        {"model": "tiered-model", "context_window": "200k-1M", "uncached_input_tokens": 1_000_000},
        {"model": "tiered-model", "context_window": "0-200k", "uncached_input_tokens": 1_000_000}]}]}
    server.route("/v1/organizations/usage_report/messages", Reply(200, body))
    table = {"tiered-model": {"input_cost_per_token": 3e-6, "output_cost_per_token": 15e-6,
                              "input_cost_per_token_above_200k_tokens": 6e-6}}
    poll_all(store, settings, only=("anthropic",), now=fakes.NOW, retry=fast, pricer=Pricer(table=table))
    rows = dict(store.execute("SELECT json_extract(raw, '$.cost_basis'), cost_pico FROM ledger "
                              "WHERE key LIKE 'messages|%'"))
    assert rows == {"context-window tier estimate": 6 * PICO, "base-tier estimate": 3 * PICO}


def test_bad_amount_marks_error(server, store, settings, fast, anthropic_key):
    body = fixture_json("anthropic_cost_report.json")
    body["data"][0]["results"][0]["amount"] = "12,5"
    server.route("/v1/organizations/cost_report", Reply(200, body))
    res = poll(store, settings, fast)
    assert res.status == "error" and "'12,5' is not a number" in res.message
    assert store.execute("SELECT COUNT(*) FROM ledger").fetchone()[0] == 0


def test_claude_code_unavailable_is_a_note(server, store, settings, fast, anthropic_key):
    server.route("/v1/organizations/usage_report/claude_code",
                 Reply(403, fixture_json("anthropic_error_403_permission.json")))
    res = poll(store, settings, fast)
    assert res.status == "ok" and "Claude Code analytics are not available to this key (HTTP 403)" in res.message
    assert len(server.hits("/v1/organizations/usage_report/claude_code")) == 1
    assert store.execute("SELECT COUNT(*) FROM ledger WHERE key LIKE 'messages|%'").fetchone()[0] == 3
