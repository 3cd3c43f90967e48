"""Helpers shared by the local log readers: file listing, JSON, timestamps."""

from __future__ import annotations

import os
import re
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator, NamedTuple
from urllib.parse import quote

from tokentui.core.records import MAX_TOKENS, MAX_TS_MS, MIN_TS_MS, token_count  # noqa: F401 (re-exported)

def _json_loads(data: bytes | str):
    import json

    try:
        return json.loads(data)
    except RecursionError:  # orjson stops at depth 1024 with a ValueError; so does this
        raise ValueError("JSON nested too deeply") from None


def _loads(data: bytes | str):
    """The parser, imported at the first line parsed and used directly from then on (this
    function replaces itself): orjson, Claude log parsing 271 vs 210 MB/s with json (README),
    imports ``dataclasses``, ``inspect`` and ``uuid`` (~10 ms), which a sync with nothing new
    never pays. json keeps working without orjson."""
    global _loads
    try:
        import orjson

        _loads = orjson.loads  # raises orjson.JSONDecodeError, a ValueError
    except ImportError:  # pragma: no cover - exercised only without orjson
        _loads = _json_loads
    return _loads(data)


def parser_ready() -> None:
    """Load the parser now: before worker processes fork (each would load it again)."""
    _loads(b"0")


def _dumps(value) -> bytes:
    """orjson's writer, or json's (see :func:`_loads`; this function replaces itself)."""
    global _dumps
    try:
        import orjson

        _dumps = orjson.dumps
    except ImportError:  # pragma: no cover - exercised only without orjson
        import json

        _dumps = lambda v: json.dumps(v, ensure_ascii=False, separators=(",", ":")).encode()  # noqa: E731
    return _dumps(value)


def value_bytes(value) -> bytes | None:
    """A parsed JSON value written back: two values with the same bytes read the same to any
    rule, which ``==`` does not promise (``True == 1 == 1.0``). None when it cannot be written
    (an integer beyond 64 bits)."""
    try:
        return _dumps(value)
    except (TypeError, ValueError):
        return None


_BOM, _BOM_STR = b"\xef\xbb\xbf", "\ufeff"


def loads(data: bytes | str):
    """One JSON value; a UTF-8 byte-order mark before it is ignored (Python's ``json`` accepts
    one in bytes, and some writers put one before a file's, or a line's, first byte). Only a
    value that does not parse is looked at again: the usual path costs nothing extra."""
    try:
        return _loads(data)
    except ValueError:
        if type(data) is bytes and data.startswith(_BOM):
            return _loads(data[3:])
        if type(data) is str and data.startswith(_BOM_STR):
            return _loads(data[1:])
        raise


def load_document(data: bytes):
    """A small metadata file that discovery reads (a project registry, an index of work dirs):
    the standard library's parser (already loaded), so finding the logs never loads orjson (see
    :func:`_loads`). A UTF-8 byte-order mark is allowed, as in :func:`loads`; anything that does
    not parse raises ValueError."""
    return _json_loads(data)  # json.loads(bytes) detects the encoding and skips a BOM


def json_string_pattern(text: str) -> bytes:
    """A regex (bytes) for ``text`` as a JSON string's content may spell it: each ASCII
    character literally or as a ``\\uXXXX`` escape (hex digits in either case). A cheap
    pre-filter that looks for a literal name first falls back to this one, so it never skips
    a line a JSON parser would read as containing that name."""
    parts = []
    for ch in text:
        hexes = "".join(f"[{d.lower()}{d.upper()}]" if d.isalpha() else d for d in f"{ord(ch):04x}")
        parts.append("(?:" + re.escape(ch) + r"|\\u" + hexes + ")")
    return "".join(parts).encode()


#: JSON whitespace, as a regex (between a key, its colon and its value)
JSON_WS = rb"[ \t\r\n]*"


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MS = timedelta(milliseconds=1)
#: accepted timestamp range: 2000-01-01 … 2100-01-01 (rejects absurd or overflowing values)
MIN_MS, MAX_MS = MIN_TS_MS, MAX_TS_MS


