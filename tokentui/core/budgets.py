"""Budgets: what a budget is, and reading/writing the ``[budgets]`` part of ``config.toml``.

Example::

    [budgets]
    notify_desktop = false            # also send a desktop notification (notify-send) when an
                                      # alert threshold is first crossed; default false

    [budgets.work]                    # name: letters, digits, '-', '_', '.'
    usd = 5000                        # or: tokens = 2_000_000_000 (exactly one of the two)
    period = "year"                   # month | quarter | year
    start = 2026-04-01                # optional: its month and day start each period (fiscal years)
    sources = ["claude-code"]         # optional scope; empty = all usage
    providers = ["openai"]            # optional: expands to that provider's sources (see core.catalog)
    models = ["claude-opus-4-5"]      # optional: only these models
    alerts = [0.5, 0.8, 1.0]          # fractions of the amount; default 50 %, 80 %, 100 %
    include_estimated = false         # optional: leave out usage whose tokens are estimates
                                      # (session totals, character counts); default true

Scope: a record counts when its source is among ``sources`` ∪ the providers' sources (any
source if both are empty) and its model is among ``models`` (any model if empty).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Collection, Mapping

from tokentui.core import fmt
from tokentui.core.catalog import SourceCatalog
from tokentui.core.dates import FIRST_DAY, LAST_DAY
from tokentui.errors import ConfigError

PERIODS = ("month", "quarter", "year")
PERIOD_ADJECTIVE = {"month": "monthly", "quarter": "quarterly", "year": "annual"}
UNITS = ("usd", "tokens")
#: amounts of 10**15 dollars or tokens and more are typing errors (and too large to compute with)
MAX_DIGITS = 15
DEFAULT_ALERTS = (0.5, 0.8, 1.0)
#: largest alert threshold accepted (5 = 500 %): larger values are almost surely percentages
MAX_ALERT = 5.0

#: keys of ``[budgets]`` that are settings rather than budgets
SETTINGS = ("notify_desktop",)
BUDGET_KEYS = ("usd", "tokens", "period", "start", "sources", "providers", "models", "alerts", "include_estimated")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


class BudgetError(ConfigError):
    """An invalid budget; ``key_path`` locates it (``["budgets", NAME, KEY]``)."""

    def __init__(self, key_path: list[str], problem: str, hint: str | None = None) -> None:
        super().__init__(f"{'.'.join(key_path)}: {problem}", hint)
        self.key_path = key_path
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Budget:
    """One budget. ``amount`` is a Decimal of USD (unit ``usd``) or an int of tokens."""

    name: str
    unit: str
    amount: Decimal | int
    period: str
    start: date | None = None
    sources: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    alerts: tuple[float, ...] = DEFAULT_ALERTS
    #: the sources ``providers`` bill, resolved when the budget was parsed (see SourceCatalog)
    provider_sources: tuple[str, ...] = ()
    #: whether usage with estimated token counts (records labelled ``estimated``) counts
    include_estimated: bool = True

    def scope_sources(self) -> tuple[str, ...]:
        """The sources this budget counts (empty: every source)."""
        out: list[str] = list(self.sources)
        out.extend(s for s in self.provider_sources if s not in out)
        return tuple(out)

    def scope_text(self) -> str:
        """'all usage' or e.g. 'sources codex · providers anthropic · models gpt-5'."""
        parts = [f"{label} {', '.join(vals)}" for label, vals in
                 (("sources", self.sources), ("providers", self.providers), ("models", self.models)) if vals]
        return " · ".join(parts) if parts else "all usage"

    def format_amount(self, value: Decimal | int | float | None = None) -> str:
        """``value`` (default: the budget's amount) in this budget's unit: '$5,000.00' / '2.0B tokens'."""
        v = self.amount if value is None else value
        if self.unit == "usd":
            d = Decimal(str(v))
            return fmt.usd(d, places=2 if d == 0 or abs(d) >= 1 else None)
        return f"{fmt.tokens_short(int(round(v)))} tokens"

    def describe(self) -> str:
        """'$5,000.00 per year from 04-01 · all usage · alerts at 50%, 80%, 100%'."""
        text = f"{self.format_amount()} per {self.period}"
        if self.start and self.period == "month":
            text += f" from day {self.start.day}"
        elif self.start:
            text += f" from {self.start.strftime('%m-%d')}" + (" (every 3 months)" if self.period == "quarter" else "")
        alerts = ", ".join(fmt.percent(a) for a in self.alerts) or "none"
        exact = "" if self.include_estimated else " · exact tokens only"
        return f"{text} · {self.scope_text()}{exact} · alerts at {alerts}"

    def to_raw(self) -> dict[str, Any]:
        """The ``[budgets.NAME]`` table (TOML-ready; defaults left out)."""
        raw: dict[str, Any] = {}
        if self.unit == "usd":
            as_float = float(self.amount)
            exact = Decimal(repr(as_float)) == self.amount
            raw["usd"] = int(self.amount) if self.amount == int(self.amount) else as_float if exact else str(self.amount)
        else:
            raw["tokens"] = int(self.amount)
        raw["period"] = self.period
        if self.start:
            raw["start"] = self.start
        for key in ("sources", "providers", "models"):
            if getattr(self, key):
                raw[key] = list(getattr(self, key))
        if self.alerts != DEFAULT_ALERTS:
            raw["alerts"] = list(self.alerts)
        if not self.include_estimated:
            raw["include_estimated"] = False
        return raw


@dataclass(frozen=True, slots=True)
class BudgetSettings:
    """Every budget in the config, plus the budget-wide settings."""

    budgets: tuple[Budget, ...] = ()
    notify_desktop: bool = False

    def get(self, name: str) -> Budget | None:
        """The budget called ``name``, if there is one."""
        return next((b for b in self.budgets if b.name == name), None)


def parse_usd(value: Any, kp: list[str]) -> Decimal:
    """A positive, finite dollar amount from a TOML number or a numeric string."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise BudgetError(kp, f"expected an amount in dollars, got {value!r}")
    try:
        d = Decimal(str(value).strip().lstrip("$").replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise BudgetError(kp, f"expected an amount in dollars, got {value!r}") from None
    return _positive(d, kp)


#: the suffixes tokentop prints token counts with ("121k", "31.6M", "3.0B"), accepted back
TOKEN_SUFFIXES = {"k": 10**3, "m": 10**6, "b": 10**9, "t": 10**12}


def parse_tokens(value: Any, kp: list[str]) -> int:
    """A positive whole number of tokens (``2_000_000``, ``2e9``, ``"2,000,000"`` and, as every
    screen prints them, ``"50M"``, ``"1.5B"``, ``"250k"`` work)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise BudgetError(kp, f"expected a whole number of tokens, got {value!r}")
    text = str(value).strip().replace(",", "").replace("_", "")
    scale = 1
    if text[-1:].lower() in TOKEN_SUFFIXES and isinstance(value, str):
        scale, text = TOKEN_SUFFIXES[text[-1].lower()], text[:-1].rstrip()
    try:
        d = Decimal(text)
        if scale != 1 and d.is_finite():
            d *= scale  # "1e999999M" overflows here: an error below, like any other bad amount
    except ArithmeticError:  # InvalidOperation, Overflow
        raise BudgetError(kp, f"expected a whole number of tokens, got {value!r}") from None
    d = _positive(d, kp)
    if d != d.to_integral_value():
        raise BudgetError(kp, f"expected a whole number of tokens, got {value!r}")
    return int(d)


def _positive(d: Decimal, kp: list[str]) -> Decimal:
    if not d.is_finite():
        raise BudgetError(kp, "must be a finite number")
    if d < 0:
        raise BudgetError(kp, f"must be positive, got {d}")
    if d == 0:
        raise BudgetError(kp, "must be greater than zero", "to stop tracking a budget, remove it")
    if d.adjusted() >= MAX_DIGITS:  # adjusted(): no giant integer is ever built from "1e999999999"
        raise BudgetError(kp, f"must be below 1e{MAX_DIGITS}, got {d:.3g}")
    return d


def parse_start(value: Any, kp: list[str]) -> date:
    """A date (TOML local date or 'YYYY-MM-DD')."""
    if isinstance(value, datetime):
        raise BudgetError(kp, f"expected a date like 2026-04-01 without a time, got {value.isoformat()}")
    day = value if isinstance(value, date) else None
    if isinstance(value, str):
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            pass
    if day is None:
        raise BudgetError(kp, f"expected a date like 2026-04-01, got {value!r}")
    if not FIRST_DAY <= day <= LAST_DAY:
        raise BudgetError(kp, f"{day.isoformat()} is outside the dates tokentop keeps "
                              f"({FIRST_DAY.isoformat()} … {LAST_DAY.isoformat()})")
    return day


def parse_alerts(value: Any, kp: list[str]) -> tuple[float, ...]:
    """Alert thresholds as fractions, ascending: ``[0.5, 0.8, 1]``, ``"0.5,0.8,1"`` or ``"50%,80%"``."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise BudgetError(kp, f"expected a list of fractions such as [0.5, 0.8, 1.0], got {value!r}")
    out: set[float] = set()
    for item in items:
        percent = isinstance(item, str) and item.strip().endswith("%")
        text = item.strip().rstrip("%") if isinstance(item, str) else item
        try:
            if isinstance(text, bool) or not isinstance(text, (int, float, str)) or text == "":
                raise ValueError
            x = float(text) / (100 if percent else 1)
        except ValueError:
            raise BudgetError(kp, f"alert threshold {item!r} is not a number") from None
        if not 0 < x <= MAX_ALERT:
            raise BudgetError(kp, f"alert threshold {item!r} is out of range",
                              "thresholds are fractions of the budget: 0.8 = 80 % (or write 80%)")
        out.add(round(x, 6))
    return tuple(sorted(out))


def _names(value: Any, kp: list[str], what: str, known: Collection[str] | None) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise BudgetError(kp, f"expected a list of {what} names, got {value!r}")
    out: list[str] = []
    for v in (v.strip() for v in value):
        if known is not None and v not in known:
            raise BudgetError(kp, f"unknown {what} {v!r} (known: {', '.join(known)})")
        if v not in out:
            out.append(v)
    return tuple(out)


def check_name(name: str, kp: list[str] | None = None) -> str:
    """A budget name that is easy to type on a command line and is not a setting."""
    kp = kp or ["budgets", name]
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise BudgetError(kp, "a budget name is 1–40 letters, digits, '-', '_' or '.', starting with a "
                          "letter or digit")
    if name in SETTINGS:
        raise BudgetError(kp, f"{name!r} is a setting of [budgets], not a budget name")
    return name


def parse_budget(name: str, table: Any, catalog: SourceCatalog) -> Budget:
    """Validate one ``[budgets.NAME]`` table. Errors name the budget and the key."""
    kp = ["budgets", name]
    check_name(name, kp)
    if not isinstance(table, Mapping):
        raise BudgetError(kp, f"expected a table [budgets.{name}], got {table!r}")
    for key in table:
        if key not in BUDGET_KEYS:
            raise BudgetError(kp + [key], f"unknown setting (known: {', '.join(BUDGET_KEYS)})")
    if "usd" in table and "tokens" in table:
        raise BudgetError(kp, "set either usd or tokens, not both")
    if "usd" in table:
        unit, amount = "usd", parse_usd(table["usd"], kp + ["usd"])
    elif "tokens" in table:
        unit, amount = "tokens", parse_tokens(table["tokens"], kp + ["tokens"])
    else:
        raise BudgetError(kp, "missing amount: set usd = N (dollars) or tokens = N")
    period = table.get("period")
    if period is None:
        raise BudgetError(kp + ["period"], f"missing (one of: {', '.join(PERIODS)})")
    if period not in PERIODS:
        raise BudgetError(kp + ["period"], f"unknown period {period!r} (one of: {', '.join(PERIODS)})")
    start = parse_start(table["start"], kp + ["start"]) if "start" in table else None
    providers = _names(table.get("providers", []), kp + ["providers"], "provider", tuple(catalog.provider_sources))
    include_estimated = table.get("include_estimated", True)
    if not isinstance(include_estimated, bool):
        raise BudgetError(kp + ["include_estimated"], f"expected true or false, got {include_estimated!r}")
    expanded: list[str] = []
    for p in providers:
        expanded.extend(s for s in catalog.provider_sources[p] if s not in expanded)
    return Budget(
        name=name, unit=unit, amount=amount, period=period, start=start,
        sources=_names(table.get("sources", []), kp + ["sources"], "source", catalog.names),
        providers=providers, provider_sources=tuple(expanded),
        models=_names(table.get("models", []), kp + ["models"], "model", None),
        alerts=parse_alerts(table["alerts"], kp + ["alerts"]) if "alerts" in table else DEFAULT_ALERTS,
        include_estimated=include_estimated)


def parse_budgets(section: Any, catalog: SourceCatalog) -> BudgetSettings:
    """Validate the whole ``[budgets]`` table of the config (``raw.get("budgets", {})``)."""
    if not isinstance(section, Mapping):
        raise BudgetError(["budgets"], f"expected a table, got {section!r}")
    budgets, notify = [], False
    for key, value in section.items():
        if key == "notify_desktop":
            if not isinstance(value, bool):
                raise BudgetError(["budgets", key], f"expected true or false, got {value!r}")
            notify = value
        elif isinstance(value, Mapping):
            budgets.append(parse_budget(key, value, catalog))
        else:
            raise BudgetError(["budgets", key], f"expected a table [budgets.{key}] or a setting "
                              f"({', '.join(SETTINGS)})")
    return BudgetSettings(tuple(budgets), notify)
