"""API polling for the TUI: one poll at a time, each source on its own interval with backoff,
in a thread worker with its own store connection; never in demo mode."""

from __future__ import annotations

import time
from functools import partial

from tokentui.config import API_SOURCES
from tokentui.messages import PollFinished


class PollingMixin:
    """Mixed into :class:`tokentui.app.TokentopApp` (which owns the state it uses:
    ``_polls``, ``_poll_worker``, ``_poll_timer``, ``_poll_again``, ``_poll_lock``,
    ``_poll_conn``, ``settings``, ``demo``, ``db_path``)."""

    def _api_sources(self) -> list[str]:
        return [n for n in API_SOURCES if self.settings.source(n).enabled]

    def _start_poll(self, force: bool = False) -> None:
        """Poll the API sources that are due (``force``: also those not polled for a minute)."""
        if self.demo or not self.is_running:
            return
        if self._poll_worker is not None and self._poll_worker.is_running:
            self._poll_again |= force
            return
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None
        due = self._polls.due_now(self._api_sources(), time.monotonic(), force)
        if not due:
            self._arm_poll()
            return
        self._poll_worker = self.run_worker(partial(self._poll, due), name="poll", group="poll", thread=True,
                                            exit_on_error=False)

    def _poll(self, only: tuple[str, ...]) -> None:
        from tokentui.services.poll import poll_all
        from tokentui.services.sync import open_store
        from tokentui.store.db import close_if_moved

        try:
            with self._poll_lock:
                if self._poll_conn is not None and close_if_moved(self._poll_conn):
                    self._poll_conn = None  # never poll into a deleted file; the refresh says what happened
                if self._poll_conn is None:
                    self._poll_conn = open_store(self.db_path)
                results = poll_all(self._poll_conn, self.settings, only=only)
            got = tuple((r.source, r.status, r.message) for r in results)
        except Exception:
            self.post_message(PollFinished(tuple((s, "error", "") for s in only)))  # back off, then re-raise
            raise
        self.post_message(PollFinished(got))

    def on_poll_finished(self, message: PollFinished) -> None:
        now = time.monotonic()
        for source, status, _text in message.results:
            self._polls.polled(source, status, now, self.settings.source(source).poll_interval)
        if any(status not in ("skipped", "error") or text for _, status, text in message.results):
            self._start_refresh(full=True)  # new statuses and records on the screens

    def next_poll_in(self, source: str) -> float | None:
        """Seconds until ``source`` is polled again (0: due now), or None when no poll is
        scheduled (demo mode, a disabled source, or before the first poll)."""
        due = None if self.demo else self._polls.due.get(source)
        return None if due is None else max(0.0, due - time.monotonic())

    def _arm_poll(self) -> None:
        if self.demo or not self.is_running:
            return
        now = time.monotonic()
        self._poll_timer = self.set_timer(max(1.0, self._polls.next_at(self._api_sources(), now) - now),
                                          self._start_poll)
