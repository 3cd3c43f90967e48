"""Zed agent threads (spec/agents.md §11): running totals per thread in a SQLite database.

``<Zed data dir>/threads/threads.db``, table ``threads`` (``id``, ``updated_at`` RFC 3339,
``data_type`` ``zstd`` | ``json``, ``data``, later also ``parent_id``, ``folder_paths``,
``created_at``). ``data`` is the thread's JSON, zstd-compressed in current writes. Usage is
``cumulative_token_usage`` (Anthropic-style: ``input_tokens`` excludes the cache), the sum of
every request of the thread; ``request_token_usage`` is a per-turn context gauge, never added.
Imported (shared) threads are skipped. Model ``model.model``; Zed stores no cost (priced).

Read as a :class:`~tokentui.sources.readers.WatermarkDatabase`: rows whose ``updated_at`` is at
or after the watermark are read (read-only, ``mode=ro``, with a busy timeout); the ingester
stores each thread's increase since the total it last saw, dated at ``updated_at``. So a cold
read dates a whole thread at its last save, and later syncs date each increase at the save
that showed it: the tokens are exact, their timing is an estimate (per save, not per request).

A zstd row needs a decoder: Python 3.14's ``compression.zstd``, else the ``zstandard`` package
(a dependency below 3.14). Decompressed rows are capped at :data:`MAX_THREAD` bytes.
"""

from __future__ import annotations

import io
import os
import sqlite3
import sys
from pathlib import Path
from typing import Sequence

from tokentui.core.records import UNPRICED, UsageRecord
from tokentui.sources.common import INVALID as _BAD
from tokentui.sources.common import MAX_TOKENS, existing_dirs, loads, open_ro, parse_ts_ms, stat_signature
from tokentui.sources.common import optional_count as _count

SOURCE = "zed"
DB = Path("threads") / "threads.db"
MAX_THREAD = 256 << 20  # a thread's JSON larger than this (decompressed) is skipped
_FIELDS = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


def _candidates(extra: Sequence[str] = ()) -> list[Path]:
    """Zed's data dir per OS (``$XDG_DATA_HOME/zed`` or ``~/.local/share/zed`` on Linux,
    ``~/Library/Application Support/Zed`` on macOS, ``%LOCALAPPDATA%\\Zed`` on Windows), plus
    ``extra`` dirs from config (a data dir or its ``threads`` folder)."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA", "").strip() or os.path.expanduser("~/AppData/Local")
        cands = [os.path.join(base, "Zed")]
    elif sys.platform == "darwin":
        cands = ["~/Library/Application Support/Zed"]
    else:
        cands = [os.path.join(os.environ.get("XDG_DATA_HOME", "").strip() or "~/.local/share", "zed")]
    dirs = [Path(os.path.expanduser(c)) for c in [*cands, *extra]]
    return list(dict.fromkeys(d.parent if d.name == "threads" else d for d in dirs))


def data_dirs(extra: Sequence[str] = ()) -> list[Path]:
    """The data dirs of :func:`_candidates` that hold ``threads/threads.db``."""
    return [d for d in existing_dirs(_candidates(extra)) if (d / DB).is_file()]


def looked(extra: Sequence[str] = ()) -> list[str]:
    """Every ``threads/threads.db`` tried, found or not."""
    return [str(d / DB) for d in _candidates(extra)]


def signature(location: Path) -> str:
    db = location / DB
    return stat_signature([str(db), f"{db}-wal"])


def _zstd_reader():
    try:
        from compression import zstd  # Python 3.14+

        def read(data: bytes, limit: int) -> bytes:
            return zstd.ZstdDecompressor().decompress(data, max_length=limit)
        return read
    except ImportError:
        pass
    try:
        import zstandard
    except ImportError:
        return None

    def read(data: bytes, limit: int) -> bytes:
        parts, size = [], 0
        with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True) as r:
            while size < limit:
                chunk = r.read(min(1 << 20, limit - size))
                if not chunk:
                    break
                parts.append(chunk)
                size += len(chunk)
        return b"".join(parts)
    return read


def _no_decoder(_data: bytes, _limit: int) -> bytes:
    raise RuntimeError("no zstd decoder (install the zstandard package)")


_unzstd = None


def thread_json(data_type, data) -> dict | None:
    """A row's thread document, or None when it cannot be read (damaged, too big, no decoder)."""
    global _unzstd
    if type(data) is str:
        data = data.encode("utf-8", "surrogatepass")
    if type(data) is not bytes or len(data) > MAX_THREAD:
        return None
    if data_type == "zstd":
        if _unzstd is None:
            _unzstd = _zstd_reader() or _no_decoder
        try:
            data = _unzstd(data, MAX_THREAD + 1)
        except Exception:  # noqa: BLE001 - any decoder error means a damaged row
            return None
        if len(data) > MAX_THREAD:
            return None
    elif data_type != "json":
        return None
    try:
        doc = loads(data)
    except ValueError:
        return None
    return doc if type(doc) is dict else None


