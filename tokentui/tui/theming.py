"""Themes for the TUI: built-in and user theme files to Textual themes (files are read and
checked UI-free in :mod:`tokentui.theme_files`); the App cycles through them with ``t``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Iterable

from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style as RichStyle
from textual.app import App
from textual.color import Color, ColorParseError
from textual.filter import LineFilter
from textual.theme import Theme

from tokentui.theme_files import (AA_CONTRAST, ThemeProblem, ThemeSpec, contrast_ratio, is_style_variable,
                                  load_theme_dirs, read_theme_file)

DEFAULT_THEME = "tokentop-dark"
THEME_SAVE_DELAY = 0.5  # seconds after the last `t` before the theme is written to config


def theme_from_spec(spec: ThemeSpec) -> Theme:
    """A Textual theme from a checked theme file; raises ``ValueError`` naming the first field
    Textual would refuse. Each variable is parsed by Textual's stylesheet parser in a rule of
    its kind (``text-style`` or ``color``), as the widgets' stylesheets will use it: a value
    that parses there cannot break a stylesheet later, when a widget using it is mounted."""
    for key, value in spec.colors:
        try:
            Color.parse(value)
        except ColorParseError:
            raise ValueError(f"{key}: {value!r} is not a colour Textual knows") from None
    for key, value in spec.variables:
        if is_style_variable(key):
            if not _parses(key, "text-style", value):
                raise ValueError(f"variables.{key}: {value!r} is not a text style Textual knows")
            continue
        base = value.rsplit(" ", 1)[0] if value.endswith("%") else value
        try:
            Color.parse(base)
        except ColorParseError:
            raise ValueError(f"variables.{key}: {value!r} is not a colour Textual knows") from None
        if not _parses(key, "color", value):
            raise ValueError(f"variables.{key}: {value!r} is not a colour Textual knows")
    extra = {k: v for k, v in (("luminosity_spread", spec.luminosity_spread), ("text_alpha", spec.text_alpha))
             if v is not None}
    theme = Theme(name=spec.name, dark=spec.dark, variables=dict(spec.variables), **dict(spec.colors), **extra)
    try:
        theme.to_color_system().generate()  # what the app computes on every theme change
    except Exception as exc:  # noqa: BLE001 - whatever Textual raises, the theme is unusable
        raise ValueError(f"Textual cannot use this palette: {exc}") from None
    return theme


#: how far dim (secondary) text starts between its background (0) and its colour (1): a
#: terminal's faint is about half way; it moves toward the colour until it reads at WCAG AA
DIM_FACTOR = 0.5


@lru_cache(maxsize=4096)
def readable_dim(fg: tuple[int, int, int], bg: tuple[int, int, int]) -> tuple[int, int, int]:
    """The colour of dim text ``fg`` on ``bg``: the faintest blend from :data:`DIM_FACTOR`
    up that still has :data:`~tokentui.theme_files.AA_CONTRAST` on ``bg`` (the text colour
    itself when even that does not)."""
    steps = 20
    for i in range(steps + 1):
        f = DIM_FACTOR + (1 - DIM_FACTOR) * i / steps
        c = tuple(round(b + (a - b) * f) for a, b in zip(fg, bg))
        if contrast_ratio(c, bg) >= AA_CONTRAST:
            return c  # type: ignore[return-value]
    return fg


class ReadableDim(LineFilter):
    """Draws dim text in :func:`readable_dim`'s colour instead of leaving it to the terminal's
    faint attribute (which a light theme turns into 2.6:1 grey): secondary words stay quieter
    than the text around them and readable in every theme."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        out = []
        for seg in segments:
            style = seg.style
            if style is None or not style.dim or style.color is None or seg.control:
                out.append(seg)
                continue
            fg = style.color.get_truecolor()
            bg = (style.bgcolor.get_truecolor() if style.bgcolor is not None and not style.bgcolor.is_default
                  else background.rich_color.get_truecolor())
            rgb = readable_dim((fg.red, fg.green, fg.blue), (bg.red, bg.green, bg.blue))
            out.append(Segment(seg.text, style + RichStyle(color=RichColor.from_rgb(*rgb), dim=False), seg.control))
        return out


def _parses(key: str, rule: str, value: str) -> bool:
    """Whether Textual's stylesheet parser takes ``rule: $key`` with ``key`` set to ``value``."""
    from textual.css.stylesheet import Stylesheet

    try:
        sheet = Stylesheet(variables={key: value})
        sheet.add_source(f"Widget {{ {rule}: ${key}; }}", read_from=("theme", ""))
        sheet.parse()
    except Exception:  # noqa: BLE001 - StylesheetParseError, tokenizer errors: all refusals
        return False
    return True


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
            _add(problems, got)
            return wanted
        if got.name not in app.available_themes:  # a file outside the theme dirs
            try:
                app.register_theme(theme_from_spec(got))
                app.theme_names.append(got.name)  # type: ignore[attr-defined]
            except ValueError as exc:
                _add(problems, ThemeProblem(candidate, str(exc)))
                return wanted
        return got.name
    return wanted


def _add(problems: list[ThemeProblem], problem: ThemeProblem) -> None:
    """Note ``problem`` once: a file in the themes folder was already checked when loaded."""
    if all(p.path.resolve() != problem.path.resolve() for p in problems):
        problems.append(problem)


def install_themes(app: App, wanted: str, dirs: list[Path]) -> tuple[str, list[ThemeProblem]]:
    """Register every usable theme in ``dirs`` with ``app`` (its names in ``app.theme_names``)
    and switch to ``wanted`` (a name, a theme file's name or a path), else the default.
    Returns what was resolved from ``wanted`` and the problems to tell the user about."""
    themes, problems = load_themes(dirs)
    app.theme_names = [t.name for t in themes]  # type: ignore[attr-defined]
    for t in themes:
        app.register_theme(t)
    resolved = resolve_theme(app, wanted, dirs, problems)
    if resolved in app.available_themes:
        app.theme = resolved
    elif DEFAULT_THEME in app.available_themes:
        app.theme = DEFAULT_THEME
    return resolved, problems

