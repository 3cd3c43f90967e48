"""Hostile user themes (issue 15, item 10): every field is checked when the theme is loaded.

A theme's ``[variables]`` are substituted into Textual's stylesheets (its widgets' default CSS
and tokentop's). A value the stylesheet parser refuses (an unknown ``*-text-style`` flag, CSS
punctuation that closes a rule, a colour Textual does not know) used to be accepted by the
theme loader and crashed the TUI later, when a widget that uses the variable was mounted, with
``--theme`` or after ``t``. The README promises one notice and the default theme instead.

The oracle here is independent of the loader: a theme the loader accepts must let Textual
parse *every* widget's default CSS and tokentop.tcss with the theme's variables.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tui.conftest import demo_db, demo_template, make_app, wait_for  # noqa: F401 (fixtures)
from tokentui import paths
from tokentui.theme_files import read_theme_file

REPO = Path(__file__).resolve().parents[2]

STYLE_VALUES = ["nonsense", "bold red", "bold; color: red", "}", "bold }", "{", "BOLD", "bold,italic", "$x",
                "bold !important", "1", "b\u200bold", "bold /* c */", "bold\x1b[31m"]
GOOD_STYLES = ["bold", "b reverse", "not underline bold", "none", "underline   bold", "italic"]
COLOUR_VALUES = ["red;", "#12345", "inherit", "red }", "rgb(1,2,3); color: red", "nonsense-colour", "$primary",
                 "auto 87%; x", "url(x)"]
#: variable names that are not names
BAD_KEYS = ["x y", "x;y", "a}b", "$x", ""]


def _textual_style_variables() -> list[str]:
    from textual.theme import BUILTIN_THEMES

    names = BUILTIN_THEMES["textual-dark"].to_color_system().generate()
    return sorted(n for n in names if n.endswith("-style"))


def _css_sources() -> list[tuple[str, str]]:
    """Every stylesheet a running tokentop can parse: each widget's DEFAULT_CSS (Textual's
    and tokentop's) and tokentop.tcss."""
    import textual.widgets as tw
    from textual.app import App
    from textual.widget import Widget

    import tokentui.tui.app  # noqa: F401 (imports tokentop's screens and widgets)

    for name in tw.__all__:
        getattr(tw, name)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    sources = [(f"{c.__module__}.{c.__qualname__}", c.__dict__["DEFAULT_CSS"])
               for c in {Widget, *subclasses(Widget)} if c.__dict__.get("DEFAULT_CSS")]
    return sources + [("App", App.DEFAULT_CSS), ("tokentop.tcss", (REPO / "tokentui" / "tui" / "tokentop.tcss").read_text())]


def _textual_accepts(theme, sources) -> str | None:
    """None when Textual parses every stylesheet with ``theme``'s variables, else the error."""
    from textual.css.stylesheet import Stylesheet

    try:
        variables = {**theme.to_color_system().generate(), **theme.variables}
        sheet = Stylesheet(variables=variables)
        for name, css in sources:
            sheet.add_source(css, read_from=(name, ""), is_default_css=True)
        sheet.parse()
    except Exception as exc:  # noqa: BLE001 - any failure is what crashed the TUI
        return f"{type(exc).__name__}: {exc}"
    return None


def _theme_text(name: str, key: str, value: str) -> str:
    esc = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\x1b", "\\u001b")
    kesc = key.replace('"', '\\"')
    return f'name = "{name}"\nprimary = "#4EA8DE"\n[variables]\n"{kesc}" = "{esc}"\n'


def _cases() -> list[tuple[str, str]]:
    cases = [(var, v) for var in _textual_style_variables() for v in STYLE_VALUES[:4]]
    cases += [("block-cursor-text-style", v) for v in STYLE_VALUES[4:]]
    cases += [("link-style", v) for v in STYLE_VALUES]
    cases += [(var, v) for var in ("footer-key-foreground", "burn-color", "block-cursor-background")
              for v in COLOUR_VALUES]
    cases += [(k, "bold") for k in BAD_KEYS]
    return cases


CASES = _cases()


