"""Leverage metrics against a team's distribution, and public reference points on a log scale."""

from __future__ import annotations

import math
from decimal import Decimal

from textual.content import Content
from textual.markup import escape
from textual.reactive import reactive
from textual.widget import Widget

from tokentui.core.benchmarks import (
    Distribution,
    ReferencePoint,
    log_axis,
    log_fraction,
)
from tokentui.core.fmt import tokens_short
from tokentui.core.leverage import UNITS, MetricRow, format_value
from tokentui.tui.widgets.bars import clip
from tokentui.tui.widgets.budget_gauge import markup_runs

YOU = ("●", "$burn-color")
BAND = (" ", "on $primary 35%")  # a background: the median and "you" marks show through it
MEDIAN = ("│", "$primary")
TRACK = ("·", "$foreground 30%")
REF = "$accent"
#: metrics placed on a linear 0–100 % scale; the rest on a log scale
LINEAR = ("cache_hit_ratio",)
SHORT = {"fresh_tokens_per_week": "fresh tokens / week", "cache_hit_ratio": "cache hit ratio",
         "output_share": "output share", "spend_to_comp": "spend / pay (yearly)"}
_POWERS = ((10 ** 12, "T"), (10 ** 9, "B"), (10 ** 6, "M"), (10 ** 3, "k"))


def short_label(label: str, metric: str = "") -> str:
    """'cache hit ratio (cache read / all input)' → 'cache hit ratio'."""
    return SHORT.get(metric) or label.split(" (", 1)[0]


def _power(v: float) -> str:
    for size, unit in _POWERS:
        if v >= size:
            return f"{v / size:g}{unit}"
    return f"{v:g}"


def tick_text(metric: str, v: float) -> str:
    """A power of ten in the metric's unit: '10M', '$1k', '10%'."""
    unit = UNITS.get(metric, "ratio")
    if unit == "usd":
        return "$" + _power(v)
    if unit == "ratio":
        return f"{v * 100:g}%"
    if unit == "hours":
        return f"{v:g}h"
    return _power(v)


def compact(metric: str, v: float) -> str:
    """A reference point's figure, short: '$34.5k' rather than '$34,496.92'."""
    if UNITS.get(metric) == "usd" and v >= 1000:
        return "$" + tokens_short(round(v))
    return format_value(metric, v)


def _fraction(metric: str, v: float, lo: float, hi: float) -> float:
    if metric in LINEAR:
        return min(1.0, max(0.0, (v - lo) / (hi - lo))) if hi > lo else 0.0
    return log_fraction(v, lo, hi)


def _axis(metric: str, values: list[float]) -> tuple[float, float]:
    if metric in LINEAR:
        return 0.0, 1.0
    return log_axis(values)


def row_axis(metric: str, value: float | None, team: Distribution) -> tuple[float, float]:
    """The ends of one metric's track: powers of ten around the team's p10–p90 and the value
    (0–100 % for a ratio on a linear scale)."""
    return _axis(metric, [float(team.p10), float(team.p90)] + ([float(value)] if value is not None else []))


def scaled_bar(metric: str, value: float | None, team: Distribution | None, width: int) -> str:
    """:func:`placement_bar` between its scale's ends ('1M ···░░●░│░··· 100M') when they fit
    with 8 cells of track left, else the bare track."""
    if width <= 0 or team is None:
        return ""
    lo, hi = row_axis(metric, value, team)
    left, right = tick_text(metric, lo), tick_text(metric, hi)
    inner = width - len(left) - len(right) - 2
    if inner < 8:
        return placement_bar(metric, value, team, width)
    return (f"[$text-muted]{escape(left)}[/] " + placement_bar(metric, value, team, inner)
            + f" [$text-muted]{escape(right)}[/]")


def placement_bar(metric: str, value: float | None, team: Distribution | None, width: int) -> str:
    """A ``width``-cell track: the team's p10–p90 band, its median and the person's value."""
    if width <= 0 or team is None:
        return ""
    lo, hi = row_axis(metric, value, team)
    cells = [TRACK] * width

    def at(v: float) -> int:
        return min(width - 1, round(_fraction(metric, v, lo, hi) * (width - 1)))

    band = range(at(float(team.p10)), at(float(team.p90)) + 1)
    for c in band:
        cells[c] = BAND
    for c, (ch, style) in ((at(float(team.p50)), MEDIAN), (at(float(value)) if value is not None else -1, YOU)):
        if c >= 0:
            cells[c] = (ch, f"{style} {BAND[1]}" if c in band else style)
    return markup_runs(cells)


