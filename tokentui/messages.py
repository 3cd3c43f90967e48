"""Typed messages: data travels from workers up to the App, requests from screens up to it.

Payloads are immutable values (frozen dataclasses from the services) that a receiver may
keep without copying, or fresh objects no one else holds (a new config document).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from tokentui.services.dashboard import Figures, Snapshot
from tokentui.services.history import HistoryTable


class UsageUpdated(Message):
    """A refresh finished: the dashboard's figures at one instant."""

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class RefreshFailed(Message):
    """A refresh (or another worker, named by ``title``) failed; ``problem`` says why in plain words."""

    def __init__(self, problem: str, title: str = "Refresh failed") -> None:
        super().__init__()
        self.problem = problem
        self.title = title


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """What the History screen wants to see."""

    period: str = "day"  # day | week | month
    source: str | None = None
    model: str | None = None


class HistoryRequested(Message):
    """A screen asks the App for a history table."""

    def __init__(self, query: HistoryQuery) -> None:
        super().__init__()
        self.query = query


class HistoryLoaded(Message):
    """A history worker finished."""

    def __init__(self, query: HistoryQuery, table: HistoryTable) -> None:
        super().__init__()
        self.query = query
        self.table = table


# --- budgets, leverage, alerts ----------------------------------------------------------------

class FiguresUpdated(Message):
    """Budgets and leverage were evaluated; ``figures.alerts`` were crossed for the first time."""

    def __init__(self, figures: Figures) -> None:
        super().__init__()
        self.figures = figures


class BudgetSaved(Message):
    """The budget form wrote a budget to (or removed one from) config.toml; ``raw`` is the
    whole new config document."""

    def __init__(self, name: str, removed: bool, path: str, raw: dict) -> None:
        super().__init__()
        self.name = name
        self.removed = removed
        self.path = path
        self.raw = raw


# --- export, keys, polls ------------------------------------------------------------------------

class ExportFinished(Message):
    """A snapshot was written to ``path``, or ``error`` says why not."""

    def __init__(self, path: str | None, error: str | None = None) -> None:
        super().__init__()
        self.path = path
        self.error = error


class KeyStored(Message):
    """The key modal stored a key in the keyring; ``hint`` is its redacted tail."""

    def __init__(self, source: str, hint: str) -> None:
        super().__init__()
        self.source = source
        self.hint = hint


class PollFinished(Message):
    """One poll of the API sources finished: ``results`` are (source, status, message)."""

    def __init__(self, results: tuple[tuple[str, str, str], ...]) -> None:
        super().__init__()
        self.results = results