def _project(folder_paths) -> str | None:
    if type(folder_paths) is not str or not folder_paths.strip():
        return None
    first = folder_paths.strip().splitlines()[0].rstrip("/\\")
    return os.path.basename(first) or None


def read_since(location: Path, watermark: str | None) -> tuple[list[UsageRecord], str | None, int, str | None]:
    """The running totals of every thread saved at or after ``watermark`` (all threads when
    None), the new watermark, rows skipped (damaged, not a thread), and a problem (the
    database could not be read: read again next time). Never raises on bad data."""
    out: list[UsageRecord] = []
    skipped = 0
    mark = watermark
    try:
        conn = open_ro(location / DB)
    except sqlite3.Error as exc:
        return [], watermark, 0, f"cannot open {location / DB}: {exc}"
    try:
        cols = {r[1] for r in conn.execute("PRAGMA table_info(threads)")}
        folders = "folder_paths" if "folder_paths" in cols else "NULL"
        rows = conn.execute(f"SELECT id, updated_at, data_type, data, {folders} FROM threads "
                            "WHERE ? IS NULL OR updated_at >= ? ORDER BY updated_at, id", (watermark, watermark))
        for tid, updated, data_type, data, folder_paths in rows:
            if type(updated) is str and (mark is None or updated > mark):
                mark = updated
            doc = thread_json(data_type, data)
            ts_ms = parse_ts_ms(updated) if type(updated) is str else None
            if doc is None or type(tid) is not str or not tid or ts_ms is None:
                skipped += 1
                continue
            if doc.get("imported") is True:
                continue  # a shared thread opened from a link: nobody here spent it
            usage = doc.get("cumulative_token_usage")
            if usage is None:
                continue
            got = [_count(usage.get(f)) for f in _FIELDS] if type(usage) is dict else [_BAD]
            if _BAD in got or max(got) > MAX_TOKENS:
                skipped += 1
                continue
            model = doc.get("model")
            name = model.get("model") if type(model) is dict else None
            name = name.strip() if type(name) is str and name.strip() else None
            inp, outp, cw, cr = got
            out.append(UsageRecord(SOURCE, tid, ts_ms, name, inp, outp, cw, 0, cr, 0, _project(folder_paths), tid,
                                   None, UNPRICED, model_fallback=name is None))
    except sqlite3.Error as exc:
        return out, watermark, skipped, f"cannot read {location / DB}: {exc}"
    finally:
        conn.close()
    return out, mark, skipped, None


def where(extra: Sequence[str] = ()) -> tuple[list[str], str | None]:
    return [str(d / DB) for d in data_dirs(extra)], None


def _reader():
    from tokentui.sources.readers import WatermarkDatabase

    return WatermarkDatabase(where=where, locations=data_dirs, signature=signature, read_since=read_since,
                             running_totals=True, looked=looked)


READER = _reader()
