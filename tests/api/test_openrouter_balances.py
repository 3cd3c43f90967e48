"""OpenRouter spend (/key), activity (management keys), balance; DeepSeek and Moonshot balances."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from tests.api import fakes
from tests.api.server import Reply, fixture, fixture_json
from tokentui.core.records import PICO
from tokentui.services.poll import poll_all
from tokentui.sources.api.base import day_ts

TODAY = day_ts(fakes.NOW.date())


def poll(store, settings, fast, source="openrouter", now=fakes.NOW, **kw):
    [res] = poll_all(store, settings, only=(source,), now=now, retry=fast, **kw)
    return res


def spend(store) -> dict[int, tuple[Decimal, int]]:
    return {int(k.split("|")[1]): (Decimal(c) / PICO, w // 86400) for k, c, w in store.execute(
        "SELECT key, cost_pico, width_s FROM ledger WHERE key LIKE 'key_spend|%'")}


def key_reply(usage, daily, **extra):
    body = fixture_json("openrouter_key.json")
    body["data"].update(usage=usage, usage_daily=daily, **extra)
    return Reply(200, body)


@pytest.fixture
def normal_key(monkeypatch, urls):
    monkeypatch.setenv("OPENROUTER_API_KEY", fakes.OPENROUTER_KEY)


def test_normal_key_records_todays_spend(server, store, settings, fast, normal_key):
    res = poll(store, settings, fast)
    assert res.status == "ok"
    assert spend(store) == {TODAY: (Decimal("1.25"), 1)}
    assert "spend today $1.25" in res.message and "needs a management key" in res.message
    assert res.detail["limit_remaining"] == "74.5" and res.detail["management_key"] is False
    assert server.hits("/api/v1/activity") == []  # /key said it is not a management key
    label = store.execute("SELECT cost_label, input + output FROM ledger").fetchone()
    assert label == ("billed", 0)


def test_next_day_closes_yesterday_from_counters(server, store, settings, fast, normal_key):
    poll(store, settings, fast)  # usage 25.50, today 1.25 → day started at 24.25
    server.route("/api/v1/key", key_reply(27.0, 0.5))  # next day: started at 26.50
    poll(store, settings, fast, now=fakes.NOW + timedelta(days=1))
    assert spend(store) == {TODAY: (Decimal("2.25"), 1), TODAY + 86400: (Decimal("0.5"), 1)}


def test_gap_of_days_becomes_one_wider_record(server, store, settings, fast, normal_key):
    poll(store, settings, fast)
    server.route("/api/v1/key", key_reply(30.0, 1.0))
    poll(store, settings, fast, now=fakes.NOW + timedelta(days=3))
    assert spend(store) == {TODAY: (Decimal("4.75"), 3), TODAY + 3 * 86400: (Decimal("1.0"), 1)}
    total = sum(v for v, _ in spend(store).values())
    assert total == Decimal("30.0") - Decimal("24.25")  # every dollar since the first day start, once


def test_management_key_reads_activity_and_balance(server, store, settings, fast, urls, monkeypatch):
    monkeypatch.setenv("OPENROUTER_API_KEY", fakes.OPENROUTER_MGMT_KEY)
    res = poll(store, settings, fast)
    assert res.status == "ok", res.message
    rows = fixture_json("openrouter_activity.json")["data"]
    got = store.execute("SELECT SUM(input), SUM(output), SUM(reasoning), SUM(requests), SUM(cost_pico) FROM ledger "
                        "WHERE key LIKE 'activity|%'").fetchone()
    assert got[:4] == (sum(r["prompt_tokens"] for r in rows), sum(r["completion_tokens"] for r in rows),
                       sum(r["reasoning_tokens"] for r in rows), sum(r["requests"] for r in rows))
    assert Decimal(got[4]) / PICO == sum(Decimal(str(r["usage"])) for r in rows)  # byok is not billed here
    assert spend(store) == {}  # a management key makes no completions of its own
    assert res.detail["balance"] == [{"currency": "USD", "available": "74.75"}]
    assert "balance $74.75" in res.message
    model = store.execute("SELECT model FROM ledger WHERE key LIKE 'activity|%model=anthropic/claude-sonnet-4|%'"
                          ).fetchone()[0]
    assert model == "anthropic/claude-4-sonnet-20250522"  # the permaslug


def test_switching_to_management_key_drops_covered_spend(server, store, settings, fast, urls, monkeypatch):
    monkeypatch.setenv("OPENROUTER_API_KEY", fakes.OPENROUTER_KEY)
    poll(store, settings, fast, now=fakes.NOW - timedelta(days=2))  # a spend record for Sep 6
    assert list(spend(store)) == [TODAY - 2 * 86400]
    monkeypatch.setenv("OPENROUTER_API_KEY", fakes.OPENROUTER_MGMT_KEY)
    poll(store, settings, fast)
    assert spend(store) == {}  # Sep 6 is covered by /activity (up to Sep 7): never counted twice


def test_legacy_key_path_and_shape(server, store, settings, fast, normal_key):
    del server.routes["/api/v1/key"]
    server.route("/api/v1/auth/key", Reply(200, fixture("openrouter_key_unlimited_legacy.json")))
    res = poll(store, settings, fast)
    assert res.status == "ok" and spend(store) == {TODAY: (Decimal(0), 1)}
    assert "needs a management key" in res.message  # /activity was tried: the old shape does not say
    body = fixture_json("openrouter_key_unlimited_legacy.json")
    body["data"]["usage"] = 4.0
    server.route("/api/v1/auth/key", Reply(200, body))
    poll(store, settings, fast, now=fakes.NOW + timedelta(hours=2))
    assert spend(store) == {TODAY: (Decimal("0.7282"), 1)}


def test_invalid_openrouter_key(store, settings, fast, urls, monkeypatch):
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-v1-NOPE0123456789abcdefghij")
    res = poll(store, settings, fast)
    assert res.status == "error" and "OpenRouter rejected the key" in res.message
    assert "Missing Authentication header" in res.message


# --- balances ------------------------------------------------------------------------------

def test_deepseek_balance_is_status_detail_not_usage(store, settings, fast, urls, monkeypatch):
    monkeypatch.setenv("DEEPSEEK_API_KEY", fakes.DEEPSEEK_KEY)
    res = poll(store, settings, fast, source="deepseek")
    assert res.status == "ok" and res.message == "balance CNY 110.00"
    assert res.detail["balance"][0] == {"currency": "CNY", "available": "110.00", "granted": "10.00",
                                        "topped_up": "100.00"}
    assert store.execute("SELECT COUNT(*) FROM ledger").fetchone()[0] == 0
    state = store.execute("SELECT value FROM sync_state WHERE source='deepseek' AND name='balance'").fetchone()[0]
    assert json.loads(state)[0]["available"] == "110.00"
    detail = json.loads(store.execute("SELECT detail FROM source_status WHERE source='deepseek'").fetchone()[0])
    assert detail["balance"][0]["currency"] == "CNY"


def test_moonshot_balance(store, settings, fast, urls, monkeypatch):
    monkeypatch.setenv("MOONSHOT_API_KEY", fakes.MOONSHOT_KEY)
    res = poll(store, settings, fast, source="moonshot")
    assert res.status == "ok" and res.message == "balance USD 49.59"
    assert res.detail["balance"][0]["cash"] == "3.00001"


def test_moonshot_china_host_is_yuan_and_negative_cash_noted(store, settings, fast, monkeypatch):
    """A unit test on httpx.MockTransport: the .cn host cannot be served from loopback."""
    monkeypatch.setenv("MOONSHOT_API_KEY", fakes.MOONSHOT_KEY)
    monkeypatch.setenv("TOKENTOP_MOONSHOT_BASE_URL", "https://api.moonshot.cn/v1")
    body = {"code": 0, "data": {"available_balance": 5, "voucher_balance": 5, "cash_balance": -2.5}, "status": True}
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json=body)

    res = poll(store, settings, fast, source="moonshot", transport=httpx.MockTransport(handler))
    assert seen == ["https://api.moonshot.cn/v1/users/me/balance"]
    assert res.message == "balance CNY 5.00; cash balance is negative (CNY -2.5 owed)"


def test_moonshot_error_code(server, store, settings, fast, urls, monkeypatch):
    monkeypatch.setenv("MOONSHOT_API_KEY", fakes.MOONSHOT_KEY)
    server.route("/v1/users/me/balance", Reply(200, {"code": 5, "scode": "0x5", "status": False, "data": None}))
    res = poll(store, settings, fast, source="moonshot")
    assert res.status == "error" and "code 5" in res.message


def test_sources_command_shows_the_balance(store, settings, fast, urls, monkeypatch, capsys):
    from tokentui.cli import main

    monkeypatch.setenv("DEEPSEEK_API_KEY", fakes.DEEPSEEK_KEY)
    poll(store, settings, fast, source="deepseek")
    capsys.readouterr()
    assert main(["sources"]) == 0
    out = capsys.readouterr().out
    assert "balance: CNY 110.00 available" in out
    assert fakes.DEEPSEEK_KEY not in out
