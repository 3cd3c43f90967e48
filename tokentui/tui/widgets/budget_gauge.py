"""A budget gauge: one line, how much is used, with a mark where the period is (pace)."""

from __future__ import annotations

from textual.content import Content
from textual.markup import escape
from textual.reactive import reactive
from textual.widget import Widget

from tokentui.tui.widgets.bars import hbar

#: budget status → theme variable of its fill (ok | warning | projected_over | over)
STATUS_COLORS = {"ok": "$success", "warning": "$warning", "projected_over": "$warning", "over": "$error"}
#: budget status in plain words
STATUS_WORDS = {"ok": "on track", "warning": "alert", "projected_over": "projected over", "over": "over budget"}


def status_color(status: str) -> str:
    return STATUS_COLORS.get(status, "$primary")


def gauge_markup(used: float, elapsed: float, status: str, width: int) -> str:
    """``width`` cells: ``used`` (0…, 1 = the whole budget) filled in the status colour, the
    rest a dim track, and a ``┃`` at ``elapsed`` (the share of the period gone). Over budget
    fills the whole bar."""
    if width <= 0:
        return ""
    color = status_color(status)
    filled = hbar(max(0.0, used), 1.0, width)
    mark = min(width - 1, max(0, int(elapsed * width)))
    cells = []
    for i, ch in enumerate(filled):
        if i == mark:  # the pace mark shows through both the filled and the empty part
            cells.append(("┃", f"$foreground on {color}" if ch == "█" else "$foreground"))
        elif ch == " ":
            cells.append(("─", "$foreground 25%"))
        else:
            cells.append((ch, color))
    return markup_runs(cells)


def markup_runs(cells: list[tuple[str, str]]) -> str:
    """Cells of (character, style) as markup, one span per run of equal style."""
    out, style, run = [], None, ""
    for ch, st in cells:
        if st != style and run:
            out.append(f"[{style}]{escape(run)}[/]" if style else escape(run))
            run = ""
        style = st
        run += ch
    if run:
        out.append(f"[{style}]{escape(run)}[/]" if style else escape(run))
    return "".join(out)


class BudgetGauge(Widget):
    """``used`` and ``elapsed`` are fractions (used may pass 1); ``status`` colours the fill.
    The percentage used follows the bar."""

    DEFAULT_CSS = """
    BudgetGauge {
        height: 1;
    }
    """

    used: reactive[float] = reactive(0.0)
    elapsed: reactive[float] = reactive(0.0)
    status: reactive[str] = reactive("ok")

    def render(self) -> Content:
        width = self.content_size.width
        pct = f"{self.used:.0%}"
        bar_w = max(0, width - 5)
        return Content.from_markup(f"{gauge_markup(self.used, self.elapsed, self.status, bar_w)} "
                                   f"[b {status_color(self.status)}]{pct}[/]")
