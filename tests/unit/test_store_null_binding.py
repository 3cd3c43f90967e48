"""Binding None: the store registers an adapter that returns it unchanged (see store.db), so a
NULL is found at once instead of after two failed attribute lookups; it is still a NULL."""

from __future__ import annotations

import sqlite3

from tokentui.store import db  # noqa: F401 (registers the adapter)


def test_none_is_still_bound_as_null() -> None:
    assert (type(None), sqlite3.PrepareProtocol) in sqlite3.adapters
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (a, b INTEGER, c TEXT)")
    conn.executemany("INSERT INTO t VALUES (?, ?, ?)", [(None, None, None), (1, None, "x")])
    conn.execute("INSERT INTO t VALUES (:a, :b, :c)", {"a": None, "b": 2, "c": None})
    assert conn.execute("SELECT a IS NULL, b IS NULL, c IS NULL, typeof(a) FROM t").fetchall() == [
        (1, 1, 1, "null"), (0, 1, 0, "integer"), (1, 0, 1, "null")]
    assert conn.execute("SELECT ? IS NULL, coalesce(?, 'none')", (None, None)).fetchone() == (1, "none")
