"""The one rule for outside text on a terminal (``tokentui.core.text.printable``) and the TUI's
text-not-markup helpers, attacked with arbitrary strings: no control character survives,
nothing else changes, JSON and TOML documents keep their data, and no string is ever read
as markup."""

from __future__ import annotations

import json
import random
import tomllib
from dataclasses import dataclass
from decimal import Decimal

import tomli_w
from hypothesis import given
from hypothesis import strategies as st

from tests.hardening import hostile_text as H
from tests.hardening.strategies import examples
from tokentui.core.text import printable

FAST = examples(300)
ANY_TEXT = st.text(st.characters(blacklist_categories=()))  # every code point, lone surrogates too
#: the characters markup and terminals care about, to build many nasty names quickly
NASTY = "[]/@=\\$:.;() ab\x1b\x07\x9b\x9c\x7f\x00\r\n\t\ud8ff\udcff"


@FAST
@given(ANY_TEXT)
def test_printable_leaves_no_control_character(text):
    one_line, lines = printable(text), printable(text, newlines=True)
    assert not H.CONTROL.search(one_line) and "\n" not in one_line
    assert not H.CONTROL.search(lines)
    assert lines.count("\n") == text.count("\n")
    if not H.CONTROL.search(text) and "\n" not in text:
        assert one_line is text or one_line == text  # clean text is left alone
    one_line.encode("utf-8")  # always encodable, even from undecodable file-name bytes


@FAST
@given(ANY_TEXT)
def test_a_json_document_keeps_its_data(text):
    doc = json.dumps({"model": text, "n": [1, text]}, ensure_ascii=False, indent=2)
    assert json.loads(printable(doc, newlines=True)) == {"model": text, "n": [1, text]}


@FAST
@given(st.text())
def test_a_toml_document_keeps_its_data(text):
    doc = tomli_w.dumps({"name": text, "t": {"models": [text]}})
    assert tomllib.loads(printable(doc, newlines=True)) == {"name": text, "t": {"models": [text]}}


def test_the_rule_is_a_visible_escape():
    assert printable(H.MODELS["osc"]) == "osc\\u001b]0;pwned\\u0007title"
    assert printable("a\nb") == "a\\u000ab" and printable("a\nb", newlines=True) == "a\nb"
    assert printable("\x9b\x7f\udcff") == "\\u009b\\u007f\\udcff"
    assert printable("[bold]é ✓ 日本") == "[bold]é ✓ 日本"  # markup and non-ASCII are not control characters


@dataclass(frozen=True)
class _Share:
    name: str
    tokens: int = 1000
    cost: Decimal = Decimal("1.5")
    share: float = 0.5
    unpriced_tokens: int = 0


@dataclass(frozen=True)
class _Source:
    name: str
    status: str
    last_sync_ms: int | None = None


def _nasty_names(n: int, seed: int = 15) -> list[str]:
    rnd = random.Random(seed)
    names = list(H.MODELS.values()) + [H.TEAM, H.PROVIDER_ERROR, "[", "]", "\\", "[/]", "[@click=app.bell]x",
                                       "[$accent]x", "x\\[y", "[b]"]
    names += ["".join(rnd.choice(NASTY) for _ in range(rnd.randint(1, 24))) for _ in range(n)]
    return names


async def test_widgets_render_any_name_as_text():
    """Every widget and helper that shows outside names draws them literally and never
    raises, whatever the name (400 names, random strings of markup and control characters)."""
    from textual.app import App
    from textual.widgets import Static

    from tokentui.tui.widgets.source_status_list import SourceStatusList
    from tokentui.tui.widgets.text import lines, plain, rich_plain
    from tokentui.tui.widgets.top_list import TopList

    class Host(App):
        def compose(self):
            yield TopList(id="top")
            yield SourceStatusList(id="src")
            yield Static(id="static")

    app = Host()
    async with app.run_test(size=(120, 12)) as pilot:
        top, src, static = app.query_one(TopList), app.query_one(SourceStatusList), app.query_one(Static)
        for name in _nasty_names(400):
            shown = printable(name)
            top.items = (_Share(name),)
            src.rows, src.shares = (_Source(name, "ok"), _Source("codex", name)), ()
            out = top.render().plain
            assert not H.CONTROL.search(out) and shown[:8] in out, (name, out)
            out = src.render().plain
            assert not H.CONTROL.search(out) and shown[:12].rstrip() in out, (name, out)
            static.update(lines([plain(name, "b"), plain(name, newlines=True)]))
            await pilot.pause(0)
            assert static.render().plain == f"{shown}\n{printable(name, newlines=True)}"
            assert rich_plain(name).plain == shown and not rich_plain(name).spans
            assert plain(name).plain == shown and not plain(name).spans
