"""How a local source is read: the ingest strategies a reader module declares.

Each local reader module ends with ``READER = <strategy>(...)``; the registry names it, and
the ingester (:mod:`tokentui.services.ingest`) runs the strategy without knowing the source:

* :class:`JsonlLog` — append-only JSON Lines: byte cursors per file, only new complete lines
  are read; big ingests are parsed in worker processes. An optional :class:`Dedupe` hook
  resolves copies of one response across files (Claude Code's §2.4 rules).
* :class:`RewrittenJson` — a JSON document rewritten in place: a changed file is parsed whole
  again; keys are stable, so re-parsing upserts the same rows.
* :class:`SignedDatabase` — a folder of databases (and files) re-read in full when its
  signature (sizes and mtimes) changes.
* :class:`WatermarkDatabase` — a database read from a watermark: only rows added or changed
  since the last read (a request per row, or with ``running_totals`` a thread's usage so far,
  of which the ingester stores each increase, dated at the change).
* :class:`Combined` — one source read in parts (files by cursor plus a database).
* :class:`SessionTotals` — agents that keep only running totals per session (a SQLite row
  updated in place, a settings file rewritten whole): each changed location is read from a
  watermark, and the ingester turns the snapshots into records with
  :func:`tokentui.core.session_totals.deltas` (whole session at its start the first time, the
  increase at the time it was seen after that); such tokens are labelled ``estimated``.

Every strategy has ``where(extra) -> (locations, problem)``: the folders it reads, for
`tokentop sources` and the Sources screen, and why none was found where the user said; and
may have ``looked(extra) -> paths``: every folder it tries, found or not, so a source that
finds nothing can say where it looked.
Pure declarations: functions and plain data (named tuples: cheap to define, and every
command imports this module), no store and no UI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, NamedTuple, Sequence

from tokentui.core.records import UsageRecord
from tokentui.sources.common import INVALID, LocalFile, loads

#: (extra roots from config) → (folders read, a problem to show when none was found)
Where = Callable[[Sequence[str]], tuple[list[str], "str | None"]]
#: (extra roots from config) → every folder (or file) tried, in order, found or not
Looked = Callable[[Sequence[str]], list[str]]
#: (extra roots, errors to append to) → (files found, a problem message or None)
Discover = Callable[[Sequence[str], "list[str] | None"], tuple[list[LocalFile], "str | None"]]
#: a record and whether its line had a ``speed`` field → the store's row, or None if invalid
RowOf = Callable[[UsageRecord, bool], "tuple | None"]


class ParseContext(NamedTuple):
    """What a parser may use besides a file's own bytes; plain data, inherited by workers."""

    pricer: Any
    mode: str  # the cost mode (auto | calculate | display)
    #: per source, what its ``prepare`` hook found across all files (e.g. Codex session paths)
    shared: dict[str, Any]


class LinesParsed(NamedTuple):
    """One file's new lines, parsed: rows (or dedupe items ending with the row) and counters."""

    items: list
    skipped: int
    duplicates: int
    state: dict  # parser state the next read resumes from (kept in the file's cursor)
    #: plan-limit observations (:class:`tokentui.core.quotas.Observation`, or their merged
    #: :class:`~tokentui.core.quotas.Row` s) the lines carried
    quotas: Sequence = ()


#: (chunks of ``(lines, offset of the first)``, the file, its cursor state or None for a read
#: from the start, the context, the row encoder, the file's mtime in ms) → what was parsed
ParseLines = Callable[[Iterator[tuple[list[bytes], int]], LocalFile, "dict | None", ParseContext, RowOf, int],
                      LinesParsed]


class Dedupe(NamedTuple):
    """Copies of one response spread over files: items are ``(key, msg_id, sidechain, total,
    has_speed, row)``; ``resolve(items, kept)`` → (index to upsert by key, stored keys to delete,
    indices of duplicates), given ``kept``: message id → ``make_kept(key, sidechain, total,
    has_speed)`` entries already stored, updated in place."""

    resolve: Callable[[Sequence[Sequence], dict], tuple[dict[str, int], set[str], list[int]]]
    make_kept: Callable[..., Any]


class JsonlLog(NamedTuple):
    where: Where
    discover: Discover
    parse: ParseLines
    dedupe: Dedupe | None = None
    #: (every file found) → data all parsers of this source share (in ``ParseContext.shared``)
    prepare: Callable[[list[LocalFile]], Any] | None = None
    parallel: bool = True  # may be parsed in worker processes
    looked: Looked | None = None
    #: raised when the parser reads more from the same bytes (e.g. a field it used to leave out):
    #: the next sync reads this source's files again from the start, once, and rows upserted by
    #: key take the new reading; or, with ``head_state``, only each file's first bytes. A reader
    #: with a dedupe hook needs ``head_state`` (the stored entries would count the copies read
    #: again as duplicates and keep the old rows)
    revision: int = 1
    #: (a file's first bytes, the file) → what its cursor's state gains at this revision (e.g.
    #: Claude Code's folder), or None: for files read before, without reading them again
    head_state: Callable[[bytes, LocalFile], "dict | None"] | None = None


