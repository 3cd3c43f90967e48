"""Totals for today / this week / this month / this quarter, wider terminals show the split."""

from __future__ import annotations

from textual.content import Content
from textual.markup import escape
from textual.reactive import reactive
from textual.widget import Widget

from tokentui.core.figures import PeriodTotal
from tokentui.core.fmt import tokens_compact, tokens_short
from tokentui.tui.widgets.bars import money

_NAMES = {"today": "today", "week": "week", "month": "month", "quarter": "quarter"}


class TotalsPanel(Widget):
    """A small table of ``periods``; the input/output/cache split appears when there is room."""

    periods: reactive[tuple[PeriodTotal, ...]] = reactive(())

    def on_mount(self) -> None:
        self.border_title = "Totals"

    def render(self) -> Content:
        if not self.periods:
            return Content.from_markup("[dim]waiting for data…[/]")
        width = self.content_size.width
        wide = width >= 66
        labels = width >= (84 if wide else 46)
        head = f"{'':<8}{'tokens':>8}{'cost':>12}"
        if wide:
            head += f"{'input':>8}{'output':>8}{'cache rd':>9}{'cache wr':>9}"
        lines = [f"[dim]{head}[/]"]
        for p in self.periods:
            line = f"{_NAMES.get(p.name, p.name):<8}[b]{tokens_compact(p.tokens):>8}[/]{money(p.cost, p.unpriced_tokens):>12}"
            if wide:
                line += (f"{tokens_compact(p.input):>8}{tokens_compact(p.output):>8}"
                         f"{tokens_compact(p.cache_read):>9}{tokens_compact(p.cache_write):>9}")
            if labels:
                line += f"  [dim]{escape(p.label)}[/]"
            lines.append(line)
        month = next((p for p in self.periods if p.name == "month"), None)
        unpriced, estimated = (month.unpriced_tokens, month.estimated_tokens) if month else (0, 0)
        if unpriced and estimated:  # this month's; one line: the box has no room for two at 80x24
            lines.append(f"[$warning]{tokens_short(unpriced)} unpriced[/] [dim]·[/] "
                         f"[b]~{tokens_short(estimated)}[/] [dim]estimated[/]")
        elif unpriced:
            share = unpriced / month.tokens if month.tokens else 0
            lines.append(f"[$warning]{tokens_short(unpriced)} unpriced[/] "
                         f"[dim]tokens this month ({share:.0%})[/]")
        elif estimated:  # session totals or character counts: not exact
            lines.append(f"[b]~{tokens_short(estimated)}[/] [dim]estimated tokens this month[/]")
        return Content.from_markup("\n".join(lines))
