"""Text bars and number cells shared by the widgets (no Textual import needed here)."""

from __future__ import annotations

from decimal import Decimal

from tokentui.core.fmt import money as fmt_money
from tokentui.core.fmt import tokens_short

_EIGHTHS = " ▏▎▍▌▋▊▉█"
_VERTICAL = " ▁▂▃▄▅▆▇█"


def hbar(value: float, top: float, width: int) -> str:
    """A horizontal bar of ``width`` cells, ``value / top`` full, with eighth-cell precision."""
    if width <= 0:
        return ""
    if top <= 0 or value <= 0:
        return " " * width
    eighths = round(min(value / top, 1.0) * width * 8)
    if eighths == 0:
        eighths = 1  # a non-zero value is always visible
    full, part = divmod(eighths, 8)
    text = "█" * full + (_EIGHTHS[part] if part else "")
    return text.ljust(width)


def vbar_cells(value: float, top: float, height: int) -> list[str]:
    """One column of a vertical bar chart, top cell first."""
    if top <= 0 or value <= 0:
        return [" "] * height
    eighths = max(1, round(min(value / top, 1.0) * height * 8))
    cells = []
    for row in range(height - 1, -1, -1):  # row 0 is the bottom
        fill = eighths - row * 8
        cells.append("█" if fill >= 8 else _VERTICAL[fill] if fill > 0 else " ")
    return cells


def money(amount: Decimal | None, unpriced: int = 0) -> str:
    """Cost for a cell: '$12.34' (always two decimals, '<$0.01' for a sliver), or 'unpriced'
    when nothing of it has a price (:mod:`tokentui.core.fmt`, as in every table)."""
    if amount is None or (amount == 0 and unpriced):
        return "unpriced"
    return fmt_money(amount)


def rate(tokens_per_min: float) -> str:
    return tokens_short(round(tokens_per_min))


def clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells with an ellipsis."""
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def short_model(name: str) -> str:
    """Model names without the date suffix: claude-sonnet-4-5-20250929 → claude-sonnet-4-5."""
    import re

    return re.sub(r"-\d{8}$", "", name)
