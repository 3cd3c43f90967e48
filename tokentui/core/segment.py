"""The share-folder segment format: one immutable, checksummed, compressed file of one
device's ledger rows (pure: bytes in, bytes out; the folder walk is in
:mod:`tokentui.services.devices`).

A segment file is named ``seg-<seq>-<records>-<digest>.json.gz``: ``seq`` is the device's
segment number (8+ digits), ``records`` how many rows and deletions it holds, and ``digest``
the first 32 hex digits of the SHA-256 of the file's bytes. So a half-written, half-copied or
truncated file is told apart by its name alone, before it is decompressed. Inside, gzip wraps
one JSON document::

    {"format": "tokentop-segment", "version": 1, "device": "<device id>", "name": "<device name>",
     "seq": 12, "created_ms": ..., "count": 2, "columns": {"source": [...], "key": [...], ...},
     "deleted": [[source, key, deleted_ms], ...],
     "quota": {"count": 3, "columns": {"source": [...], ...}}}     (plan-quota samples, optional)

``columns`` holds each ledger column's values, one list per column (columnar: it parses and
is checked twice as fast as a list per row), so a newer tokentop can add columns and an older
one ignores them. A device writes only its own folder, ``<folder>/<device id>/``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
from dataclasses import dataclass

import orjson

FORMAT = "tokentop-segment"
VERSION = 1
#: the segment file name; anything else in a device folder is not a segment
NAME = re.compile(r"^seg-(\d{8,12})-(\d{1,9})-([0-9a-f]{32})\.json\.gz$")
#: a device folder's name: the device id
DEVICE_ID = re.compile(r"^[0-9a-f]{32}$")
#: names sync engines give copies of a file two sides changed (Syncthing, Dropbox/OneDrive, git)
CONFLICT = re.compile(r"\.sync-conflict-|conflicted copy|\(conflict|\.orig$|-conflict-", re.IGNORECASE)
#: names of files still being written or copied (ours, Syncthing's, Dropbox's, rsync's, generic)
TEMP = re.compile(r"^\.|^~|\.tmp$|\.part$|\.partial$|\.download$|^~syncthing~", re.IGNORECASE)

#: the columns a segment row carries, in the order tokentop writes them (``raw`` never leaves
#: the machine: provider bodies can name users; ``project`` is a name, never a path)
COLUMNS = ("source", "key", "kind", "ts_ms", "width_s", "model", "model_fallback", "input", "output",
           "cache_write_5m", "cache_write_1h", "cache_read", "reasoning", "requests", "project", "session",
           "cost_pico", "cost_label", "logged_cost_pico", "msg_id", "sidechain", "has_speed", "token_label",
           "device", "updated_ms")
REQUIRED = ("source", "key", "kind", "ts_ms", "cost_label", "device", "updated_ms")
#: plan-quota samples (spec/quotas.md §3.2, table ``quota_sample``), when the store has them
QUOTA_COLUMNS = ("source", "provider", "account", "lim", "win", "resets_at", "session", "used_bp", "window_s",
                 "raw_resets_at", "reset_src", "plan", "first_seen_ms", "last_seen_ms", "device")
_QUOTA_INTS = frozenset(("resets_at", "used_bp", "window_s", "raw_resets_at", "first_seen_ms", "last_seen_ms"))
_QUOTA_NULLABLE = frozenset(("window_s", "raw_resets_at", "plan"))
_INT_COLS = frozenset(("ts_ms", "width_s", "model_fallback", "input", "output", "cache_write_5m", "cache_write_1h",
                       "cache_read", "reasoning", "requests", "cost_pico", "logged_cost_pico", "sidechain",
                       "has_speed", "updated_ms"))
_NULLABLE = frozenset(("model", "project", "session", "cost_pico", "logged_cost_pico", "msg_id"))
_TEXT_MAX = 4096
_INT_MAX = 2**63 - 1
KINDS = ("local", "api")
LABELS = ("billed", "estimated", "unpriced")
#: whether a row's token counts are exact or an estimate (a segment without the column: exact)
TOKEN_LABELS = ("exact", "estimated")


class BadSegment(ValueError):
    """A segment that cannot be imported; the message says why in plain words."""


@dataclass(frozen=True, slots=True)
class Segment:
    device: str
    name: str
    seq: int
    created_ms: int
    columns: tuple[str, ...]
    values: tuple[list, ...]  # one list per column, in ``columns`` order
    deleted: list[list]
    quota: list[tuple] = ()  # rows in QUOTA_COLUMNS order
    host: str = ""  # a hash of the writing machine's host name ("" if not given)

    @property
    def rows(self) -> list[tuple]:
        return list(self.iter_rows())

    def iter_rows(self):
        """The ledger rows as tuples in ``columns`` order, made one at a time."""
        return zip(*self.values) if self.values and self.values[0] else iter(())

    @property
    def records(self) -> int:
        """Ledger rows and deletions (what the file name counts)."""
        return (len(self.values[0]) if self.values else 0) + len(self.deleted)

    @property
    def count(self) -> int:
        return self.records + len(self.quota)


@dataclass(frozen=True, slots=True)
class SegmentName:
    seq: int
    count: int
    digest: str


def file_name(seq: int, count: int, digest: str) -> str:
    return f"seg-{seq:08d}-{count}-{digest[:32]}.json.gz"


def parse_name(name: str) -> SegmentName | None:
    m = NAME.match(name)
    return SegmentName(int(m.group(1)), int(m.group(2)), m.group(3)) if m else None


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def encode(device: str, name: str, seq: int, created_ms: int, rows: list, deleted: list,
           columns: tuple[str, ...] = COLUMNS, level: int = 6, quota: list | None = None,
           host: str = "") -> tuple[bytes, str]:
    """The file's bytes and its name; ``rows`` are sequences in ``columns`` order, ``quota``
    in :data:`QUOTA_COLUMNS` order."""
    cols = [list(c) for c in zip(*rows)] if rows else [[] for _ in columns]
    doc = {"format": FORMAT, "version": VERSION, "device": device, "name": name, "seq": seq,
           "created_ms": created_ms, "count": len(rows), "columns": dict(zip(columns, cols)), "deleted": deleted}
    if host:
        doc["host"] = host
    if quota:
        doc["quota"] = {"count": len(quota), "columns": dict(zip(QUOTA_COLUMNS, map(list, zip(*quota))))}
    data = gzip.compress(orjson.dumps(doc), compresslevel=level, mtime=0)
    return data, file_name(seq, len(rows) + len(deleted) + len(quota or ()), digest_of(data))


def decode(data: bytes, expect: SegmentName, device: str, max_bytes: int) -> Segment:
    """Verify and read one segment file's bytes. ``expect`` is what its name promises and
    ``device`` the folder it lies in. Raises :class:`BadSegment`."""
    if digest_of(data) != expect.digest:
        raise BadSegment("incomplete or damaged: its checksum does not match (still being copied?)")
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
            raw = fh.read(max_bytes + 1)
    except (OSError, EOFError, ValueError) as exc:
        raise BadSegment(f"cannot be decompressed: {exc}") from None
    if len(raw) > max_bytes:
        raise BadSegment(f"too large: over {max_bytes // 2**20} MB uncompressed")
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadSegment(f"not valid JSON: {exc}") from None
    del raw
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BadSegment("not a tokentop segment")
    if doc.get("version") != VERSION:
        raise BadSegment(f"segment version {doc.get('version')!r}, not {VERSION}: upgrade tokentop on this device")
    if doc.get("device") != device:
        raise BadSegment("it names another device than the folder it is in")
    if doc.get("seq") != expect.seq:
        raise BadSegment("its sequence number differs from its file name")
    name, created, count = doc.get("name"), doc.get("created_ms"), doc.get("count")
    if (not isinstance(name, str) or not name or len(name) > 200 or type(created) is not int
            or type(count) is not int or count < 0):
        raise BadSegment("its header is incomplete")
    columns, deleted = doc.get("columns"), doc.get("deleted")
    if not isinstance(columns, dict) or not set(REQUIRED) <= set(columns):
        raise BadSegment("its column list is missing or incomplete")
    if not isinstance(deleted, list):
        raise BadSegment("its list of deletions is missing")
    quota = doc.get("quota")
    n_quota = quota.get("count") if isinstance(quota, dict) and type(quota.get("count")) is int else 0
    if count + len(deleted) + n_quota != expect.count:
        raise BadSegment(f"it holds {count + len(deleted) + n_quota} records, its name says {expect.count}")
    known = [c for c in COLUMNS if c in columns]  # a newer tokentop's extra columns are left out
    _check_columns(columns, known, count)
    for d in deleted:
        if (not isinstance(d, list) or len(d) != 3 or not _text(d[0]) or not _text(d[1])
                or type(d[2]) is not int or not 0 <= d[2] <= _INT_MAX):
            raise BadSegment("a deletion in it is malformed")
    values = tuple(columns[c] for c in known)
    host = doc.get("host") if isinstance(doc.get("host"), str) else ""
    return Segment(device, name, expect.seq, created, tuple(known), values, deleted, _quota(doc.get("quota")),
                   host[:64])


def _quota(doc) -> list[tuple]:
    if doc is None:
        return []
    if not isinstance(doc, dict) or type(doc.get("count")) is not int or not isinstance(doc.get("columns"), dict):
        raise BadSegment("its quota samples are malformed")
    cols, count = doc["columns"], doc["count"]
    if set(cols) != set(QUOTA_COLUMNS):
        raise BadSegment("its quota samples have other columns than tokentop writes")
    _check_columns(cols, list(QUOTA_COLUMNS), count, _QUOTA_INTS, _QUOTA_NULLABLE, labels=False)
    return list(zip(*(cols[c] for c in QUOTA_COLUMNS))) if count else []


def _text(v) -> bool:
    return isinstance(v, str) and 0 < len(v) <= _TEXT_MAX


def _check_columns(columns: dict, known: list[str], count: int, ints: frozenset = _INT_COLS,
                   nullables: frozenset = _NULLABLE, labels: bool = True) -> None:
    """Every column as long as the count and every value the right type (the store would
    otherwise keep a string where a count belongs, and sums would silently go wrong). Checked a
    column at a time, with C-speed builtins: a million values in well under a second."""
    for c in known:
        col = columns[c]
        if type(col) is not list or len(col) != count:
            raise BadSegment(f"its {c} column has the wrong number of values")
        if not count:
            continue
        types = set(map(type, col))
        nullable = c in nullables
        if nullable:
            types.discard(type(None))
        if c in ints:
            if types - {int}:
                raise BadSegment(f"a row in it has a non-integer {c}")
            vals = list(filter(None, col)) if nullable else col  # without None (and 0: in range)
            if vals and (min(vals) < 0 or max(vals) > _INT_MAX):  # no count, stamp or cost is negative
                raise BadSegment(f"a row in it has an out-of-range {c}")
        else:
            if types - {str}:
                raise BadSegment(f"a row in it has an invalid {c}")
            vals = list(filter(None, col)) if nullable else col  # without None (and "": short enough)
            if vals and max(map(len, vals)) > _TEXT_MAX:
                raise BadSegment(f"a row in it has an invalid {c} (too long)")
    if count and labels:
        if set(columns["kind"]) - set(KINDS) or set(columns["cost_label"]) - set(LABELS):
            raise BadSegment("a row in it has an unknown kind or cost label")
        if "token_label" in known and set(columns["token_label"]) - set(TOKEN_LABELS):
            raise BadSegment("a row in it has an unknown token label")
