"""Plan limits ("quotas", spec/quotas.md): the vendors' own 5-hour / weekly percentages.

Pure and stdlib-only (the status line imports it): turning what a source said into
normalised :class:`Observation` s (§3.1, §3.3), the stored row of a sample (§3.2), and from a
window's rows its current state, pace and run-out forecast (§3.4-§3.6) and alerts (§3.7).

Never turns token counts into a "percent of plan": every number here came from the vendor.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from collections import namedtuple

TYPE_CHECKING = False  # the status line imports this module: not even `typing` at run time
if TYPE_CHECKING:
    from typing import Sequence

FIVE_HOUR = 18000
SEVEN_DAY = 604800
#: rows of two instances whose canonical resets are this close are one instance (§3.2)
SAME_INSTANCE_S = 120
#: a drop this far (basis points) below the stream's running maximum (§3.4)
DROP_BP = 500
STALE_MS = 10 * 60 * 1000
#: alert thresholds (§3.7), percent
WARN, CRITICAL, LIMIT = 80.0, 95.0, 100.0
#: windows that begin with the first request after the previous one ended (§4)
FIRST_USE = {"five_hour"}

SOURCES = ("codex-log", "claude-statusline", "claude-oauth", "codex-oauth", "codex-appserver")
#: provenance of every sample: the vendor's own number (never an estimate from tokens)
PROVENANCE = "official"


_OBSERVATION_FIELDS = (
    "source", "provider", "account", "lim", "win", "window_s", "used_pct", "resets_at_raw",
    "reset_src", "observed_ms", "session", "plan", "client_version",
)


class Observation(namedtuple("Observation", _OBSERVATION_FIELDS, defaults=("", None, None))):
    """One window's reading from one source at one time (§3.1)."""

    # provider: anthropic | openai
    # lim: limit family: account, sonnet, codex, gpt-5.3-codex-spark, ...
    # win: five_hour | seven_day | monthly | m<minutes>
    # resets_at_raw: epoch seconds; None: none/unknown
    # reset_src: absolute | relative | none | unknown
    __slots__ = ()

    @property
    def used_bp(self) -> int:
        return used_bp(self.used_pct)

    @property
    def resets_at(self) -> int:
        return canonical_reset(self.resets_at_raw)


_ROW_FIELDS = (
    "source", "provider", "account", "lim", "win", "resets_at", "session", "used_bp", "window_s",
    "raw_resets_at", "reset_src", "plan", "first_seen_ms", "last_seen_ms",
)


class Row(namedtuple("Row", _ROW_FIELDS)):
    """A stored sample (``quota_sample``, §3.2): one distinct value per instance per session."""

    # resets_at: canonical; 0 = none/unknown
    __slots__ = ()


def row_of(obs: Observation) -> Row:
    return Row(obs.source, obs.provider, obs.account, obs.lim, obs.win, obs.resets_at, obs.session or "",
               obs.used_bp, obs.window_s, obs.resets_at_raw, obs.reset_src, obs.plan, obs.observed_ms,
               obs.observed_ms)


def natural_key(r: Row) -> tuple:
    return (r.source, r.account, r.lim, r.win, r.resets_at, r.session, r.used_bp)


def merge_rows(rows) -> list[Row]:
    """The store's upsert (§3.2) in memory: one row per natural key, first/last seen widened and
    the raw reset of the latest sighting kept. Order of the input does not matter."""
    out: dict[tuple, Row] = {}
    for r in rows:
        k = natural_key(r)
        old = out.get(k)
        if old is None:
            out[k] = r
            continue
        newer = r.last_seen_ms >= old.last_seen_ms
        out[k] = old._replace(first_seen_ms=min(old.first_seen_ms, r.first_seen_ms),
                              last_seen_ms=max(old.last_seen_ms, r.last_seen_ms),
                              raw_resets_at=r.raw_resets_at if newer else old.raw_resets_at)
    return list(out.values())


# -- numbers ------------------------------------------------------------------------------------
def round_half_away(x: float) -> int:
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def used_bp(pct: float) -> int:
    """Percent as basis points, rounded half away from zero (``37.00000000000001`` → 3700)."""
    return round_half_away(pct * 100)


def canonical_reset(raw: int | None) -> int:
    """The raw reset rounded to the nearest minute; 0 for none/unknown (§3.2)."""
    if not raw:
        return 0
    return (int(raw) + 30) // 60 * 60


def number(v) -> float | None:
    """A finite number, or a numeric string; None otherwise (bools are not numbers)."""
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        x = float(v)
    elif isinstance(v, str):
        try:
            x = float(v.strip())
        except ValueError:
            return None
    else:
        return None
    return x if math.isfinite(x) else None


