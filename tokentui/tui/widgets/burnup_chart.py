"""A budget burn-up chart: cumulative spend so far, the projection with its P10–P90 band,
and the budget line, over the whole period (one column per day, or per few days)."""

from __future__ import annotations

from textual.content import Content
from textual.markup import escape
from textual.reactive import reactive
from textual.widget import Widget

from tokentui.core.projection import BurnupPoint
from tokentui.tui.widgets.budget_gauge import markup_runs

_VERTICAL = " ▁▂▃▄▅▆▇█"
#: what each part of the chart is drawn with (theme variables only)
SPENT = "$primary"
EXPECTED = ("━", "$accent")
BAND = "$accent 22%"  # a background: the expected line and the budget line show through it
BUDGET = ("╌", "$error")
LEGEND = (f"[{SPENT}]█[/] spent  [{EXPECTED[1]}]{EXPECTED[0]}[/] expected  "
          f"[on {BAND}]  [/] P10–P90  [{BUDGET[1]}]{BUDGET[0]}[/] budget")


class BurnupChart(Widget):
    """``points``: one per day of the period, oldest first (see :class:`BurnupPoint`);
    ``budget``: the amount, drawn as a line labelled ``budget_label``."""

    points: reactive[tuple[BurnupPoint, ...]] = reactive(())
    budget: reactive[float] = reactive(0.0)
    budget_label: reactive[str] = reactive("")

    def _columns(self, width: int) -> list[BurnupPoint]:
        """The point each column shows: days spread over the width, or the last day of each
        group of days when there are more days than columns (the values are cumulative)."""
        n = len(self.points)
        if n <= width:
            return [self.points[c * n // width] for c in range(width)]
        return [self.points[min(n - 1, (c + 1) * n // width - 1)] for c in range(width)]

    def render(self) -> Content:
        width, height = self.content_size.width, self.content_size.height
        if not self.points:
            return Content.from_markup("[dim]no period to chart[/]")
        gutter = len(self.budget_label) + 1
        plot_w, plot_h = width - gutter, height - 1
        if plot_w < 10 or plot_h < 3:
            return Content.from_markup("[dim]too small for a chart[/]")
        values = [self.budget] + [v for p in self.points for v in (p.actual, p.expected, p.high) if v is not None]
        top = max(values) * 1.08 or 1.0
        cols = self._columns(plot_w)

        def level(v: float) -> float:  # in cells from the bottom
            return max(0.0, v) / top * plot_h

        budget_row = min(plot_h - 1, int(level(self.budget)))
        # each cell: [character, foreground, background]
        grid = [[[" ", "", ""] for _ in range(plot_w)] for _ in range(plot_h)]
        for c, p in enumerate(cols):
            if p.actual is not None:
                eighths = round(level(p.actual) * 8)
                if p.actual > 0:
                    eighths = max(1, eighths)
                for k in range(plot_h):
                    fill = eighths - k * 8
                    if fill > 0:
                        grid[plot_h - 1 - k][c][:2] = ["█" if fill >= 8 else _VERTICAL[fill], SPENT]
            if p.low is not None and p.high is not None:
                for k in range(int(level(p.low)), min(plot_h - 1, int(level(p.high))) + 1):
                    if grid[plot_h - 1 - k][c][0] == " ":
                        grid[plot_h - 1 - k][c][2] = BAND
            if p.expected is not None and p.actual is None:
                k = min(plot_h - 1, int(level(p.expected)))
                grid[plot_h - 1 - k][c][:2] = list(EXPECTED)
        for cell in grid[plot_h - 1 - budget_row]:
            if cell[0] == " ":
                cell[:2] = list(BUDGET)

        lines = []
        for r, row in enumerate(grid):
            k = plot_h - 1 - r
            label = self.budget_label if k == budget_row else ("0" if k == 0 else "")
            cells = [(ch, " ".join(x for x in (fg, f"on {bg}" if bg else "") if x)) for ch, fg, bg in row]
            lines.append(f"[$text-muted]{escape(label):>{gutter - 1}}[/] " + markup_runs(cells))
        lines.append(f"[dim]{escape(self._axis(cols, gutter, plot_w))}[/]")
        return Content.from_markup("\n".join(lines))

    def _axis(self, cols: list[BurnupPoint], gutter: int, plot_w: int) -> str:
        """First day, today and last day under their columns (MM-DD)."""
        first, last = cols[0].day, self.points[-1].day
        axis = [" "] * plot_w

        def put(text: str, at: int) -> None:
            at = max(0, min(plot_w - len(text), at))
            if all(ch == " " for ch in axis[max(0, at - 1):at + len(text) + 1]):
                axis[at:at + len(text)] = text

        put(first.strftime("%m-%d"), 0)
        put(last.strftime("%m-%d"), plot_w - 5)
        today = next((c for c, p in enumerate(cols) if p.actual is not None and p.expected is not None), None)
        if today is not None:
            put("today " + cols[today].day.strftime("%m-%d"), today - 3)
        return " " * gutter + "".join(axis)
