"""Plan-limit gauges (the vendors' official 5-hour / weekly percentages): one line per window
with a bar, a ┃ where an even pace would be, the reset countdown and the run-out forecast;
and, for the Budgets screen, each window's curve since it started.

Values come from :mod:`tokentui.core.quota_state` (``WindowState``); every name is shown as text."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Sequence

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from tokentui.core import quota_labels, quota_state
from tokentui.core import quotas as q
from tokentui.tui.widgets.budget_gauge import gauge_markup
from tokentui.tui.widgets.text import lines, markup, plain

PROVIDERS = {"anthropic": "Claude", "openai": "Codex"}
SPARK = "▁▂▃▄▅▆▇█"


def name_of(s: quota_state.WindowState) -> str:
    lim = "plan" if s.lim in ("account", "codex") else s.lim.removeprefix("model:")
    return f"{PROVIDERS.get(s.provider, s.provider)} {lim} {quota_labels.window_label(s.win)}"


def status_of(s: quota_state.WindowState) -> str:
    """The budget gauge's status words for a window: over / projected_over / warning / ok."""
    if s.used >= q.CRITICAL:
        return "over"
    if s.runs_out_ms or (s.win == "five_hour" and s.runs_out_recent_ms):
        return "projected_over"
    if s.used >= q.WARN or (s.pace and s.pace.delta > 6):
        return "warning"
    return "ok"


def _at(ms: int, fmt: str, tz: tzinfo | None) -> str:
    return datetime.fromtimestamp(ms / 1000, tz).strftime(fmt)


def _clock(ms: int, now_ms: int, tz: tzinfo | None = None) -> str:
    return _at(ms, "%H:%M" if ms - now_ms < 86_400_000 else "%a %H:%M", tz)


def summary(s: quota_state.WindowState, now_ms: int, tz: tzinfo | None = None) -> str:
    """'far ahead · ↻2h40m · ⚠ 15:45 at this pace · as of 14:20'."""
    if s.state == "idle":
        return "no active window: starts with your next request"
    if s.state == "reset":
        return "reset: the next window starts with your next request" if s.win in q.FIRST_USE else \
            "reset (new window not seen yet)"
    bits = []
    if s.pace:
        bits.append(s.pace.stage)
    bits.append("↻" + quota_labels.countdown(s.resets_at - now_ms / 1000))
    out = s.runs_out_ms or (s.runs_out_recent_ms if s.win == "five_hour" else None)
    if out:
        bits.append(f"⚠ {_clock(out, now_ms, tz)} at this pace")
    if s.drop_unconfirmed:
        bits.append("possible reset (unconfirmed)")
    bits.append(f"{s.source}{', stale' if s.stale else ''}")
    return " · ".join(bits)


def gauge_line(s: quota_state.WindowState, now_ms: int, width: int, tz: tzinfo | None = None) -> Content:
    """``Codex plan 7d  ████┃───  58%  far ahead · ↻3d23h · …`` in ``width`` cells."""
    name = name_of(s)
    bar_w = max(8, min(24, width // 6))
    elapsed = s.pace.expected / 100 if s.pace else 0.0
    bar = gauge_markup(s.used / 100, elapsed, status_of(s), bar_w)
    return Content.assemble(plain(f"{name:<18.18} " if width < 100 else f"{name:<28.28} "), markup(bar), plain(f" {s.used:>3.0f}% ", "b"),
                            plain(summary(s, now_ms, tz), "dim"))


def curve_text(points: Sequence[tuple[int, float]], start_ms: int, end_ms: int, now_ms: int, width: int) -> str:
    """The window's used percent over its span, ``width`` columns (the running maximum at each
    column's end; blank after now)."""
    if width <= 0 or end_ms <= start_ms:
        return ""
    cols = []
    step = (end_ms - start_ms) / width
    i, val = 0, None
    pts = sorted(points)
    for c in range(width):
        t = start_ms + (c + 1) * step
        while i < len(pts) and pts[i][0] <= t:
            val = pts[i][1] if val is None else max(val, pts[i][1])
            i += 1
        if start_ms + c * step >= now_ms:
            cols.append(" ")
        elif val is None:
            cols.append("·")
        else:
            cols.append(SPARK[min(len(SPARK) - 1, max(0, int(min(val, 100.0) / 100 * len(SPARK) - 1e-9)))])
    return "".join(cols)


class QuotaGauges(Widget):
    """One gauge line per window, most urgent first (set ``states`` and ``now_ms``)."""

    DEFAULT_CSS = """
    QuotaGauges {
        height: auto;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    states: reactive[tuple] = reactive((), layout=True)
    now_ms: reactive[int] = reactive(0)
    limit: int = 4
    tz: tzinfo | None = None  # the dashboard's time zone (None: the machine's)

    def render(self) -> Content:
        width = self.content_size.width or 80
        shown = self.states[:self.limit]
        if not shown:
            return plain("no plan-limit data yet", "dim")
        return lines([gauge_line(s, self.now_ms, width, self.tz) for s in shown])

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(1, min(len(self.states), self.limit))


class QuotaCurves(Widget):
    """Each window's gauge and, under it, its curve from the window's start to its reset."""

    DEFAULT_CSS = """
    QuotaCurves {
        height: auto;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    states: reactive[tuple] = reactive((), layout=True)
    curves: reactive[tuple] = reactive(())
    now_ms: reactive[int] = reactive(0)
    tz: tzinfo | None = None  # the dashboard's time zone (None: the machine's)
    #: gauges only, no curves (a small terminal)
    compact: reactive[bool] = reactive(False, layout=True)
    #: what it says with no window (services.quota.empty_text): wrapped, the gauges are not
    empty: reactive[str] = reactive("", layout=True)

    def watch_states(self, states: tuple) -> None:
        self.styles.text_wrap = "nowrap" if states else "wrap"

    def render(self) -> Content:
        width = self.content_size.width or 80
        if self.compact and self.states:
            return lines([gauge_line(s, self.now_ms, width, self.tz) for s in self.states])
        if not self.states:
            return plain(self.empty, "dim")
        out = []
        for s, pts in zip(self.states, self.curves or ((),) * len(self.states)):
            out.append(gauge_line(s, self.now_ms, width, self.tz))
            if s.state == "active" and s.window_s:
                end = s.resets_at * 1000
                start = end - s.window_s * 1000
                fmt = "%H:%M" if s.window_s < 86400 else "%a %H:%M"
                label = "  from " + _at(start, fmt, self.tz) + " "
                tail = " ↻" + _at(end, fmt, self.tz)
                curve = curve_text(pts, start, end, self.now_ms, max(10, width - len(label) - len(tail)))
                out.append(Content.assemble(plain(label, "dim"), plain(curve, "$accent"), plain(tail, "dim")))
        out.append(plain(quota_labels.method_note(), "dim"))
        return lines(out)

    def get_content_height(self, container, viewport, width: int) -> int:
        if self.compact and self.states:
            return len(self.states)
        if not self.states:  # the wrapped text saying why
            return max(1, len(Content(self.empty).wrap(max(1, width)))) if self.empty else 1
        n = sum(2 if s.state == "active" and s.window_s else 1 for s in self.states)
        return max(1, n + 1)
