"""The Claude parser's per-line pre-filter (claude_code._maybe_usage) scans each line as few
times as it can, and still keeps exactly the lines that may hold a ``"usage"`` key with an
object value in any spelling JSON allows: it never drops a line a JSON parser would read as one."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from tokentui.sources import claude_code

PIECES = [
    '{"message":{"id":"m","usage":{"input_tokens":1,"output_tokens":2}}}',
    '{"message": {"usage" : {"input_tokens": 1}}}',  # ordinary spacing
    '{"message":{"\\u0075sage":{"input_tokens":1}}}',  # escaped letters
    '{"message":{"usag\\u0065":\t{"input_tokens":1}}}',
    '{"message":{"\\u0055sage":{}}}',  # not the key: "Usage"
    '{"message":{"content":"the usage was fine"}}',
    '{"toolUseResult":{"usage":"none"},"message":{"usage":{}}}',  # the first "usage" is no object
    '{"content":"\\u001b[31m red\\n"}',  # escapes, no usage key
    '{"usage":[1]}',
    '\ufeff{"message":{"usage":{}}}',  # a byte-order mark
    'not json "usage":{',
    '"usage"', '\\', '\\u00', '"usage":', ' : {',
]


def _reference(line: bytes) -> bool:
    """The filter as first written: the compact form, else the regex on a line with "usage" or \\u00."""
    return claude_code._USAGE_MARK in line or (
        (b'"usage"' in line or b"\\u00" in line) and claude_code._USAGE_KEY.search(line) is not None)


@settings(max_examples=600, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=12)), max_size=6))
def test_filter_equals_the_reference(pieces) -> None:
    line = "".join(pieces).encode("utf-8", "surrogatepass")
    assert claude_code._maybe_usage(line) == _reference(line)


def test_every_spelling_a_parser_reads_is_kept() -> None:
    for piece in PIECES:
        line = piece.encode()
        try:
            obj = orjson.loads(line.removeprefix(b"\xef\xbb\xbf"))
        except orjson.JSONDecodeError:
            continue
        msg = obj.get("message") if isinstance(obj, dict) else None
        if isinstance(msg, dict) and isinstance(msg.get("usage"), dict):
            assert claude_code._maybe_usage(line), piece
