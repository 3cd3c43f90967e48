"""The machine-readable snapshots: JSON and TOML (the input of ``team build``) and CSV.

JSON and TOML hold the envelope ``{format, schema_version, digest, data}``; the digest is
sha256 of the canonical JSON of ``data`` (see :mod:`tokentui.export.model`), so re-indenting
or re-ordering either file keeps it valid while changing any value does not.

CSV holds the daily rows. Spreadsheets cannot carry a digest in a cell without it being
data, so the file starts with three ``#`` comment lines: a title, ``# sha256: HEX`` and
``# data: {JSON}`` (the whole snapshot). ``tokentop verify`` checks the data against the
digest and the rows against the data. Readers that do not skip ``#`` lines (pandas:
``comment="#"``; spreadsheets: delete the first three rows) see them as rows, so inside the
JSON strings of that line ``, = + - @`` are written as ``\\u`` escapes: a spreadsheet that
splits the line at commas never gets a cell that starts with a formula made from a model
or project name (``x,=HYPERLINK(…),y``).
"""

from __future__ import annotations

import csv
import io
import json
import re

from tokentui.export import text as tx
from tokentui.export.model import TOKEN_FIELDS, Snapshot

CSV_FIELDS = ("date",) + TOKEN_FIELDS + ("total_tokens", "cost_usd", "unpriced_tokens")
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


def render_csv(snap: Snapshot) -> str:
    """Daily rows after three comment lines carrying the digest and the data."""
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
