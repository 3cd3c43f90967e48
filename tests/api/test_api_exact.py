"""Issue 14 (provider APIs): numbers that must be exact on the providers' real answers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api import fakes
from tests.api.server import Reply
from tokentui.services.poll import poll_all
from tokentui.store import ledger

KEY_ENV = {"openai": ("OPENAI_ADMIN_KEY", fakes.OPENAI_KEY), "anthropic": ("ANTHROPIC_ADMIN_KEY", fakes.ANTHROPIC_KEY),
           "openrouter": ("OPENROUTER_API_KEY", fakes.OPENROUTER_MGMT_KEY)}


@pytest.fixture
def keys(monkeypatch, urls):
    for env, key in KEY_ENV.values():
        monkeypatch.setenv(env, key)


def poll(store, settings, fast, source, now=fakes.NOW):
    [res] = poll_all(store, settings, only=(source,), now=now, retry=fast)
    return res


# --- item 9: a 200 that is not the documented shape is an error, never an empty success -----

ENVELOPES = [
    {"error": {"type": "api_error", "message": "Internal server error"}},
    {"error": "something went wrong"},
    {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    {"object": "page", "has_more": False},  # no data list at all
    {"unexpected": True},
]
FIRST_LISTING = {"openai": "/v1/organization/usage/completions", "anthropic": "/v1/organizations/usage_report/messages"}


@pytest.mark.parametrize("source", sorted(FIRST_LISTING))
@pytest.mark.parametrize("body", ENVELOPES)
def test_error_envelope_with_200_is_an_error_and_covers_nothing(server, store, settings, fast, keys, source, body):
    server.route(FIRST_LISTING[source], Reply(200, body))
    res = poll(store, settings, fast, source)
    assert res.status == "error", res.message
    assert ledger.sync_states(store, source).get("covered_from") is None
    assert store.execute("SELECT COUNT(*) FROM ledger WHERE source = ?", (source,)).fetchone()[0] == 0
    # the next poll, answered properly, still backfills the whole window
    del server.routes[FIRST_LISTING[source]]
    fakes.install(server)
    res = poll(store, settings, fast, source, now=fakes.NOW + timedelta(hours=1))
    assert res.status == "ok", res.message
    assert ledger.sync_states(store, source)["covered_from"] == (fakes.NOW.date() - timedelta(days=89)).isoformat()


@pytest.mark.parametrize("body", ENVELOPES)
def test_openrouter_activity_error_envelope_is_an_error(server, store, settings, fast, keys, body):
    server.route("/api/v1/activity", Reply(200, body))
    res = poll(store, settings, fast, "openrouter")
    assert res.status == "error", res.message
    assert store.execute("SELECT COUNT(*) FROM ledger WHERE source = 'openrouter'").fetchone()[0] == 0


def test_error_envelope_names_the_providers_message(server, store, settings, fast, keys):
    server.route(FIRST_LISTING["anthropic"], Reply(200, ENVELOPES[2]))
    res = poll(store, settings, fast, "anthropic")
    assert res.status == "error" and "Overloaded" in res.message


@pytest.mark.parametrize("source", sorted(FIRST_LISTING))
def test_redirect_with_json_body_covers_nothing(server, store, settings, fast, keys, source):
    server.route(FIRST_LISTING[source], Reply(302, fakes.LAST_PAGE, headers={"Location": "http://127.0.0.1:9/x"}))
    res = poll(store, settings, fast, source)
    assert res.status == "error" and "redirected" in res.message
    assert ledger.sync_states(store, source).get("covered_from") is None


# --- item 11: OpenAI cost lines without amount, long backfills, rows of zeros ---------------

def test_openai_cost_line_without_amount_is_skipped_and_counted(server, store, settings, fast, keys):
    body = {"object": "page", "has_more": False, "next_page": None, "data": [
        {"object": "bucket", "start_time": 1756684800, "end_time": 1756771200, "results": [
            {"object": "organization.costs.result", "amount": {"value": 0.25, "currency": "usd"},
             "line_item": "gpt-4o-2024-08-06, input", "project_id": "proj_a"},
            {"object": "organization.costs.result", "line_item": "gpt-4o-2024-08-06, output", "project_id": "proj_a"},
            {"object": "organization.costs.result", "amount": {"currency": "usd"}, "line_item": "x, output"}]}]}
    server.route("/v1/organization/costs", Reply(200, body))
    res = poll(store, settings, fast, "openai")
    assert res.status == "ok", res.message
    assert "2 cost line(s) without an amount" in res.message
    billed = store.execute("SELECT COUNT(*), SUM(cost_pico) FROM ledger WHERE source = 'openai' AND key LIKE 'costs|%'"
                           ).fetchone()
    assert billed == (1, 250_000_000_000)


def test_openai_cost_lines_without_amount_do_not_mark_their_day_billed(server, store, settings, fast, keys):
    body = {"object": "page", "has_more": False, "next_page": None, "data": [
        {"object": "bucket", "start_time": 1756684800, "end_time": 1756771200, "results": [
            {"object": "organization.costs.result", "line_item": "gpt-4o-2024-08-06, output"}]}]}
    server.route("/v1/organization/costs", Reply(200, body))
    res = poll(store, settings, fast, "openai")
    assert res.status == "ok", res.message
    labels = {r[0] for r in store.execute(
        "SELECT cost_label FROM ledger WHERE source = 'openai' AND key LIKE 'completions|1756684800|%'")}
    assert labels == {"estimated"}  # no dollars for that day: the usage is estimated, not billed $0


def _many_pages(req):
    """A listing that pages daily buckets ``limit`` at a time over the whole requested window."""
    start, end, limit = int(req.q("start_time")), int(req.q("end_time")), int(req.q("limit"))
    first = start + int(req.q("page") or 0) * limit * 86400
    last = min(end, first + limit * 86400)
    data = [{"object": "bucket", "start_time": t, "end_time": t + 86400, "results": []}
            for t in range(first, last, 86400)]
    more = last < end
    return Reply(200, {"object": "page", "data": data, "has_more": more,
                       "next_page": str(int(req.q("page") or 0) + 1) if more else None})


def test_openai_longest_configured_backfill_pages_through(server, store, settings, fast, keys):
    from tokentui.config import SourceSettings

    settings = settings.replace(sources={**settings.sources, "openai": SourceSettings(backfill_days=3660)})
    server.route("/v1/organization/usage/completions", _many_pages)
    res = poll(store, settings, fast, "openai")
    assert res.status == "ok", res.message
    assert len(server.hits("/v1/organization/usage/completions")) == -(-3660 // 31)  # 119 pages
    assert ledger.sync_states(store, "openai")["covered_from"] == (
        fakes.NOW.date() - timedelta(days=3659)).isoformat()


def test_claude_code_only_day_is_not_a_row_of_zeros(server, store, settings, fast, keys):
    from zoneinfo import ZoneInfo

    from tokentui.services import report

    server.route("/v1/organizations/usage_report/messages", Reply(200, fakes.EMPTY_ANTHROPIC))
    server.route("/v1/organizations/cost_report", Reply(200, fakes.EMPTY_ANTHROPIC))
    res = poll(store, settings, fast, "anthropic")
    assert res.status == "ok" and "2 Claude Code day records" in res.message
    assert store.execute("SELECT COUNT(*) FROM ledger WHERE key LIKE 'claude_code|%'").fetchone()[0] == 2
    out = report.build(store, report.ReportRequest("daily", tz=ZoneInfo("UTC"), sources=("anthropic",)))
    assert out["daily"] == []


# --- item 12 (API half): negative billed costs are rejected, counted and shown --------------

def _sources_line(store, source):
    from tokentui.services import status

    detail = store.execute("SELECT detail FROM source_status WHERE source = ?", (source,)).fetchone()[0]
    return status, __import__("json").loads(detail)


def _billed(store, source):
    return store.execute("SELECT COALESCE(SUM(cost_pico), 0) FROM ledger WHERE source = ? AND cost_label = 'billed'",
                         (source,)).fetchone()[0]


def test_openai_negative_cost_line_is_rejected_and_counted(server, store, settings, fast, keys):
    body = {"object": "page", "has_more": False, "next_page": None, "data": [
        {"object": "bucket", "start_time": 1756684800, "end_time": 1756771200, "results": [
            {"object": "organization.costs.result", "amount": {"value": 0.5, "currency": "usd"},
             "line_item": "gpt-4o-2024-08-06, input"},
            {"object": "organization.costs.result", "amount": {"value": -1_000_000, "currency": "usd"},
             "line_item": "gpt-4o-2024-08-06, output"}]}]}
    server.route("/v1/organization/costs", Reply(200, body))
    res = poll(store, settings, fast, "openai")
    assert _billed(store, "openai") == 500_000_000_000
    assert "1 cost line(s) with a negative amount were rejected" in res.message
    assert _sources_line(store, "openai")[1]["skipped_lines"] == 1


def test_anthropic_negative_cost_line_is_rejected_and_counted(server, store, settings, fast, keys):
    from tests.api.server import fixture_json

    body = fixture_json("anthropic_cost_report.json")
    first = body["data"][0]["results"][0]
    good = sum(__import__("decimal").Decimal(r["amount"]) for b in body["data"] for r in b["results"])
    first["amount"] = "-100000000"
    good -= __import__("decimal").Decimal("45.702")
    server.route("/v1/organizations/cost_report", Reply(200, body))
    res = poll(store, settings, fast, "anthropic")
    costs = store.execute("SELECT COALESCE(SUM(cost_pico), 0) FROM ledger WHERE source = 'anthropic' AND "
                          "key LIKE 'costs|%'").fetchone()[0]
    assert costs == int(good / 100 * 10**12)
    assert "1 cost line(s) with a negative amount were rejected" in res.message
    assert _sources_line(store, "anthropic")[1]["skipped_lines"] == 1


def test_openrouter_negative_activity_usage_is_rejected_and_counted(server, store, settings, fast, keys):
    from tests.api.server import fixture_json

    body = fixture_json("openrouter_activity.json")
    body["data"][0]["usage"] = -1_000_000
    server.route("/api/v1/activity", Reply(200, body))
    res = poll(store, settings, fast, "openrouter")
    assert _billed(store, "openrouter") >= 0
    assert store.execute("SELECT COUNT(*) FROM ledger WHERE source = 'openrouter' AND key LIKE 'activity|%'"
                         ).fetchone()[0] == len(body["data"]) - 1
    assert "1 activity row(s) with a negative amount were rejected" in res.message
    assert _sources_line(store, "openrouter")[1]["skipped_lines"] == 1


def test_negative_costs_do_not_pass_budget_check(server, store, settings, fast, keys):
    body = {"object": "page", "has_more": False, "next_page": None, "data": [
        {"object": "bucket", "start_time": 1756684800, "end_time": 1756771200, "results": [
            {"object": "organization.costs.result", "amount": {"value": -1_000_000, "currency": "usd"},
             "line_item": "gpt-4o-2024-08-06, output"}]}]}
    server.route("/v1/organization/costs", Reply(200, body))
    poll(store, settings, fast, "openai")
    assert store.execute("SELECT MIN(cost_pico) FROM ledger").fetchone()[0] >= 0


def test_openrouter_negative_daily_spend_is_rejected_and_counted(server, store, settings, fast, urls, monkeypatch):
    from tests.api.server import fixture_json

    monkeypatch.setenv("OPENROUTER_API_KEY", fakes.OPENROUTER_KEY)
    body = fixture_json("openrouter_key.json")
    body["data"]["usage_daily"] = -1_000_000
    server.route("/api/v1/key", Reply(200, body))
    res = poll(store, settings, fast, "openrouter")
    assert store.execute("SELECT COUNT(*) FROM ledger WHERE source = 'openrouter' AND cost_pico < 0").fetchone()[0] == 0
    assert "1 day spend(s) with a negative amount were rejected" in res.message
    assert _sources_line(store, "openrouter")[1]["skipped_lines"] == 1


def test_sources_command_says_negative_lines_were_rejected(server, store, settings, fast, keys, capsys):
    from tokentui.cli import main

    body = {"object": "page", "has_more": False, "next_page": None, "data": [
        {"object": "bucket", "start_time": 1756684800, "end_time": 1756771200, "results": [
            {"object": "organization.costs.result", "amount": {"value": -5, "currency": "usd"},
             "line_item": "gpt-4o-2024-08-06, output"}]}]}
    server.route("/v1/organization/costs", Reply(200, body))
    poll(store, settings, fast, "openai")
    capsys.readouterr()
    assert main(["sources"]) == 0
    out = capsys.readouterr().out
    assert "1 cost line(s) with a negative amount were rejected" in out
    assert "1 corrupt or invalid line(s) skipped" in out


# --- item 7: Anthropic Priority Tier usage is estimated, never billed at $0 -----------------

SEP1 = 1756684800  # 2025-09-01: has cost_report lines in the fixture


def _priority_usage():
    from tests.api.server import fixture_json

    body = fixture_json("anthropic_usage_messages_grouped_all.json")
    rows = body["data"][0]["results"]
    assert body["data"][0]["starting_at"].startswith("2025-09-01")
    prio = dict(rows[0], service_tier="priority", api_key_id="apikey_prio")
    rows.append(prio)
    return body, prio


def test_priority_tier_rows_are_estimated_on_billed_days(server, store, settings, fast, keys):
    from tokentui.core.pricing import Pricer

    body, prio = _priority_usage()
    server.route("/v1/organizations/usage_report/messages", Reply(200, body))
    res = poll(store, settings, fast, "anthropic")
    assert res.status == "ok", res.message
    [req] = server.hits("/v1/organizations/usage_report/messages")
    assert "service_tier" in req.query["group_by[]"]
    rows = store.execute("SELECT key, cost_pico, cost_label FROM ledger WHERE key LIKE 'messages|%'").fetchall()
    by_tier = {}
    for key, cost, label in rows:
        tier = dict(p.split("=", 1) for p in key.split("|")[3:])["service_tier"]
        by_tier.setdefault(tier, []).append((cost, label))
    assert by_tier["standard"] == [(0, "billed")] and by_tier["batch"] == [(0, "billed")]
    [(cost, label)] = by_tier["priority"]
    r = Pricer().rates(prio["model"]).base
    cc = prio["cache_creation"]
    want = (prio["uncached_input_tokens"] * r[0] + prio["output_tokens"] * r[1] + cc["ephemeral_5m_input_tokens"] * r[2]
            + cc["ephemeral_1h_input_tokens"] * r[3] + prio["cache_read_input_tokens"] * r[4])
    assert label == "estimated" and cost == want and cost > 0
    assert "Priority Tier" in res.message


def test_records_keyed_before_service_tier_grouping_are_replaced(server, store, settings, fast, keys):
    from tokentui.core.records import UsageRecord

    body, _prio = _priority_usage()
    server.route("/v1/organizations/usage_report/messages", Reply(200, body))
    old = ("messages|1756684800|86400|model=claude-sonnet-4-20250514|workspace_id=wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ"
           "|api_key_id=apikey_01Rj2N8SVvo6BePZj99NhmiT|context_window=0-200k")
    ledger.upsert(store, [UsageRecord(source="anthropic", key=old, ts_ms=SEP1 * 1000, model="claude-sonnet-4-20250514",
                                      kind="api", width_s=86400, input=1500, output=500, cost_pico=0,
                                      cost_label="billed")], "dev")
    store.commit()
    poll(store, settings, fast, "anthropic")
    keys_now = [k for (k,) in store.execute("SELECT key FROM ledger WHERE key LIKE 'messages|%'")]
    assert old not in keys_now and all("|service_tier=" in k for k in keys_now)
    assert store.execute("SELECT SUM(input) FROM ledger WHERE key LIKE 'messages|%'").fetchone()[0] == sum(
        r["uncached_input_tokens"] for b in body["data"] for r in b["results"])


# --- item 8: Claude Code analytics keep their own progress, fail as a note, are paced -------

CC = "/v1/organizations/usage_report/claude_code"
TODAY = fakes.NOW.date()


def _cc_failing_on(bad_day):
    def handler(req):
        if req.q("starting_at") == bad_day.isoformat():
            return Reply(500, {"error": {"type": "api_error", "message": "boom"}})
        return fakes._claude_code(req)
    return handler


def test_claude_code_failure_is_a_note_and_usage_window_advances(server, store, settings, fast, keys):
    bad = TODAY - timedelta(days=10)
    server.route(CC, _cc_failing_on(bad))
    res = poll(store, settings, fast, "anthropic")
    assert res.status == "ok", res.message
    assert f"Claude Code analytics stopped at {bad}" in res.message
    st = ledger.sync_states(store, "anthropic")
    assert st["covered_from"] == (TODAY - timedelta(days=89)).isoformat() and st["last_ok_day"] == TODAY.isoformat()
    assert (st["claude_code_from"], st["claude_code_to"]) == ((TODAY - timedelta(days=89)).isoformat(),
                                                              (bad - timedelta(days=1)).isoformat())
    days = [r.q("starting_at") for r in server.hits(CC)]  # oldest first, up to the day that failed
    assert list(dict.fromkeys(days)) == [(TODAY - timedelta(days=89 - i)).isoformat() for i in range(80)]


def test_next_poll_fetches_only_the_analytics_days_left(server, store, settings, fast, keys):
    bad = TODAY - timedelta(days=10)
    server.route(CC, _cc_failing_on(bad))
    poll(store, settings, fast, "anthropic")
    fakes.install(server)
    server.requests.clear()
    res = poll(store, settings, fast, "anthropic", now=fakes.NOW + timedelta(hours=1))
    assert res.status == "ok" and "Claude Code analytics stopped" not in res.message
    days = [r.q("starting_at") for r in server.hits(CC)]
    assert days == [(bad + timedelta(days=i)).isoformat() for i in range(11)]  # the failed day … today
    assert store.execute("SELECT COUNT(*) FROM ledger WHERE key LIKE 'claude_code|%'").fetchone()[0] == 2
    recent = (TODAY - timedelta(days=2)).isoformat()
    assert server.hits("/v1/organizations/usage_report/messages")[0].q("starting_at").startswith(recent)
    st = ledger.sync_states(store, "anthropic")
    assert (st["claude_code_from"], st["claude_code_to"]) == ((TODAY - timedelta(days=89)).isoformat(),
                                                              TODAY.isoformat())
    server.requests.clear()
    poll(store, settings, fast, "anthropic", now=fakes.NOW + timedelta(hours=2))
    assert len(server.hits(CC)) == 3  # caught up: the last 3 days only


def test_claude_code_calls_are_paced(server, store, settings, fast, keys, sleeps, monkeypatch):
    from tokentui.sources.api.anthropic import CLAUDE_CODE_PACE, PACE_ENV

    monkeypatch.delenv(PACE_ENV)  # the default a user gets
    poll(store, settings, fast, "anthropic")
    assert len(server.hits(CC)) == 90
    assert sleeps.count(CLAUDE_CODE_PACE) == 89 and CLAUDE_CODE_PACE > 0
    server.requests.clear()
    sleeps.clear()
    monkeypatch.setenv(PACE_ENV, "1.5")
    ledger.set_sync_state(store, "anthropic", "claude_code_from", (TODAY - timedelta(days=3)).isoformat())
    store.commit()
    poll(store, settings, fast, "anthropic", now=fakes.NOW + timedelta(hours=1))
    assert server.hits(CC) and sleeps.count(1.5) == len(server.hits(CC)) - 1



def test_analytics_behind_the_usage_backfill_reach_back_newest_first(server, store, settings, fast, keys):
    """Usage covered 90 days, the analytics only the last 5 (say, they failed before): the next
    poll re-fetches the recent days, then goes back day by day to the usage backfill's start."""
    poll(store, settings, fast, "anthropic")
    for name, value in (("claude_code_from", (TODAY - timedelta(days=4)).isoformat()),
                        ("claude_code_to", TODAY.isoformat())):
        ledger.set_sync_state(store, "anthropic", name, value)
    store.commit()
    server.requests.clear()
    poll(store, settings, fast, "anthropic", now=fakes.NOW + timedelta(hours=1))
    days = [r.q("starting_at") for r in server.hits(CC)]
    assert days == ([(TODAY - timedelta(days=i)).isoformat() for i in (2, 1, 0)]
                    + [(TODAY - timedelta(days=i)).isoformat() for i in range(5, 90)])
    st = ledger.sync_states(store, "anthropic")
    assert st["claude_code_from"] == (TODAY - timedelta(days=89)).isoformat()


