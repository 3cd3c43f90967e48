"""Issue 19 item 12: charts that say something. Labelled axes and a scale that shows the data:
the burn-up chart scales to the spend (the budget marked when it is far above), its expected
line is continuous, its y axis has a scale; sparklines have a time axis; the History chart
labels its days along the axis; leverage strips have a scale."""

from __future__ import annotations

from datetime import date, timedelta

from textual.app import App, ComposeResult

from tests.tui.conftest import rendered
from tokentui.core.projection import BurnupPoint
from tokentui.tui.widgets.burnup_chart import BUDGET, EXPECTED, BurnupChart

DAY0 = date(2026, 11, 1)


def _points(days: int, today: int, per_day: float) -> tuple[BurnupPoint, ...]:
    pts = []
    for i in range(days):
        spent = per_day * (i + 1)
        if i < today:
            pts.append(BurnupPoint(DAY0 + timedelta(days=i), spent, None, None, None))
        elif i == today:
            pts.append(BurnupPoint(DAY0 + timedelta(days=i), spent, spent, spent, spent))
        else:
            pts.append(BurnupPoint(DAY0 + timedelta(days=i), None, spent, spent * 0.8, spent * 1.2))
    return tuple(pts)


class _Host(App):
    CSS = "BurnupChart { width: 64; height: 16; }"

    def __init__(self, points, budget: float, label: str, prefix: str = "$") -> None:
        super().__init__()
        self._args = (points, budget, label, prefix)

    def compose(self) -> ComposeResult:
        yield BurnupChart()

    def on_mount(self) -> None:
        chart = self.query_one(BurnupChart)
        points, chart.budget, chart.budget_label, chart.unit_prefix = self._args
        chart.points = points


async def _draw(points, budget, label, prefix="$") -> list[str]:
    app = _Host(points, budget, label, prefix)
    async with app.run_test(size=(80, 20)) as pilot:
        await pilot.pause()
        return rendered(app.query_one(BurnupChart)).splitlines()


def _plot(lines: list[str]) -> list[str]:
    """The plot rows: what is right of the y axis labels (the gutter ends at the first ' │')."""
    at = next(ln.index("│") for ln in lines if "│" in ln)
    return [ln[at + 1:] for ln in lines if len(ln) > at and ln[at] == "│"]


async def test_burnup_scales_to_the_spend_and_marks_a_budget_far_above():
    """$4,210 a year, $2 a day spent: the old chart was 95 % empty (scaled to the budget)."""
    lines = await _draw(_points(30, 12, 2.0), 4210.0, "$4,210")
    plot = _plot(lines)
    filled = [r for r, row in enumerate(plot) if "█" in row or EXPECTED[0] in row]
    assert filled and len(plot) - min(filled) >= len(plot) * 0.6, "\n".join(lines)  # the data fills the height
    text = "\n".join(lines)
    assert "budget $4,210" in text and "above" in text  # off the scale, and said so
    assert BUDGET[0] not in "".join(plot)  # not drawn at a made-up height
    # a scale on the y axis: 0 at the bottom, a round figure at the top, in dollars
    assert lines[[i for i, ln in enumerate(lines) if "│" in ln][-1]].strip().startswith("$0")
    top = next(ln for ln in lines if "│" in ln).split("│")[0].strip()
    assert top.startswith("$") and float(top[1:].replace("k", "e3")) >= 60


async def test_burnup_draws_the_budget_line_when_it_is_on_the_scale():
    lines = await _draw(_points(30, 12, 20.0), 700.0, "$700")
    text = "\n".join(lines)
    assert BUDGET[0] in text and "$700" in text and "above" not in text


async def test_the_expected_line_is_continuous():
    """A steep projection climbs several rows per column: every step is joined, no loose dashes."""
    lines = await _draw(_points(30, 5, 30.0), 900.0, "$900")
    plot = _plot(lines)
    cols = len(plot[0])
    marks = {c: [r for r, row in enumerate(plot) if c < len(row) and row[c] in (EXPECTED[0], "┃")]
             for c in range(cols)}
    future = [c for c in range(cols) if marks[c]]
    assert len(future) > 10
    for a, b in zip(future, future[1:]):
        assert b == a + 1, (a, b)  # every column after today carries the line
        assert min(marks[b]) <= max(marks[a]) + 1 and max(marks[b]) >= min(marks[a]) - 1, (a, marks[a], marks[b])


async def test_burnup_x_axis_has_dates_along_it():
    lines = await _draw(_points(30, 12, 20.0), 700.0, "$700")
    axis = lines[-1]
    assert "11-01" in axis and "11-30" in axis and "today 11-13" in axis
    assert sum(1 for part in axis.split() if part[:2].isdigit()) >= 4, axis  # ticks between the ends too


# --- the HTML snapshot's burn-up (export/charts.py) ------------------------------------------

