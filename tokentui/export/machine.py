"""The machine-readable snapshots: JSON and TOML (the input of ``team build``) and CSV.

JSON and TOML hold the envelope ``{format, schema_version, digest, data}``; the digest is
sha256 of the canonical JSON of ``data`` (see :mod:`tokentui.export.model`), so re-indenting
or re-ordering either file keeps it valid while changing any value does not.

CSV is what a spreadsheet opens: one header row, then one row per day, every row with the
same columns; the last column, ``snapshot_sha256``, is the snapshot's digest. The data the
digest covers is not in the CSV (a 44 KB JSON cell or comment line is no CSV): the export
writes it beside the CSV as ``FILE.csv.verify.json`` (:func:`sidecar_path`, the JSON snapshot
itself), and ``tokentop verify FILE.csv`` checks that file and renders the rows again from
it. Every cell is a date, a number or the hex digest: nothing a spreadsheet runs as a formula.

CSVs of layout 2 and older (three ``#`` lines: a title, ``# sha256: HEX``, ``# data: {JSON}``)
still verify: :func:`render_csv_legacy` renders them exactly as they were written. Inside the
JSON strings of their data line ``, = + - @`` are ``\\u`` escapes (:func:`csv_data_json`).
"""

from __future__ import annotations

import csv
import io
import json
import re

from tokentui.export import text as tx
from tokentui.export.model import TOKEN_FIELDS, Snapshot

CSV_FIELDS = ("date",) + TOKEN_FIELDS + ("total_tokens", "cost_usd", "unpriced_tokens")
#: the CSV's columns: the day's figures, then the snapshot's digest
CSV_COLUMNS = CSV_FIELDS + ("snapshot_sha256",)
#: appended to a CSV's file name for the JSON snapshot written beside it
SIDECAR_SUFFIX = ".verify.json"
CSV_TITLE = "# tokentop snapshot: daily usage"
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_CELL_STARTS = re.compile(r"[,=+\-@]")
#: what json.dumps (DEL, C1) and tomli-w (C1) leave raw; both only ever write them inside a
#: double-quoted string, where ``\uXXXX`` is the same character: a viewer of the file never
#: gets an escape sequence, and parsing gives back exactly the data
_RAW_CONTROL = re.compile("[\x7f-\x9f]")


def _no_raw_controls(text: str) -> str:
    return _RAW_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def csv_data_json(data) -> str:
    """:func:`tokentui.export.text.embed_json` with ``, = + - @`` inside strings escaped too
    (``json.loads`` gives back exactly ``data``)."""
    return _JSON_STRING.sub(lambda m: _CELL_STARTS.sub(lambda c: f"\\u{ord(c.group()):04x}", m.group()),
                            tx.embed_json(data))


def render_json(snap: Snapshot) -> str:
    """Pretty JSON of the envelope (keys sorted, UTF-8 kept)."""
    return _no_raw_controls(json.dumps(snap.envelope(), indent=2, sort_keys=True, ensure_ascii=False)) + "\n"


def render_toml(snap: Snapshot) -> str:
    """TOML of the envelope, written with tomli-w."""
    import tomli_w

    # no comment header: text outside [data] and the envelope keys would not be covered
    return _no_raw_controls(tomli_w.dumps(snap.envelope()))


def sidecar_path(path):
    """Where the data of the CSV at ``path`` is written: ``usage.csv`` → ``usage.csv.verify.json``."""
    return path.with_name(path.name + SIDECAR_SUFFIX)


def render_csv(snap: Snapshot) -> str:
    """A header row, then one row per day ending in the snapshot's digest (plain CSV)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for row in snap.data["daily"]:
        w.writerow([row.get(f, 0) for f in CSV_FIELDS] + [snap.digest])
    return buf.getvalue()


def render_csv_legacy(snap: Snapshot) -> str:
    """The CSV of layout 2 and older: daily rows after three comment lines carrying the
    digest and the data (kept so that such files still verify in full)."""
    d = snap.data
    buf = io.StringIO()
    buf.write(f"{CSV_TITLE} {d['period']['start']} to {d['period']['end']} ({d['period']['timezone']}); "
              "`tokentop verify FILE` checks it\n")
    buf.write(f"# sha256: {snap.digest}\n")
    buf.write(f"# data: {csv_data_json(d)}\n")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    for row in d["daily"]:
        w.writerow([row.get(f, 0) for f in CSV_FIELDS])
    return buf.getvalue()
