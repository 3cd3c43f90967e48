"""`team pull`: per-person usage from admin APIs on a local provider server, aggregated to a team file."""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from tests.api import fakes
from tests.api.server import Reply, file_reply, fixture_json, paged
from tokentui.core import benchmarks as bm
from tokentui.core.pricing import Pricer
from tokentui.errors import CredentialError, SourceError
from tokentui.services.leverage import pull_team

CLAUDE_CODE = "/v1/organizations/usage_report/claude_code"
COMPLETIONS = "/v1/organization/usage/completions"
D = Decimal


# --- Anthropic: Claude Code analytics per user -------------------------------------------

def claude_code_record(day: str, who: str, k: int, api: bool = False) -> dict:
    """A record in the fixture's shape: k × (1000 input, 100 output, 5000 cache read, 500 cache
    creation, 10 cents) in one model."""
    r = copy.deepcopy(fixture_json("anthropic_claude_code.json")["data"][1 if api else 0])
    r["date"] = f"{day}T00:00:00Z"
    if api:
        r["actor"]["api_key_name"] = who
    else:
        r["actor"]["email_address"] = who
    r["model_breakdown"] = [{"model": "claude-sonnet-4-20250514",
                             "tokens": {"input": 1000 * k, "output": 100 * k, "cache_read": 5000 * k,
                                        "cache_creation": 500 * k},
                             "estimated_cost": {"currency": "USD", "amount": 10 * k}}]
    return r


def claude_code_server(server, people: int = 6):
    def handler(req):
        day = req.q("starting_at")
        records = [claude_code_record(day, f"dev{k}@company.com", k) for k in range(1, people + 1)]
        records.append(claude_code_record(day, "ci-claude-code", 50, api=True))
        if req.q("page") is None:  # two pages per day: the paging loop is exercised
            return Reply(200, {"data": records[:2], "has_more": True, "next_page": f"p2-{day}"})
        if req.q("page") == f"p2-{day}":
            return Reply(200, {"data": records[2:], "has_more": False, "next_page": None})
        return Reply(400, {"error": {"message": "unknown page"}})

    server.route(CLAUDE_CODE, handler)


@pytest.fixture
def anthropic_key(monkeypatch, urls):
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", fakes.ANTHROPIC_KEY)


def test_anthropic_pull_aggregates_people_only(server, settings, fast, anthropic_key):
    claude_code_server(server)
    team, notes = pull_team("anthropic", settings, days=7, now=fakes.NOW, retry=fast, name="Acme")
    firsts = [r for r in server.hits(CLAUDE_CODE) if r.q("page") is None]
    assert [r.q("starting_at") for r in firsts] == [f"2025-09-0{d}" for d in range(1, 8)]  # whole days, not today
    assert all(r.q("limit") == "1000" and r.headers["x-api-key"] == fakes.ANTHROPIC_KEY for r in firsts)
    assert team.name == "Acme" and team.members == 6 and team.window_days == 7
    assert team.source == "anthropic claude_code" and team.generated == "2025-09-08T12:00:00Z"
    # person k: 7 days × 6600k tokens over one week; k = 1…6 → p50 between k=3 and k=4
    t = team.metrics["tokens_per_week"]
    assert (t.n, t.p50) == (6, D(160000))  # 46200 × 3.5 = 161700 → 2 significant figures
    assert t.p10 == D(69000) and t.p90 == D(250000)  # 46200 × 1.5 = 69300; 46200 × 5.5 = 254100
    # estimated cost: 7 × 10k cents a week → k × $0.70; p50 = $2.45 → 2.4 (half-even)
    assert team.metrics["cost_per_week"].p50 == D("2.4")
    assert team.metrics["cache_hit_ratio"].p50 == D("0.77")  # 5000 / 6500
    assert "active_hours_per_week" not in team.metrics
    assert any("1 API-key actor(s) left out" in n for n in notes)
    assert any("estimated cost" in n for n in notes)


def test_anthropic_pull_from_the_fixture_has_too_few_people(server, settings, fast, anthropic_key):
    # the stock fake serves the fixture (one user, one API key) for 2025-09-08
    now = datetime(2025, 9, 9, 8, 0, tzinfo=timezone.utc)
    with pytest.raises(bm.BenchmarkError, match="only 1 member"):
        pull_team("anthropic", settings, days=3, now=now, retry=fast)


def test_anthropic_pull_without_claude_code_analytics(server, settings, fast, anthropic_key):
    server.route(CLAUDE_CODE, file_reply("anthropic_error_403_permission.json", 403))
    with pytest.raises(SourceError, match="Claude Code analytics are not available .*HTTP 403"):
        pull_team("anthropic", settings, days=2, now=fakes.NOW, retry=fast)


def test_pull_without_a_key_names_the_env_var(settings, urls):
    with pytest.raises(CredentialError, match="no anthropic admin key.*ANTHROPIC_ADMIN_KEY"):
        pull_team("anthropic", settings, days=2, now=fakes.NOW)


