"""The HTML snapshot: well-formed, self-contained (no scripts, no external assets), valid inline
SVG charts, escaped text, and embedded data that verifies. (How it looks in a browser is checked
by hand with headless Chromium; this suite needs no browser.)"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date
from html import escape
from html.parser import HTMLParser

import pytest

from tokentui import paths
from tokentui.export import charts, render
from tokentui.export.model import make
from tokentui.export.verify import verify_text
from tests.unit.test_export import snapshot, store  # noqa: F401  (fixture)

SVG_NS = "{http://www.w3.org/2000/svg}"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Checker(HTMLParser):
    """Checks nesting, collects tags, attributes and comments."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.comments: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}>")
        else:
            self.stack.pop()

    def handle_comment(self, data):
        self.comments.append(data)


def parse(text: str) -> Checker:
    c = Checker()
    c.feed(text)
    c.close()
    return c


def svgs(text: str) -> list[ET.Element]:
    return [ET.fromstring(s) for s in re.findall(r"<svg\b.*?</svg>", text, re.S)]


@pytest.fixture
def budget_config():
    paths.config_file().write_text('timezone = "UTC"\n[budgets.work]\nusd = 100\nperiod = "month"\n'
                                   '[budgets.tokens]\ntokens = 1000000\nperiod = "year"\n', encoding="utf-8")


def test_html_is_well_formed_and_self_contained(store, budget_config):  # noqa: F811
    text = render(snapshot(store, label="Alice"), "html")
    c = parse(text)
    assert c.errors == [] and c.stack == []
    assert text.startswith("<!DOCTYPE html>")
    names = [t for t, _ in c.tags]
    assert "script" not in names and "link" not in names and "img" not in names and "iframe" not in names
    for tag, attrs in c.tags:
        for k, v in attrs.items():
            assert not k.startswith("on"), (tag, k)  # no event handlers
            if k != "xmlns":  # a namespace name, never fetched
                assert not (v or "").lower().startswith(("http:", "https:", "//", "javascript:")), (tag, k, v)
    assert "@import" not in text and "url(" not in text
    assert ('meta', {'name': 'viewport', 'content': 'width=device-width, initial-scale=1'}) in c.tags
    assert "@media print" in text and "@media (max-width:560px)" in text
    # the data rides along in one comment, which no string in it can close early
    embedded = [x for x in c.comments if x.startswith(" tokentop-snapshot sha256=")]
    assert len(embedded) == 1 and "--" not in embedded[0].split("\n", 1)[1]


def test_svg_charts_are_valid_and_show_the_data(store, budget_config):  # noqa: F811
    snap = snapshot(store)
    text = render(snap, "html")
    roots = svgs(text)
    # daily bars and two budget burn-ups, each drawn wide and narrow
    assert len(roots) == 6
    for root in roots:
        assert root.tag == f"{SVG_NS}svg" and re.fullmatch(r"0 0 \d+ \d+", root.get("viewBox"))
        assert root.find(f"{SVG_NS}title").text
        for el in root.iter():
            for attr in ("x", "y", "width", "height", "x1", "x2", "y1", "y2"):
                if el.get(attr) is not None:
                    float(el.get(attr))  # every coordinate is a number
    bars = roots[0]
    days_with_usage = sum(1 for r in snap.data["daily"] if r["total_tokens"])
    groups = [g for g in bars.iter(f"{SVG_NS}g") if g.find(f"{SVG_NS}rect") is not None]
    assert len(groups) == days_with_usage
    tips = [g.find(f"{SVG_NS}title").text for g in groups]
    assert any(t.startswith("2026-11-18: 43,300 tokens") for t in tips)
    burnup = roots[2]
    assert burnup.find(f"{SVG_NS}polygon") is not None  # the P10–P90 band
    assert len(burnup.findall(f"{SVG_NS}polyline")) == 2  # actual and expected
    assert any("budget $100" in (t.text or "") for t in burnup.iter(f"{SVG_NS}text"))  # a line, or named above
    assert "class=\"chart narrow\"" in text and "svg.narrow{display:none}" in text


