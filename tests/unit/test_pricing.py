"""Pricing: fixture table parity, genai-prices tiers, unpriced (never $0), overrides."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tokentui.config import PriceOverride
from tokentui.core.pricing import Pricer
from tokentui.core.records import PICO


def usd(pico: int) -> Decimal:
    return Decimal(pico) / PICO


def test_fixture_table_matches_readme_costs(fixture_price_table) -> None:
    p = Pricer(table=fixture_price_table, use_genai=False)
    # E2: 5m and 1h cache writes priced apart (1h = 2 x input)
    assert usd(p.cost_pico("claude-sonnet-4-5-20250929", 5, 310, 500, 1000, 12000)) == Decimal("0.016140")
    # E1, E4, E7 of the fixture README
    assert usd(p.cost_pico("claude-sonnet-4-5-20250929", 3, 245, 12000, 0, 0)) == Decimal("0.048684")
    assert usd(p.cost_pico("claude-opus-4-5-20251101", 10, 1200, 0, 0, 13500)) == Decimal("0.036800")
    assert usd(p.cost_pico("claude-haiku-4-5-20251001", 20, 50, 2000, 0, 0)) == Decimal("0.002770")
    # Codex ev1: cached input at the cache-read price
    assert usd(p.cost_pico("gpt-5-codex", 18250 - 15360, 640, 0, 0, 15360)) == Decimal("0.0119325")


def test_genai_prices_agrees_with_the_fixture_for_known_models() -> None:
    p = Pricer()
    assert usd(p.cost_pico("claude-sonnet-4-5-20250929", 5, 310, 500, 1000, 12000)) == Decimal("0.016140")
    assert usd(p.cost_pico("gpt-5", 2890, 640, 0, 0, 15360)) == Decimal("0.0119325")


def test_long_context_tier_applies_to_the_whole_request() -> None:
    p = Pricer()
    below = p.cost_pico("claude-sonnet-4-5", 199_000, 1000)
    above = p.cost_pico("claude-sonnet-4-5", 1000, 1000, 0, 0, 200_000)  # total input 201,000 >= 200k
    assert usd(below) == Decimal("0.612")  # 199k x $3 + 1k x $15
    assert usd(above) == Decimal("0.1485")  # 1k x $6 + 200k x $0.60 + 1k x $22.50


@pytest.mark.parametrize("model", ["claude-sonnet-4-5", "claude-opus-4-5", "gpt-5", "gemini-2.5-pro"])
def test_parity_with_genai_prices_calc_price(model: str) -> None:
    """The cached per-token rates give exactly what genai-prices computes per request."""
    import random

    import genai_prices

    rng = random.Random(7)
    p = Pricer()
    cases = [(199_999, 1, 0, 0, 0), (200_000, 1, 0, 0, 0), (200_001, 10, 0, 0, 0)]
    cases += [tuple(rng.choice([0, rng.randint(1, 400_000)]) for _ in range(5)) for _ in range(60)]
    for inp, out, c5, c1, cr in cases:
        if model.startswith(("gpt", "gemini")):
            c5 = c1 = 0
        u = genai_prices.Usage(input_tokens=inp + c5 + c1 + cr, output_tokens=out, cache_read_tokens=cr,
                               cache_write_tokens=c5 + c1, cache_write_1h_tokens=c1 or None)
        expected = genai_prices.calc_price(u, model).total_price
        assert usd(p.cost_pico(model, inp, out, c5, c1, cr)) == expected, (inp, out, c5, c1, cr)


def test_unknown_model_is_unpriced_never_zero() -> None:
    p = Pricer()
    assert p.cost_pico("totally-unknown-model-x", 100, 100) is None
    assert p.cost_pico(None, 100, 100) is None
    assert p.rates("totally-unknown-model-x") is None


def test_override_wins_and_changes_the_fingerprint(fixture_price_table) -> None:
    base = Pricer(table=fixture_price_table)
    o = Pricer({"claude-sonnet-4-5": PriceOverride(Decimal("1"), Decimal("2"))}, fixture_price_table)
    assert o.rates("claude-sonnet-4-5-20250929").origin == "override"  # date suffix normalised
    assert usd(o.cost_pico("claude-sonnet-4-5-20250929", 1_000_000, 1_000_000)) == Decimal("3")
    # cache reads and writes fall back to the input rate, 1h writes to 2 x input
    assert usd(o.cost_pico("claude-sonnet-4-5", 0, 0, 1_000_000, 1_000_000, 1_000_000)) == Decimal("4")
    assert base.fingerprint() != o.fingerprint()


def test_override_prices_an_otherwise_unknown_model() -> None:
    p = Pricer({"acme-coder-7b": PriceOverride(Decimal("0.5"), Decimal("1.5"), cache_read=Decimal("0.05"))})
    assert usd(p.cost_pico("acme-coder-7b", 2_000_000, 1_000_000, 0, 0, 1_000_000)) == Decimal("2.55")
    assert p.cost_pico("acme/acme-coder-7b", 1, 1) == p.cost_pico("acme-coder-7b", 1, 1)


@pytest.mark.parametrize("model", ["gpt-5.1-codex", "claude-opus-4-5-20251101", "claude-haiku-4-5"])
def test_common_agent_models_are_priced(model: str) -> None:
    assert Pricer().cost_pico(model, 1000, 1000) > 0


def test_pricing_data_version_names_the_installed_release() -> None:
    from importlib.metadata import version

    from tokentui.core.pricing import pricing_data_version

    assert pricing_data_version() == f"genai-prices {version('genai-prices')}"


def test_warm_up_loads_the_price_list_the_first_lookup_needs() -> None:
    """A first big sync warms the price data up on a thread while workers parse: the import and
    the price list, so that the writer's first price loads neither (a new process: nothing loaded)."""
    import subprocess
    import sys

    code = ("import sys\n"
            "from tokentui.core.pricing import Pricer\n"
            "assert 'genai_prices' not in sys.modules\n"
            "Pricer().warm_up()\n"
            "print('genai_prices.data' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"
