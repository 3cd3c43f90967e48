"""``tokentop verify``: is a snapshot file exactly what tokentop wrote?

For every format the data is read back and its sha256 (of the canonical JSON) compared with
the digest the file states:

* json / toml: the envelope's ``digest`` against ``data`` (re-indenting or re-ordering the
  file is fine; changing any value is not);
* md / html: the embedded data (fenced block / HTML comment) against the stated digest, and
  then the whole document is rendered again from that data and compared with the file (line
  endings and trailing spaces ignored), so an edit to the readable tables is caught too. A
  document made by a tokentop with another layout version has its data checked only, and the
  result says so.
* csv: a plain CSV carries no data; its data is the JSON snapshot the export wrote beside it
  (``FILE.csv.verify.json``), checked like a json file, and then the rows are rendered again
  from it and compared with the CSV (so both files must be intact). A CSV of layout 2 or
  older carries its data in ``# sha256:`` / ``# data:`` lines and is checked like md.

Line endings and trailing spaces (which mail clients and editors add) are ignored in every
format. Refused: JSON that gives a key twice in one object (readers disagree on which value
counts), fields outside the envelope of a json/toml file (nothing there is covered by the
digest), and data fields a snapshot does not have.

The digest detects changes; it is not a signature (anyone can edit data and recompute it).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokentui.core import strict_json
from tokentui.export import render
from tokentui.export.machine import CSV_COLUMNS, CSV_TITLE, render_csv_legacy, sidecar_path
from tokentui.export.model import KIND, LAYOUT_VERSION, Snapshot, SnapshotError, digest, validate
from tokentui.export.text import EMBED_TAG

HEX = r"[0-9a-f]{64}"
#: the layouts this tokentop renders exactly, per format: layout 2 escaped text from the data
#: in Markdown and in the CSV's data line; layout 3 opens md and html with a summary and makes
#: the CSV plain rows (its data in a JSON file beside it); "csv-legacy" is the CSV with ``#``
#: lines, rendered as layout 2 wrote it
RENDERED_LAYOUTS = {"md": (3,), "html": (3,), "csv": (3,)}
LEGACY_LAYOUTS = {"csv-legacy": (2,)}
#: the first line of a plain tokentop CSV (layout 3 and later)
CSV_HEADER = ",".join(CSV_COLUMNS)
#: the top-level fields of a json or toml snapshot (the envelope); anything else is refused
ENVELOPE = ("format", "schema_version", "digest", "data")
_MD = re.compile(rf"^```json {EMBED_TAG} sha256=({HEX})\n(.*?)\n```[ \t]*$", re.M | re.S)
_HTML = re.compile(rf"<!-- {EMBED_TAG} sha256=({HEX})\n(.*?)\n-->", re.S)
_CSV = re.compile(rf"\A{re.escape(CSV_TITLE)}[^\n]*\n# sha256: ({HEX})\n# data: ([^\n]*)\n")


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome: ``ok`` (intact), the format found, the digest and a plain message."""

    ok: bool
    format: str | None
    message: str
    digest: str | None = None
    data: dict[str, Any] | None = None

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1


def _bad(fmt: str | None, why: str, stated: str | None = None) -> Verdict:
    return Verdict(False, fmt, f"ALTERED or damaged ({fmt or 'unknown format'}): {why}", stated)


def _normal(text: str) -> list[str]:
    lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _describe(data: dict[str, Any]) -> str:
    p = data["period"]  # a dict (validated); its fields may be missing in a hand-made file
    label = f" '{data['label']}'" if data.get("label") else ""
    return (f"snapshot{label} of {p.get('start', '?')} to {p.get('end', '?')} ({p.get('timezone', '?')}), "
            f"generated {data['generated_at']}")


def _check_data(fmt: str, data: Any, stated: str) -> Verdict | None:
    """A failing verdict, or None when ``data`` is a valid snapshot matching ``stated``."""
    try:
        validate(data)
    except SnapshotError as exc:
        return _bad(fmt, f"the data is not a valid snapshot: {exc}", stated)
    actual = digest(data)
    if actual != stated:
        return _bad(fmt, f"the data's sha256 is {actual}, the file states {stated}", stated)
    return None


def _load_json(fmt: str, text: str, what: str, stated: str | None = None) -> tuple[Any, Verdict | None]:
    """(the parsed value, None), or (None, a failing verdict): invalid JSON, or a key given
    twice in one object (readers disagree on which value counts; the digest covers one)."""
    try:
        return strict_json.loads(text), None
    except strict_json.DuplicateKeyError as exc:
        return None, _bad(fmt, f"{what} gives the key {exc.key!r} twice in one object, so readers "
                          "can see different values", stated)
    except ValueError as exc:
        return None, _bad(fmt, f"{what} is not valid JSON ({getattr(exc, 'msg', exc)})", stated)


def _check_document(fmt: str, text: str, embedded: str, stated: str, layout: str | None = None) -> Verdict:
    data, failed = _load_json(fmt, embedded, "the embedded data", stated)
    if failed:
        return failed
    failed = _check_data(fmt, data, stated)
    if failed:
        return failed
    return _check_rendering(fmt, text, data, stated, layout or fmt)


