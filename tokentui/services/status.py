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

NO_LOGS = "no logs found in the default locations"


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
            paths, problem = registry.reader(name).where(settings.source(name).paths)
            st = replace(st, paths=tuple(paths))
            if not paths:
                st = replace(st, status="error" if problem else "not configured", message=problem or NO_LOGS)
            elif not row:
                st = replace(st, status="stale", message="found, not synced yet: run `tokentop sync`")
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
        if s and r.status != "disabled":
            r = replace(r, status=s[1], message=s[2], last_sync_ms=s[3])
        out.append(r)
    return tuple(out)
