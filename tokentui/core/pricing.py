"""Per-request pricing on genai-prices, with user overrides and an optional price table.

Lookup order for a model name: ``[pricing.overrides]`` from config, then the optional
LiteLLM-shaped table (``pricing.table``), then genai-prices. A model none of them knows is
*unpriced* (``None``), never $0.

Prices are resolved once per model and cached as integer picodollars per token, so pricing
a request is a few integer multiplications (genai-prices' own ``calc_price`` costs ~80 µs a
call, too slow for ingesting millions of lines). Long-context tiers follow genai-prices'
rule: when a request's total input (uncached + cache writes + cache reads) exceeds a tier's
start, every token of that request is priced at the tier's rate. Pass one request's usage,
never a bucket's sum.

Fast mode: ``<model>-fast`` is priced at a fast price only (an override or table entry of
that name, or genai-prices' ``speed=fast`` variant of ``<model>``); none known → unpriced.

Missing rates: cache reads and cache writes fall back to the input rate; 1-hour cache
writes fall back to 2 × input (Anthropic's list price and ccusage's rule).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping, NamedTuple

from tokentui.errors import ConfigError

MTOK_TO_PICO_PER_TOKEN = Decimal(10**6)  # $1/MTok = 1e-6 $/token = 1e6 pico$/token

KINDS = ("input", "output", "cache_write", "cache_write_1h", "cache_read")


def _pico(per_mtok: Decimal) -> int:
    return int((per_mtok * MTOK_TO_PICO_PER_TOKEN).to_integral_value())


class Rates(NamedTuple):  # not a frozen dataclass: ~10x cheaper to define, and every sync imports it
    """Picodollars per token for each token kind, with cliff tiers on total input."""

    model: str  # the name the price was found under
    origin: str  # "override" | "table" | "genai-prices"
    base: tuple[int, int, int, int, int]
    tiers: tuple[tuple[int, tuple[int, int, int, int, int]], ...] = ()

    def cost(self, inp: int, out: int, cw5m: int, cw1h: int, cread: int) -> int:
        r = self.base
        if self.tiers:
            total_in = inp + cw5m + cw1h + cread
            for start, tier in self.tiers:
                if total_in > start:
                    r = tier
        return inp * r[0] + out * r[1] + cw5m * r[2] + cw1h * r[3] + cread * r[4]


def _complete(inp: Decimal, out: Decimal, cw: Decimal | None, cw1h: Decimal | None,
              cr: Decimal | None) -> tuple[int, int, int, int, int]:
    cw = inp if cw is None else cw
    cw1h = 2 * inp if cw1h is None else cw1h
    cr = inp if cr is None else cr
    return (_pico(inp), _pico(out), _pico(cw), _pico(cw1h), _pico(cr))


#: how model ids are looked up (bumped when a rule changes: it is part of the fingerprint, so
#: stored estimates are re-priced under the new rule)
LOOKUP_RULES = 2
#: bare ids of a model family that price lists keep under a provider prefix (spec/agents.md
#: §4.3: Qwen Code logs ``qwen3-coder-plus``; genai-prices lists ``qwen/qwen3-coder-plus``)
_FAMILY_PREFIXES = (("qwen", ("qwen/", "alibaba/")),)


def _normalise(name: str) -> list[str]:
    """Candidate spellings of a model name, most specific first: as is, without a provider
    prefix, without a date suffix, with dotted versions dashed; last, a bare id of a family
    in :data:`_FAMILY_PREFIXES` under its providers' prefixes."""
    out = [name]
    low = name.lower()
    if "/" in low:
        out.append(low.rsplit("/", 1)[1])
    for cand in list(out):
        stripped = re.sub(r"[-@]\d{8}$", "", cand)
        if stripped != cand:
            out.append(stripped)
        dotted = re.sub(r"(\d)\.(\d)", r"\1-\2", cand)
        if dotted != cand:
            out.append(dotted)
    if "/" not in low:
        out += [prefix + c for family, prefixes in _FAMILY_PREFIXES if low.startswith(family)
                for prefix in prefixes for c in list(out)]
    seen, uniq = set(), []
    for c in out:
        if c not in seen:
            seen.add(c)
            uniq.append(c)
    return uniq


def _litellm_rates(name: str, entry: Mapping[str, Any]) -> Rates | None:
    def d(key: str) -> Decimal | None:
        v = entry.get(key)
        if v is None or isinstance(v, bool) or not isinstance(v, (int, float, str)):
            return None
        return Decimal(str(v)) * 10**6  # per token → per MTok

    inp, out = d("input_cost_per_token"), d("output_cost_per_token")
    if inp is None or out is None:
        return None
    base = _complete(inp, out, d("cache_creation_input_token_cost"), None, d("cache_read_input_token_cost"))
    tiers = ()
    inp2 = d("input_cost_per_token_above_200k_tokens")
    if inp2 is not None:
        out2 = d("output_cost_per_token_above_200k_tokens") or out
        tiers = ((200_000, _complete(inp2, out2, d("cache_creation_input_token_cost_above_200k_tokens"), None,
                                      d("cache_read_input_token_cost_above_200k_tokens"))),)
    return Rates(name, "table", base, tiers)


