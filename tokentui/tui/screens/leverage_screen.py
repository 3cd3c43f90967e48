"""Leverage: each metric against the team's percentiles, and public reference points on a
log scale with their sources. Not a ranking of people: the disclaimer stays on screen."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from tokentui.tui.screens.base import TokentopScreen
from tokentui.services.leverage import LeverageReport
from tokentui.tui.widgets.leverage_table import BAND, MEDIAN, YOU, LeverageTable, ReferenceScale, short_label
from tokentui.tui.widgets.text import lines, markup, plain

#: metrics with public reference points, in the order shown
SCALES = ("tokens_per_week", "cost_per_week", "spend_to_comp")
NO_TEAM = (
    "[b]No team benchmark set[/b], so there are no percentiles yet. A team file holds only aggregates "
    "(p10–p90 per metric from 5 or more people). To make one:\n"  # steps short enough for 80 columns
    "  1. each colleague runs [b]tokentop export --format json[/b] and shares it\n"
    "  2. [b]tokentop team build *.json -o team.toml[/b]\n"
    "     (or from an admin key: [b]tokentop team pull anthropic -o team.toml[/b])\n"
    "  3. [b]tokentop team use team.toml[/b]")


class LeverageScreen(TokentopScreen):
    """Shows ``app.leverage`` (a :class:`LeverageReport`, built in the refresh worker)."""

    MODE = "leverage"
    KEY = "4"
    TITLE = "Leverage"
    DATA = ("leverage",)

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="leverage-body"):
            yield Static("[dim]measuring your last 28 days…[/]", id="leverage-head")
            yield LeverageTable(id="leverage-table")
            for metric in SCALES:
                yield ReferenceScale(id=f"scale-{metric}", classes="reference-scale")
            yield Static("", id="leverage-notes")
        yield Static("", id="leverage-disclaimer")

    def on_mount(self) -> None:
        self.query_one("#leverage-table").border_title = "Your figures vs the team"
        for scale in self.query(ReferenceScale):
            scale.display = False
        super().on_mount()

    def show_leverage(self, report: LeverageReport) -> None:
        lev = report.leverage
        head = self.query_one("#leverage-head", Static)
        window = f"Last {lev.window_days} days, per week"
        if report.team is not None:
            t = report.team
            head.update(Content.assemble(  # the team file's words are text, never markup
                f"{window} · vs ", plain(t.name, "b"), f": {t.members} people, {t.window_days}-day window ",
                plain(f"({t.source}, {t.generated[:10]})", "dim")))
        elif report.team_problem:
            head.update(Content.assemble(f"{window}\n", markup("[$warning]⚠ The team file could not be used:[/] "),
                                         plain(report.team_problem, newlines=True)))
        else:
            head.update(f"{window}\n{NO_TEAM}")
        table = self.query_one(LeverageTable)
        table.rows = report.rows
        table.border_title = (plain(f"Your figures vs {report.team.name}") if report.team is not None
                              else "Your figures")
        table.border_subtitle = (f"team range: [{BAND[1]}]  [/] p10–p90 [{MEDIAN[1]}]{MEDIAN[0]}[/] median "
                                 f"[{YOU[1]}]{YOU[0]}[/] you"
                                 if report.team is not None else "")
        rows = {r.metric: r for r in report.rows}
        for metric in SCALES:
            scale = self.query_one(f"#scale-{metric}", ReferenceScale)
            refs = tuple(r for r in report.references if r.metric == metric)
            row = rows.get(metric)
            scale.display = bool(refs) and row is not None
            if not scale.display:
                continue
            scale.border_title = f"{short_label(row.label, metric)} · log scale · public reference points"
            scale.metric = metric
            scale.value = None if row.value is None else float(row.value)
            scale.team = row.team
            scale.refs = tuple(sorted(refs, key=lambda r: r.low))
        self.query_one("#leverage-notes", Static).update(lines(plain(f"· {n}", "dim") for n in report.notes))
        self.query_one("#leverage-disclaimer", Static).update(plain(report.disclaimer))