def epoch_s(v) -> int | None:
    """An epoch in seconds from seconds, milliseconds (> 10^11) or an ISO-8601 string."""
    if isinstance(v, str) and not _NUMERIC.match(v.strip()):
        try:
            dt = datetime.fromisoformat(v.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            return None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        x = dt.timestamp()
    else:
        x = number(v)
        if x is None:
            return None
        if x > 1e11:
            x /= 1000.0
    if not 0 < x < 4102444800:  # 2100-01-01
        return None
    return round_half_away(x)


_NUMERIC = re.compile(r"^[+-]?[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?$")


def valid_pct(pct: float | None, raw_reset=None) -> bool:
    """§0 rule 4: finite, 0..1000, and not Claude Code's epoch leak (percent == resets_at)."""
    if pct is None or not 0 <= pct <= 1000:
        return False
    if raw_reset is not None:
        r = number(raw_reset)
        if r is not None and r == pct:
            return False
    return True


def window_kind(minutes: float) -> tuple[str, int]:
    """(window kind, nominal length in seconds) from a window's length in minutes (§3.3)."""
    m = int(round(minutes))
    if 240 <= m <= 360:
        return "five_hour", FIVE_HOUR
    if 8640 <= m <= 11520:
        return "seven_day", SEVEN_DAY
    if 40000 <= m <= 46000:
        return "monthly", m * 60
    return f"m{m}", m * 60


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9.]", "-", name.strip().lower())


def _text(v) -> str | None:
    return v if isinstance(v, str) and v else None


def _get(d, *keys):
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


# -- sources -> observations (§3.3) --------------------------------------------------------------
def codex_lim(rl: dict) -> str:
    name, lid = _text(rl.get("limit_name")), _text(rl.get("limit_id"))
    if name:
        return slug(name)
    if lid and lid != "codex":
        return slug(lid)
    return "codex"


def from_codex(rl, ts_ms: int, account: str, session: str = "", *,
               source: str = "codex-log") -> list[Observation]:
    """A Codex ``token_count.rate_limits`` (any shape generation, §1.1) seen at ``ts_ms``."""
    if not isinstance(rl, dict):
        return []
    lim, plan = codex_lim(rl), _text(rl.get("plan_type"))
    out: list[Observation] = []

    def add(slot: str, used, minutes, reset, src: str, remaining) -> None:
        pct = number(used)
        if not valid_pct(pct, reset):
            return
        mins = number(minutes)
        if mins is not None and mins > 0:
            win, length = window_kind(mins)
        elif remaining is not None and slot == "primary" and 0 <= remaining <= FIVE_HOUR:
            win, length = "five_hour", FIVE_HOUR
        elif remaining is not None and slot == "secondary" and 0 <= remaining <= SEVEN_DAY:
            win, length = "seven_day", SEVEN_DAY
        else:
            return
        out.append(Observation(source, "openai", account, lim, win, length, pct, reset, src, ts_ms, session, plan))

    if "primary_used_percent" in rl or "secondary_used_percent" in rl:  # G1: flat, no reset
        for slot in ("primary", "secondary"):
            if rl.get(f"{slot}_used_percent") is not None:
                add(slot, rl.get(f"{slot}_used_percent"), rl.get(f"{slot}_window_minutes"), None, "unknown", None)
        return out
    for slot in ("primary", "secondary"):
        w = rl.get(slot)
        if not isinstance(w, dict):
            continue
        reset, src, remaining = epoch_s(w.get("resets_at")), "absolute", None
        if reset is not None:
            remaining = reset - ts_ms / 1000
        else:
            rel = number(w.get("resets_in_seconds"))
            if rel is not None and rel >= 0:
                reset, src, remaining = round_half_away(ts_ms / 1000 + rel), "relative", rel
            else:
                src = "unknown"
        add(slot, w.get("used_percent"), w.get("window_minutes"), reset, src, remaining)
    return out


def from_statusline(payload, now_ms: int, account: str) -> list[Observation]:
    """Claude Code's statusline stdin ``rate_limits`` (§1.2): each window validated alone."""
    rl = payload.get("rate_limits") if isinstance(payload, dict) else None
    if not isinstance(rl, dict):
        return []
    session = _text(payload.get("session_id")) or ""
    version = _text(payload.get("version"))
    out = []
    for win, length in (("five_hour", FIVE_HOUR), ("seven_day", SEVEN_DAY)):
        w = rl.get(win)
        if not isinstance(w, dict):
            continue
        pct, raw = number(w.get("used_percentage")), w.get("resets_at")
        reset = epoch_s(raw)
        if reset is None or not valid_pct(pct, raw):
            continue
        out.append(Observation("claude-statusline", "anthropic", account, "account", win, length, pct, reset,
                               "absolute", now_ms, session, None, version))
    return out