# --- item 10: OpenRouter with a management key: today from /credits deltas, BYOK shown ------

def _credits(total_usage):
    return Reply(200, {"data": {"total_credits": 100.5, "total_usage": total_usage}})


def _credit_spend(store):
    return dict(store.execute("SELECT key, cost_pico FROM ledger WHERE source = 'openrouter' AND "
                              "key LIKE 'credits_spend|%' AND cost_label = 'billed'"))


def test_management_key_fills_today_from_credits_deltas(server, store, settings, fast, keys):
    from tokentui.sources.api.base import day_ts

    today = day_ts(TODAY)
    server.route("/api/v1/credits", _credits(25.75))
    res = poll(store, settings, fast, "openrouter")
    assert res.status == "ok", res.message
    assert _credit_spend(store) == {f"credits_spend|{today}": 0}  # nothing seen spent yet today
    server.route("/api/v1/credits", _credits(28.25))
    res = poll(store, settings, fast, "openrouter", now=fakes.NOW + timedelta(hours=1))
    assert _credit_spend(store) == {f"credits_spend|{today}": 2_500_000_000_000}
    assert "spend today $2.50" in res.message
    # the next day closes today's record at the counter then, and /activity covering it replaces it
    server.route("/api/v1/credits", _credits(30.00))
    poll(store, settings, fast, "openrouter", now=fakes.NOW + timedelta(days=1))
    assert _credit_spend(store) == {f"credits_spend|{today}": 4_250_000_000_000,
                                    f"credits_spend|{today + 86400}": 0}
    activity = {"data": [{"date": (TODAY + timedelta(days=1)).isoformat(), "model": "openai/gpt-4.1", "usage": 4.25,
                          "byok_usage_inference": 0, "requests": 1, "prompt_tokens": 1, "completion_tokens": 1}]}
    server.route("/api/v1/activity", Reply(200, activity))
    poll(store, settings, fast, "openrouter", now=fakes.NOW + timedelta(days=2))
    assert f"credits_spend|{today}" not in _credit_spend(store)  # covered by /activity: never counted twice


def test_byok_inference_is_shown_separately(server, store, settings, fast, keys):
    from decimal import Decimal

    from tests.api.server import fixture_json

    byok = sum(Decimal(str(r["byok_usage_inference"])) for r in fixture_json("openrouter_activity.json")["data"])
    assert byok > 0
    res = poll(store, settings, fast, "openrouter")
    assert Decimal(res.detail["byok_usage_inference"]) == byok
    assert f"BYOK inference ${byok:,.3f}" in res.message


def test_credits_counter_of_another_key_starts_afresh(server, store, settings, fast, keys):
    from tokentui.store import ledger as lg

    server.route("/api/v1/credits", _credits(25.75))
    poll(store, settings, fast, "openrouter")
    state = __import__("json").loads(lg.sync_states(store, "openrouter")["credits_day_start"])
    lg.set_sync_state(store, "openrouter", "credits_day_start",
                      __import__("json").dumps({**state, "key_id": "another", "usage": "1.00"}))
    store.commit()
    res = poll(store, settings, fast, "openrouter", now=fakes.NOW + timedelta(hours=1))
    assert set(_credit_spend(store).values()) == {0} and "rejected" not in res.message
