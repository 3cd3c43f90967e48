"""Text from outside (agent logs, provider APIs, config and team files, file names) made safe
to show on a terminal. The one rule, used by every command and screen:

    every control character (C0 U+0000-U+001F, DEL U+007F, C1 U+0080-U+009F) and every lone
    surrogate (an undecodable byte of a file name) is shown as its ``\\uXXXX`` escape;
    only a newline is kept, and only in text that may span lines.

So an escape sequence in a model name (``ESC ] 0 ; title BEL`` sets the terminal's title)
prints as the visible text ``\\u001b]0;title\\u0007`` and never reaches the terminal. The
escape is the one JSON and TOML use, so a JSON or TOML document passed through
:func:`printable` still parses to the same data.

Markup is the other half: the TUI shows such text as text (``Content``/``Text``, never
markup), see ``tokentui/tui/widgets/text.py``; the CLI prints plain text only.
"""

from __future__ import annotations

import re

from tokentui.core.lazy_re import lazy_compile

#: what is never shown as is (newline is handled apart); compiled when first needed (~0.6 ms each)
_UNSAFE = lazy_compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_UNSAFE_OR_NEWLINE = lazy_compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def printable(text: object, *, newlines: bool = False) -> str:
    """``text`` (``str()`` of it) with every control character and lone surrogate replaced by
    its ``\\uXXXX`` escape. ``newlines``: keep ``\\n`` (text of several lines); otherwise it is
    escaped too, so a one-line field (a name, a table cell) stays on its line."""
    s = text if isinstance(text, str) else str(text)
    pattern = _UNSAFE if newlines else _UNSAFE_OR_NEWLINE
    if pattern.search(s) is None:
        return s
    return pattern.sub(_escape, s)

