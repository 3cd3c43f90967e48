"""API polling in the app: one poll at a time, per-source intervals with backoff, never in demo."""

from __future__ import annotations

import threading
import time

from tests.tui.conftest import FROZEN_NOW, settings, wait_for
from tokentui.config import SourceSettings
from tokentui.sources import registry

API_SOURCES = registry.names(registry.API)
from tokentui.services.dashboard import PollSchedule


class FakePoll:
    """Stands in for ``services.poll.poll_all``: slow, counting how many run at once."""

    def __init__(self, delay: float = 0.6, status: str = "ok") -> None:
        self.delay, self.status = delay, status
        self.lock = threading.Lock()
        self.active = self.peak = 0
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, conn, settings, *, only=(), **kw):
        from tokentui.services.poll import PollResult

        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
            self.calls.append(tuple(only))
        try:
            time.sleep(self.delay)
            return [PollResult(s, self.status, f"fake {self.status}") for s in only]
        finally:
            with self.lock:
                self.active -= 1


async def test_polls_never_overlap(tmp_path, monkeypatch):
    from tokentui.tui.app import TokentopApp
    from tokentui.services import poll

    fake = FakePoll()
    monkeypatch.setattr(poll, "poll_all", fake)
    app = TokentopApp(settings(tmp_path), clock=lambda: FROZEN_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: len(fake.calls) == 1, what="first poll")
        assert fake.calls[0] == API_SOURCES  # every API source is due at start
        for _ in range(8):  # "refresh now" while the poll runs
            await pilot.press("r")
            await pilot.pause(0.05)
        await wait_for(pilot, lambda: not app._poll_worker.is_running, what="poll done")
        await pilot.pause(0.3)
        assert fake.peak == 1
        assert len(fake.calls) == 1  # just polled: "r" does not re-poll within a minute
        assert app._poll_timer is not None  # the next poll is armed after the last finished
        due = app.session.polls.due
        assert all(280 < due[s] - time.monotonic() <= 300 for s in API_SOURCES)


async def test_each_source_on_its_own_interval_with_backoff(tmp_path, monkeypatch):
    from tokentui.tui.app import TokentopApp
    from tokentui.services import poll

    fake = FakePoll(delay=0.0, status="error")
    monkeypatch.setattr(poll, "poll_all", fake)
    s = settings(tmp_path, sources={"openai": SourceSettings(poll_interval=60), "moonshot": SourceSettings(enabled=False)})
    app = TokentopApp(s, clock=lambda: FROZEN_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: len(fake.calls) == 1, what="first poll")
        await pilot.pause(0.3)
        assert "moonshot" not in fake.calls[0]
        now = time.monotonic()
        assert 110 < app.session.polls.due["openai"] - now <= 120  # an error: twice its 60 s
        assert 590 < app.session.polls.due["anthropic"] - now <= 600  # twice the default 300 s


def test_poll_schedule():
    plan = PollSchedule(min_gap=60, max_backoff=3600, retry=30)
    sources = ("a", "b")
    assert plan.due_now(sources, 0.0) == ("a", "b")
    plan.polled("a", "ok", 0.0, 300)
    plan.polled("b", "error", 0.0, 300)
    assert plan.due["a"] == 300 and plan.due["b"] == 600
    plan.polled("b", "error", 600, 300)
    assert plan.due["b"] == 600 + 1200
    for _ in range(10):
        plan.polled("b", "error", 0, 300)
    assert plan.due["b"] == 3600  # capped
    plan.polled("b", "ok", 0, 300)
    assert plan.due["b"] == 300 and "b" not in plan.failures
    plan.polled("a", "skipped", 10, 300)
    assert plan.due["a"] == 40
    assert plan.due_now(sources, 50) == ("a",)
    assert plan.due_now(sources, 50, force=True) == ("a",)  # b was polled 50 s ago
    assert plan.due_now(sources, 70, force=True) == ("a", "b")
    assert plan.next_at(sources, 0) == 40


async def test_demo_mode_never_polls(make_app, monkeypatch):
    from tokentui.services import poll

    fake = FakePoll(delay=0.0)
    monkeypatch.setattr(poll, "poll_all", fake)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)
        await pilot.press("r")
        await pilot.pause(1.5)
        assert fake.calls == [] and app._poll_worker is None and app._poll_timer is None


async def test_a_poll_refreshes_the_source_statuses(tmp_path, monkeypatch):
    from tokentui.tui.app import TokentopApp
    from tokentui.services import poll
    from tokentui.store import ledger
    from tokentui.store.db import transaction

    def writes_status(conn, settings, *, only=(), **kw):
        with transaction(conn):
            ledger.set_status(conn, "openrouter", "ok", "spend read")
        return [poll.PollResult("openrouter", "ok", "spend read")]

    monkeypatch.setattr(poll, "poll_all", writes_status)
    app = TokentopApp(settings(tmp_path), clock=lambda: FROZEN_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and any(
            r.name == "openrouter" and r.status == "ok" for r in app.snapshot.sources), what="status refreshed")
