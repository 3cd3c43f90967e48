"""The per-person overlap rule: one view per (period, provider), never the sum."""

from __future__ import annotations

from tokentui.core.overlap import person_totals
from tokentui.core.totals import Totals
from tokentui.sources import registry

#: the registry's relation: claude-code → anthropic, codex → openai
LOCAL_PROVIDER = registry.local_provider()


def t(tokens: int, cost: int = 0, model: str | None = None) -> Totals:
    out = Totals(input=tokens, cost_pico=cost, records=1)
    if model:
        out.models[model] = False
    return out


def test_larger_view_wins_with_its_own_cost():
    cells = {("2025-09-01", "claude-code"): t(1000, cost=50, model="sonnet"),
             ("2025-09-01", "anthropic"): t(800, cost=70, model="sonnet-api")}
    res = person_totals(cells, LOCAL_PROVIDER)
    day = res.periods["2025-09-01"]
    assert (day.total, day.cost_pico, list(day.models)) == (1000, 50, ["sonnet"])
    [c] = res.choices
    assert (c.provider, c.counted, c.local_tokens, c.api_tokens) == ("anthropic", "local", 1000, 800)


def test_api_wins_when_larger_or_tied():
    cells = {("d", "codex"): t(500, 5), ("d", "openai"): t(900, 9)}
    assert person_totals(cells, LOCAL_PROVIDER).periods["d"].cost_pico == 9
    cells = {("d", "codex"): t(500, 5), ("d", "openai"): t(500, 7)}
    res = person_totals(cells, LOCAL_PROVIDER)
    assert res.periods["d"].cost_pico == 7 and res.choices[0].counted == "api"


def test_only_one_side_or_unrelated_sources_are_summed():
    cells = {("d1", "claude-code"): t(100, 1), ("d1", "openai"): t(200, 2), ("d1", "openrouter"): t(300, 3),
             ("d2", "anthropic"): t(400, 4), ("d2", "gemini-cli"): t(50, 0)}
    res = person_totals(cells, LOCAL_PROVIDER)
    assert res.periods["d1"].total == 600 and res.periods["d1"].cost_pico == 6
    assert res.periods["d2"].total == 450
    assert res.choices == []


def test_rule_is_per_period_and_per_provider():
    cells = {("d1", "claude-code"): t(100), ("d1", "anthropic"): t(300),
             ("d2", "claude-code"): t(500), ("d2", "anthropic"): t(300),
             ("d1", "codex"): t(70), ("d1", "openai"): t(10)}
    res = person_totals(cells, LOCAL_PROVIDER)
    assert res.periods["d1"].total == 300 + 70
    assert res.periods["d2"].total == 500
    assert sorted((c.period, c.provider, c.counted) for c in res.choices) == [
        ("d1", "anthropic", "api"), ("d1", "openai", "local"), ("d2", "anthropic", "local")]


def test_api_cost_only_still_counts_as_usage():
    # OpenAI cost lines without token buckets (e.g. costs arrive before usage): the local view
    # has more tokens, so its tokens and estimate are used and the API dollars are not added
    cells = {("d", "codex"): t(1000, 10), ("d", "openai"): t(0, 25)}
    res = person_totals(cells, LOCAL_PROVIDER)
    assert res.periods["d"].total == 1000 and res.periods["d"].cost_pico == 10


def test_several_local_sources_of_one_provider_form_one_view():
    mapping = {"claude-code": "anthropic", "other-agent": "anthropic"}
    cells = {("d", "claude-code"): t(400), ("d", "other-agent"): t(300), ("d", "anthropic"): t(600)}
    res = person_totals(cells, mapping)
    assert res.periods["d"].total == 700 and res.choices[0].counted == "local"


def test_input_is_not_modified():
    a, b = t(10, 1), t(20, 2)
    person_totals({("d", "codex"): a, ("d", "openai"): b, ("d", "x"): t(1)}, LOCAL_PROVIDER)
    assert (a.total, b.total) == (10, 20)
