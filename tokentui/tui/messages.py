"""Typed messages: data travels from workers up to the App, requests from screens up to it.
Each is a dataclass (Textual initialises a dataclass message itself); payloads are immutable
values (frozen dataclasses from the services) that a receiver may keep without copying, or
fresh objects no one else holds (a new config document).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from tokentui.services.dashboard import Figures, Snapshot
from tokentui.services.history import HistoryTable
from tokentui.services.sessions import Views


@dataclass
class UsageUpdated(Message):
    """A refresh finished: the dashboard's figures at one instant. ``stored_only``: the first
    paint, of what the history held before the logs were read."""

    snapshot: Snapshot
    stored_only: bool = False


@dataclass
class SyncProgress(Message):
    """A refresh's sync has read ``done`` of the ``total`` bytes of new log (a big one only)."""

    done: int
    total: int


@dataclass
class RefreshFailed(Message):
    """A refresh (or another worker, named by ``title``) failed; ``problem`` says why in plain words."""

    problem: str
    title: str = "Refresh failed"


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """What the History screen wants to see."""

    period: str = "day"  # day | week | month
    source: str | None = None
    model: str | None = None
    device: str | None = None  # a device name (a history merged through a share folder)


@dataclass
class HistoryRequested(Message):
    """A screen asks the App for a history table."""

    query: HistoryQuery


@dataclass
class HistoryLoaded(Message):
    """A history worker finished."""

    query: HistoryQuery
    table: HistoryTable


# --- budgets, leverage, alerts ----------------------------------------------------------------

@dataclass
class FiguresUpdated(Message):
    """Budgets and leverage were evaluated; ``figures.alerts`` were crossed for the first time."""

    figures: Figures


@dataclass
class BudgetSaved(Message):
    """The budget form wrote a budget to (or removed one from) config.toml; ``raw`` is the
    whole new config document."""

    name: str
    removed: bool
    path: str
    raw: dict


# --- export, keys, polls ------------------------------------------------------------------------

@dataclass
class ExportFinished(Message):
    """A snapshot was written to ``path``, or ``error`` says why not."""

    path: str | None
    error: str | None = None


@dataclass
class KeyStored(Message):
    """The key modal stored a key in the keyring; ``hint`` is its redacted tail."""

    source: str
    hint: str


@dataclass
class PollFinished(Message):
    """One poll of the API sources finished: ``results`` are (source, status, message)."""

    results: tuple[tuple[str, str, str], ...]


# --- sessions and projects ------------------------------------------------------------------------

@dataclass
class ViewsLoaded(Message):
    """A views worker built the Sessions/Projects data (services.sessions.Views)."""

    views: Views
