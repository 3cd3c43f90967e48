"""Plan limits ("quotas", spec/quotas.md): the vendors' own 5-hour / weekly percentages.

Pure and stdlib-only (the status line imports it): the constants, a normalised
:class:`Observation` of what a source said (§3.1), the stored :class:`Row` of a sample and its
in-memory upsert (§3.2), and the number rules they share (rounding, canonical resets, epochs,
valid percents, window kinds). The rest of the rules live next to this module:
:mod:`tokentui.core.quota_readings` (each source's payload → observations, §3.3),
:mod:`tokentui.core.quota_state` (a window's rows → its state, pace, run-out and alerts,
§3.4-§3.7) and :mod:`tokentui.core.quota_labels` (window names, countdowns).

Never turns token counts into a "percent of plan": every number here came from the vendor.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from collections import namedtuple

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
    the raw reset and plan of the latest sighting kept (of two seen at the same time, the later
    in ``rows``), the rest from the first. Storing the result gives the rows that storing
    ``rows`` one by one would."""
    merged = RowMerger()
    for r in rows:
        merged.add(r)
    return merged.rows()


class RowMerger:
    """:func:`merge_rows` one sighting at a time: :meth:`add` a row, or note with :meth:`seen`
    that a row's value was seen again (a Codex rollout repeats an unchanged reading every turn:
    no new row is made for it)."""

    __slots__ = ("_rows",)

    def __init__(self) -> None:
        self._rows: dict[tuple, list] = {}  # natural key -> [first row, first seen, last seen, raw reset, plan]

    def add(self, r: Row) -> None:
        self.seen(r, r.first_seen_ms, r.last_seen_ms)

    def seen(self, r: Row, first_ms: int, last_ms: int) -> None:
        """``r``'s value (its natural key, raw reset and plan) seen from ``first_ms`` to ``last_ms``."""
        k = (r[0], r[2], r[3], r[4], r[5], r[6], r[7])  # natural_key(r), inline: one call per sample
        cur = self._rows.get(k)
        if cur is None:
            self._rows[k] = [r, first_ms, last_ms, r.raw_resets_at, r.plan]
        elif last_ms >= cur[2]:
            if first_ms < cur[1]:
                cur[1] = first_ms
            cur[2], cur[3], cur[4] = last_ms, r.raw_resets_at, r.plan
        elif first_ms < cur[1]:
            cur[1] = first_ms

    def rows(self) -> list[Row]:
        return [r if (first, last, raw, plan) == (r.first_seen_ms, r.last_seen_ms, r.raw_resets_at, r.plan)
                else r._replace(first_seen_ms=first, last_seen_ms=last, raw_resets_at=raw, plan=plan)
                for r, first, last, raw, plan in self._rows.values()]


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
