"""One person's total across source kinds, without counting the same usage twice.

The same tokens can reach tokentop twice: a Claude Code session appears in the local
``claude-code`` logs *and* (when it ran on an API key of an organization whose admin key
tokentop reads) in the ``anthropic`` usage API; likewise ``codex`` and ``openai``.

Rule, applied per period (pass the finest period you report, e.g. days, then sum):

* Local sources map to providers: ``claude-code`` → ``anthropic``, ``codex`` → ``openai``.
  Several local sources of one provider form one *local view* (their sum).
* For each (period, provider) where the local view **and** the provider's API source both
  have usage (tokens or cost), count only the view with the larger total tokens; its
  tokens **and** its cost are used, never a mix and never the sum. On a tie the API view
  wins (its cost is billed rather than estimated).
* Every other source (no counterpart, or the counterpart has no usage that period) counts
  as it is.

Why the larger view: each view is a lower bound of the person's usage of that provider
(the local logs miss usage from other tools; the API may cover only some keys, or lag),
and both cannot be summed, so the larger one is the better single estimate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from tokentui.core.totals import Totals



@dataclass(frozen=True)
class Choice:
    """Which view was counted for one (period, provider) where both had usage."""

    period: str
    provider: str
    counted: str  # "local" | "api"
    local_tokens: int
    api_tokens: int


@dataclass
class PersonTotals:
    """Per-period totals and the choices that produced them (for provenance notes)."""

    periods: dict[str, Totals] = field(default_factory=dict)
    choices: list[Choice] = field(default_factory=list)


def _has_usage(t: Totals | None) -> bool:
    return t is not None and (t.total > 0 or t.cost_pico > 0)


def person_totals(cells: Mapping[tuple[str, str], Totals],
                  local_provider: Mapping[str, str]) -> PersonTotals:
    """Combine per-``(period, source)`` totals into per-period totals by the rule above.

    ``local_provider`` maps a local source to the provider whose API may report the same usage
    (:attr:`~tokentui.core.catalog.SourceCatalog.local_provider`). ``cells`` is not modified. Periods keep their first-seen order.
    """
    by_period: dict[str, dict[str, Totals]] = {}
    for (period, source), t in cells.items():
        by_period.setdefault(period, {})[source] = t
    out = PersonTotals()
    for period, sources in by_period.items():
        total = Totals()
        local_views: dict[str, Totals] = {}
        for source, t in sources.items():
            provider = local_provider.get(source)
            if provider is None:
                continue
            local_views.setdefault(provider, Totals()).add(t)
        dropped: set[str] = set()
        for provider, local in local_views.items():
            api = sources.get(provider)
            if not (_has_usage(local) and _has_usage(api)):
                continue
            assert api is not None
            counted = "local" if local.total > api.total else "api"
            out.choices.append(Choice(period, provider, counted, local.total, api.total))
            if counted == "local":
                dropped.add(provider)
            else:
                dropped.update(s for s in sources if local_provider.get(s) == provider)
        for source, t in sources.items():
            if source not in dropped:
                total.add(t)
        out.periods[period] = total
    return out


def left_out(cells: Mapping[tuple[str, str], Totals], local_provider: Mapping[str, str]) -> set[tuple[str, str]]:
    """The ``(period, source)`` cells the rule above does not count (the smaller view of a
    provider in a period where its local logs and its API both saw usage)."""
    out: set[tuple[str, str]] = set()
    sources_of: dict[str, set[str]] = {}
    for period, source in cells:
        sources_of.setdefault(period, set()).add(source)
    for c in person_totals(cells, local_provider).choices:
        if c.counted == "local":
            out.add((c.period, c.provider))
        else:
            out.update((c.period, s) for s in sources_of[c.period] if local_provider.get(s) == c.provider)
    return out