#: marker for a value that is present but not a usable token count
INVALID = object()


def optional_count(v: object) -> object:
    """A token count field: 0 when absent, the count when valid, :data:`INVALID` otherwise."""
    if v is None:
        return 0
    n = token_count(v)
    return INVALID if n is None else n


class LocalFile(NamedTuple):
    """A log file found by discovery, with the identity the reports use."""

    path: str
    source: str
    project: str | None
    session: str | None
    rel: str  # path relative to its root, used in keys (stable if the root moves)
    kind: str = "session"  # codex: "session" | "headless"


#: a longer text is no folder a session ran in (PATH_MAX is 4096 on Linux)
MAX_FOLDER = 4096


def folder(value: object) -> str | None:
    """``value`` when it can be the folder a session ran in (a log's ``cwd``): a non-blank text
    of at most :data:`MAX_FOLDER` characters; else None."""
    if type(value) is str and 0 < len(value) <= MAX_FOLDER and not value.isspace():
        return value
    return None


#: bytes of a file's start a reader looks into for what its first lines say (see read_head)
HEAD_BYTES = 64 << 10


def read_head(path: str, n: int = HEAD_BYTES) -> bytes | None:
    """A file's first ``n`` bytes, or None when it cannot be read."""
    try:
        with open(path, "rb") as fh:
            return fh.read(n)
    except OSError:
        return None


def existing_dirs(candidates: Iterable[str | Path]) -> list[Path]:
    """The candidates that are directories (``~`` expanded), each real directory once, in order."""
    out: list[Path] = []
    seen: set[str] = set()
    for c in candidates:
        p = Path(os.path.expanduser(c))
        if p.is_dir():
            real = os.path.realpath(p)
            if real not in seen:
                seen.add(real)
                out.append(p)
    return out


def parse_ts_ms(value: str) -> int | None:
    """An ISO-8601 timestamp (``Z`` or ``±HH:MM``) to UTC epoch milliseconds, or None."""
    try:
        dt = datetime.fromisoformat(value)
    except (ValueError, TypeError):
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    try:
        ms = (dt - _EPOCH) // _MS
    except OverflowError:
        return None
    return ms if MIN_MS <= ms < MAX_MS else None


#: at most this many folder entries (files and folders) are looked at under one root: no
#: agent's log folder is this large, a root or link that reaches ``~`` or ``/`` is
MAX_WALK_ENTRIES = 1_000_000


def real_roots(folders: Iterable[str | Path]) -> list[str]:
    """The real paths (links resolved) of ``folders``: what :func:`walk_files` keeps links under."""
    return [os.path.realpath(f) for f in folders]


def is_under(real: str, roots: Iterable[str]) -> bool:
    """Whether the real path ``real`` is one of ``roots`` (real paths) or inside one."""
    for r in roots:
        if real == r or real.startswith(r if r.endswith(os.sep) else r + os.sep):
            return True
    return False