_ANTHROPIC_KEYS = (("five_hour", "account", "five_hour"), ("seven_day", "account", "seven_day"),
                   ("seven_day_sonnet", "sonnet", "seven_day"), ("seven_day_opus", "opus", "seven_day"),
                   ("seven_day_oauth_apps", "oauth-apps", "seven_day"),
                   ("seven_day_routines", "routines", "seven_day"), ("seven_day_cowork", "routines", "seven_day"))


def from_anthropic_oauth(body, observed_ms: int, account: str, plan: str | None = None) -> list[Observation]:
    """The body of ``GET api.anthropic.com/api/oauth/usage`` (§1.3.1)."""
    if not isinstance(body, dict):
        return []
    out: list[Observation] = []
    read: set[str] = set()

    def add(lim: str, win: str, pct_v, reset_v) -> None:
        pct = number(pct_v)
        reset = epoch_s(reset_v) if reset_v is not None else None
        if not valid_pct(pct, reset_v):
            return
        length = FIVE_HOUR if win == "five_hour" else SEVEN_DAY
        out.append(Observation("claude-oauth", "anthropic", account, lim, win, length, pct, reset,
                               "absolute" if reset else "none", observed_ms, "", plan))
        read.add(f"{lim}/{win}")

    for key, lim, win in _ANTHROPIC_KEYS:
        w = body.get(key)
        if isinstance(w, dict) and f"{lim}/{win}" not in read:
            add(lim, win, w.get("utilization"), w.get("resets_at"))
    for item in body.get("limits") or []:
        if not isinstance(item, dict):
            continue
        kind = item.get("kind")
        if kind in ("session", "weekly_all"):
            win = "five_hour" if kind == "session" else "seven_day"
            if f"account/{win}" not in read:
                add("account", win, item.get("percent"), item.get("resets_at"))
        elif kind == "weekly_scoped":
            name = _text(_get(item, "scope", "model", "display_name"))
            if name:
                add("model:" + slug(name), "seven_day", item.get("percent"), item.get("resets_at"))
    return out


def from_wham(body, observed_ms: int, account: str) -> list[Observation]:
    """The body of ``GET chatgpt.com/backend-api/wham/usage`` (§1.3.2): windows by length."""
    if not isinstance(body, dict):
        return []
    plan = _text(body.get("plan_type"))
    out: list[Observation] = []

    def limit(rl, lim: str) -> None:
        if not isinstance(rl, dict):
            return
        for slot in ("primary_window", "secondary_window"):
            w = rl.get(slot)
            if not isinstance(w, dict):
                continue
            secs = number(w.get("limit_window_seconds"))
            reset = epoch_s(w.get("reset_at"))
            after = number(w.get("reset_after_seconds"))
            if reset is None and after is not None and after >= 0:
                reset = round_half_away(observed_ms / 1000 + after)
            pct = number(w.get("used_percent"))
            if not valid_pct(pct, w.get("reset_at")) or secs is None or secs <= 0:
                continue
            win, length = window_kind(secs / 60)
            out.append(Observation("codex-oauth", "openai", account, lim, win, length, pct, reset,
                                   "absolute" if reset else "unknown", observed_ms, "", plan))

    limit(body.get("rate_limit"), "codex")
    limit(body.get("code_review_rate_limit"), "code-review")
    for extra in body.get("additional_rate_limits") or []:
        if not isinstance(extra, dict):
            continue
        name = _text(extra.get("limit_name")) or _text(extra.get("metered_feature"))
        if name:
            limit(extra.get("rate_limit"), slug(name))
    return out


# -- state of one window (§3.4-§3.6) -------------------------------------------------------------
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


# -- words ---------------------------------------------------------------------------------------
WINDOW_LABEL = {"five_hour": "5h", "seven_day": "7d", "monthly": "month"}


def window_label(win: str) -> str:
    return WINDOW_LABEL.get(win, win[1:] + "m" if win.startswith("m") and win[1:].isdigit() else win)


def countdown(seconds: float) -> str:
    """``{d}d{h}h`` (≥ 1 day), ``{h}h{mm}m`` (≥ 1 h), ``{m}m``, ``<1m``."""
    s = int(seconds)
    if s >= 86400:
        return f"{s // 86400}d{s % 86400 // 3600}h"
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m"
    return "<1m"


def method_note() -> str:
    return ("pace = used share vs elapsed share of the window; run-out = linear at the window average "
            "(and, for 5-hour windows, the last hour's least-squares rate); vendor numbers, never token estimates")
