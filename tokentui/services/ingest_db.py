"""The database strategies of an ingest (:mod:`tokentui.services.ingest`): sources read from
databases rather than log files, after the files: re-read on a changed signature
(:class:`~tokentui.sources.readers.SignedDatabase`), read from a watermark
(:class:`~tokentui.sources.readers.WatermarkDatabase`, with running totals turned into their
increases) and running totals per session (:class:`~tokentui.sources.readers.SessionTotals`).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3

from tokentui.services.ingest_result import SourceResult, quarantine
from tokentui.sources.readers import SessionTotals, SignedDatabase, WatermarkDatabase
from tokentui.store import ledger
from tokentui.store.db import transaction


class DatabaseSources:
    """The :class:`~tokentui.services.ingest.Ingestor`'s reading of database sources (a mixin:
    it uses the ingestor's ``conn``, ``extra``, ``device``, ``pricer``, ``_price`` and
    ``_priced``)."""

    def _database(self, source: str, reader: SignedDatabase) -> SourceResult:
        """Databases (e.g. OpenCode's SQLite, plus legacy JSON files): re-read a location when
        its signature (sizes and mtimes of its databases, WAL and files) changes."""
        result = SourceResult(source)
        dirs = reader.locations(self.extra.get(source, ()))
        result.files = len(dirs)
        quarantined = 0  # kept per location: a location read before says its count again
        for d in dirs:
            sig = reader.signature(d)
            name = f"signature:{d}"
            if ledger.get_sync_state(self.conn, source, name) == sig:
                with contextlib.suppress(TypeError, ValueError):
                    quarantined += int(ledger.get_sync_state(self.conn, source, f"implausible:{d}") or 0)
                continue
            records, skipped, problem = reader.read_all(d, self.pricer)
            records, bad = quarantine(records)
            skipped += bad
            quarantined += bad
            if problem:
                result.errors.append(f"{d}: {problem}")
            with transaction(self.conn):
                ledger.upsert(self.conn, records, self.device)
                if not problem:  # a database that could not be read (locked, damaged) is read again next time
                    ledger.set_sync_state(self.conn, source, name, sig)
                ledger.set_sync_state(self.conn, source, f"skipped:{d}", str(skipped))
                ledger.set_sync_state(self.conn, source, f"implausible:{d}", str(bad))
            result.files_read += 1
            result.records += len(records)
            result.skipped += skipped
        result.implausible = quarantined
        return result

    def _changed_locations(self, source: str, reader, result: SourceResult):
        """``(location, signature)`` of each of ``reader``'s locations whose signature differs
        from the one stored at its last read (``result.files`` counts every location)."""
        dirs = reader.locations(self.extra.get(source, ()))
        result.files = len(dirs)
        for d in dirs:
            sig = reader.signature(d)
            if ledger.get_sync_state(self.conn, source, f"signature:{d}") != sig:
                yield d, sig

    def _watermarked(self, source: str, reader: WatermarkDatabase) -> SourceResult:
        """A database read from a watermark: the rows added or changed since the location's
        last read are stored (priced here). With ``running_totals`` (e.g. Zed threads) each
        entity's increase over the total last seen (kept in sync state, read and written in one
        transaction, so two syncs never both add it) becomes a record dated at the change; a
        counter that went down (a rewound thread) adds nothing and becomes the new base: spent
        tokens are never taken back, never counted twice."""
        result = SourceResult(source)
        for d, sig in self._changed_locations(source, reader, result):
            mark = ledger.get_sync_state(self.conn, source, f"watermark:{d}")
            snaps, new_mark, skipped, problem = reader.read_since(d, mark)
            bad = 0
            if not reader.running_totals:  # a running total is many requests: not one implausible line
                snaps, bad = quarantine(snaps)
                skipped += bad
            if problem:
                result.errors.append(f"{d}: {problem}")
            with transaction(self.conn):
                rows = (self._increases(source, d, snaps) if reader.running_totals
                        else [self._priced(r) for r in snaps])
                ledger.upsert(self.conn, rows, self.device)
                if not problem:
                    ledger.set_sync_state(self.conn, source, f"signature:{d}", sig)
                    if new_mark is not None:
                        ledger.set_sync_state(self.conn, source, f"watermark:{d}", new_mark)
                ledger.set_sync_state(self.conn, source, f"skipped:{d}", str(skipped))
            result.files_read += 1
            result.records += len(rows)
            result.skipped += skipped
            result.implausible += bad
        return result

    def _increases(self, source: str, location, totals: list) -> list:
        """Records of what each running total in ``totals`` grew by since the one last seen for
        its entity at ``location`` (kept in sync state; call in the transaction that stores them)."""
        rows = []
        for r in totals:
            name = f"total:{location}:{r.session}"
            cur = [r.input, r.output, r.cache_write_5m, r.cache_write_1h, r.cache_read, r.reasoning]
            try:
                prev = json.loads(ledger.get_sync_state(self.conn, source, name) or "null")
            except ValueError:
                prev = None
            if not (isinstance(prev, list) and len(prev) == len(cur) and all(isinstance(p, int) for p in prev)):
                prev = [0] * len(cur)
            i, o, c5, c1, cr, reas = (max(c - p, 0) for c, p in zip(cur, prev))
            ledger.set_sync_state(self.conn, source, name, json.dumps(cur))
            if i or o or c5 or c1 or cr:
                rows.append(self._priced(r.replace(key=f"{r.session}|{r.ts_ms}", input=i, output=o, cache_write_5m=c5,
                                                 cache_write_1h=c1, cache_read=cr, reasoning=min(reas, o),
                                                 logged_cost_pico=None)))
        return rows

    def _session_totals(self, source: str, reader: SessionTotals) -> SourceResult:
        """Running totals per session (Goose, Droid, Crush, Hermes): a changed location is read
        from its watermark; new sessions count whole, known ones by their increase over what the
        ledger already holds for them (see :mod:`tokentui.core.session_totals`)."""
        from tokentui.core.session_totals import deltas

        result = SourceResult(source)
        for d, sig in self._changed_locations(source, reader, result):
            try:
                mark = json.loads(ledger.get_sync_state(self.conn, source, f"watermark:{d}") or "null")
            except ValueError:
                mark = None
            try:
                snaps, skipped, problem, new_mark = reader.read(d, mark)
            except (OSError, ValueError, TypeError, AttributeError, sqlite3.Error) as exc:
                # data no reader foresaw: one line in the source's status, never a traceback
                result.errors.append(f"{d}: cannot read: {exc}")
                continue
            if problem:
                result.errors.append(f"{d}: {problem}")
            with transaction(self.conn):  # what was counted is read and added to under the write lock
                records, _state = deltas(source, ledger.session_sums(self.conn, source), snaps)
                records, bad = quarantine(records)
                for r in records:
                    r.cost_pico, r.cost_label = self._price(r.model, r.input, r.output, r.cache_write_5m,
                                                            r.cache_write_1h, r.cache_read, r.logged_cost_pico)
                ledger.upsert(self.conn, records, self.device)
                if not problem:
                    ledger.set_sync_state(self.conn, source, f"signature:{d}", sig)
                    ledger.set_sync_state(self.conn, source, f"watermark:{d}", json.dumps(new_mark))
                ledger.set_sync_state(self.conn, source, f"skipped:{d}", str(skipped + bad))
            result.files_read += 1
            result.records += len(records)
            result.skipped += skipped + bad
            result.implausible += bad
        return result
