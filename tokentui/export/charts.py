"""Inline SVG charts for the HTML snapshot: daily usage bars and a budget burn-up.

Each function returns one well-formed, standalone ``<svg>`` element (with its namespace) that
scales to its container (``viewBox``, no fixed size). Colours are attributes, not CSS, so a
chart copied out of the page or printed keeps them. Pure: same data, same text.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape
from typing import Any, Mapping, Sequence

from tokentui.core import fmt

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
FRESH, CACHED = "#2563eb", "#9cc3f5"
ACTUAL, EXPECTED, BAND, LIMIT, GRID, INK = "#1d4ed8", "#c2410c", "#fdba74", "#b91c1c", "#e5e7eb", "#4b5563"
#: the two drawing sizes: ``wide`` for screens and print, ``narrow`` (drawn 1:1 on a phone,
#: so its text stays readable; the page shows one or the other by a CSS media query)
SIZES = {"wide": (640, 260, 13), "narrow": (360, 230, 12)}
MR, MT, MB = 12, 14, 34
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"'


def nice_step(v: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at or above ``v`` (1 for nothing)."""
    if v <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if m * exp >= v * (1 - 1e-12):
            return m * exp
    return 10 * exp


def ticks(peak: float, most: int = 4) -> list[float]:
    """Round axis ticks from 0 to at least ``peak``: at most ``most`` steps of 1, 2, 2.5 or 5 × 10^k."""
    step = nice_step(peak / most) if peak > 0 else 1.0
    n = max(1, math.ceil(peak / step - 1e-9))
    return [step * i for i in range(n + 1)]


@dataclass(frozen=True, slots=True)
class Frame:
    """One drawing size: the SVG box and the plot area inside it."""

    w: int
    h: int
    font: int
    ml: int

    @property
    def pw(self) -> float:
        return self.w - self.ml - MR

    @property
    def ph(self) -> float:
        return self.h - MT - MB


def frame(size: str, widest_label: int) -> Frame:
    w, h, font = SIZES[size]
    return Frame(w, h, font, max(34, int(widest_label * font * 0.62) + 10))


