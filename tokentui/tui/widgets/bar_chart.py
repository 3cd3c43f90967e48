"""A vertical bar chart of a series (oldest left), sized to the space it is given."""

from __future__ import annotations

from textual.content import Content
from textual.markup import escape
from textual.reactive import reactive
from textual.widget import Widget

from tokentui.core.fmt import tokens_short
from tokentui.tui.widgets.bars import vbar_cells


class BarChart(Widget):
    """``values``: (label, value) oldest first; the newest that fit are drawn.
    ``highlight`` names a label drawn in the accent colour."""

    values: reactive[tuple[tuple[str, float], ...]] = reactive(())
    highlight: reactive[str | None] = reactive(None)

    def render(self) -> Content:
        width, height = self.content_size.width, self.content_size.height
        if not self.values or width < 4 or height < 3:
            return Content.from_markup("[dim]no usage to chart[/]")
        chart_h = height - 1
        shown = self.values[-width:]
        n = len(shown)
        top = max((v for _, v in shown), default=0)
        # spread the bars over the whole width; a gap between bars once they are 3+ cells wide
        edges = [round(k * width / n) for k in range(n + 1)]
        spans = [edges[k + 1] - edges[k] for k in range(n)]
        columns = [vbar_cells(v, top, chart_h) for _, v in shown]
        lines = []
        for row in range(chart_h):
            runs: list[list[str]] = []  # [style, text]: one markup span per run of equal style
            for (label, _), cells, span in zip(shown, columns, spans):
                bar = span - 1 if span >= 3 else span
                style = "$accent" if label == self.highlight else "$primary"
                text = cells[row] * bar + " " * (span - bar)
                if runs and runs[-1][0] == style:
                    runs[-1][1] += text
                else:
                    runs.append([style, text])
            lines.append("".join(f"[{style}]{text}[/]" for style, text in runs))
        first, last = shown[0][0], shown[-1][0]
        peak = f"peak {tokens_short(int(top))}"
        gap = max(1, width - len(first) - len(last) - len(peak))
        left = max(1, gap // 2)
        footer = f"{first}{' ' * left}{peak}{' ' * max(1, gap - left)}{last}"
        if len(footer) > width:
            footer = f"{first}{' ' * max(1, width - len(first) - len(last))}{last}"
        lines.append(f"[dim]{escape(footer[:width])}[/]")
        return Content.from_markup("\n".join(lines))
