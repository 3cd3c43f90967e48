"""A budget burn-up chart: cumulative spend so far, the projection with its P10–P90 band,
and the budget line, over the whole period (one column per day, or per few days)."""

from __future__ import annotations

from textual.content import Content
from textual.markup import escape
from textual.reactive import reactive
from textual.widget import Widget

from tokentui.core.fmt import tokens_short
from tokentui.core.projection import BurnupPoint
from tokentui.tui.widgets.budget_gauge import markup_runs

_VERTICAL = " ▁▂▃▄▅▆▇█"
#: what each part of the chart is drawn with (theme variables only)
SPENT = "$primary"
EXPECTED = ("━", "$accent")
RISE = "┃"  # the expected line between rows
BAND = "$accent 22%"  # a background: the expected line and the budget line show through it
BUDGET = ("╌", "$error")
LEGEND = (f"[{SPENT}]█[/] spent  [{EXPECTED[1]}]{EXPECTED[0]}[/] expected  "
          f"[on {BAND}]  [/] P10–P90  [{BUDGET[1]}]{BUDGET[0]}[/] budget")


#: a budget more than this many times the highest figure drawn is off the scale: the chart is
#: scaled to the spend (so it shows the data) and says where the budget is
OFF_SCALE = 2.0


def nice_top(value: float) -> float:
    """The scale's top: ``value`` rounded up to 1, 2, 2.5 or 5 times a power of ten."""
    if value <= 0:
        return 1.0
    import math

    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power + 1e-9:
            return step * power
    return 10 * power


class BurnupChart(Widget):
    """``points``: one per day of the period, oldest first (see :class:`BurnupPoint`);
    ``budget``: the amount, drawn as a line labelled ``budget_label`` when it is on the scale,
    else named above the chart; ``unit_prefix`` ("$" or "") goes before the scale's figures."""

    points: reactive[tuple[BurnupPoint, ...]] = reactive(())
    budget: reactive[float] = reactive(0.0)
    budget_label: reactive[str] = reactive("")
    unit_prefix: reactive[str] = reactive("")

    def _columns(self, width: int) -> list[BurnupPoint]:
        """The point each column shows: days spread over the width, or the last day of each
        group of days when there are more days than columns (the values are cumulative)."""
        n = len(self.points)
        if n <= width:
            return [self.points[c * n // width] for c in range(width)]
        return [self.points[min(n - 1, (c + 1) * n // width - 1)] for c in range(width)]

    def _figure(self, v: float) -> str:
        return self.unit_prefix + (tokens_short(round(v)) if v >= 1000 else f"{v:g}")

    def render(self) -> Content:
        width, height = self.content_size.width, self.content_size.height
        if not self.points:
            return Content.from_markup("[dim]no period to chart[/]")
        data = [v for p in self.points for v in (p.actual, p.expected, p.high) if v is not None]
        data_top = max(data, default=0.0)
        off_scale = self.budget > 0 and self.budget > max(data_top, 1e-9) * OFF_SCALE
        top = nice_top((data_top if off_scale else max(self.budget, data_top)) * 1.05)
        labels = [self._figure(top), self._figure(top / 2), self._figure(0)] + ([] if off_scale else [self.budget_label])
        gutter = max(len(x) for x in labels) + 1
        plot_w, plot_h = width - gutter - 1, height - 1 - (1 if off_scale else 0)
        if plot_w < 10 or plot_h < 3:
            return Content.from_markup("[dim]too small for a chart[/]")
        cols = self._columns(plot_w)

        def level(v: float) -> float:  # in cells from the bottom
            return max(0.0, v) / top * plot_h

        def row_of(v: float) -> int:
            return min(plot_h - 1, int(level(v)))

        budget_row = None if off_scale else row_of(self.budget)
        # each cell: [character, foreground, background]
        grid = [[[" ", "", ""] for _ in range(plot_w)] for _ in range(plot_h)]
        prev: int | None = None  # the row the expected line left the previous column at
        for c, p in enumerate(cols):
            if p.actual is not None:
                eighths = round(level(p.actual) * 8)
                if p.actual > 0:
                    eighths = max(1, eighths)
                for k in range(plot_h):
                    fill = eighths - k * 8
                    if fill > 0:
                        grid[plot_h - 1 - k][c][:2] = ["█" if fill >= 8 else _VERTICAL[fill], SPENT]
                prev = row_of(p.actual)
            if p.low is not None and p.high is not None:
                for k in range(int(level(p.low)), row_of(p.high) + 1):
                    if grid[plot_h - 1 - k][c][0] == " ":
                        grid[plot_h - 1 - k][c][2] = BAND
            if p.expected is not None and p.actual is None:
                k = row_of(p.expected)
                # a steep projection climbs rows between columns: join them, no loose dashes
                for j in range(min(k, prev if prev is not None else k) + 1, k):
                    grid[plot_h - 1 - j][c][:2] = [RISE, EXPECTED[1]]
                grid[plot_h - 1 - k][c][:2] = list(EXPECTED)
                prev = k
        if budget_row is not None:
            for cell in grid[plot_h - 1 - budget_row]:
                if cell[0] == " ":
                    cell[:2] = list(BUDGET)

        lines = []
        if off_scale:
            share = data_top / self.budget
            lines.append(f"[{BUDGET[1]}]{' ' * gutter}↑ budget {escape(self.budget_label)} is far above this scale "
                         f"(the projection reaches {share:.0%} of it)[/]")
        mid = (plot_h - 1) // 2
        for r, row in enumerate(grid):
            k = plot_h - 1 - r
            label = (self.budget_label if k == budget_row else labels[0] if k == plot_h - 1
                     else labels[1] if k == mid and abs(mid - (budget_row if budget_row is not None else -9)) > 1
                     else labels[2] if k == 0 else "")
            cells = [(ch, " ".join(x for x in (fg, f"on {bg}" if bg else "") if x)) for ch, fg, bg in row]
            lines.append(f"[$text-muted]{escape(label):>{gutter - 1}} │[/]" + markup_runs(cells))
        lines.append(f"[dim]{escape(self._axis(cols, gutter + 1, plot_w))}[/]")
        return Content.from_markup("\n".join(lines))

    def _axis(self, cols: list[BurnupPoint], gutter: int, plot_w: int) -> str:
        """Days under their columns (MM-DD): the first, today, the last, and ticks between them
        where they fit."""
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
        step = max(8, plot_w // 6)
        for c in range(step, plot_w - 6, step):
            put(cols[c].day.strftime("%m-%d"), c - 2)
        return " " * gutter + "".join(axis)
