"""Theme files: checking (core tier), conversion to Textual themes, and fallbacks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.tui.conftest import wait_for
from tokentui import paths
from tokentui.theme_files import (APP_VARIABLES, ThemeProblem, ThemeSpec, color_syntax_ok, load_theme_dirs,
                                  parse_theme, ThemeFileError)

GOOD = """name = "mine"
dark = false
primary = "#112233"
background = "rgb(10, 20, 30)"
[variables]
burn-color = "#ff8800 80%"
block-cursor-text-style = "bold"
"""


def test_builtin_themes_are_valid_and_complete():
    found = load_theme_dirs([paths.builtin_themes_dir()])
    assert found.problems == ()
    assert set(found.names()) >= {"tokentop-dark", "tokentop-light", "tokentop-high-contrast"}
    for spec in found.themes:
        assert {k for k, _ in spec.variables} >= set(APP_VARIABLES), spec.name


def test_parse_a_good_theme(tmp_path):
    spec = parse_theme(GOOD, tmp_path / "mine.toml")
    assert spec.name == "mine" and spec.dark is False and spec.color("primary") == "#112233"
    assert dict(spec.variables)["burn-color"] == "#ff8800 80%"


@pytest.mark.parametrize("text,needle", [
    ("name = 'x'\nprimary = '#12'", "primary"),
    ("name = 'x'", "'primary' colour is required"),
    ("primary = '#123456'", "'name'"),
    ("name = 'has space'\nprimary = '#123456'", "'name'"),
    ("name = 'x'\nprimary = '#123456'\ncolour = 'red'", "unknown key 'colour'"),
    ("name = 'x'\nprimary = '#123456'\ndark = 'yes'", "dark"),
    ("name = 'x'\nprimary = '#123456'\n[variables]\nburn-color = 'not a colour!'", "variables.burn-color"),
    ("name = 'x'\nprimary = '#123456'\ntext_alpha = 3", "text_alpha"),
    ("name = 'x\nprimary", "invalid TOML"),
])
def test_bad_theme_files_say_what_is_wrong(tmp_path, text, needle):
    with pytest.raises(ThemeFileError, match=re.escape(needle)):
        parse_theme(text, tmp_path / "bad.toml")


def test_a_directory_with_good_and_bad_files(tmp_path):
    (tmp_path / "a.toml").write_text(GOOD)
    (tmp_path / "b.toml").write_text("name = 'b'\n")
    (tmp_path / "c.toml").write_bytes(b"\xff\xfe")
    (tmp_path / "notes.txt").write_text("ignored")
    found = load_theme_dirs([tmp_path, tmp_path / "missing"])
    assert found.names() == ("mine",)
    assert sorted(p.path.name for p in found.problems) == ["b.toml", "c.toml"]
    assert all(isinstance(p, ThemeProblem) and str(p).startswith(p.path.name) for p in found.problems)


def test_colour_syntax():
    for ok in ("#abc", "#AABBCC", "#aabbccdd", "rgb(1, 2, 3)", "hsl(120, 50%, 50%)", "ansi_red", "red 40%"):
        assert color_syntax_ok(ok), ok
    for bad in ("", "#abcde", "url(x)", "red;", "#12 40%"):
        assert not color_syntax_ok(bad), bad


def test_theme_files_module_does_not_import_textual():
    import subprocess
    import sys

    code = "import sys, tokentui.theme_files; sys.exit('textual' in sys.modules or 'rich' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_theme_from_spec_rejects_names_textual_does_not_know(tmp_path):
    from tokentui.tui.app import theme_from_spec

    spec = ThemeSpec("x", tmp_path / "x.toml", colors=(("primary", "notacolour"),))
    with pytest.raises(ValueError, match="primary"):
        theme_from_spec(spec)
    theme = theme_from_spec(parse_theme(GOOD, tmp_path / "mine.toml"))
    assert theme.name == "mine" and theme.variables["burn-color"] == "#ff8800 80%"


def _user_themes(text: str) -> Path:
    d = paths.user_themes_dir()
    d.mkdir(parents=True)
    (d / "broken.toml").write_text(text)
    return d


async def test_a_bad_user_theme_gives_one_notice_and_the_default(make_app):
    _user_themes("name = 'broken'\nprimary = 'nonsense-colour'\n")
    app = make_app(settings_kw={"theme": "broken"})
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)
        notes = [n for n in app._notifications if n.title == "Theme problem"]
        assert len(notes) == 1
        assert "broken.toml" in notes[0].message and "'broken' is not available" in notes[0].message
        assert app.theme == "tokentop-dark"
        assert app.is_running


async def test_theme_flag_by_name_file_stem_or_path(make_app, tmp_path):
    d = paths.user_themes_dir()
    d.mkdir(parents=True)
    (d / "my-file.toml").write_text(GOOD)
    app = make_app(theme="tokentop-light")
    async with app.run_test(size=(80, 24)):
        assert app.theme == "tokentop-light"
    app = make_app(theme="my-file")  # the file's stem; the theme inside is named "mine"
    async with app.run_test(size=(80, 24)):
        assert app.theme == "mine" and "mine" in app.theme_names
    elsewhere = tmp_path / "elsewhere.toml"
    elsewhere.write_text(GOOD.replace('"mine"', '"elsewhere"'))
    app = make_app(theme=str(elsewhere))
    async with app.run_test(size=(80, 24)):
        assert app.theme == "elsewhere"


async def test_unknown_theme_falls_back_with_a_notice(make_app):
    app = make_app(theme="no-such-theme")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.pause()
        assert app.theme == "tokentop-dark"
        assert any("no-such-theme" in n.message for n in app._notifications)


async def test_textual_builtin_theme_gets_app_variables(make_app):
    # choosing e.g. "nord" from the palette must not break the stylesheet's $burn-color
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)
        app.theme = "nord"
        await pilot.pause()
        assert app.theme_variables["burn-color"] == app.current_theme.accent
        assert app.is_running


def test_stylesheet_uses_theme_variables_only():
    css = (Path(__file__).resolve().parents[2] / "tokentui" / "tui" / "tokentop.tcss").read_text()
    assert not re.search(r"#[0-9a-fA-F]{3,8}\b", css), "hex colour in tokentop.tcss"
    for name in re.findall(r"\$([a-z][a-z0-9-]*)", css):
        assert not name.startswith("#")


def test_deeply_nested_theme_file_is_a_problem_not_a_crash(tmp_path) -> None:
    from tokentui.theme_files import ThemeProblem, read_theme_file

    bad = tmp_path / "deep.toml"
    bad.write_text("x = " + "[" * 20000 + "]" * 20000 + "\n")
    got = read_theme_file(bad)
    assert isinstance(got, ThemeProblem) and "nested too deeply" in got.message