def load_price_table(path: Path) -> dict[str, Any]:
    """Read a LiteLLM ``model_prices_and_context_window.json``-shaped file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"pricing.table: file not found: {path}") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"pricing.table: {path} is not a readable JSON price table ({exc})") from None
    except RecursionError:
        raise ConfigError(f"pricing.table: {path} is not a readable JSON price table (nested too deeply)") from None
    if not isinstance(data, dict):
        raise ConfigError(f"pricing.table: {path} must hold a JSON object of models")
    return {k: v for k, v in data.items() if isinstance(v, dict)}


#: a model name ending with this is the model in fast mode (Claude ``usage.speed: "fast"``,
#: Codex ``service_tier = "fast"``): priced only at a known fast price, never the standard one
FAST_SUFFIX = "-fast"
_FAST = {"speed": "fast"}
#: OpenAI models (Codex's fast mode, ``service_tier = "fast"``) with no known fast price: the
#: standard price times OpenAI's published fast-mode factor (ccusage's table: gpt-5.5 x2.5,
#: gpt-5.4 and gpt-5.3-codex x2; otherwise x2). Claude models get no such guess.
_OPENAI = re.compile(r"^(?:openai/)?(?:gpt-|o\d|codex)")
_FAST_FACTORS = (("gpt-5.5", (5, 2)), ("gpt-5-5", (5, 2)))


def _genai_rates(name: str, fast: bool = False) -> Rates | None:
    import genai_prices
    from genai_prices.types import TieredPrices

    try:
        try:
            calc = genai_prices.calc_price(genai_prices.Usage(input_tokens=1, output_tokens=1), name)
        except LookupError:
            if "/" not in name:
                raise
            # "vendor/model" ids are OpenRouter's listing (qwen/qwen3-coder-plus): no provider
            # is found for them by the id alone
            calc = genai_prices.calc_price(genai_prices.Usage(input_tokens=1, output_tokens=1), name,
                                           provider_id="openrouter")
        if fast:  # only a model with a speed=fast price variant has a fast price
            if not any(v.when == _FAST for v in (calc.model.price_variants or ())):
                return None
            calc = genai_prices.calc_price(genai_prices.Usage(input_tokens=1, output_tokens=1), name,
                                           price_context=_FAST)
    except (LookupError, ValueError):
        return None
    mp = calc.model_price

    def get(attr: str) -> Any:
        try:
            return getattr(mp, attr)
        except AttributeError:
            return None

    raw = {k: get(f"{k}_mtok") for k in KINDS}
    if raw["input"] is None or raw["output"] is None:
        return None

    def base_of(v: Any) -> Decimal | None:
        return v.base if isinstance(v, TieredPrices) else v

    base = _complete(*(base_of(raw[k]) for k in KINDS))
    starts = sorted({t.start for v in raw.values() if isinstance(v, TieredPrices) for t in v.tiers})
    tiers = []
    for start in starts:
        def at(v: Any) -> Decimal | None:
            if not isinstance(v, TieredPrices):
                return v
            price = v.base
            for t in v.tiers:
                if start >= t.start:
                    price = t.price
            return price

        tiers.append((start, _complete(*(at(raw[k]) for k in KINDS))))
    return Rates(calc.model.id + (FAST_SUFFIX if fast else ""), "genai-prices", base, tuple(tiers))


def _ints5(v: Any) -> tuple[int, int, int, int, int]:
    if not isinstance(v, (list, tuple)) or len(v) != 5 or not all(type(x) is int and x >= 0 for x in v):
        raise ValueError("not five rates")
    return tuple(v)  # type: ignore[return-value]


class Pricer:
    """Prices requests; caches one :class:`Rates` (or None) per model name."""

    def __init__(self, overrides: Mapping[str, Any] | None = None, table: Mapping[str, Any] | None = None,
                 use_genai: bool = True) -> None:
        self._overrides = {}
        for name, o in (overrides or {}).items():
            self._overrides[name] = Rates(name, "override", _complete(
                o.input, o.output, o.cache_write, o.cache_write_1h, o.cache_read))
        self._table = dict(table or {})
        self._use_genai = use_genai
        self._cache: dict[str, Rates | None] = {}
        self._fingerprint: str | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> "Pricer":
        table = load_price_table(settings.pricing_table) if settings.pricing_table else None
        return cls(settings.price_overrides, table)

    def rates(self, model: str | None) -> Rates | None:
        """Rates for ``model`` or None when it is unknown (unpriced)."""
        if not model:
            return None
        try:
            return self._cache[model]
        except KeyError:
            pass
        found = None
        fast = model.endswith(FAST_SUFFIX) and len(model) > len(FAST_SUFFIX)
        if fast:  # "<model>-fast": a fast price for a spelling of <model>, or unpriced
            cands = [c + FAST_SUFFIX for c in _normalise(model[:-len(FAST_SUFFIX)])]
        else:
            cands = _normalise(model)
        for c in cands:
            if c in self._overrides:
                found = self._overrides[c]
                break
        if found is None and self._table:
            for c in cands:
                if c in self._table:
                    found = _litellm_rates(c, self._table[c])
                    if found:
                        break
        if found is None and self._use_genai:
            for c in cands:
                # never "<model>-fast" as a name: genai-prices would match <model>'s standard price
                found = _genai_rates(c[:-len(FAST_SUFFIX)], fast=True) if fast else _genai_rates(c)
                if found:
                    break
        if found is None and fast:
            found = self._openai_fast(model[:-len(FAST_SUFFIX)])
        self._cache[model] = found
        return found

    def _openai_fast(self, base: str) -> Rates | None:
        """An OpenAI model's fast price from its standard one (see :data:`_FAST_FACTORS`)."""
        if not _OPENAI.match(base.lower()):
            return None
        std = self.rates(base)
        if std is None:
            return None
        num, den = next((f for prefix, f in _FAST_FACTORS if base.lower().startswith(prefix)), (2, 1))

        def scale(r):
            return tuple(x * num // den for x in r)

        return Rates(std.model + FAST_SUFFIX, f"{std.origin} x{num / den:g}", scale(std.base),
                     tuple((s, scale(t)) for s, t in std.tiers))

    # -- a saved copy of what was resolved: loading genai-prices costs ~150 ms a process ------
    def resolved(self) -> dict[str, Any]:
        """Every model name resolved so far and its rates (None: unpriced), as JSON-able data
        for :meth:`preload`. Valid only with the same :meth:`fingerprint`."""
        return {name: None if r is None else [r.model, r.origin, list(r.base), [[s, list(t)] for s, t in r.tiers]]
                for name, r in self._cache.items()}

    def preload(self, data: Any) -> int:
        """Take model rates saved by :meth:`resolved` (under the same fingerprint), so models
        seen before are priced without loading genai-prices. Malformed entries are ignored
        (they are resolved again). Returns how many were taken."""
        if not isinstance(data, dict):
            return 0
        n = 0
        for name, v in data.items():
            if not isinstance(name, str) or name in self._cache:
                continue
            try:
                if v is None:
                    rates = None
                else:
                    model, origin, base, tiers = v
                    rates = Rates(str(model), str(origin), _ints5(base),
                                  tuple((int(start), _ints5(t)) for start, t in tiers))
            except (TypeError, ValueError):
                continue
            self._cache[name] = rates
            n += 1
        return n

    def warm_up(self) -> None:
        """Load the price data now (~200 ms to import genai-prices, ~25 ms more for its price
        list), e.g. on a thread while worker processes parse a first big ingest, so that the
        writer's first price neither waits for it nor loads it."""
        if not self._use_genai:
            return
        try:
            import genai_prices  # noqa: F401
            import genai_prices.types  # noqa: F401
            from genai_prices.data_snapshot import get_snapshot

            get_snapshot()  # the price list itself (~25 ms), which the first lookup would load
        except Exception:  # noqa: BLE001 - only a head start: rates() will say what is wrong
            pass

    def cost_pico(self, model: str | None, inp: int, out: int, cw5m: int = 0, cw1h: int = 0,
                  cread: int = 0) -> int | None:
        """Cost of one request in picodollars, or None when the model has no price."""
        r = self.rates(model)
        return None if r is None else r.cost(inp, out, cw5m, cw1h, cread)

    def fingerprint(self) -> str:
        """Identifies the price data in use; when it changes, stored estimates are repriced."""
        if self._fingerprint is None:
            self._fingerprint = self._compute_fingerprint()
        return self._fingerprint

    def _compute_fingerprint(self) -> str:
        h = hashlib.sha256()
        h.update(f"{pricing_data_version()}:rules{LOOKUP_RULES}".encode())
        for name in sorted(self._overrides):
            h.update(repr((name, self._overrides[name].base)).encode())
        h.update(json.dumps(self._table, sort_keys=True, default=str).encode())
        h.update(str(self._use_genai).encode())
        return h.hexdigest()[:16]


def pricing_data_version() -> str:
    """The genai-prices release whose bundled price data is in use."""
    from importlib.util import find_spec

    # its .dist-info folder names the version: found without importlib.metadata (~8 ms to import,
    # on every sync) in the usual site-packages layout
    spec = find_spec("genai_prices")
    if spec is not None and spec.origin:
        site = os.path.dirname(os.path.dirname(spec.origin))
        try:
            with os.scandir(site) as it:
                for e in it:
                    if e.name.startswith("genai_prices-") and e.name.endswith(".dist-info"):
                        return f"genai-prices {e.name[len('genai_prices-'):-len('.dist-info')]}"
        except OSError:
            pass
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"genai-prices {version('genai-prices')}"
    except PackageNotFoundError:  # pragma: no cover
        return "genai-prices (unknown version)"
