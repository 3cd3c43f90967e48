"""Theme files: reading and checking ``themes/*.toml`` and the user's themes (UI-free).

A theme file holds Textual's theme fields plus a ``[variables]`` table of app colours::

    name = "my-theme"            # required; letters, digits, '-' and '_'
    dark = true
    primary = "#4EA8DE"          # required
    secondary = "#9D7CD8"        # optional: accent, foreground, background, surface, panel,
                                 #           boost, success, warning, error
    [variables]
    burn-color = "#F2A65A"       # the colours tokentop's stylesheet uses (see APP_VARIABLES)
    block-cursor-text-style = "bold"   # a variable named ``*-style`` is a text style

Every field is checked here, each by its kind: a variable's value is substituted into the
stylesheets, so one the CSS parser would refuse (an unknown style flag, punctuation that ends
a rule) must never get through. The TUI turns a :class:`ThemeSpec` into a
``textual.theme.Theme`` and checks it once more with Textual's own parser. A file that fails
becomes a :class:`ThemeProblem` naming the file and the key, never an exception.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

#: Textual theme fields that hold a colour
COLOR_FIELDS = ("primary", "secondary", "accent", "foreground", "background", "surface", "panel", "boost",
                "success", "warning", "error")
OTHER_FIELDS = ("name", "dark", "luminosity_spread", "text_alpha", "variables")
#: colour variables tokentop's stylesheet uses; a theme without them gets defaults from its palette
APP_VARIABLES = ("burn-color", "input-color", "output-color", "cache-color")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$")
_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
_FUNC = re.compile(r"^(?:rgb|rgba|hsl|hsla)\(\s*[0-9.%,\s]+\)$")
_WORD = re.compile(r"^[a-z][a-z0-9_]*$")
_ALPHA = re.compile(r"^(.*\S)\s+\d{1,3}%$")
#: a stylesheet variable's name (Textual's ``$name``)
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$")
#: the words a text style is made of (Textual's VALID_STYLE_FLAGS)
STYLE_FLAGS = frozenset(("b", "blink", "bold", "dim", "i", "italic", "none", "not", "o", "overline", "reverse",
                         "strike", "u", "underline", "uu"))


@dataclass(frozen=True, slots=True)
class ThemeSpec:
    """A checked theme file. ``colors`` and ``variables`` are (key, value) pairs."""

    name: str
    path: Path
    dark: bool = True
    colors: tuple[tuple[str, str], ...] = ()
    variables: tuple[tuple[str, str], ...] = ()
    luminosity_spread: float | None = None
    text_alpha: float | None = None

    def color(self, key: str) -> str | None:
        return dict(self.colors).get(key)


@dataclass(frozen=True, slots=True)
class ThemeProblem:
    """A theme file that could not be used, and why, in plain words."""

    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path.name}: {self.message}"


class ThemeFileError(ValueError):
    """Raised by :func:`parse_theme` with a message naming the key at fault."""


def color_syntax_ok(value: str, allow_alpha: bool = True) -> bool:
    """True when ``value`` looks like a colour: ``#hex``, ``rgb()``/``hsl()``, a name, or any of
    those followed by an alpha percentage (``"#112233 40%"``)."""
    v = value.strip()
    if allow_alpha:
        m = _ALPHA.match(v)
        if m:
            v = m.group(1)
    return bool(_HEX.match(v) or _FUNC.match(v) or _WORD.match(v))


def is_style_variable(key: str) -> bool:
    """Whether the variable ``key`` holds a text style (``block-cursor-text-style``,
    ``link-style``), not a colour."""
    return key.endswith("-style")


def style_syntax_ok(value: str) -> bool:
    """True when ``value`` is a text style: words from :data:`STYLE_FLAGS` and spaces only."""
    words = value.split()
    return bool(words) and all(w in STYLE_FLAGS for w in words) and value.isascii() and value.isprintable()


def parse_theme(text: str, path: Path) -> ThemeSpec:
    """Check one theme document; raise :class:`ThemeFileError` on the first problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ThemeFileError(f"invalid TOML: {exc}") from None
    unknown = [k for k in raw if k not in COLOR_FIELDS + OTHER_FIELDS]
    if unknown:
        raise ThemeFileError(f"unknown key {unknown[0]!r} (known: {', '.join(COLOR_FIELDS + OTHER_FIELDS)})")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ThemeFileError("'name' must be a short name of letters, digits, '-' or '_'")
    if "primary" not in raw:
        raise ThemeFileError("'primary' colour is required")
    colors = []
    for key in COLOR_FIELDS:
        if key in raw:
            value = raw[key]
            if not isinstance(value, str) or not color_syntax_ok(value, allow_alpha=False):
                raise ThemeFileError(f"{key}: {value!r} is not a colour (use \"#RRGGBB\")")
            colors.append((key, value.strip()))
    dark = raw.get("dark", True)
    if not isinstance(dark, bool):
        raise ThemeFileError("dark: must be true or false")
    numbers: dict[str, float | None] = {}
    for key, lo, hi in (("luminosity_spread", 0.0, 1.0), ("text_alpha", 0.0, 1.0)):
        v = raw.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi):
            raise ThemeFileError(f"{key}: must be a number between {lo} and {hi}")
        numbers[key] = None if v is None else float(v)
    variables = raw.get("variables", {})
    if not isinstance(variables, dict):
        raise ThemeFileError("[variables] must be a table")
    pairs = []
    for key, value in variables.items():
        if not _VARIABLE.match(key):
            raise ThemeFileError(f"variables.{key!r}: not a variable name (letters, digits, '-' and '_')")
        if not isinstance(value, str) or not value.strip():
            raise ThemeFileError(f"variables.{key}: must be a non-empty string")
        if is_style_variable(key):
            if not style_syntax_ok(value):
                raise ThemeFileError(f"variables.{key}: {value!r} is not a text style (use words from: "
                                     f"{', '.join(sorted(STYLE_FLAGS))})")
        elif not color_syntax_ok(value):
            raise ThemeFileError(f"variables.{key}: {value!r} is not a colour")
        pairs.append((key, value.strip()))
    return ThemeSpec(name, path, dark, tuple(colors), tuple(pairs), numbers["luminosity_spread"],
                     numbers["text_alpha"])