def _n(x: float) -> str:
    """Coordinates with at most two decimals, no trailing zeros."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def compact(v: float) -> str:
    """Axis numbers: '250k', '1M', '2.5B' ('.0' dropped)."""
    text = fmt.tokens_short(int(round(v)))
    return text.replace(".0", "") if re.search(r"\.0[kMBT]?$", text) else text


def day_label(d: date) -> str:
    return f"{d.day} {MONTHS[d.month - 1]}"


def _svg_open(f: Frame, label: str, size: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {size}" viewBox="0 0 {f.w} {f.h}" role="img" '
            f'aria-label="{escape(label)}" preserveAspectRatio="xMidYMid meet" {FONT} font-size="{f.font}">'
            f'<title>{escape(label)}</title>')


def _y_axis(f: Frame, marks: Sequence[float], labels: Sequence[str]) -> list[str]:
    out = []
    top = marks[-1]
    for v, text in zip(marks, labels):
        y = MT + f.ph - f.ph * v / top
        out.append(f'<line x1="{f.ml}" y1="{_n(y)}" x2="{_n(f.ml + f.pw)}" y2="{_n(y)}" stroke="{GRID}" '
                   'stroke-width="1"/>')
        out.append(f'<text x="{f.ml - 6}" y="{_n(y + f.font * 0.35)}" text-anchor="end" fill="{INK}">'
                   f'{escape(text)}</text>')
    return out


def _x_labels(f: Frame, first: date, days: int, x_of) -> list[str]:
    most = max(2, int(f.pw // (f.font * 5.5)))
    step = max(1, math.ceil(days / most))
    out = []
    for i in range(0, days, step):
        x = x_of(i)
        if x > f.ml + f.pw - f.font * 1.5:  # would be cut at the right edge
            break
        anchor = "start" if i == 0 else "middle"  # centred, the first label would run into the y axis
        x = f.ml if i == 0 else x
        out.append(f'<text x="{_n(x)}" y="{f.h - MB + f.font + 6}" text-anchor="{anchor}" fill="{INK}">'
                   f'{escape(day_label(first + timedelta(days=i)))}</text>')
    return out


def daily_bars(daily: Sequence[Mapping[str, Any]], size: str = "wide") -> str:
    """Stacked bars per day: fresh tokens (input + output + cache write) under cache reads."""
    days = len(daily)
    first = date.fromisoformat(daily[0]["date"]) if daily else date(2000, 1, 1)
    marks = ticks(max((r["total_tokens"] for r in daily), default=0))
    labels = [compact(v) for v in marks]
    f = frame(size, max(len(t) for t in labels))
    top = marks[-1]
    slot = f.pw / max(days, 1)
    bw = max(slot * 0.78, min(slot, 1.0))
    span = f"{daily[0]['date']} to {daily[-1]['date']}" if daily else "no days"
    parts = [_svg_open(f, f"Daily tokens, {span}", size)] + _y_axis(f, marks, labels)
    y0 = MT + f.ph
    for i, r in enumerate(daily):
        total = r["total_tokens"]
        if total <= 0:
            continue
        cached = r["cache_read_tokens"]
        h_fresh, h_cached = f.ph * (total - cached) / top, f.ph * cached / top
        x = f.ml + i * slot + (slot - bw) / 2
        tip = f"{r['date']}: {fmt.tokens_exact(total)} tokens ({fmt.tokens_short(cached)} cache reads), " \
              f"${r['cost_usd']}"
        parts.append(f"<g><title>{escape(tip)}</title>")
        if h_fresh > 0:
            parts.append(f'<rect x="{_n(x)}" y="{_n(y0 - h_fresh)}" width="{_n(bw)}" height="{_n(h_fresh)}" '
                         f'fill="{FRESH}"/>')
        if h_cached > 0:
            parts.append(f'<rect x="{_n(x)}" y="{_n(y0 - h_fresh - h_cached)}" width="{_n(bw)}" '
                         f'height="{_n(h_cached)}" fill="{CACHED}"/>')
        parts.append("</g>")
    parts.append(f'<line x1="{f.ml}" y1="{_n(y0)}" x2="{_n(f.ml + f.pw)}" y2="{_n(y0)}" stroke="{INK}" '
                 'stroke-width="1"/>')
    parts += _x_labels(f, first, days, lambda i: f.ml + (i + 0.5) * slot)
    parts.append("</svg>")
    return "".join(parts)


def budget_short(unit: str, v: float) -> str:
    if unit == "usd":
        return "$" + (compact(v) if v >= 1000 else f"{v:,.0f}")
    return compact(v)


#: a budget more than this many times the highest figure is off the scale: the chart is scaled
#: to the data and names the budget at its top instead of drawing a line over an empty plot
OFF_SCALE = 2.0


def burnup(b: Mapping[str, Any], size: str = "wide") -> str:
    """Cumulative use over the budget period: actual to today, the expected line and the
    P10–P90 band to the period end, and the budget as a horizontal line (or, when it is far
    above the data, named at the top of a chart scaled to the data)."""
    start, end = date.fromisoformat(b["period_start"]), date.fromisoformat(b["period_end"])
    days = max(1, (end - start).days)
    pts = b.get("burnup", [])
    unit, amount = b["unit"], float(b["amount"])
    data_peak = max([0.0] + [float(p[k]) for p in pts for k in ("actual", "high", "expected") if k in p])
    off_scale = amount > max(data_peak, 1e-9) * OFF_SCALE
    peak = data_peak if off_scale else max(amount, data_peak)
    marks = ticks(peak * 1.04)
    labels = [budget_short(unit, v) for v in marks]
    f = frame(size, max(len(t) for t in labels))
    top = marks[-1]

    def x(d: str) -> float:  # a day's cumulative value sits at the end of that day
        return f.ml + f.pw * min(days, (date.fromisoformat(d) - start).days + 1) / days

    def y(v: float) -> float:
        return MT + f.ph - f.ph * v / top

    def line(points: Sequence[str], colour: str, width: str, dash: str = "") -> str:
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        return (f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" stroke-width="{width}" '
                f'stroke-linejoin="round"{extra}/>')

    title = f"Budget {b['name']}: burn-up with projection, {b['period_start']} to {b['period_end']}"
    parts = [_svg_open(f, title, size)] + _y_axis(f, marks, labels)
    band = [p for p in pts if "low" in p and "high" in p]
    if band:
        upper = [f"{_n(x(p['date']))},{_n(y(float(p['high'])))}" for p in band]
        lower = [f"{_n(x(p['date']))},{_n(y(float(p['low'])))}" for p in reversed(band)]
        parts.append(f'<polygon points="{" ".join(upper + lower)}" fill="{BAND}" fill-opacity="0.45" stroke="none">'
                     "<title>P10–P90 projection band</title></polygon>")
    expected = [f"{_n(x(p['date']))},{_n(y(float(p['expected'])))}" for p in pts if "expected" in p]
    if len(expected) > 1:  # solid: dashes at this scale read as loose marks, not a line
        parts.append(line(expected, EXPECTED, "2"))
    actual_pts = [p for p in pts if "actual" in p]
    parts.append(line([f"{_n(f.ml)},{_n(y(0))}"] + [f"{_n(x(p['date']))},{_n(y(float(p['actual'])))}"
                                                    for p in actual_pts], ACTUAL, "2.5"))
    if actual_pts:
        tx = x(actual_pts[-1]["date"])
        parts.append(f'<line x1="{_n(tx)}" y1="{MT}" x2="{_n(tx)}" y2="{_n(MT + f.ph)}" stroke="{INK}" '
                     'stroke-width="1" stroke-dasharray="2 3"/>')
        left = tx - f.ml > f.font * 4
        parts.append(f'<text x="{_n(tx - 4 if left else tx + 4)}" y="{MT + f.font}" '
                     f'text-anchor="{"end" if left else "start"}" fill="{INK}">today</text>')
    if off_scale:
        parts.append(f'<text x="{f.ml + 6}" y="{MT - 3}" fill="{LIMIT}">↑ budget '
                     f'{escape(budget_short(unit, amount))}, far above (projection: '
                     f'{escape(fmt.percent(data_peak / amount))} of it)</text>')
    else:
        ya = y(amount)
        parts.append(f'<line x1="{f.ml}" y1="{_n(ya)}" x2="{_n(f.ml + f.pw)}" y2="{_n(ya)}" stroke="{LIMIT}" '
                     'stroke-width="1.5"/>')
        parts.append(f'<text x="{f.ml + 6}" y="{_n(ya - 5)}" fill="{LIMIT}">budget '
                     f'{escape(budget_short(unit, amount))}</text>')
    parts.append(f'<line x1="{f.ml}" y1="{_n(MT + f.ph)}" x2="{_n(f.ml + f.pw)}" y2="{_n(MT + f.ph)}" '
                 f'stroke="{INK}" stroke-width="1"/>')
    parts += _x_labels(f, start, days, lambda i: f.ml + f.pw * i / days)
    parts.append("</svg>")
    return "".join(parts)
