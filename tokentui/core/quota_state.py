"""Plan limits: one window's current state from its stored rows (spec/quotas.md §3.4-§3.7).

Rows are grouped into window instances by canonical reset; a new instance is a natural or
early reset (or a moved reset); within an instance a confirmed drop or a plan change starts a
new segment. From the segment: the used percent, linear pace and run-out at the window average,
the recent least-squares rate, and the alerts the state calls for. Pure and stdlib-only.
"""

from __future__ import annotations

from collections import namedtuple

from tokentui.core.quotas import (
    CRITICAL,
    DROP_BP,
    FIVE_HOUR,
    LIMIT,
    SAME_INSTANCE_S,
    SEVEN_DAY,
    STALE_MS,
    WARN,
)

TYPE_CHECKING = False  # stdlib-only and cheap to import: not even `typing` at run time
if TYPE_CHECKING:
    from typing import Sequence

    from tokentui.core.quotas import Row


_PACE_FIELDS = (
    "expected", "delta", "stage", "projected", "runs_out_ms",
)


class Pace(namedtuple("Pace", _PACE_FIELDS)):

    # expected: percent of the window elapsed
    # delta: used - expected (positive: ahead, burning faster than the clock)
    # projected: percent at reset at the window average
    # runs_out_ms: linear run-out, when before the reset
    __slots__ = ()


_WINDOWSTATE_FIELDS = (
    "provider", "account", "lim", "win", "state", "used", "resets_at", "window_s", "as_of_ms",
    "source", "stale", "pace", "recent_rate", "runs_out_recent_ms", "drop_unconfirmed", "plan",
    "events",
)


class WindowState(namedtuple("WindowState", _WINDOWSTATE_FIELDS)):

    # state: active | reset | idle
    # used: percent shown (0 after a reset)
    # resets_at: raw reset of the current instance (epoch s); 0 when idle
    # recent_rate: percent per hour
    # events: (kind, at_ms, old_resets_at, new_resets_at)
    __slots__ = ()

    @property
    def runs_out_ms(self) -> int | None:
        return self.pace.runs_out_ms if self.pace else None

    @property
    def urgency(self) -> tuple:
        """Sort key: run-out first, then by used percent."""
        out = self.runs_out_ms or self.runs_out_recent_ms
        return (0 if out else 1, -(self.used if self.state == "active" else -1))


def stage(delta: float) -> str:
    d = abs(delta)
    if d <= 2:
        return "on track"
    word = "ahead" if delta > 0 else "behind"
    if d <= 6:
        return f"slightly {word}"
    if d <= 12:
        return word
    return f"far {word}"


def pace(used: float, resets_at: float, length: int, now_s: float, *, min_share: float = 0.03,
         eta_share: float = 0.10) -> Pace | None:
    """Linear pace at the window average (§3.5); None when the guards say nothing is known."""
    r = resets_at - now_s
    if r <= 0 or r > length or length <= 0:
        return None
    e = length - r
    f = e / length
    if f < min_share:
        return None
    expected = 100.0 * f
    delta = used - expected
    projected = used / f if f > 0 else 0.0
    runs_out = None
    if used >= 100:
        runs_out = int(now_s * 1000)
    elif used > 0 and f >= eta_share:
        eta = (100.0 - used) * e / used
        if eta < r:
            runs_out = int(round((now_s + eta) * 1000))
    return Pace(expected, delta, stage(delta), projected, runs_out)


def recent_rate(points: Sequence[tuple[int, float]], now_ms: int, win: str) -> float | None:
    """Least-squares slope (percent per hour) of (first_seen, used) seen in the last 60 min (5h)
    or 24 h (other windows); needs ≥ 2 points spanning ≥ 10 min."""
    span = 3600_000 if win == "five_hour" else 24 * 3600_000
    pts = [(t / 3600_000, u) for t, u in points if now_ms - span <= t <= now_ms]
    if len(pts) < 2 or (max(t for t, _ in pts) - min(t for t, _ in pts)) * 60 < 10:
        return None
    n = len(pts)
    mt, mu = sum(t for t, _ in pts) / n, sum(u for _, u in pts) / n
    den = sum((t - mt) ** 2 for t, _ in pts)
    return sum((t - mt) * (u - mu) for t, u in pts) / den if den else None


def instances(rows: Sequence[Row]) -> list[list[Row]]:
    """Rows grouped by canonical reset (≤ 120 s apart = same), oldest first; resets_at 0 is none."""
    out: list[list[Row]] = []
    for row in sorted((r for r in rows if r.resets_at > 0), key=lambda r: r.resets_at):
        if out and row.resets_at - out[-1][-1].resets_at <= SAME_INSTANCE_S:
            out[-1].append(row)
        else:
            out.append([row])
    return out


def _stream(row: Row) -> tuple:
    return (row.source, row.session) if row.source == "claude-statusline" else (row.source,)


def segment_start(rows: Sequence[Row]) -> tuple[int, list, bool]:
    """(segment start ms, drop events, an unconfirmed drop) for one instance's rows (§3.4 step 3)."""
    streams: dict[tuple, list[Row]] = {}
    for r in rows:
        streams.setdefault(_stream(r), []).append(r)
    start, events, unconfirmed = 0, [], False
    for srows in streams.values():
        srows.sort(key=lambda r: (r.first_seen_ms, r.used_bp))
        top, plan = None, None
        for i, r in enumerate(srows):
            if plan is not None and r.plan is not None and r.plan != plan:
                start = max(start, r.first_seen_ms)
            if r.plan is not None:
                plan = r.plan
            if top is not None and r.used_bp <= top - DROP_BP:
                again = r.last_seen_ms > r.first_seen_ms or any(
                    s.used_bp <= top - DROP_BP for s in srows[i + 1:])
                if again:
                    start = max(start, r.first_seen_ms)
                    events.append(("drop", r.first_seen_ms, 0, 0))
                    top = r.used_bp
                    continue
                unconfirmed = True
            top = r.used_bp if top is None else max(top, r.used_bp)
    return start, events, unconfirmed


