"""Amp threads (spec/agents.md §2): one JSON document per thread, rewritten whole.

``<data dir>/threads/T-<uuid>.json``. A thread with ``usageLedger.events`` is counted from
the ledger (one record per event, key ``<thread id>|evt:<event id>``; input/output from the
event's ``tokens``, the cache numbers from ``messages[messageId == toMessageId].usage``), and
its messages' usage is not counted again (it describes the same calls). Otherwise one record
per assistant message with ``usage`` (key ``<thread id>|msg:<messageId>``), dated at
``usage.timestamp`` (else the message's ``timestamp``, else the thread's ``created`` + the
message index in seconds, tokscale's rule).

``inputTokens`` is uncached input, ``outputTokens`` includes thinking; ``totalInputTokens`` is a
context size and never added. Cost is priced from tokens; Amp's ``credits`` (its own billing
unit, USD value not verified) are not stored. A thread that does not parse is being written:
it is skipped (counted) and read again when it changes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from tokentui.core.records import ESTIMATED, UNPRICED, UsageRecord
from tokentui.sources.common import INVALID as _BAD
from tokentui.sources.common import (MAX_MS, MIN_MS, LocalFile, existing_dirs, loads, parse_ts_ms, real_roots,
                                     walk_files)
from tokentui.sources.common import optional_count as _count

SOURCE = "amp"
ENV = ("AMP_DATA_DIR",)


def _candidates(extra: Sequence[str] = ()) -> list[Path]:
    """The ``threads/`` folders to try, in order."""
    env = os.environ.get("AMP_DATA_DIR", "").strip()
    if env:
        cands = [p.strip() for p in env.split(",") if p.strip()]
    else:
        xdg = os.environ.get("XDG_DATA_HOME", "").strip() or "~/.local/share"
        cands = [os.path.join(xdg, "amp"), "~/.local/share/amp"]
    dirs = [Path(os.path.expanduser(c)) for c in list(cands) + list(extra)]
    out: list[Path] = []
    for d in dirs:
        t = d if d.name == "threads" else d / "threads"
        if t not in out:
            out.append(t)
    return out


def looked(extra: Sequence[str] = ()) -> list[str]:
    """Every ``threads/`` folder tried, found or not."""
    return [str(p) for p in _candidates(extra)]


def roots(extra: Sequence[str] = ()) -> tuple[list[Path], str | None]:
    """``threads/`` folders to read: of each dir in ``$AMP_DATA_DIR`` (comma list, ccusage's
    override; Amp documents none), else of ``${XDG_DATA_HOME:-~/.local/share}/amp`` and
    ``~/.local/share/amp``; plus ``extra`` dirs from config. A dir that is itself a
    ``threads`` folder is read as is."""
    env = os.environ.get("AMP_DATA_DIR", "").strip()
    found = existing_dirs(_candidates(extra))
    problem = f"no Amp threads folder in AMP_DATA_DIR ({env})" if env and not found else None
    return found, problem


def discover(extra: Sequence[str] = (), errors: list[str] | None = None) -> tuple[list[LocalFile], str | None]:
    """Every ``*.json`` directly in each ``threads/`` folder, sorted by path. Links are followed
    only while they stay under one of the folders read."""
    rts, problem = roots(extra)
    within = real_roots(rts)
    files, seen = [], set()
    for root in rts:
        for path in walk_files(root, (".json",), errors, within=within):
            real = os.path.realpath(path)
            if os.path.dirname(path) != str(root) or real in seen:  # threads sit directly in threads/
                continue
            seen.add(real)
            name = os.path.basename(path)[:-5]
            files.append(LocalFile(path, SOURCE, None, name, name))
    files.sort(key=lambda f: f.path)
    return files, problem


def _counts(u: dict, names: tuple[str, ...]) -> list | None:
    got = [_count(u.get(n)) for n in names]
    return None if any(v is _BAD for v in got) else got


_USAGE = ("inputTokens", "outputTokens", "cacheCreationInputTokens", "cacheReadInputTokens", "totalTokens")


def parse_file(data: bytes, file: LocalFile, pricer, mtime_ms: int = 0) -> tuple[list[UsageRecord], int]:
    """Usage records of one thread file, and how many corrupt records (or a corrupt file) were
    skipped. Never raises on bad input."""
    try:
        doc = loads(data)
    except ValueError:
        return [], 1  # caught mid-write (or damaged): read again when it changes
    if type(doc) is not dict or type(doc.get("messages")) is not list:
        return [], 1
    thread = doc.get("id") if type(doc.get("id")) is str and doc.get("id") else file.session
    created = doc.get("created")
    created = created if type(created) is int and MIN_MS <= created < MAX_MS else None
    skipped = 0
    by_id: dict[int, dict] = {}
    for m in doc["messages"]:
        if type(m) is dict and type(m.get("messageId")) is int:
            by_id[m["messageId"]] = m
    out: list[UsageRecord] = []

    def add(key: str, ts_ms: int | None, model, inp: int, outp: int, cw: int, cr: int) -> None:
        nonlocal skipped
        if not (inp or outp or cw or cr):
            return
        if ts_ms is None or type(model) is not str or not model.strip():
            skipped += 1
            return
        model = model.strip()
        cost = pricer.cost_pico(model, inp, outp, cw, 0, cr) if pricer is not None else None
        out.append(UsageRecord(SOURCE, f"{thread}|{key}", ts_ms, model, inp, outp, cw, 0, cr, 0, None, thread,
                               cost, UNPRICED if cost is None else ESTIMATED))

    ledger = doc.get("usageLedger")
    events = ledger.get("events") if type(ledger) is dict else None
    if type(events) is list and events:
        for ev in events:
            if type(ev) is not dict or type(ev.get("tokens")) is not dict or not ev.get("id"):
                skipped += 1
                continue
            c = _counts(ev["tokens"], ("input", "output", "total"))
            msg = by_id.get(ev.get("toMessageId")) if type(ev.get("toMessageId")) is int else None
            mu = msg.get("usage") if type(msg) is dict else None
            cache = _counts(mu, _USAGE[2:4]) if type(mu) is dict else [0, 0]
            ts = ev.get("timestamp")
            if c is None or cache is None:
                skipped += 1
                continue
            inp, outp, total = c
            if not (inp or outp) and total:
                outp = total
            add(f"evt:{ev['id']}", parse_ts_ms(ts) if type(ts) is str else None, ev.get("model"), inp, outp,
                *cache)
        return out, skipped
    for m in doc["messages"]:
        if type(m) is not dict or m.get("role") != "assistant" or m.get("usage") is None:
            continue
        u, mid = m["usage"], m.get("messageId")
        if type(u) is not dict or type(mid) is not int:
            skipped += 1
            continue
        c = _counts(u, _USAGE)
        if c is None:
            skipped += 1
            continue
        inp, outp, cw, cr, total = c
        if not (inp or outp or cw or cr) and total:
            outp = total  # only a total: counted as output
        ts = u.get("timestamp") if u.get("timestamp") is not None else m.get("timestamp")
        ts_ms = parse_ts_ms(ts) if type(ts) is str else None
        if ts is None and created is not None:
            ts_ms = created + mid * 1000
        add(f"msg:{mid}", ts_ms, u.get("model"), inp, outp, cw, cr)
    return out, skipped


def where(extra: Sequence[str] = ()) -> tuple[list[str], str | None]:
    found, problem = roots(extra)
    return [str(r) for r in found], problem


def _reader():
    from tokentui.sources.readers import RewrittenJson

    return RewrittenJson(where=where, discover=discover, parse_file=parse_file, looked=looked)


READER = _reader()
