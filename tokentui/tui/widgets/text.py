"""Outside text on screen (model, source and team names, paths, provider and config errors):
always as text, never as markup, with control characters escaped by
:func:`tokentui.core.text.printable`.

Markup is for tokentop's own constant strings only. A line that mixes the two is assembled
from :class:`~textual.content.Content` parts: ``Content.assemble(plain(name, "b"), " ",
Content.from_markup("[dim]records[/]"))``, never an f-string of markup around data (Textual's
``escape`` misses an unclosed ``[``, and a ``[@click=…]`` in data would become a live action).
"""

from __future__ import annotations

from typing import Iterable

from rich.text import Text
from textual.content import Content

from tokentui.core.text import printable


def plain(text: object, style: str = "", *, newlines: bool = False) -> Content:
    """``text`` as literal content in ``style`` (``newlines``: keep its line breaks)."""
    return Content.styled(printable(text, newlines=newlines), style)


def rich_plain(text: object, style: str = "", justify=None) -> Text:
    """``text`` as a literal Rich ``Text``: for ``DataTable`` cells and ``Select`` options,
    which read a ``str`` as markup."""
    return Text(printable(text), style=style, justify=justify)


def lines(parts: Iterable[Content | str]) -> Content:
    """Lines joined by newlines (a ``str`` line is literal text, not markup)."""
    return Content("\n").join(p if isinstance(p, Content) else plain(p) for p in parts)


def markup(text: str) -> Content:
    """tokentop's own markup (a constant, never data) as content."""
    return Content.from_markup(text)