def test_every_loaded_theme_parses_in_every_stylesheet(tmp_path) -> None:
    """Each hostile value is either refused at load (a problem naming the file and the key)
    or harmless: no theme the loader accepts makes a stylesheet fail."""
    from tokentui.tui.theming import load_themes

    sources = _css_sources()
    accepted = []
    for i, (key, value) in enumerate(CASES):
        d = tmp_path / f"t{i}"
        d.mkdir()
        (d / "hostile.toml").write_text(_theme_text(f"hostile-{i}", key, value))
        themes, problems = load_themes([d])
        if themes:
            accepted.append((key, value))
            why = _textual_accepts(themes[0], sources)
            assert why is None, f"{key} = {value!r} was accepted but breaks the stylesheets: {why}"
        else:
            [problem] = problems
            assert problem.path.name == "hostile.toml"
            assert "variables" in problem.message and (key in problem.message or not key), problem.message
    # the refused ones are not refused for being anything at all: good values still load
    for i, value in enumerate(GOOD_STYLES):
        d = tmp_path / f"good{i}"
        d.mkdir()
        (d / "ok.toml").write_text(_theme_text(f"good-{i}", "block-cursor-text-style", value) +
                                   'link-style = "bold not underline"\nburn-color = "#ff8800 80%"\n')
        themes, problems = load_themes([d])
        assert problems == [] and len(themes) == 1, (value, problems)
        assert _textual_accepts(themes[0], sources) is None


@pytest.mark.parametrize("key,value", [(k, v) for k, v in CASES if k in ("block-cursor-text-style", "link-style")])
def test_the_checked_file_names_the_key(tmp_path, key, value) -> None:
    """The UI-free check (what `tokentop --theme FILE` runs before the TUI) refuses the value."""
    f = tmp_path / "hostile.toml"
    f.write_text(_theme_text("hostile", key, value))
    got = read_theme_file(f)
    assert getattr(got, "message", None) and f"variables.{key}" in got.message, got


def _screens_and_cycle(app, pilot):
    async def run():
        for key in "23451":  # mount every screen: the History table and the Budgets form use the styles
            await pilot.press(key)
            await pilot.pause(0.05)
    return run()


@pytest.mark.parametrize("value", ["nonsense", "bold red", "bold; color: red", "}"])
async def test_a_hostile_theme_by_flag_gives_one_notice_and_the_default(make_app, value) -> None:  # noqa: F811
    d = paths.user_themes_dir()
    d.mkdir(parents=True)
    (d / "hostile.toml").write_text(_theme_text("hostile", "block-cursor-text-style", value))
    app = make_app(theme="hostile")
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)
        await _screens_and_cycle(app, pilot)
        notes = [n for n in app._notifications if n.title == "Theme problem"]
        assert len(notes) == 1, [n.message for n in notes]
        assert "hostile.toml" in notes[0].message and "block-cursor-text-style" in notes[0].message
        assert notes[0].message.count("hostile.toml") == 1, notes[0].message  # said once, not twice
        assert app.theme == "tokentop-dark"
        assert app.is_running


async def test_cycling_themes_never_reaches_a_broken_one(make_app) -> None:  # noqa: F811
    d = paths.user_themes_dir()
    d.mkdir(parents=True)
    (d / "a-hostile.toml").write_text(_theme_text("a-hostile", "block-cursor-text-style", "bold red"))
    (d / "b-hostile.toml").write_text(_theme_text("b-hostile", "link-style", "}"))
    (d / "c-fine.toml").write_text(_theme_text("c-fine", "block-cursor-text-style", "b reverse"))
    app = make_app()
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)
        notes = [n for n in app._notifications if n.title == "Theme problem"]
        assert len(notes) == 1, [(n.title, n.message) for n in app._notifications]
        assert "a-hostile.toml" in notes[0].message and "b-hostile.toml" in notes[0].message
        seen = set()
        for _ in range(len(app.theme_names) + 1):
            await pilot.press("t")
            await pilot.pause(0.05)
            seen.add(app.theme)
            await _screens_and_cycle(app, pilot)
            assert app.is_running
        assert "c-fine" in seen and not seen & {"a-hostile", "b-hostile"}