def window_state(rows: Sequence[Row], now_ms: int) -> WindowState | None:
    """The current state of one (provider, account, lim, win) from its rows, at ``now_ms``.

    None when no row can be placed in a window instance (G1 rows with no reset time)."""
    seen = [r for r in rows if r.first_seen_ms <= now_ms]
    groups = instances(seen)
    idle = [r for r in seen if r.resets_at == 0 and r.reset_src == "none"]
    if not groups:
        if not idle:
            return None
        last = max(idle, key=lambda r: r.first_seen_ms)
        return WindowState(last.provider, last.account, last.lim, last.win, "idle", 0.0, 0, last.window_s or 0,
                           last.last_seen_ms, last.source, now_ms - last.last_seen_ms > STALE_MS, None, None, None,
                           False, last.plan, ())
    cur = groups[-1]
    head = cur[0]
    latest = max(cur, key=lambda r: r.last_seen_ms)
    raw = latest.raw_resets_at or latest.resets_at
    length = FIVE_HOUR if head.win == "five_hour" else SEVEN_DAY if head.win == "seven_day" else (
        latest.window_s or 0)
    events = _reset_events(groups)
    base = dict(provider=head.provider, account=head.account, lim=head.lim, win=head.win, window_s=length,
                plan=latest.plan)
    if idle and max(r.first_seen_ms for r in idle) > latest.last_seen_ms:
        last = max(idle, key=lambda r: r.first_seen_ms)
        return WindowState(**base, state="idle", used=0.0, resets_at=0, as_of_ms=last.last_seen_ms,
                           source=last.source, stale=now_ms - last.last_seen_ms > STALE_MS, pace=None,
                           recent_rate=None, runs_out_recent_ms=None, drop_unconfirmed=False,
                           events=tuple(events))
    start, drops, unconfirmed = segment_start(cur)
    events.extend(drops)
    seg = [r for r in cur if r.first_seen_ms >= start]
    top = max(seg, key=lambda r: (r.used_bp, r.last_seen_ms))
    as_of = min(top.last_seen_ms, now_ms)
    used = top.used_bp / 100.0
    if now_ms >= raw * 1000:
        return WindowState(**base, state="reset", used=0.0, resets_at=raw, as_of_ms=as_of, source=top.source,
                           stale=False, pace=None, recent_rate=None, runs_out_recent_ms=None,
                           drop_unconfirmed=False, events=tuple(events))
    now_s = now_ms / 1000
    p = pace(used, raw, length, now_s) if length else None
    rate = recent_rate([(r.first_seen_ms, r.used_bp / 100.0) for r in seg], now_ms, head.win)
    recent_out = None
    if rate and rate > 0 and used < 100:
        eta_ms = (100.0 - used) / rate * 3600_000
        if now_ms + eta_ms < raw * 1000:
            recent_out = int(round(now_ms + eta_ms))
    return WindowState(**base, state="active", used=used, resets_at=raw, as_of_ms=as_of, source=top.source,
                       stale=now_ms - as_of > STALE_MS, pace=p, recent_rate=rate, runs_out_recent_ms=recent_out,
                       drop_unconfirmed=unconfirmed, events=tuple(events))


def _reset_events(groups: list[list[Row]]) -> list:
    """A ``reset`` (natural) or ``moved``/``reset`` (early) event between consecutive instances (§3.6)."""
    out = []
    for prev, new in zip(groups, groups[1:]):
        old_raw = max(prev, key=lambda r: r.last_seen_ms)
        old_r = old_raw.raw_resets_at or old_raw.resets_at
        first = min(r.first_seen_ms for r in new)
        new_r = max(new, key=lambda r: r.last_seen_ms)
        new_raw = new_r.raw_resets_at or new_r.resets_at
        if old_r * 1000 <= first + 60_000:
            kind = "reset"
        else:
            top = max(r.used_bp for r in prev)
            low = min(r.used_bp for r in new if r.first_seen_ms == first)
            kind = "reset" if top - low >= DROP_BP else "moved"
        out.append((kind, first, old_r, new_raw))
    return out


def states(rows: Sequence[Row], now_ms: int) -> list[WindowState]:
    """Every window's current state, most urgent first (sub-limits never mix with the account)."""
    groups: dict[tuple, list[Row]] = {}
    for r in rows:
        groups.setdefault((r.provider, r.account, r.lim, r.win), []).append(r)
    out = [s for s in (window_state(g, now_ms) for g in groups.values()) if s is not None]
    out.sort(key=lambda s: (s.urgency, s.provider, s.account, s.lim, s.win))
    return out


def alerts(state: WindowState, *, warn: float = WARN) -> list[str]:
    """The alerts this state calls for (§3.7); each fires once per instance (the store remembers)."""
    if state.state != "active":
        return []
    out = []
    if state.used >= warn:
        out.append("warn")
    if state.used >= CRITICAL:
        out.append("critical")
    if state.used >= LIMIT:
        out.append("limit")
    elif state.runs_out_ms or (state.win == "five_hour" and state.runs_out_recent_ms):
        out.append("runout")
    return out
