"""Typed messages: data travels from workers up to the App, requests from screens up to it.

Every payload is an immutable value (frozen dataclasses from ``services.dashboard``), so a
receiver may keep it without copying.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from tokentui.services.dashboard import Snapshot
from tokentui.services.history import HistoryTable


class UsageUpdated(Message):
    """A refresh finished: the dashboard's figures at one instant."""

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class RefreshFailed(Message):
    """A refresh could not complete; ``problem`` says why in plain words."""

    def __init__(self, problem: str) -> None:
        super().__init__()
        self.problem = problem


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


class KeyEditRequested(Message):
    """The Sources screen asks to add or test the key of an API source.

    The hook for the key modal: the App answers it (today with a pointer to
    ``tokentop keys add``); a modal that writes to the keyring can replace that handler."""

    def __init__(self, source: str, action: str = "add") -> None:
        super().__init__()
        self.source = source
        self.action = action  # add | test
