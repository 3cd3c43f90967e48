"""What one ingest found per source (:class:`SourceResult`), and the quarantine of lines no
request can produce; shared by :mod:`~tokentui.services.ingest` and
:mod:`~tokentui.services.ingest_db`.
"""

from __future__ import annotations

from tokentui.core.records import implausible


class SourceResult:
    """One source's counts (a plain class, not a dataclass: every sync imports it, and a
    dataclass costs ~0.5 ms to define)."""

    __slots__ = ("source", "files", "files_read", "bytes_read", "records", "duplicates", "skipped", "implausible",
                 "errors", "problem")

    def __init__(self, source: str, files: int = 0, files_read: int = 0, bytes_read: int = 0, records: int = 0,
                 duplicates: int = 0, skipped: int = 0, implausible: int = 0, errors: list[str] | None = None,
                 problem: str | None = None) -> None:
        self.source = source
        self.files = files
        self.files_read = files_read
        self.bytes_read = bytes_read
        self.records = records
        self.duplicates = duplicates
        self.skipped = skipped
        self.implausible = implausible  # of ``skipped``: lines with more tokens than a request can have (quarantined)
        self.errors = [] if errors is None else errors
        self.problem = problem

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
