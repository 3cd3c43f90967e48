"""A vertical bar chart of a series (oldest left), sized to the space it is given."""

from __future__ import annotations

from textual.content import Content
from textual.markup import escape
from textual.reactive import reactive
from textual.widget import Widget

from tokentui.core.fmt import tokens_short
from tokentui.tui.widgets.bars import vbar_cells


def tick_label(key: str) -> str:
    """A bar's label on the axis: '2026-11-13' → '11-13' (a day), else as given."""
    return key[5:] if len(key) == 10 and key[4] == "-" and key[7] == "-" else key


class BarChart(Widget):
    """``values``: (label, value) oldest first; the newest that fit are drawn, over a y scale
    (the top value and 0) and an x axis labelled every few bars. ``highlight`` names a label
    drawn in the accent colour."""

    values: reactive[tuple[tuple[str, float], ...]] = reactive(())
    highlight: reactive[str | None] = reactive(None)

    def render(self) -> Content:
        width, height = self.content_size.width, self.content_size.height
        if not self.values or width < 12 or height < 3:
            return Content.from_markup("[dim]no usage to chart[/]")
        chart_h = height - 1
        top = max((v for _, v in self.values[-width:]), default=0)
        scale = [tokens_short(int(top)), "0"]
        gutter = max(len(x) for x in scale) + 2  # the figure, a space, the axis
        plot_w = width - gutter
        shown = self.values[-plot_w:]
        n = len(shown)
        top = max((v for _, v in shown), default=0)
        scale[0] = tokens_short(int(top))
        # spread the bars over the whole width; a gap between bars once they are 3+ cells wide
        edges = [round(k * plot_w / n) for k in range(n + 1)]
        spans = [edges[k + 1] - edges[k] for k in range(n)]
        columns = [vbar_cells(v, top, chart_h) for _, v in shown]
        lines = []
        for row in range(chart_h):
            figure = scale[0] if row == 0 else scale[1] if row == chart_h - 1 else ""
            runs: list[list[str]] = [["$text-muted", f"{figure:>{gutter - 2}} │"]]
            for (label, _), cells, span in zip(shown, columns, spans):
                bar = span - 1 if span >= 3 else span
                style = "$accent" if label == self.highlight else "$primary"
                text = cells[row] * bar + " " * (span - bar)
                if runs[-1][0] == style:
                    runs[-1][1] += text
                else:
                    runs.append([style, text])
            lines.append("".join(f"[{style}]{escape(text)}[/]" for style, text in runs))
        lines.append(f"[dim]{escape(self._axis(shown, edges, gutter, plot_w))}[/]")
        return Content.from_markup("\n".join(lines))

    @staticmethod
    def _axis(shown, edges: list[int], gutter: int, plot_w: int) -> str:
        """Bar labels under their bars: the first, the last, and every few bars between them
        where a label fits with a space either side."""
        axis = [" "] * plot_w

        def put(text: str, at: int) -> bool:
            at = max(0, min(plot_w - len(text), at))
            if all(ch == " " for ch in axis[max(0, at - 2):at + len(text) + 2]):
                axis[at:at + len(text)] = text
                return True
            return False

        labels = [tick_label(k) for k, _ in shown]
        put(labels[0], edges[0])
        put(labels[-1], edges[-2])
        width = max(len(x) for x in labels) + 3
        step = max(1, -(-width * len(shown) // plot_w))  # bars per label, rounded up
        for i in range(step, len(shown) - 1, step):
            put(labels[i], edges[i])
        return " " * gutter + "".join(axis)
