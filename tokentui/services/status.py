"""Status of every source in plain words, for `tokentop sources` and the TUI."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field

from tokentui.config import API_SOURCES, LOCAL_SOURCES, Settings
from tokentui.credentials import ENV_VARS, get_key


@dataclass
class SourceStatus:
    name: str
    kind: str  # local | api
    status: str  # ok | stale | error | not configured | planned
    message: str | None = None
    last_sync_ms: int | None = None
    records: int = 0
    paths: list[str] = field(default_factory=list)
    skipped_lines: int = 0
    duplicates: int = 0
    balances: list[str] = field(default_factory=list)  # e.g. "USD 12.50 available" (API sources)


def _local_paths(name: str, settings: Settings) -> tuple[list[str], str | None]:
    from tokentui.sources import claude_code, codex, gemini_cli, opencode

    extra = settings.source(name).paths
    if name == "claude-code":
        roots, problem = claude_code.roots(extra)
        return [str(r / "projects") for r in roots], problem
    if name == "codex":
        return [str(h) for h in codex.homes(extra)], None
    if name == "gemini-cli":
        roots, problem = gemini_cli.roots(extra)
        return [str(r) for r in roots], problem
    return [str(d) for d in opencode.data_dirs(extra)], None


def source_statuses(conn: sqlite3.Connection, settings: Settings) -> list[SourceStatus]:
    stored = {row[0]: row for row in conn.execute(
        "SELECT source, status, message, last_sync_ms, detail FROM source_status")}
    counts = dict(conn.execute("SELECT source, COUNT(*) FROM ledger GROUP BY source"))
    out = []
    for name in LOCAL_SOURCES + API_SOURCES:
        kind = "local" if name in LOCAL_SOURCES else "api"
        st = SourceStatus(name, kind, "not configured", records=counts.get(name, 0))
        row = stored.get(name)
        if row:
            st.status, st.message, st.last_sync_ms = row[1], row[2], row[3]
            detail = json.loads(row[4]) if row[4] else {}
            st.skipped_lines = detail.get("skipped_lines", 0)
            st.duplicates = detail.get("duplicates", 0)
            for b in detail.get("balance") or []:
                if isinstance(b, dict) and b.get("available") is not None:
                    st.balances.append(f"{b.get('currency', '')} {b['available']} available".strip())
        if not settings.source(name).enabled:
            st.status, st.message = "disabled", "disabled in config"
        elif kind == "local":
            st.paths, problem = _local_paths(name, settings)
            if not st.paths:
                st.status = "error" if problem else "not configured"
                st.message = problem or "no logs found in the default locations"
            elif not row:
                st.status, st.message = "stale", "found, not synced yet: run `tokentop sync`"
        else:
            key, origin = get_key(name)
            if not key and not row:
                st.message = f"no key: set {ENV_VARS[name]} or run `tokentop keys add {name}`"
            elif key and not row:
                st.status, st.message = "stale", f"key found ({origin}); not polled yet"
        out.append(st)
    return out
