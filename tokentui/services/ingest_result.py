"""What one ingest found per source (:class:`SourceResult`), and the quarantine of lines no
request can produce; shared by :mod:`~tokentui.services.ingest` and
:mod:`~tokentui.services.ingest_db`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tokentui.core.records import implausible


@dataclass
class SourceResult:
    source: str
    files: int = 0
    files_read: int = 0
    bytes_read: int = 0
    records: int = 0
    duplicates: int = 0
    skipped: int = 0
    implausible: int = 0  # of ``skipped``: lines with more tokens than a request can have (quarantined)
    errors: list[str] = field(default_factory=list)
    problem: str | None = None

    @property
    def status(self) -> str:
        if self.problem:
            return "error"
        if not self.files:
            return "not configured"
        return "ok"


def quarantine(records: list) -> tuple[list, int]:
    """``records`` without those no request can produce (:func:`~tokentui.core.records.implausible`),
    and how many those were."""
    kept = [r for r in records if not implausible(r)]
    return kept, len(records) - len(kept)
