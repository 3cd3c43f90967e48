"""Number formatting that reads naturally: 1.2M tokens, $1,234.56, exact values on request."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

_UNITS = ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "k"))


def tokens_short(n: int) -> str:
    """1234 → '1.2k', 45_300_000_000 → '45.3B'; below 1,000 the exact number."""
    sign = "-" if n < 0 else ""
    n = abs(n)
    for size, unit in _UNITS:
        if n >= size:
            v = n / size
            text = f"{v:.1f}" if v < 100 else f"{v:.0f}"
            if text.endswith(".0") and v >= 10:
                text = text[:-2]
            return f"{sign}{text}{unit}"
    return f"{sign}{n}"


def tokens_exact(n: int) -> str:
    return f"{n:,}"


def usd(amount: Decimal | None, *, places: int | None = None) -> str:
    """'$1,234.56'; amounts under a dollar keep 4 places ('$0.0123'); None → 'unpriced'."""
    if amount is None:
        return "unpriced"
    if places is None:
        places = 2 if abs(amount) >= 1 or amount == 0 else 4
    q = Decimal(1).scaleb(-places)
    v = amount.quantize(q, rounding=ROUND_HALF_UP)
    sign = "-" if v < 0 else ""
    return f"{sign}${abs(v):,.{places}f}"


def fit(n: int, width: int) -> str:
    """The exact number with separators if it fits ``width``, else the short form."""
    exact = tokens_exact(n)
    return exact if len(exact) <= width else tokens_short(n)


def percent(x: float) -> str:
    return f"{x * 100:.0f}%" if abs(x) >= 0.1 else f"{x * 100:.1f}%"


# --- one format per column -------------------------------------------------------------------
# A table column holds one kind of number: every cell exact ('4,823,495') or every cell compact
# with one decimal ('24.0M', '4.8M'), never '24M' next to '4,823,495' or '52M' next to '10.0M';
# money always with two decimals ('$0.50', never '$0.4987' next to '$12.30'); a cost with no
# price at all is 'unpriced', never '$0.00'. CLI tables, the dashboard's tables and the
# exports all format their columns here.

#: a compact token figure: a whole number below 1,000, else one decimal and a unit
COMPACT = r"-?(?:\d{1,3}|\d+\.\d[kMBT])"
#: an exact token figure: digits with thousands separators
EXACT = r"-?\d{1,3}(?:,\d{3})*"
#: a money cell: two decimals, '<$0.01' for a sliver, optionally '*' (part of it unpriced)
MONEY = r"(?:-?\$\d{1,3}(?:,\d{3})*\.\d\d|<\$0\.01)\*?|unpriced"


def tokens_compact(n: int) -> str:
    """1234 → '1.2k', 24_000_000 → '24.0M', 950 → '950': always one decimal above 1,000,
    so figures in a column line up and compare by eye."""
    sign = "-" if n < 0 else ""
    n = abs(int(n))
    for i, (size, unit) in enumerate(_UNITS):
        if n >= size:
            v = Decimal(n) / size
            text = f"{v.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP):.1f}"
            if i and Decimal(text) >= 1000:  # 999,960 → '1000.0k': say '1.0M'
                size, unit = _UNITS[i - 1]
                text = f"{(Decimal(n) / size).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP):.1f}"
            return f"{sign}{text}{unit}"
    return f"{sign}{n}"


def token_column(values, width: int | None = None) -> list[str]:
    """One column of token counts in one format: exact when every value's exact form fits
    ``width`` (or ``width`` is None), else every value compact."""
    values = [int(v) for v in values]
    exact = [tokens_exact(v) for v in values]
    if width is None or all(len(x) <= width for x in exact):
        return exact
    return [tokens_compact(v) for v in values]


def money(amount: Decimal | None) -> str:
    """Money in a table: always two decimals ('$1,234.50', '$0.05'); a non-zero amount that
    rounds to zero is '<$0.01', never '$0.00'; None → 'unpriced'."""
    if amount is None:
        return "unpriced"
    amount = Decimal(amount)
    if Decimal(0) < amount < Decimal("0.005"):
        return "<$0.01"
    return usd(amount, places=2)


def cost_cell(amount: Decimal | None, unpriced_tokens: int = 0) -> str:
    """A cost cell: 'unpriced' when none of the tokens has a price, '$1.23*' when some have
    none (the table's footnote says how many), else :func:`money`."""
    if amount is None or (not amount and unpriced_tokens):
        return "unpriced"
    return money(amount) + ("*" if unpriced_tokens else "")


def ago(ms: int | None, now_ms: int) -> str:
    """How long before ``now_ms`` (both epoch ms) ``ms`` was: '12s ago', '3m ago', '2h ago',
    '4d ago'; 'never' for None."""
    if not ms:
        return "never"
    secs = max(0, (now_ms - ms) // 1000)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size:
            return f"{secs // size}{unit} ago"
    return f"{secs}s ago"


def duration(ms: int) -> str:
    """A session's length, with its units: '42m', '1h05m', '3d04h' (never more than 5 characters
    below 100 days)."""
    mins = max(0, ms) // 60_000
    if mins < 60:
        return f"{mins}m"
    if mins < 1440:
        return f"{mins // 60}h{mins % 60:02d}m"
    return f"{mins // 1440}d{mins % 1440 // 60:02d}h"