def test_without_budgets_there_is_no_burnup(store):  # noqa: F811
    text = render(snapshot(store), "html")
    assert len(svgs(text)) == 2 and "No budgets configured." in text


def test_user_text_is_escaped_and_still_verifies(store):  # noqa: F811
    label = '<script>alert("x")</script> -- ``` & <!-- --> é'
    snap = snapshot(store, label=label)
    html = render(snap, "html")
    c = parse(html)
    assert c.errors == [] and "script" not in [t for t, _ in c.tags]
    assert "&lt;script&gt;" in html
    for fmt in ("html", "md", "csv"):
        v = verify_text(render(snap, fmt), render(snap, "json") if fmt == "csv" else None)
        assert v.ok and v.data["label"] == label.strip(), (fmt, v.message)


def test_charts_handle_empty_and_tiny_series():
    empty = [{"date": (date(2026, 11, 1)).isoformat(), "total_tokens": 0, "cache_read_tokens": 0, "cost_usd": "0"}]
    for size in ("wide", "narrow"):
        root = ET.fromstring(charts.daily_bars(empty, size))
        assert root.find(f"{SVG_NS}rect") is None
    assert charts.ticks(0) == [0, 1.0] and charts.ticks(3750) == [0, 1000, 2000, 3000, 4000]
    assert charts.compact(2_000_000) == "2M" and charts.compact(2_500_000) == "2.5M"
    b = {"name": "b", "unit": "tokens", "amount": 10, "period_start": "2026-11-01", "period_end": "2026-12-01",
         "burnup": [{"date": "2026-11-01", "actual": 0, "expected": 0, "low": 0, "high": 0}]}
    ET.fromstring(charts.burnup(b, "narrow"))


def test_a_minimal_snapshot_renders_everywhere():
    data = {"schema_version": 1, "kind": "tokentop-snapshot", "layout_version": 1,
            "generated_at": "2026-11-20T12:00:00Z", "tokentop_version": "0", "window_days": 1,
            "period": {"spec": "2026-11-20..2026-11-20", "start": "2026-11-20", "end": "2026-11-20", "days": 1,
                       "timezone": "UTC", "to_date": False},
            "totals": {"input_tokens": 0, "output_tokens": 0, "cache_write_tokens": 0, "cache_read_tokens": 0,
                       "reasoning_tokens": 0, "total_tokens": 0, "cost_usd": "0", "billed_usd": "0",
                       "estimated_usd": "0", "unpriced_tokens": 0, "unpriced_share": "0", "requests": 0,
                       "records": 0, "active_days": 0},
            "by_source": [], "by_model": [],
            "daily": [{"date": "2026-11-20", "input_tokens": 0, "output_tokens": 0, "cache_write_tokens": 0,
                       "cache_read_tokens": 0, "total_tokens": 0, "cost_usd": "0", "unpriced_tokens": 0}],
            "provenance": {"sources": [], "pricing_data_version": "x", "tokentop_version": "0", "billed_usd": "0",
                           "estimated_usd": "0", "unpriced_tokens": 0, "unpriced_share": "0", "overlap": []},
            "notes": []}
    snap = make(data)
    for fmt in ("md", "html", "json", "toml", "csv"):
        assert verify_text(render(snap, fmt), render(snap, "json") if fmt == "csv" else None).ok, fmt
    assert parse(render(snap, "html")).errors == []


def test_budget_method_is_a_collapsed_how_this_is_computed(store, budget_config):  # noqa: F811
    """Plain words first (the headline and figures); the method behind them sits in a collapsed
    "How this is computed" block after them, never as the budget's open last paragraph."""
    snap = snapshot(store)
    text = render(snap, "html")
    for b in snap.data["budgets"]:
        method = re.escape(escape(b["method"], quote=True))
        block = re.search(r"<details><summary>How this is computed</summary>\s*<p[^>]*>" + method + r"</p>\s*"
                          "</details>", text)
        assert block, b["name"]
        assert text.index(escape(b["headline"], quote=True)) < block.start()