class LeverageTable(Widget):
    """``rows``: each metric's value, team median, placement and a band (when there is a team)."""

    rows: reactive[tuple[MetricRow, ...]] = reactive(())

    def render(self) -> Content:
        if not self.rows:
            return Content.from_markup("[dim]measuring…[/]")
        width = self.content_size.width
        team = any(r.team is not None for r in self.rows)
        label_w = min(22, max(len(short_label(r.label, r.metric)) for r in self.rows))
        fixed = label_w + 9 + (9 + 2 + 10 + 7 if team else 0)
        bar_w = width - fixed - 1 if team and width - fixed - 1 >= 8 else 0
        head = f"{'metric':<{label_w}}{'you':>9}"
        if team:
            head += f"{'team p50':>9}  {'place':<10}{'× p50':<7}"
            if bar_w:
                head += " " + clip("team range (its scale at both ends)", bar_w)
        lines = [f"[dim]{escape(head)}[/]"]
        for r in self.rows:
            line = f"{escape(clip(short_label(r.label, r.metric), label_w)):<{label_w}}[b]{escape(r.text):>9}[/]"
            if team:
                p50 = format_value(r.metric, r.team.p50) if r.team is not None else "—"
                place = r.placement.text if r.placement is not None else "—"
                mult = r.placement.median_text.replace(" median", "") if r.placement is not None else ""
                # outside the team range is set apart, not alarmed about: this is no ranking
                style = "b" if r.placement is not None and r.placement.position != "within" else "$text"
                line += f"{escape(p50):>9}  [{style}]{escape(place):<10}[/]{escape(mult):<7} "
                if bar_w:
                    line += scaled_bar(r.metric, _float(r.value), r.team, bar_w)
            lines.append(line)
        return Content.from_markup("\n".join(lines))


def _float(v: float | Decimal | None) -> float | None:
    return None if v is None else float(v)


class ReferenceScale(Widget):
    """One metric on a log axis: the person (●), the team's p10–p90 (░) and public reference
    points (letters), with a legend naming each point's source."""

    metric: reactive[str] = reactive("tokens_per_week")
    value: reactive[float | None] = reactive(None)
    team: reactive[Distribution | None] = reactive(None)
    refs: reactive[tuple[ReferencePoint, ...]] = reactive(())

    def render(self) -> Content:
        width = self.content_size.width
        if width < 20:
            return Content("")
        vals = [r.low for r in self.refs] + [r.high for r in self.refs]
        if self.value:
            vals.append(self.value)
        if self.team is not None:
            vals += [float(self.team.p10), float(self.team.p90)]
        lo, hi = log_axis(vals)
        w = width

        def at(v: float) -> int:
            return min(w - 1, round(log_fraction(v, lo, hi) * (w - 1)))

        # tick labels at each power of ten that fits without touching its neighbour
        ticks = [" "] * w
        decades = int(round(math.log10(hi / lo)))
        step = 1
        while decades // step * 5 > w:
            step += 1
        for k in range(0, decades + 1, step):
            v = lo * 10 ** k
            text = tick_text(self.metric, v)
            start = max(0, min(w - len(text), at(v) - len(text) // 2))
            if all(ch == " " for ch in ticks[max(0, start - 1):start + len(text) + 1]):
                ticks[start:start + len(text)] = text
        track = [TRACK] * w
        for k in range(decades + 1):
            track[at(lo * 10 ** k)] = ("┼", "$foreground 50%")
        band = range(0)
        if self.team is not None:
            band = range(at(float(self.team.p10)), at(float(self.team.p90)) + 1)
            for c in band:
                track[c] = BAND
            track[at(float(self.team.p50))] = (MEDIAN[0], f"{MEDIAN[1]} {BAND[1]}")
        letters = []
        for n, r in enumerate(self.refs):
            letter = chr(ord("A") + n)
            letters.append(letter)
            a, b = at(r.low), at(r.high)
            for c in range(a + 1, b):
                track[c] = ("━", REF)
            for c in {a, b}:
                while c < w - 1 and track[c][0] in "ABCDEFGH":  # two points in one cell: nudge right
                    c += 1
                track[c] = (letter, f"b {REF}")
        if self.value:
            c = at(self.value)
            track[c] = (YOU[0], f"{YOU[1]} {BAND[1]}" if c in band else YOU[1])
        lines = [f"[dim]{escape(''.join(ticks))}[/]", markup_runs(track)]
        legend = []
        if self.value is not None:
            legend.append(f"[{YOU[1]}]{YOU[0]}[/] you: [b]{escape(format_value(self.metric, self.value))}[/]")
        if self.team is not None:
            legend.append(f"[{BAND[1]}]  [/] team p10–p90: {escape(format_value(self.metric, self.team.p10))}"
                          f" – {escape(format_value(self.metric, self.team.p90))}")
        lines.append("   ".join(legend))
        for letter, r in zip(letters, self.refs):
            amount = compact(self.metric, r.low) + (f"–{compact(self.metric, r.high)}" if r.high != r.low else "")
            lines.append(f"[b {REF}]{letter}[/] [b]{escape(amount)}[/] {escape(r.label)} "
                         f"[dim]— source: {escape(r.source)}[/]")
        return Content.from_markup("\n".join(lines))