def test_pull_with_a_mangled_key_says_what_is_wrong(settings, urls, monkeypatch):
    """A key pasted with a control character could not be sent in a header: the message says
    so, where the key came from and how to set it again (not a generic failure)."""
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", "sk-ant-admin01-abc\x07def")
    with pytest.raises(CredentialError) as exc:
        pull_team("anthropic", settings)
    assert "control character" in exc.value.message and "env" in exc.value.message
    assert "ANTHROPIC_ADMIN_KEY" in exc.value.hint and "\x07" not in str(exc.value)


def test_pull_with_a_non_admin_key_explains(server, settings, fast, urls, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", fakes.ANTHROPIC_API_KEY)
    with pytest.raises(SourceError, match="not an admin key"):
        pull_team("anthropic", settings, days=2, now=fakes.NOW, retry=fast)


# --- OpenAI: completions usage grouped by user_id -----------------------------------------

MODEL = "gpt-4o-2024-08-06"


def completions_result(user: str | None, k: int, model: str = MODEL) -> dict:
    r = copy.deepcopy(fixture_json("openai_usage_completions_page1.json")["data"][0]["results"][0])
    r.update(user_id=user, model=model, input_tokens=1000 * k, input_cached_tokens=400 * k,
             input_uncached_tokens=600 * k, input_text_tokens=600 * k, input_cached_text_tokens=400 * k,
             input_cache_write_tokens=0, output_tokens=100 * k, output_text_tokens=100 * k, num_model_requests=10)
    return r


def completions_page(start: int, more: str | None) -> dict:
    results = [completions_result(f"user-{k}", k) for k in range(1, 6)]
    results.append(completions_result("user-6", 6, model="ft:unknown-in-house-model"))
    results.append(completions_result(None, 1))
    return {"object": "page", "has_more": more is not None, "next_page": more,
            "data": [{"object": "bucket", "start_time": start, "end_time": start + 86400, "results": results}]}


@pytest.fixture
def openai_key(monkeypatch, urls):
    monkeypatch.setenv("OPENAI_ADMIN_KEY", fakes.OPENAI_KEY)


def test_openai_pull_groups_by_user_id(server, settings, fast, openai_key):
    day1 = 1756684800
    server.route(COMPLETIONS, paged(completions_page(day1, "next=="), {"next==": completions_page(day1 + 86400, None)}))
    team, notes = pull_team("openai", settings, days=7, now=fakes.NOW, retry=fast)
    first = server.hits(COMPLETIONS)[0]
    assert first.query["group_by"] == ["user_id", "model"] and first.q("bucket_width") == "1d"
    assert first.q("start_time") == str(day1) and first.q("end_time") == str(day1 + 7 * 86400)
    assert first.headers["authorization"] == f"Bearer {fakes.OPENAI_KEY}"
    assert team.members == 6 and team.source == "openai usage by user_id"
    # person k: 2 buckets × 1100k tokens in a 7-day window; k = 1…6 → p50 = 2200 × 3.5
    assert team.metrics["tokens_per_week"].p50 == D(7700)
    assert team.metrics["cache_hit_ratio"].p50 == D("0.4")
    # user-6's model has no price: only users 1…5 have a cost, median user-3
    rates = Pricer().rates(MODEL).base
    per_bucket = D(600 * rates[0] + 100 * rates[1] + 400 * rates[4]) / 10**12
    cost = team.metrics["cost_per_week"]
    assert cost.n == 5 and cost.p50 == bm.round_sig(per_bucket * 2 * 3)
    assert any("no user_id" in n for n in notes) and any("estimated from list prices" in n for n in notes)


def test_openai_pull_of_the_fixture_has_no_user_ids(server, settings, fast, openai_key):
    # the stock fake serves the group_by=model fixture: every user_id is null
    with pytest.raises(bm.BenchmarkError, match="only 0 member"):
        pull_team("openai", settings, days=7, now=fakes.NOW, retry=fast)


# --- CLI ---------------------------------------------------------------------------------

def test_cli_team_pull_writes_aggregates_only(server, anthropic_key, tmp_path, capsys):
    from tokentui.cli import main

    claude_code_server(server, people=5)
    out = tmp_path / "team.toml"
    assert main(["team", "pull", "anthropic", "-o", str(out), "--days", "3", "--name", "Acme"]) == 0
    text = out.read_text()
    assert "5 members" in capsys.readouterr().out
    assert "@company.com" not in text and "ci-claude-code" not in text and fakes.ANTHROPIC_KEY not in text
    team = bm.parse_team(text, str(out))
    assert team.name == "Acme" and team.metrics["tokens_per_week"].n == 5
    assert main(["team", "pull", "anthropic", "-o", str(out), "--min-members", "6"]) == 1
    assert "only 5 member(s)" in capsys.readouterr().err
