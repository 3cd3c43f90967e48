"""Themes for the TUI: built-in and user theme files to Textual themes (files are read and
checked UI-free in :mod:`tokentui.theme_files`); the App cycles through them with ``t``."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from textual.app import App
from textual.color import Color, ColorParseError
from textual.theme import Theme

from tokentui.theme_files import ThemeProblem, ThemeSpec, load_theme_dirs, read_theme_file

DEFAULT_THEME = "tokentop-dark"
THEME_SAVE_DELAY = 0.5  # seconds after the last `t` before the theme is written to config


def theme_from_spec(spec: ThemeSpec) -> Theme:
    """A Textual theme from a checked theme file; raises ``ValueError`` naming a bad colour."""
    for key, value in spec.colors:
        try:
            Color.parse(value)
        except ColorParseError:
            raise ValueError(f"{key}: {value!r} is not a colour Textual knows") from None
    for key, value in spec.variables:
        if key.endswith("text-style"):
            continue
        base = value.rsplit(" ", 1)[0] if value.endswith("%") else value
        try:
            Color.parse(base)
        except ColorParseError:
            raise ValueError(f"variables.{key}: {value!r} is not a colour Textual knows") from None
    extra = {k: v for k, v in (("luminosity_spread", spec.luminosity_spread), ("text_alpha", spec.text_alpha))
             if v is not None}
    return Theme(name=spec.name, dark=spec.dark, variables=dict(spec.variables), **dict(spec.colors), **extra)


def load_themes(dirs: Iterable[Path]) -> tuple[list[Theme], list[ThemeProblem]]:
    """Every usable theme in ``dirs`` (later directories override), and the files that failed."""
    found = load_theme_dirs(dirs)
    themes, problems = [], list(found.problems)
    for spec in found.themes:
        try:
            themes.append(theme_from_spec(spec))
        except ValueError as exc:
            problems.append(ThemeProblem(spec.path, str(exc)))
    return themes, problems



def resolve_theme(app: App, wanted: str, dirs: list[Path], problems: list[ThemeProblem]) -> str:
    """A theme name, a theme file's name (``my-theme`` for ``my-theme.toml``) or a path to
    a theme file, to a registered theme name (unknown names come back unchanged)."""
    if wanted in app.available_themes:
        return wanted
    path = Path(wanted).expanduser()
    candidates = [path] if path.suffix == ".toml" else [d / f"{wanted}.toml" for d in dirs]
    for candidate in candidates:
        if not candidate.is_file():
            continue
        got = read_theme_file(candidate)
        if isinstance(got, ThemeProblem):
            problems.append(got)
            return wanted
        if got.name not in app.available_themes:  # a file outside the theme dirs
            try:
                app.register_theme(theme_from_spec(got))
                app.theme_names.append(got.name)  # type: ignore[attr-defined]
            except ValueError as exc:
                problems.append(ThemeProblem(candidate, str(exc)))
                return wanted
        return got.name
    return wanted
