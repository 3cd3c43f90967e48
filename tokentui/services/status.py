"""Status of every source in plain words, for `tokentop sources`, the dashboard and exports.

One model (:class:`~tokentui.core.source_status.SourceStatus`) built three ways: in full
(:func:`source_statuses`: stats the folders each reader declares, asks for keys), from the
store alone (:func:`stored_statuses`: what the demo shows), and refreshed from the store
(:func:`refresh_statuses`: cheap, for every dashboard tick). Every source comes from the
registry, in its order.
"""

from __future__ import annotations

import json
from dataclasses import replace

from tokentui.config import Settings
from tokentui.core.source_status import SourceStatus
from tokentui.sources import registry
from tokentui.store import ledger

def moved_by(name: str) -> str:
    """How to point a local source elsewhere: its env vars, or a config path list."""
    env = registry.get(name).env
    first = f"set {' or '.join(env)}" if env else "add"
    rest = f" (or paths under [sources.{name}] in config)" if env else f" paths under [sources.{name}] in config"
    return f"{first}{rest} to read another folder"


def _local(st: SourceStatus, name: str, settings: Settings, row: tuple | None) -> SourceStatus:
    """A local source's status from what is on disk now and what the store holds: the status
    words say what is true (a folder found, records kept), and a source that finds nothing
    says every folder it tried and the env vars that move it."""
    extra = settings.source(name).paths
    reader = registry.reader(name)
    paths, problem = reader.where(extra)
    st = replace(st, paths=tuple(paths), env=registry.get(name).env)
    if not paths:
        looked = getattr(reader, "looked", None)
        tried = tuple(looked(extra)) if looked else ()
        where = (f"looked in {len(tried)} place{'s' if len(tried) != 1 else ''} (below)" if tried
                 else f"it reads {registry.get(name).reads or 'its default locations'}")
        kept = f"; the history keeps its {st.records:,} records" if st.records else ""
        if problem:
            return replace(st, status="error", message=f"{problem}; {where}; {moved_by(name)}", looked=tried)
        if st.records:  # logs gone (an agent's cleanup, a moved folder): the history is not
            return replace(st, status="stale", message=f"no logs found now{kept}; {where}; {moved_by(name)}",
                           looked=tried)
        return replace(st, status="not configured", message=f"no logs found: {where}; {moved_by(name)}",
                       looked=tried)
    if not row:
        return replace(st, status="stale", message="found, not synced yet: run `tokentop sync`")
    if st.status == "not configured":  # the last sync found the folder without log files in it
        kept = f"; the history keeps its {st.records:,} records" if st.records else ""
        return replace(st, status="ok", message=f"no log files in the folder{'s' if len(paths) > 1 else ''} "
                       f"below at the last sync{kept}")
    return st


def _stored(name: str, row: tuple | None, records: int) -> SourceStatus:
    st = SourceStatus(name, registry.kind_of(name), "not configured", records=records)
    if not row:
        return st
    detail = json.loads(row[4]) if row[4] else {}
    balances = tuple(f"{b.get('currency', '')} {b['available']} available".strip()
                     for b in detail.get("balance") or [] if isinstance(b, dict) and b.get("available") is not None)
    return replace(st, status=row[1], message=row[2], last_sync_ms=row[3], skipped_lines=detail.get("skipped_lines", 0),
                   implausible_lines=detail.get("implausible_lines", 0),
                   duplicates=detail.get("duplicates", 0), balances=balances)


def source_statuses(conn, settings: Settings, *, key_hints: bool = False) -> list[SourceStatus]:
    """Full statuses: the folders each local reader reads (``stat`` only), whether each API
    source has a key (with ``key_hints``, its redacted tail and origin too)."""
    from tokentui.credentials import get_key, key_env, redact

    stored = ledger.statuses(conn)
    counts = ledger.record_counts(conn)
    out = []
    for name in registry.names():
        row = stored.get(name)
        st = _stored(name, row, counts.get(name, 0))
        if not settings.source(name).enabled:
            st = replace(st, status="disabled", message="disabled in config")
        elif st.kind == registry.LOCAL:
            st = _local(st, name, settings, row)
        else:
            key, origin = get_key(name)
            if not key and not row:
                st = replace(st, message=f"no key: set {key_env(name)} or run `tokentop keys add {name}`")
            elif key and not row:
                st = replace(st, status="stale", message=f"key found ({origin}); not polled yet")
            if key_hints:  # from the key just read: the keyring is asked once per source
                st = replace(st, key_hint=f"{redact(key)} ({origin})" if key else None)
        out.append(st)
    return out


def stored_statuses(conn) -> tuple[SourceStatus, ...]:
    """Statuses from the store alone (no file system, no keyring): what the demo shows."""
    stored = ledger.statuses(conn)
    counts = ledger.record_counts(conn)
    out = []
    for name in registry.names():
        row = stored.get(name)
        if row:
            out.append(SourceStatus(name, registry.kind_of(name), row[1], row[2], row[3], counts.get(name, 0)))
        elif registry.kind_of(name) == registry.API:
            out.append(SourceStatus(name, registry.API, "not configured", "no key: add one on the Sources screen "
                                    f"or with `tokentop keys add {name}`"))
        else:
            out.append(SourceStatus(name, registry.LOCAL, "not configured", "no logs found"))
    return tuple(out)


def refresh_statuses(conn, rows: tuple[SourceStatus, ...]) -> tuple[SourceStatus, ...]:
    """``rows`` with status, message and last sync re-read from the store (cheap; for every tick)."""
    stored = ledger.statuses(conn)
    out = []
    for r in rows:
        s = stored.get(r.name)
        if s and r.kind == registry.LOCAL and s[1] == "not configured" and r.status != "disabled":
            r = replace(r, last_sync_ms=s[3])  # "no files" at a sync: the full status says more, and truly
        elif s and r.status != "disabled":
            r = replace(r, status=s[1], message=s[2], last_sync_ms=s[3])
        out.append(r)
    return tuple(out)
