"""Model ids and the price lists' spellings (spec/agents.md §4.3 item 4): a provider-prefixed id
with no price of its own is priced without its prefix; a bare Qwen id (as Qwen Code logs it) is
priced by its ``qwen/`` or ``alibaba/`` listing when the bare id has none."""

from __future__ import annotations

from tokentui.core.pricing import Pricer

ENTRY = {"input_cost_per_token": 4e-7, "output_cost_per_token": 1.6e-6}


def test_a_prefixed_id_without_a_price_is_priced_without_its_prefix() -> None:
    p = Pricer(table={"qwen3-coder-plus": ENTRY}, use_genai=False)
    assert p.rates("qwen/qwen3-coder-plus") == p.rates("qwen3-coder-plus") is not None
    assert p.cost_pico("openrouter/qwen/qwen3-coder-plus", 10**6, 0) == 400_000_000_000


def test_a_bare_qwen_id_is_priced_by_its_qwen_listing() -> None:
    p = Pricer(table={"qwen/qwen3-coder-plus": ENTRY}, use_genai=False)
    assert p.cost_pico("qwen3-coder-plus", 10**6, 10**6) == 2_000_000_000_000
    p = Pricer(table={"alibaba/qwen-max": ENTRY}, use_genai=False)
    assert p.rates("qwen-max") is not None
    assert Pricer(table={"qwen/other": ENTRY}, use_genai=False).rates("qwen3-coder-plus") is None  # never $0
    # genai-prices lists Qwen's models under qwen/ (OpenRouter): Qwen Code's ids are priced
    assert Pricer().rates("qwen3-coder-plus") == Pricer().rates("qwen/qwen3-coder-plus") is not None


def test_the_lookup_rules_are_part_of_the_fingerprint(monkeypatch) -> None:
    """Stored estimates are re-priced when the fingerprint changes: a new lookup rule (this one
    prices rows stored unpriced) must change it, as new price data does."""
    from tokentui.core import pricing

    before = Pricer(table={"x": ENTRY}, use_genai=False).fingerprint()
    monkeypatch.setattr(pricing, "LOOKUP_RULES", pricing.LOOKUP_RULES + 1)
    assert Pricer(table={"x": ENTRY}, use_genai=False).fingerprint() != before
