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