class RewrittenJson(NamedTuple):
    where: Where
    discover: Discover
    #: (the whole file, the file, a pricer, mtime in ms) → (records, lines or messages skipped)
    parse_file: Callable[[bytes, LocalFile, Any, int], tuple[list[UsageRecord], int]]
    looked: Looked | None = None


class SignedDatabase(NamedTuple):
    where: Where
    locations: Callable[[Sequence[str]], list[Path]]
    signature: Callable[[Path], str]
    #: (a location, a pricer) → (records, skipped, a problem that means "read it again next time")
    read_all: Callable[[Path, Any], tuple[list[UsageRecord], int, "str | None"]]
    looked: Looked | None = None


class WatermarkDatabase(NamedTuple):
    where: Where
    locations: Callable[[Sequence[str]], list[Path]]
    signature: Callable[[Path], str]
    #: (a location, the watermark the last read returned or None) → (records of the rows added or
    #: changed since; the new watermark; skipped; a problem that means "read it again next time")
    read_since: Callable[[Path, "str | None"], tuple[list[UsageRecord], "str | None", int, "str | None"]]
    #: the records hold running totals (a thread's usage so far, ``session`` = the thread id,
    #: dated at the change): the ingester stores each one's increase over the last total seen
    running_totals: bool = False
    looked: Looked | None = None


class Combined(NamedTuple):
    """One source read in parts (e.g. log files by cursor and a database by watermark); every
    part's records are the source's, and its status sums the parts'."""

    parts: tuple

    def where(self, extra: Sequence[str] = ()) -> tuple[list[str], "str | None"]:
        found: list[str] = []
        problem = None
        for part in self.parts:
            got, why = part.where(extra)
            found += [g for g in got if g not in found]
            problem = problem or why
        return found, problem

    @property
    def looked(self) -> "Looked | None":
        """Every folder the parts try, found or not (None if no part says)."""
        parts = [p.looked for p in self.parts if getattr(p, "looked", None)]
        if not parts:
            return None

        def looked(extra: Sequence[str] = ()) -> list[str]:
            out: list[str] = []
            for part in parts:
                out += [p for p in part(extra) if p not in out]
            return out

        return looked


class SessionTotals(NamedTuple):
    where: Where
    locations: Callable[[Sequence[str]], list[Path]]
    signature: Callable[[Path], str]
    #: (a location, the watermark its last read returned or None) → (the sessions changed since
    #: the watermark as :class:`~tokentui.core.session_totals.SessionTotal`, rows skipped, a
    #: problem that means "read it again next time", the new watermark: JSON-ready)
    read: Callable[[Path, Any], tuple[list, int, "str | None", Any]]
    looked: Looked | None = None


LocalReader = JsonlLog | RewrittenJson | SignedDatabase | WatermarkDatabase | SessionTotals | Combined


def _first_copy(items: Sequence[Sequence], kept: dict) -> tuple[dict[str, int], set[str], list[int]]:
    """Records copied whole into other files (a fork, a branch) under the same global key: the
    copy read first is kept (its session and project), later ones are duplicates. Items are
    ``(key, key, …, row)``; ``kept`` maps a key already stored to a marker."""
    upsert: dict[str, int] = {}
    dups: list[int] = []
    for i, it in enumerate(items):
        key = it[0]
        if key in upsert or kept.get(key):
            dups.append(i)
            continue
        kept[key] = [key]
        upsert[key] = i
    return upsert, set(), dups


#: the :class:`Dedupe` for readers whose keys are global and whose copies are identical (Kimi, pi):
#: rows carry their key as ``msg_id`` so a copy read in a later sync is found in the store
FIRST_COPY = Dedupe(_first_copy, lambda key, *_: key)


def first_copy_item(r: UsageRecord, row) -> tuple:
    """The dedupe item :data:`FIRST_COPY` reads for record ``r`` (whose ``msg_id`` is its key)."""
    return (r.key, r.key, False, r.total, False, row)


def take_rows(records: Iterable[UsageRecord], row_of: RowOf, into: list) -> int:
    """Append each record's row to ``into``; returns how many were invalid (skipped)."""
    bad = 0
    for r in records:
        row = row_of(r, False)
        if row is None:
            bad += 1
        else:
            into.append(row)
    return bad


def json_line_rows(chunks: Iterable[tuple[Sequence[bytes], int]], record_of: Callable[[Any], Any], row_of: RowOf,
                   item: Callable[[UsageRecord, Any], Any] | None = None) -> tuple[list, int]:
    """The rows of the JSON lines in ``chunks`` (a parser's ``(lines, start)`` pairs), for
    readers with one record per line: ``record_of`` turns a parsed line into a record, None
    (not usage) or :data:`~tokentui.sources.common.INVALID` (corrupt). Returns the rows (each
    ``item(record, row)`` if given) and how many lines were skipped: not JSON, corrupt, or a
    record the store would refuse."""
    rows: list = []
    skipped = 0
    for lines, _start in chunks:
        for raw in lines:
            if not raw.strip():
                continue
            try:
                obj = loads(raw)
            except ValueError:
                skipped += 1
                continue
            r = record_of(obj)
            if r is None:
                continue
            row = None if r is INVALID else row_of(r, False)
            if row is None:
                skipped += 1
            else:
                rows.append(item(r, row) if item else row)
    return rows, skipped
