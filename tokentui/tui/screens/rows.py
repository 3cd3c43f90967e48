"""Cells shared by the Sessions and Projects screens (plain text, never markup)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from rich.text import Text

from tokentui.core.fmt import ago, money, tokens_compact  # noqa: F401 (ago: a cell of the tables)
from tokentui.core.records import PICO
from tokentui.core.text import printable
from tokentui.core.totals import Totals
from tokentui.services.report import short_model


def num(text: str) -> Text:
    return Text(text, justify="right")


def cost(t: Totals) -> Text:
    """'$1.23', 'unpriced' when nothing is priced, a '*' when part is unpriced: never $0 for unknown."""
    if t.unpriced_tokens and t.unpriced_tokens >= t.total:
        return Text("unpriced", justify="right", style="dim")
    text = money(Decimal(t.cost_pico) / PICO)
    return Text(text + ("*" if t.unpriced_tokens else ""), justify="right")


def ratio(x: float | None) -> Text:
    return num("—" if x is None else f"{x * 100:.0f}%")


def per_request(pico: int | None) -> Text:
    return num("—" if pico is None else money(Decimal(pico) / PICO))


def stamp(ms: int, tz) -> str:
    return datetime.fromtimestamp(ms / 1000, tz).strftime("%m-%d %H:%M")


def models(names, width: int) -> Text:
    text = printable(", ".join(short_model(m) for m in names))  # measured as shown: escapes take room
    return Text(text if len(text) <= width else text[:width - 1] + "…")


def name(text: str, width: int) -> Text:
    """A project name, its end kept (the repository's own folder is at the end)."""
    text = printable(text)
    return Text(text if len(text) <= width else "…" + text[-(width - 1):])


def tokens(n: int) -> Text:
    return num(tokens_compact(n))
