"""Issue 19 item 13: every text/background pair the dashboard uses reaches WCAG AA (4.5:1) in
every built-in theme, computed from the theme files (through Textual's colour system, as the
app computes them), secondary (dim) text included."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.color import Color

from tokentui.theme_files import contrast_ratio, read_theme_file
from tokentui.tui.theming import readable_dim, theme_from_spec

THEMES = sorted((Path(__file__).parents[2] / "themes").glob("*.toml"))
AA = 4.5
#: the colours text is written in: the stylesheet's (color:, border-title-color:) and the
#: widgets' markup and status dots
TEXT = ("text", "text-muted", "foreground", "primary", "accent", "warning", "error", "success", "burn-color")
#: the backgrounds that text sits on
BACKGROUNDS = ("background", "surface", "panel")


def _palette(path: Path) -> tuple[dict[str, str], dict[str, Color]]:
    theme = theme_from_spec(read_theme_file(path))
    values = {**theme.to_color_system().generate(), **theme.variables}
    return values, {k: Color.parse(values[k]) for k in BACKGROUNDS}


def _on(value: str, bg: Color) -> Color:
    """The colour a text variable shows on ``bg`` ('auto 60%': the contrasting text colour at
    that alpha, as Textual resolves it)."""
    if value.startswith("auto"):
        alpha = float(value.split()[1].rstrip("%")) / 100 if " " in value else 1.0
        return bg.blend(bg.get_contrast_text(1.0), alpha)
    return bg + Color.parse(value)


def _rgb(c: Color) -> tuple[int, int, int]:
    return c.rgb


@pytest.mark.parametrize("path", THEMES, ids=lambda p: p.stem)
def test_every_text_colour_reaches_aa_on_every_background(path):
    values, bgs = _palette(path)
    low = []
    for name in TEXT:
        for bname, bg in bgs.items():
            fg = _on(values[name], bg)
            r = contrast_ratio(_rgb(fg), _rgb(bg))
            if r < AA:
                low.append(f"{name} on {bname}: {r:.2f}:1")
    assert not low, f"{path.stem}: " + ", ".join(low)


@pytest.mark.parametrize("path", THEMES, ids=lambda p: p.stem)
def test_dim_secondary_text_reaches_aa_and_still_reads_as_secondary(path):
    values, bgs = _palette(path)
    for name in TEXT:
        for bname, bg in bgs.items():
            fg = _rgb(_on(values[name], bg))
            dim = readable_dim(fg, _rgb(bg))
            assert contrast_ratio(dim, _rgb(bg)) >= AA, (path.stem, name, bname, dim)
            # never brighter than the text itself: it stays the quieter of the two
            assert contrast_ratio(dim, _rgb(bg)) <= contrast_ratio(fg, _rgb(bg)) + 1e-9


@pytest.mark.parametrize("path", THEMES, ids=lambda p: p.stem)
def test_the_active_tab_and_the_table_cursor_reach_aa(path):
    values, _ = _palette(path)
    primary = Color.parse(values["primary"])
    tab = Color.parse(values["background"])  # nav bar: color $background on $primary
    assert contrast_ratio(_rgb(tab), _rgb(primary)) >= AA, path.stem
    cursor = _on(values["block-cursor-foreground"], primary)
    assert contrast_ratio(_rgb(cursor), _rgb(primary)) >= AA, path.stem


def test_contrast_ratio_is_wcag():
    assert round(contrast_ratio((0, 0, 0), (255, 255, 255)), 2) == 21.0
    assert round(contrast_ratio((118, 118, 118), (255, 255, 255)), 2) == 4.54
    assert contrast_ratio((10, 20, 30), (10, 20, 30)) == 1.0


@pytest.mark.parametrize("theme", [p.stem for p in THEMES])
async def test_the_app_draws_dim_text_in_a_readable_colour(make_app, theme):
    """The dashboard's own dim words ('1h avg', table heads) are drawn in the readable colour,
    not left to the terminal's faint attribute."""
    from tests.tui.conftest import wait_for

    app = make_app(settings_kw={"theme": theme})
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, what="first snapshot")
        await pilot.pause()
        segments = [seg for strip in app.screen._compositor.render_strips() for seg in strip]
        assert len(segments) > 100
        assert not any(seg.style and seg.style.dim for seg in segments)
        low = [(seg.text, seg.style) for seg in segments if seg.text.strip() and seg.style and seg.style.color
               and seg.style.bgcolor and seg.style.color.triplet and seg.style.bgcolor.triplet
               and contrast_ratio(tuple(seg.style.color.triplet), tuple(seg.style.bgcolor.triplet)) < AA
               and any(ch.isalnum() for ch in seg.text)]  # words and figures; bars and rules are graphics
        assert not low, low[:10]
