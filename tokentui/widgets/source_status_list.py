"""Source status in one line each: a coloured dot, the status, last sync and recent share."""

from __future__ import annotations

from textual.content import Content
from textual.markup import escape
from textual.reactive import reactive
from textual.widget import Widget

from tokentui.core.fmt import tokens_short
from tokentui.widgets.bars import ago, rate
from tokentui.widgets.shapes import ShareLike, SourceLike

#: status → theme variable of its dot
STATUS_COLORS = {"ok": "$success", "stale": "$warning", "error": "$error"}
QUIET = ("not configured", "planned", "disabled")


def status_dot(status: str) -> str:
    color = STATUS_COLORS.get(status)
    return f"[{color}]●[/]" if color else "[dim]○[/]"


class SourceStatusList(Widget):
    """``rows`` (status), ``shares`` (tokens per source in the recent window), at ``now_ms``."""

    rows: reactive[tuple[SourceLike, ...]] = reactive(())
    shares: reactive[tuple[ShareLike, ...]] = reactive(())
    now_ms: reactive[int] = reactive(0)
    #: tokens per minute right now by source (shown when there is room)
    rates: reactive[dict[str, float]] = reactive(dict)

    def render(self) -> Content:
        if not self.rows:
            return Content.from_markup("[dim]checking sources…[/]")
        width = self.content_size.width
        share = {s.name: s for s in self.shares}
        active = [r for r in self.rows if r.status not in QUIET]
        quiet = [r.name for r in self.rows if r.status in QUIET]
        lines = []
        for r in active:
            s = share.get(r.name)
            line = f"{status_dot(r.status)} {escape(r.name):<12}{escape(r.status):<7}{ago(r.last_sync_ms, self.now_ms):>8}"
            if s and width >= 42:
                line += f" {tokens_short(s.tokens):>6}[dim]{s.share:>5.0%}[/]"
                now = self.rates.get(r.name, 0)
                if now and width >= 58:
                    line += f" [$burn-color]{rate(now) + '/min':>11}[/]"
            elif s and width >= 34:
                line += f"[dim]{s.share:>5.0%}[/]"
            lines.append(line)
        if not active:
            lines.append("[dim]no source has data yet: see the Sources screen (5)[/]")
        if quiet:
            lines.append(f"[dim]○ not set up: {escape(', '.join(quiet))}[/]")
        return Content.from_markup("\n".join(lines))