def _budget(amount: float, per_day: float, today: int = 12) -> dict:
    pts = []
    for i in range(30):
        v = per_day * (i + 1)
        d = (DAY0 + timedelta(days=i)).isoformat()
        pts.append({"date": d, "actual": v} if i < today else
                   {"date": d, "actual": v, "expected": v, "low": v, "high": v} if i == today else
                   {"date": d, "expected": v, "low": v * 0.8, "high": v * 1.2})
    return {"name": "work", "unit": "usd", "amount": amount, "period_start": "2026-11-01",
            "period_end": "2026-12-01", "burnup": pts}


def test_html_burnup_scales_to_the_data_and_names_a_budget_far_above():
    import xml.etree.ElementTree as ET

    from tokentui.export import charts

    ns = "{http://www.w3.org/2000/svg}"
    for size in ("wide", "narrow"):
        root = ET.fromstring(charts.burnup(_budget(4210, 2.0), size))
        texts = ["".join(t.itertext()) for t in root.iter(f"{ns}text")]
        assert any("budget $4.2k, far above" in t for t in texts), texts
        lines = root.findall(f"{ns}polyline")
        assert all("stroke-dasharray" not in pl.attrib for pl in lines)  # the expected line is solid
        expected = next(pl for pl in lines if pl.get("stroke") == charts.EXPECTED)
        ys = [float(p.split(",")[1]) for p in expected.get("points").split()]
        _, _, w_h = root.get("viewBox").rpartition(" ")
        plot_top, plot_bottom = charts.MT, float(w_h) - charts.MB
        assert min(ys) < plot_top + (plot_bottom - plot_top) * 0.4  # the data uses the height
        assert not any(l.get("stroke") == charts.LIMIT for l in root.iter(f"{ns}line"))
        # on the scale: the budget is a line, labelled
        root = ET.fromstring(charts.burnup(_budget(700, 20.0), size))
        assert any(l.get("stroke") == charts.LIMIT for l in root.iter(f"{ns}line"))


# --- the 28-day bar chart (dashboard, History) ---------------------------------------------

class _BarsHost(App):
    CSS = "BarChart { width: 72; height: 10; }"

    def __init__(self, values) -> None:
        super().__init__()
        self._values = values

    def compose(self) -> ComposeResult:
        from tokentui.tui.widgets.bar_chart import BarChart

        yield BarChart()

    def on_mount(self) -> None:
        from tokentui.tui.widgets.bar_chart import BarChart

        self.query_one(BarChart).values = self._values


async def test_the_28_day_chart_has_a_scale_and_days_along_its_axis():
    from tokentui.tui.widgets.bar_chart import BarChart

    values = tuple(((DAY0 + timedelta(days=i)).isoformat()[5:], float(1_000_000 * (1 + i % 7))) for i in range(28))
    app = _BarsHost(values)
    async with app.run_test(size=(80, 14)) as pilot:
        await pilot.pause()
        lines = rendered(app.query_one(BarChart)).splitlines()
    assert lines[0].split("│")[0].strip() == "7.0M" and lines[-2].split("│")[0].strip() == "0", lines
    days = [w for w in lines[-1].split() if w[:2].isdigit()]
    assert days[0] == "11-01" and days[-1] == "11-28" and len(days) >= 6, lines[-1]


# --- the burn meter's sparklines -------------------------------------------------------------

async def test_sparklines_sit_on_a_time_axis_with_their_scale(make_app):
    from textual.widgets import Label

    from tests.tui.conftest import wait_for
    from tokentui.core.fmt import tokens_short
    from tokentui.tui.widgets.burn_meter import BurnMeter

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, what="first snapshot")
        await pilot.pause()
        meter = app.screen.query_one(BurnMeter)
        words = [str(label.render()) for label in meter.query(Label)]
        assert "-1h" in words and "-24h" in words, words
        ends = [w for w in words if w.startswith("now")]
        assert len(ends) == 2, words
        assert f"▲{tokens_short(max(app.snapshot.spark_hour))}/m" in ends[0]
        assert f"▲{tokens_short(max(app.snapshot.spark_day))}/h" in ends[1]
        for label in meter.query(".spark-label, .spark-end"):
            assert label.region.width > 0 and label.region.height > 0  # on screen at 80x24


# --- leverage strips ---------------------------------------------------------------------------

async def test_leverage_strips_carry_their_scale(make_app):
    from tests.tui.conftest import wait_for
    from tokentui.tui.widgets.leverage_table import LeverageTable, row_axis, tick_text

    app = make_app()
    async with app.run_test(size=(150, 40)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, what="first snapshot")
        await pilot.press("4")
        await wait_for(pilot, lambda: app.leverage is not None, what="leverage")
        await pilot.pause()
        table = rendered(app.screen.query_one(LeverageTable)).splitlines()
    report = app.leverage
    rows = [r for r in report.rows if r.team is not None]
    assert rows
    for r in rows:
        line = next(ln for ln in table if ln.startswith(r.label.split(" (")[0][:12]) or r.text in ln)
        lo, hi = row_axis(r.metric, None if r.value is None else float(r.value), r.team)
        strip = line[line.index("●") - 40 if "●" in line else 0:]
        assert tick_text(r.metric, lo) in line and line.rstrip().endswith(tick_text(r.metric, hi)), (line, lo, hi)
        assert "●" in strip or "│" in strip
