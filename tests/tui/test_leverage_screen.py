"""The Leverage screen (key 4): team percentiles, reference points with sources, the disclaimer."""

from __future__ import annotations

from tests.tui.conftest import FROZEN_NOW, rendered, settings, wait_for
from tokentui.core.benchmarks import NOT_A_RANKING, REFERENCE_POINTS
from tokentui.tui.screens.leverage_screen import LeverageScreen
from tokentui.tui.widgets.leverage_table import LeverageTable, ReferenceScale, placement_bar, tick_text

SIZE = (120, 40)


async def _leverage(app, pilot) -> LeverageScreen:
    await wait_for(pilot, lambda: app.leverage is not None, what="leverage report")
    await pilot.press("4")
    await pilot.pause()
    await pilot.pause()
    return app.screen


async def test_demo_metrics_against_the_team(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _leverage(app, pilot)
        report = app.leverage
        head = rendered(screen.query_one("#leverage-head"))
        assert "Platform team (demo)" in head and "9 people" in head
        table = rendered(screen.query_one(LeverageTable))
        for row in report.rows:
            assert row.text in table
        tpw = report.row("tokens_per_week")
        assert tpw.placement.text == "p58" and "1.4×" in table and "240M" in table  # the team's p50
        assert "active hours / week" in table and "p83" in table and "●" in table
        assert "spend / pay (yearly)" in table  # pay stays on this screen: comp_usd is the demo's
        # the disclaimer, whole, always on screen
        assert rendered(screen.query_one("#leverage-disclaimer")) == NOT_A_RANKING
        assert "not a ranking of people" in NOT_A_RANKING and "no one's raw data leaves" in NOT_A_RANKING


async def test_reference_points_on_log_scales_with_their_sources(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _leverage(app, pilot)
        shown = [s for s in screen.query(ReferenceScale) if s.display]
        assert [s.metric for s in shown] == ["tokens_per_week", "cost_per_week", "spend_to_comp"]
        text = "\n".join(rendered(s) for s in shown)
        for ref in REFERENCE_POINTS:  # every public point, each with where it comes from
            assert ref.label in text and ref.source in text
        tokens = rendered(shown[0])
        for tick in ("10k", "1M", "1B", "100B"):
            assert tick in tokens
        assert "you: 329M" in tokens and "team p10–p90: 40M – 1.1B" in tokens


def test_scale_helpers():
    assert [tick_text("tokens_per_week", v) for v in (1e3, 1e6, 1e10)] == ["1k", "1M", "10B"]
    assert tick_text("cost_per_week", 1000) == "$1k" and tick_text("spend_to_comp", 0.1) == "10%"

    class Dist:
        n, p10, p25, p50, p75, p90 = 9, 10, 20, 30, 40, 90

    bar = placement_bar("tokens_per_week", 35.0, Dist, 30)
    assert "●" in bar and "│" in bar and "$primary 35%" in bar
    assert placement_bar("tokens_per_week", 35.0, None, 30) == ""


async def test_without_a_team_file_it_says_how_to_make_one(tmp_path, demo_db):
    from tokentui.tui.app import TokentopApp

    # the user's own app (not demo mode) on a store with history and no [team] in the config
    app = TokentopApp(settings(tmp_path), db_path=demo_db, clock=lambda: FROZEN_NOW)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _leverage(app, pilot)
        assert app.leverage.team is None and app.leverage.team_problem is None
        head = rendered(screen.query_one("#leverage-head"))
        assert "No team benchmark set" in head
        assert "tokentop team build" in head and "tokentop team use team.toml" in head
        assert "team p50" not in rendered(screen.query_one(LeverageTable))
        await pilot.press("1")
        await pilot.pause()
        line = rendered(app.screen.query_one("#leverage-line"))
        assert line == app.leverage.headline and " of " not in line  # no team: no percentile


async def test_a_broken_team_file_is_named_not_fatal(tmp_path, demo_db):
    from tokentui.tui.app import TokentopApp

    bad = tmp_path / "team.toml"
    bad.write_text("format = 'something else'\n")
    app = TokentopApp(settings(tmp_path, raw={"team": {"file": str(bad)}}), db_path=demo_db,
                      clock=lambda: FROZEN_NOW)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _leverage(app, pilot)
        head = rendered(screen.query_one("#leverage-head"))
        assert "could not be used" in head and "team.toml" in head
        assert "329M" in rendered(screen.query_one(LeverageTable))  # your own figures still show


def test_outside_the_team_range_is_not_painted_as_a_warning():
    """The screen says its figures are not a ranking: "above p90" or "below p10" is set apart
    (bold), never in the warning or error colours."""
    from decimal import Decimal

    from tokentui.core.benchmarks import Distribution, place
    from tokentui.core.leverage import MetricRow

    dist = Distribution(9, Decimal(10), Decimal(20), Decimal(30), Decimal(40), Decimal(90))
    rows = tuple(MetricRow("tokens_per_week", "tokens / week", v, dist, place(v, dist)) for v in (500.0, 1.0, 35.0))
    assert [r.placement.text for r in rows] == ["above p90", "below p10", "p62"]
    table = LeverageTable()
    table.rows = rows
    markup_text = table.render().markup
    assert "above p90" in markup_text and "below p10" in markup_text
    assert "$warning" not in markup_text and "$error" not in markup_text


async def test_the_steps_to_a_team_file_fit_80_columns(tmp_path, demo_db):
    """At 80×24 each step of making a team file is one line of its own: no command or word
    wrapped onto a line of its own."""
    from textual.geometry import Region

    from tokentui.tui.app import TokentopApp

    app = TokentopApp(settings(tmp_path), db_path=demo_db, clock=lambda: FROZEN_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _leverage(app, pilot)
        head = screen.query_one("#leverage-head")
        shown = [s.text.rstrip() for s in head.render_lines(Region(0, 0, head.size.width, head.size.height))]
        steps = [line for line in shown if line.lstrip()[:2] in ("1.", "2.", "3.") or line.lstrip().startswith("(or")]
        assert len(steps) == 4, shown
        assert any(line.endswith("and shares it") for line in steps), shown
        assert any(line.endswith("tokentop team use team.toml") for line in steps), shown
        assert any(line.endswith("tokentop team pull anthropic -o team.toml)") for line in steps), shown