def read_theme_file(path: Path) -> ThemeSpec | ThemeProblem:
    """A checked theme, or the problem with the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return ThemeProblem(path, "not UTF-8 text")
    except OSError as exc:
        return ThemeProblem(path, f"cannot read: {exc.strerror or exc}")
    try:
        return parse_theme(text, path)
    except ThemeFileError as exc:
        return ThemeProblem(path, str(exc))
    except RecursionError:  # tomllib on absurdly nested tables or arrays
        return ThemeProblem(path, "nested too deeply to be a theme file")


@dataclass(frozen=True, slots=True)
class ThemeFiles:
    """Every theme found, in load order (later files override earlier ones of the same name)."""

    themes: tuple[ThemeSpec, ...]
    problems: tuple[ThemeProblem, ...]

    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.themes)


def load_theme_dirs(dirs: Iterable[Path]) -> ThemeFiles:
    """Read ``*.toml`` from each directory in order (missing directories are fine)."""
    by_name: dict[str, ThemeSpec] = {}
    problems: list[ThemeProblem] = []
    for d in dirs:
        try:
            files = sorted(p for p in d.glob("*.toml") if p.is_file())
        except OSError:
            continue
        for f in files:
            got = read_theme_file(f)
            if isinstance(got, ThemeProblem):
                problems.append(got)
            else:
                by_name.pop(got.name, None)  # keep load order, latest wins
                by_name[got.name] = got
    return ThemeFiles(tuple(by_name.values()), tuple(problems))


# --- contrast (WCAG 2) ---------------------------------------------------------------------
#: the contrast every text colour keeps on its background: WCAG AA for normal text
AA_CONTRAST = 4.5


def relative_luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG 2 relative luminance of an sRGB colour (0–255 channels)."""
    def channel(v: int) -> float:
        c = v / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = rgb
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_ratio(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """WCAG 2 contrast ratio of two colours, 1.0 (none) to 21.0 (black on white)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)