def _check_rendering(fmt: str, text: str, data: dict[str, Any], stated: str, layout: str) -> Verdict:
    """Render the document again from ``data`` (already checked against ``stated``) and
    compare it with ``text``; ``layout`` names the renderer (a format, or "csv-legacy")."""
    if data.get("layout_version") not in {**RENDERED_LAYOUTS, **LEGACY_LAYOUTS}[layout]:
        return Verdict(True, fmt, f"intact data ({fmt}): {_describe(data)}; sha256 {stated}. The readable part "
                       f"uses layout {data.get('layout_version')}, not this tokentop's ({LAYOUT_VERSION}), so only "
                       "the data was checked.", stated, data)
    try:
        snap = Snapshot(data, stated)
        want = _normal(render_csv_legacy(snap) if layout == "csv-legacy" else render(snap, fmt))
    except (LookupError, TypeError, ValueError, ArithmeticError, AttributeError) as exc:
        # digest and data agree, but the data lacks what every snapshot has: hand-made
        return _bad(fmt, f"the data does not have the shape of a snapshot ({type(exc).__name__} while "
                    "rendering it again)", stated)
    got = _normal(text)
    if want != got:
        line = next((i for i, (a, b) in enumerate(zip(want, got), 1) if a != b), min(len(want), len(got)) + 1)
        return _bad(fmt, f"the readable text no longer matches the embedded data (first difference at line {line})",
                    stated)
    return Verdict(True, fmt, f"intact ({fmt}): {_describe(data)}; sha256 {stated}", stated, data)


def _check_envelope(fmt: str, env: Any) -> Verdict:
    if not isinstance(env, dict) or env.get("format") != KIND or "data" not in env:
        return _bad(fmt, "not a tokentop snapshot (no format/data fields)")
    extra = sorted(str(k) for k in env if k not in ENVELOPE)
    if extra:  # outside the digest: whatever they say is unchecked
        return _bad(fmt, f"unexpected top-level field{'s' if len(extra) > 1 else ''} "
                    f"{', '.join(repr(k) for k in extra[:5])}{' …' if len(extra) > 5 else ''} (a snapshot has "
                    f"only {', '.join(ENVELOPE)}; nothing outside data is covered by the digest)")
    stated = env.get("digest")
    if not isinstance(stated, str) or not re.fullmatch(HEX, stated):
        return _bad(fmt, "the digest field is missing or is not a sha256 hex string")
    data = env["data"]
    failed = _check_data(fmt, data, stated)
    if failed:
        return failed
    if env.get("schema_version") != data.get("schema_version"):
        return _bad(fmt, "schema_version outside the data differs from the one inside", stated)
    return Verdict(True, fmt, f"intact ({fmt}): {_describe(data)}; sha256 {stated}", stated, data)


def _check_csv(text: str, sidecar: str | None) -> Verdict:
    """A plain CSV against the JSON snapshot written beside it."""
    if sidecar is None:
        return _bad("csv", "its data file (FILE.csv.verify.json, written beside it by `tokentop export`) "
                    "was not found, so the rows cannot be checked")
    env, failed = _load_json("csv", sidecar.lstrip("\ufeff"), "its data file")
    if failed:
        return failed
    checked = _check_envelope("csv", env)
    if not checked.ok:
        return checked
    return _check_rendering("csv", text, checked.data, checked.digest, "csv")


def verify_text(text: str, sidecar: str | None = None) -> Verdict:
    """Check a snapshot document's text (any format; detected from the content). A plain
    CSV is checked against ``sidecar``, the text of the JSON snapshot written beside it."""
    try:
        return _verify_text(text, sidecar)
    except RecursionError:  # json and tomllib recurse: a hostile file nests 100k deep
        return _bad(None, "the data is nested too deeply to be a snapshot")


def _verify_text(text: str, sidecar: str | None = None) -> Verdict:
    # a mail client or a Windows editor may add CRs and trailing spaces: neither counts
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = "\n".join(_normal(text))  # md, html and csv are read (and compared) without them
    m = _HTML.search(lines)
    if m and "<html" in lines[:500].lower():
        return _check_document("html", lines, m.group(2), m.group(1))
    m = _MD.search(lines)
    if m:
        return _check_document("md", lines, m.group(2), m.group(1))
    if lines.startswith(CSV_TITLE):
        m = _CSV.match(lines + "\n")
        if not m:
            return _bad("csv", "the digest and data comment lines at the top are missing or damaged")
        return _check_document("csv", lines, m.group(2), m.group(1), "csv-legacy")
    if lines.split("\n", 1)[0] == CSV_HEADER:
        return _check_csv(lines, sidecar)
    if text.lstrip().startswith("{"):  # JSON and TOML ignore trailing spaces themselves
        env, failed = _load_json("json", text, "the file")
        return failed or _check_envelope("json", env)
    try:
        env = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return Verdict(False, None, "not a tokentop snapshot: no embedded data or digest found "
                       "(expected md, html, json, toml or csv written by `tokentop export`)")
    return _check_envelope("toml", env)


def verify_file(path: Path) -> Verdict:
    """Check the snapshot at ``path``. Unreadable files give a failing verdict, not an exception."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return Verdict(False, None, f"cannot read {path}: {exc.strerror or exc}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _bad(None, "not UTF-8 text")
    sidecar = None
    if text.lstrip("\ufeff").startswith(CSV_HEADER):
        beside = sidecar_path(path)
        try:
            sidecar = beside.read_bytes().decode("utf-8")
        except FileNotFoundError:
            return _bad("csv", f"its data file {beside.name} (written beside it by `tokentop export`) is not "
                        "next to it, so the rows cannot be checked; keep the two files together")
        except (OSError, UnicodeDecodeError) as exc:
            return _bad("csv", f"its data file {beside.name} cannot be read ({getattr(exc, 'strerror', None) or exc})")
    return verify_text(text, sidecar)