def walk_files(root: Path, suffixes: tuple[str, ...], errors: list[str] | None = None,
               max_depth: int = 64, *, within: Iterable[str] | None = None,
               max_entries: int | None = None) -> Iterator[str]:
    """Paths of regular files under ``root`` ending with one of ``suffixes``; symlinked folders
    are followed, each real folder is walked once (no symlink loops), at most ``max_depth``
    levels deep. A folder that cannot be listed (no permission) is skipped and named in
    ``errors``.

    ``within`` (real paths, see :func:`real_roots`) are the folders the walk may reach: a
    symlink, to a folder or to a file, whose target resolves outside all of them is not
    followed and is named in ``errors`` (a link to ``/`` or to another user's logs must not
    make a sync crawl the machine and count other people's usage). Every source's discovery
    passes its roots; ``None`` follows links anywhere. The walk stops, and says so, after
    ``max_entries`` (default :data:`MAX_WALK_ENTRIES`) entries, and names the folders it
    leaves unlisted below ``max_depth``.

    A folder's identity is ``(device, inode)``: ``stat`` is called only for the root and for
    symlinked folders; a plain subfolder is on its parent's device and its inode comes with
    the listing (a sync lists thousands of folders: this halves its system calls)."""
    try:
        st = os.stat(root)
    except FileNotFoundError:
        return
    except OSError as exc:
        if errors is not None:
            errors.append(f"{root}: {exc.strerror or exc}")
        return
    bounds = None if within is None else tuple(within)
    budget = MAX_WALK_ENTRIES if max_entries is None else max_entries
    too_deep = False

    def note(message: str) -> None:
        if errors is not None:
            errors.append(message)

    def outside(path: str) -> bool:
        if bounds is None:
            return False
        real = os.path.realpath(path)
        if is_under(real, bounds):
            return False
        note(f"{path}: a link to {real}, outside the folders tokentop reads for this source; not followed")
        return True

    seen = {(st.st_dev, st.st_ino)}
    stack = [(str(root), st.st_dev, 0)]
    while stack:
        d, dev, depth = stack.pop()
        try:
            with os.scandir(d) as it:
                for e in it:
                    budget -= 1
                    if budget < 0:
                        note(f"{root}: more than {MAX_WALK_ENTRIES if max_entries is None else max_entries:,} "
                             "files and folders; stopped listing (is this the right folder?)")
                        return
                    try:
                        if e.is_dir():
                            if depth >= max_depth:
                                if not too_deep:
                                    too_deep = True
                                    note(f"{e.path}: deeper than {max_depth} folders below {root}; not listed")
                                continue
                            if e.is_symlink():
                                if outside(e.path):
                                    continue
                                target = os.stat(e.path)
                                key, sub_dev = (target.st_dev, target.st_ino), target.st_dev
                            else:
                                key, sub_dev = (dev, e.inode()), dev
                            if key not in seen:
                                seen.add(key)
                                stack.append((e.path, sub_dev, depth + 1))
                        elif e.name.endswith(suffixes) and e.is_file():
                            if e.is_symlink() and outside(e.path):
                                continue
                            yield e.path
                    except OSError:
                        continue
        except FileNotFoundError:
            continue  # vanished while walking
        except OSError as exc:
            note(f"{d}: {exc.strerror or exc}")
            continue


def stat_signature(paths: Iterable[str], unstamped: Iterable[str] = ()) -> str:
    """A digest that changes whenever one of ``paths`` (identity, size, mtime) or of
    ``unstamped`` (size, mtime only) changes, appears or goes: how a reader that re-reads a
    whole location in one go knows the location changed (``stat`` only)."""
    import hashlib

    parts = []
    for p, inode in [*((p, True) for p in paths), *((p, False) for p in unstamped)]:
        try:
            st = os.stat(p)
        except OSError:
            continue
        parts.append(f"{p}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}" if inode else f"{p}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha1("\n".join(parts).encode("utf-8", "surrogateescape")).hexdigest()



def open_ro(path: str | Path, timeout_s: float = 2.0) -> sqlite3.Connection:
    """An agent's own SQLite database, opened read-only (``mode=ro``: never written, never
    created), waiting up to ``timeout_s`` for a writer's lock."""
    return sqlite3.connect("file:" + quote(os.path.abspath(path)) + "?mode=ro", uri=True, timeout=timeout_s)


def per_database(paths: Iterable[str], cache: dict, read: Callable[[str], frozenset]) -> frozenset:
    """The union of ``read(path)`` over ``paths``, each remembered in ``cache`` until the
    database or its WAL changes (identity, size, mtime): what a reader asks of an agent's
    database on every sync (e.g. which sessions it holds) without opening it each time."""
    out: set = set()
    for p in paths:
        ident = [p]
        for f in (p, p + "-wal"):
            try:
                st = os.stat(f)
                ident.append((st.st_ino, st.st_size, st.st_mtime_ns))
            except OSError:
                ident.append(None)
        key = tuple(ident)
        got = cache.get(key)
        if got is None:
            got = cache[key] = read(p)
        out |= got
    return frozenset(out)
