"""A vertical bar chart of a series (oldest left), sized to the space it is given."""

from __future__ import annotations

from textual.content import Content
from textual.markup import escape
from textual.reactive import reactive
from textual.widget import Widget

from tokentui.core.fmt import tokens_short
from tokentui.widgets.bars import vbar_cells


class BarChart(Widget):
    """``values``: (label, value) oldest first; the newest that fit are drawn.
    ``highlight`` names a label drawn in the accent colour."""

    values: reactive[tuple[tuple[str, float], ...]] = reactive(())
    highlight: reactive[str | None] = reactive(None)
    unit: reactive[str] = reactive("tokens")

    def render(self) -> Content:
        width, height = self.content_size.width, self.content_size.height
        if not self.values or width < 4 or height < 3:
            return Content.from_markup("[dim]no usage to chart[/]")
        chart_h = height - 1
        n = len(self.values)
        col = 1 if n * 2 > width else max(2, min(6, width // n))
        fit = max(1, width // col)
        shown = self.values[-fit:]
        top = max((v for _, v in shown), default=0)
        columns = [vbar_cells(v, top, chart_h) for _, v in shown]
        bar_w = max(1, col - 1) if col > 1 else 1
        lines = []
        for row in range(chart_h):
            parts = []
            for (label, _), cells in zip(shown, columns):
                cell = cells[row] * bar_w + (" " if col > 1 else "")
                style = "$accent" if label == self.highlight else "$primary"
                parts.append(f"[{style}]{cell}[/]")
            lines.append("".join(parts))
        first, last = shown[0][0], shown[-1][0]
        peak = f"peak {tokens_short(int(top))}"
        used = len(shown) * col
        gap = max(1, used - len(first) - len(last) - len(peak))
        left = max(1, gap // 2)
        footer = f"{first}{' ' * left}{peak}{' ' * max(1, gap - left)}{last}"
        if len(footer) > width:
            footer = f"{first}{' ' * max(1, used - len(first) - len(last))}{last}"
        lines.append(f"[dim]{escape(footer[:width])}[/]")
        return Content.from_markup("\n".join(lines))
