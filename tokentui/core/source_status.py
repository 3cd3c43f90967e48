"""A source's status in plain words: the one value the CLI, the dashboard and exports show."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from tokentui.core.fmt import ago

#: the status words of a source that holds nothing to show (not set up, or switched off)
IDLE_STATUSES = ("not configured", "disabled")


@dataclass(frozen=True, slots=True)
class SourceStatus:
    name: str
    kind: str  # local | api
    status: str  # ok | stale | error | not configured | disabled
    message: str | None = None
    last_sync_ms: int | None = None
    records: int = 0
    paths: tuple[str, ...] = ()  # folders read (local sources)
    skipped_lines: int = 0
    implausible_lines: int = 0  # of skipped_lines: quarantined for impossible token counts
    duplicates: int = 0
    balances: tuple[str, ...] = ()  # e.g. "USD 12.50 available" (API sources)
    #: an API key's redacted tail and where it came from, e.g. "…3f9a (keyring)"; never more
    key_hint: str | None = None
    #: a local source that found nothing: every folder it tried, and the env vars that move it
    looked: tuple[str, ...] = ()
    env: tuple[str, ...] = ()

    def checked(self, now_ms: int) -> str:
        """When it was last read, in words: ``last sync 6m ago``; ``looked 6m ago`` for a source
        that found nothing to read; ``off`` for one switched off in config."""
        if self.status == "disabled":
            return "off"
        word = "looked" if self.status in IDLE_STATUSES else "last sync"
        return f"{word} {ago(self.last_sync_ms, now_ms)}"

    def as_json(self) -> dict:
        """The fields of `tokentop sources --json`."""
        return {"name": self.name, "kind": self.kind, "status": self.status, "message": self.message,
                "last_sync_ms": self.last_sync_ms, "records": self.records, "paths": list(self.paths),
                "skipped_lines": self.skipped_lines, "implausible_lines": self.implausible_lines,
                "duplicates": self.duplicates,
                "balances": list(self.balances), "looked": list(self.looked), "env": list(self.env)}


def set_up_first(rows: Iterable[SourceStatus]) -> list[SourceStatus]:
    """``rows`` with the sources that are set up (or hold records) first, each group in its
    given (registry) order: with twenty agents known, the few a person uses come first."""
    rows = list(rows)
    return sorted(rows, key=lambda r: r.status in IDLE_STATUSES and not r.records)


@dataclass(frozen=True, slots=True)
class DeviceContact:
    """One of your devices as the dashboard lists it (``[share] folder`` set): when its newest
    segment was written (this device: its last export) and how many records carry its name."""

    name: str
    this_device: bool
    last_contact_ms: int | None
    records: int
    waiting: int = 0  # its segments not arrived yet
