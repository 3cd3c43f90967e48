"""Source status in one line each: a coloured dot, the status, last sync and recent share."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from tokentui.core.figures import Share
from tokentui.core.fmt import tokens_compact
from tokentui.core.source_status import DeviceContact, SourceStatus
from tokentui.core.text import printable
from tokentui.core.fmt import ago
from tokentui.tui.widgets.bars import rate
from tokentui.tui.widgets.text import plain

#: status → theme variable of its dot
STATUS_COLORS = {"ok": "$success", "stale": "$warning", "error": "$error"}
QUIET = ("not configured", "planned", "disabled")


def status_dot(status: str) -> Content:
    color = STATUS_COLORS.get(status)
    return Content.styled("●", color) if color else Content.styled("○", "dim")


class SourceStatusList(Widget):
    """``rows`` (status), ``shares`` (tokens per source in the recent window), at ``now_ms``."""

    rows: reactive[tuple[SourceStatus, ...]] = reactive(())
    shares: reactive[tuple[Share, ...]] = reactive(())
    now_ms: reactive[int] = reactive(0)
    #: tokens per minute right now by source (shown when there is room)
    rates: reactive[dict[str, float]] = reactive(dict)
    #: your devices with their last contact, when a share folder merges them
    devices: reactive[tuple[DeviceContact, ...]] = reactive(())

    def render(self) -> Content:
        if not self.rows:
            return Content.from_markup("[dim]checking sources…[/]")
        width = self.content_size.width
        share = {s.name: s for s in self.shares}
        # problems first (a short box must never hide an error), then the busiest sources
        order = {"error": 0, "stale": 1}
        active = sorted((r for r in self.rows if r.status not in QUIET),
                        key=lambda r: (order.get(r.status, 2), -(share[r.name].tokens if r.name in share else 0)))
        quiet = [r.name for r in self.rows if r.status in QUIET]
        lines: list[Content] = []
        for r in active:
            s = share.get(r.name)
            parts = [status_dot(r.status), " ", f"{printable(r.name):<12}{printable(r.status):<7}"
                     f"{ago(r.last_sync_ms, self.now_ms):>8}"]
            if s and width >= 42:
                parts += [f" {tokens_compact(s.tokens):>6}", Content.styled(f"{s.share:>5.0%}", "dim")]
                now = self.rates.get(r.name, 0)
                if now and width >= 58:
                    parts += [" ", Content.styled(f"{rate(now) + '/min':>11}", "$burn-color")]
            elif s and width >= 34:
                parts.append(Content.styled(f"{s.share:>5.0%}", "dim"))
            lines.append(Content.assemble(*parts))
        if not active:
            lines.append(Content.styled("no source has data yet: see the Sources screen (5)", "dim"))
        if quiet:  # every name when they fit on one line, else how many (the Sources screen lists them)
            names = f"○ not set up: {', '.join(quiet)}"
            lines.append(plain(names if len(names) <= width else f"○ {len(quiet)} not set up (5 → sources)",
                               "dim"))
        for d in self.devices:  # plain text: a device name comes from another machine
            label = printable(d.name)[:16] + (" (this)" if d.this_device else "")
            when = ago(d.last_contact_ms, self.now_ms) if d.last_contact_ms else "never"
            extra = f" · {d.waiting} late" if d.waiting and width >= 44 else ""
            lines.append(plain(f"⇄ {label:<23}{when:>8}{extra}", "dim"))
        return Content("\n").join(lines)
