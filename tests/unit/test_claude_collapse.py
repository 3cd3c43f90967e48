"""ClaudeParser collapses consecutive streamed copies before the §2.4 dedupe: for any sequence of
lines and any stored state, the result must be what resolving every copy in turn gives."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from tokentui.core.pricing import Pricer
from tokentui.sources import claude_code, claude_dedupe
from tokentui.sources.common import LocalFile

FILE = LocalFile("/x/s.jsonl", claude_code.SOURCE, "proj", "sess", "proj/s.jsonl")
PRICER = Pricer({}, use_genai=False)

line_spec = st.tuples(st.sampled_from(["m1", "m2", None]), st.sampled_from(["r1", "r2", None]), st.booleans(),
                      st.integers(0, 3), st.booleans())
kept_spec = st.lists(st.tuples(st.sampled_from(["m1", "m2"]), st.sampled_from(["r1", "r2", "r9"]), st.booleans(),
                               st.integers(0, 3), st.booleans()), max_size=4)


def _line(n: int, msg_id, req_id, sidechain: bool, output: int, speed: bool) -> bytes:
    usage = {"input_tokens": 1, "output_tokens": output}
    if speed:
        usage["speed"] = "fast"
    msg = {"model": "claude-x", "usage": usage}
    if msg_id:
        msg["id"] = msg_id
    obj = {"type": "assistant", "isSidechain": sidechain, "timestamp": f"2026-11-20T10:00:{n:02d}Z", "message": msg}
    if req_id:
        obj["requestId"] = req_id
    return json.dumps(obj, separators=(",", ":")).encode()


def _kept(specs) -> dict[str, list[claude_dedupe.Kept]]:
    kept: dict[str, list[claude_dedupe.Kept]] = {}
    for msg_id, req_id, side, output, speed in specs:
        key = f"{msg_id}|{req_id}"
        group = kept.setdefault(msg_id, [])
        if all(k.key != key for k in group):
            group.append(claude_dedupe.Kept(key, side, 1 + output, speed))
    return kept


def _resolve(entries, kept):
    upsert, delete, dups = claude_dedupe.resolve_duplicates([claude_code.dedupe_item(e) for e in entries], kept)
    assert not set(upsert) & delete  # a key is either written or deleted, never both
    chosen = {key: entries[i].record.ts_ms for key, i in upsert.items()}  # the timestamp names the line
    return chosen, delete, len(dups), {m: [(k.key, k.sidechain, k.total, k.has_speed) for k in g]
                                       for m, g in kept.items()}


@settings(max_examples=400, deadline=None)
@given(st.lists(line_spec, max_size=12), kept_spec, st.integers(1, 5))
def test_collapsing_streamed_copies_changes_nothing(specs, stored, chunk) -> None:
    lines = [_line(n, *s) for n, s in enumerate(specs)]
    every = [e for line in lines for e in claude_code.ClaudeParser(FILE, PRICER).feed([line])]
    assert len(every) == len(lines)  # one parser per line: nothing collapsed
    parser = claude_code.ClaudeParser(FILE, PRICER)
    collapsed = []
    for i in range(0, len(lines), chunk):  # fed in pieces, as the ingest reads chunks
        collapsed += parser.feed(lines[i:i + chunk], final=False)
    collapsed += parser.feed([], final=True)
    assert len(collapsed) + parser.collapsed == len(lines)
    want = _resolve(every, _kept(stored))
    got = _resolve(collapsed, _kept(stored))
    assert got[0] == want[0] and got[1] == want[1] and got[3] == want[3]
    assert got[2] + parser.collapsed == want[2]  # every copy is still counted as a duplicate


def test_consecutive_copies_collapse_to_the_most_complete() -> None:
    lines = [_line(0, "m", "r", False, 1, False), _line(1, "m", "r", False, 3, False),
             _line(2, "m", "r", False, 2, False), _line(3, "m", "r", True, 9, False)]
    parser = claude_code.ClaudeParser(FILE, PRICER)
    entries = parser.feed(lines)
    assert [(e.record.output, e.record.sidechain) for e in entries] == [(3, False), (9, True)]
    assert parser.collapsed == 2
