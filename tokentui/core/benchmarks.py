"""Team benchmarks: the ``team.toml`` model, percentile placement, building from snapshots,
and the public reference points (pure; no I/O besides parsing text handed in).

team.toml (aggregates only — no names, labels, digests or individual rows)::

    format = "tokentop-team/1"
    name = "Platform"
    window_days = 28                  # the window the members' per-week figures cover
    mixed_windows = false             # true when built with --allow-mixed-windows
    generated = "2026-11-20T09:00:00Z"
    source = "snapshots"              # or "anthropic claude_code" / "openai usage by user_id"
    members = 7
    [metrics.tokens_per_week]
    n = 7                             # members with a value for this metric
    p10 = 120000000                   # p10 ≤ p25 ≤ p50 ≤ p75 ≤ p90
    p25 = 410000000
    p50 = 900000000
    p75 = 1500000000
    p90 = 3100000000

Percentiles are linear interpolation between order statistics ("type 7", numpy's default),
then rounded to :data:`SIGNIFICANT` significant figures. Why round: with n = 5, p25, p50
and p75 *are* the 2nd–4th values and p10/p90 pin down the 1st and 5th, so exact figures
would hand back every member's number (unattributed, but exact). Rounding keeps a benchmark
useful while stating values only to about ±5 %. A metric with fewer than ``min_members``
values is left out of the file. Larger teams protect better; nothing here is anonymised
beyond that.

Snapshot fields read by :func:`read_snapshot` (for the export format)::

    {                                   # JSON object, or the same as TOML tables
      "digest": "<64 hex>",             # or "sha256": …; an optional "sha256:" prefix is fine
      "data": {                         # digest = sha256 of canonical JSON of exactly this value:
        "leverage": {                   #   json.dumps(data, sort_keys=True, separators=(",", ":"),
          "window_days": 28,            #              ensure_ascii=False).encode("utf-8")
          "tokens_per_week": 1.2e9,     # numbers, or numeric strings (money: "312.50");
          "fresh_tokens_per_week": …,   # null or absent = no value for that metric
          "cost_per_week": "312.50",
          "active_hours_per_week": …, "tokens_per_active_hour": …,
          "cache_hit_ratio": …, "output_share": …
        }, …                            # every other key of data is covered by the digest, not read
      }
    }

The digest of a TOML snapshot is computed over its ``data`` as parsed (TOML has no null and
no key may hold a TOML date-time, which JSON cannot express). A digest shows the file was not
edited after export; it is not a signature (anyone can recompute one).
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, Iterable, Mapping, Sequence

from tokentui.core import strict_json
from tokentui.errors import TokentopError

FORMAT = "tokentop-team/1"
PERCENTILES = (10, 25, 50, 75, 90)
SIGNIFICANT = 2
DEFAULT_MIN_MEMBERS = 5
MAX_MEMBERS = 10**7  # a team file claiming more people is damaged
MAX_WINDOW_DAYS = 3660
#: the smallest --min-members accepted: below it a file would expose members' figures outright
MIN_MEMBERS_FLOOR = 3
#: metrics a team file may hold (spend_to_comp is left out: pay stays private)
BENCHMARK_METRICS = ("tokens_per_week", "fresh_tokens_per_week", "cost_per_week", "active_hours_per_week",
                     "tokens_per_active_hour", "cache_hit_ratio", "output_share")
NOT_A_RANKING = ("These figures describe usage, not value or performance: they are not a ranking of people. "
                 "A team file holds only aggregates (n and p10–p90 per metric); no one's raw data leaves "
                 "their machine.")


class BenchmarkError(TokentopError):
    """A snapshot or team file was refused; the message says which and why."""


# --- distributions and placement ---------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Distribution:
    """One metric's team distribution: how many values, and five percentiles."""

    n: int
    p10: Decimal
    p25: Decimal
    p50: Decimal
    p75: Decimal
    p90: Decimal

    def knots(self) -> tuple[tuple[float, int], ...]:
        return ((float(self.p10), 10), (float(self.p25), 25), (float(self.p50), 50), (float(self.p75), 75),
                (float(self.p90), 90))


def round_sig(d: Decimal, sig: int = SIGNIFICANT) -> Decimal:
    """``d`` rounded to ``sig`` significant figures, written without an exponent."""
    if not d:
        return Decimal(0)
    q = d.quantize(Decimal(1).scaleb(d.adjusted() - sig + 1), rounding=ROUND_HALF_EVEN)
    return Decimal(format(q, "f"))


def percentile(sorted_values: Sequence[Decimal], p: float) -> Decimal:
    """Type-7 percentile (``0 ≤ p ≤ 100``) of ascending values, exactly in Decimal."""
    if not sorted_values:
        raise ValueError("no values")
    h = (len(sorted_values) - 1) * Decimal(str(p)) / 100
    lo = int(h)
    if lo + 1 >= len(sorted_values):
        return sorted_values[-1]
    return sorted_values[lo] + (h - lo) * (sorted_values[lo + 1] - sorted_values[lo])


def distribution(values: Iterable[Decimal], sig: int | None = SIGNIFICANT) -> Distribution:
    """n and p10…p90 of ``values`` (rounded to ``sig`` significant figures unless None)."""
    xs = sorted(values)
    ps = [percentile(xs, p) for p in PERCENTILES]
    if sig is not None:
        ps = [round_sig(v, sig) for v in ps]
    return Distribution(len(xs), *ps)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where one value sits in a distribution.

    ``position`` is ``below`` (under p10: the percentile is unknown, only "below the 10th"),
    ``above`` (over p90) or ``within`` (p10 … p90 inclusive, ``percentile`` interpolated
    linearly between the neighbouring known percentiles; a value equal to several equal
    percentiles gets their midpoint). ``multiple_of_median`` is value / p50 (None if p50 is 0).
    """

    value: float
    percentile: float | None
    position: str
    multiple_of_median: float | None
    n: int

    @property
    def text(self) -> str:
        if self.position == "below":
            return "below p10"
        if self.position == "above":
            return "above p90"
        return f"p{self.percentile:.0f}"

    @property
    def median_text(self) -> str:
        m = self.multiple_of_median
        if m is None:
            return "median is 0"
        return f"{m:.2g}× median" if m < 10 else f"{m:,.0f}× median"


def place(value: float | Decimal, dist: Distribution) -> Placement:
    """Place ``value`` against ``dist`` (see :class:`Placement` for the rules at the edges)."""
    v = float(value)
    knots = dist.knots()
    median = float(dist.p50)
    mult = v / median if median > 0 else None
    if v < knots[0][0]:
        return Placement(v, None, "below", mult, dist.n)
    if v > knots[-1][0]:
        return Placement(v, None, "above", mult, dist.n)
    equal = [p for x, p in knots if x == v]
    if equal:
        return Placement(v, (min(equal) + max(equal)) / 2, "within", mult, dist.n)
    for (x0, p0), (x1, p1) in zip(knots, knots[1:]):
        if x0 < v < x1:
            return Placement(v, p0 + (p1 - p0) * (v - x0) / (x1 - x0), "within", mult, dist.n)
    raise AssertionError("unreachable: knots are ordered")


# --- the team file -----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class TeamBenchmark:
    """A team benchmark: aggregates per metric plus where they came from."""

    name: str
    window_days: int
    generated: str  # RFC 3339 UTC
    source: str
    members: int
    metrics: Mapping[str, Distribution]
    mixed_windows: bool = False

    def to_toml(self) -> str:
        """The team.toml text (tomli-w)."""
        import tomli_w

        doc: dict[str, Any] = {"format": FORMAT, "name": self.name, "window_days": self.window_days,
                               "mixed_windows": self.mixed_windows, "generated": self.generated,
                               "source": self.source, "members": self.members, "metrics": {}}
        for m, d in self.metrics.items():
            doc["metrics"][m] = {"n": d.n, **{f"p{p}": _plain(getattr(d, f"p{p}")) for p in PERCENTILES}}
        return "# tokentop team benchmark: aggregates only (n and p10-p90 per metric), no individual rows\n" \
            + tomli_w.dumps(doc)


def _plain(d: Decimal) -> int | Decimal:
    return int(d) if d == d.to_integral_value() else d


def _positive_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


def _plausible(d: Decimal) -> bool:
    """Finite and below 1e20 (no metric comes near): a larger value is a typing error, and
    would make a giant integer when written back."""
    return d.is_finite() and (not d or d.adjusted() < 20)


def parse_team(text: str, where: str) -> TeamBenchmark:
    """Validate a team.toml document; :class:`BenchmarkError` names ``where`` and the key."""
    def fail(key: str, problem: str) -> BenchmarkError:
        return BenchmarkError(f"{where}: {key}: {problem}", "make it again with `tokentop team build` or "
                              "`tokentop team pull`")

    try:
        doc = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise BenchmarkError(f"{where}: not a valid TOML file: {exc}") from None
    except RecursionError:
        raise BenchmarkError(f"{where}: not a valid TOML file: nested too deeply") from None
    if doc.get("format") != FORMAT:
        raise fail("format", f"expected {FORMAT!r}, got {doc.get('format')!r}")
    name, window, generated = doc.get("name"), doc.get("window_days"), doc.get("generated", "")
    if not isinstance(name, str) or not name.strip():
        raise fail("name", "missing")
    if not _positive_int(window) or window > MAX_WINDOW_DAYS:
        raise fail("window_days", f"expected a whole number of days from 1 to {MAX_WINDOW_DAYS}")
    metrics: dict[str, Distribution] = {}
    if not isinstance(table := doc.get("metrics"), dict):
        raise fail("metrics", "expected a table of metrics")
    for m, spec in table.items():
        if m not in BENCHMARK_METRICS:
            continue  # written by a newer tokentop: ignore what we cannot show
        if not isinstance(spec, dict):
            raise fail(f"metrics.{m}", "expected a table")
        if not _positive_int(n := spec.get("n")) or n > MAX_MEMBERS:
            raise fail(f"metrics.{m}.n", f"expected a whole number from 1 to {MAX_MEMBERS:,}")
        ps = []
        for p in PERCENTILES:
            v = spec.get(f"p{p}")
            if isinstance(v, bool) or not isinstance(v, (int, Decimal)) or not _plausible(Decimal(v)):
                raise fail(f"metrics.{m}.p{p}", "expected a number")
            ps.append(Decimal(v))
        if ps != sorted(ps):
            raise fail(f"metrics.{m}", "percentiles must not decrease from p10 to p90")
        metrics[m] = Distribution(n, *ps)
    if not metrics:
        raise fail("metrics", "no metric tokentop knows")
    members = doc.get("members")
    members = members if _positive_int(members) and members <= MAX_MEMBERS else max(d.n for d in metrics.values())
    return TeamBenchmark(name.strip(), window, str(generated), str(doc.get("source", "")), members, metrics,
                         bool(doc.get("mixed_windows", False)))


def team_from_values(rows: Sequence[Mapping[str, Decimal | None]], *, name: str, window_days: int, source: str,
                     min_members: int = DEFAULT_MIN_MEMBERS, now: datetime | None = None,
                     mixed_windows: bool = False) -> tuple[TeamBenchmark, list[str]]:
    """A team benchmark from one mapping of metric values per member, and notes.

    Refuses fewer than ``min_members`` members; leaves out any metric with fewer values.
    """
    if min_members < MIN_MEMBERS_FLOOR:
        raise BenchmarkError(f"--min-members must be at least {MIN_MEMBERS_FLOOR}",
                             "with fewer members the percentiles are the members' own figures")
    if len(rows) < min_members:
        raise BenchmarkError(f"only {len(rows)} member(s); a team file needs at least {min_members} so that "
                             "no one's figures can be read back out of it")
    metrics, notes = {}, []
    for m in BENCHMARK_METRICS:
        vals = [Decimal(r[m]) for r in rows if r.get(m) is not None]
        if len(vals) >= min_members:
            metrics[m] = distribution(vals)
        elif vals or m in ("tokens_per_week", "cost_per_week"):
            notes.append(f"{m} left out: only {len(vals)} member(s) have a value")
    if not metrics:
        raise BenchmarkError("no metric has values from enough members to publish")
    stamp = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return TeamBenchmark(name, window_days, stamp, source, len(rows), metrics, mixed_windows), notes


# --- snapshots ---------------------------------------------------------------------------

def canonical_json(data: Any) -> bytes:
    """The bytes a snapshot digest is computed over."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def digest_of(data: Any) -> str:
    """sha256 hex of :func:`canonical_json`."""
    return hashlib.sha256(canonical_json(data)).hexdigest()


@dataclass(frozen=True, slots=True)
class MemberFigures:
    """One member's figures read from a verified snapshot (``origin``: for messages only)."""

    origin: str
    window_days: int
    values: Mapping[str, Decimal]
    digest: str


def parse_snapshot(text: str, origin: str, *, toml: bool | None = None) -> MemberFigures:
    """Read and verify one snapshot (JSON, or TOML when ``toml`` or the text is not JSON).

    Refused (:class:`BenchmarkError` naming ``origin``): unreadable, no digest, a digest that
    does not match the data (altered after export), no ``leverage`` object, a bad value.
    """
    if toml is None:
        toml = not text.lstrip().startswith("{")
    try:
        doc = tomllib.loads(text) if toml else strict_json.loads(text)  # a key given twice: refused
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise BenchmarkError(f"{origin}: not a readable {'TOML' if toml else 'JSON'} snapshot ({exc})") from None
    except RecursionError:
        raise BenchmarkError(f"{origin}: not a readable snapshot (nested too deeply)") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), dict):
        raise BenchmarkError(f"{origin}: not a tokentop snapshot (no data object)",
                             "use the JSON or TOML file from `tokentop export --format json`")
    claimed = doc.get("digest", doc.get("sha256"))
    if not isinstance(claimed, str) or not claimed.strip():
        raise BenchmarkError(f"{origin}: the snapshot carries no digest, so it cannot be verified")
    claimed = claimed.strip().lower().removeprefix("sha256:")
    try:
        actual = digest_of(doc["data"])
    except (TypeError, ValueError, RecursionError):
        raise BenchmarkError(f"{origin}: its data cannot be written as canonical JSON, so it cannot be "
                             "verified") from None
    if actual != claimed:
        raise BenchmarkError(f"{origin}: the digest does not match the data: the snapshot was altered after "
                             "export (rejected)", "ask its owner for a fresh `tokentop export`")
    lev = doc["data"].get("leverage")
    if not isinstance(lev, dict):
        raise BenchmarkError(f"{origin}: the snapshot has no leverage figures",
                             "export it again with a tokentop that includes them")
    window = lev.get("window_days")
    if not _positive_int(window) or window > MAX_WINDOW_DAYS:
        raise BenchmarkError(f"{origin}: leverage.window_days: expected a whole number from 1 to {MAX_WINDOW_DAYS}")
    values: dict[str, Decimal] = {}
    for m in BENCHMARK_METRICS:
        v = lev.get(m)
        if v is None:
            continue
        try:
            if isinstance(v, bool) or not isinstance(v, (int, float, str)):
                raise InvalidOperation
            d = Decimal(str(v).strip())
        except InvalidOperation:
            raise BenchmarkError(f"{origin}: leverage.{m}: expected a number, got {v!r:.40}") from None
        if not _plausible(d) or d < 0:
            raise BenchmarkError(f"{origin}: leverage.{m}: expected a non-negative number below 1e20")
        values[m] = d
    return MemberFigures(origin, window, values, actual)


def team_from_snapshots(figures: Sequence[MemberFigures], *, name: str, min_members: int = DEFAULT_MIN_MEMBERS,
                        allow_mixed_windows: bool = False, now: datetime | None = None
                        ) -> tuple[TeamBenchmark, list[str]]:
    """A team benchmark from verified snapshots (one per member; a repeated one is refused)."""
    seen: dict[str, str] = {}
    for f in figures:
        if f.digest in seen:
            raise BenchmarkError(f"{f.origin} and {seen[f.digest]} are the same snapshot; each member counts once")
        seen[f.digest] = f.origin
    by_window: dict[int, list[str]] = {}
    for f in figures:
        by_window.setdefault(f.window_days, []).append(f.origin)
    window = max(by_window, key=lambda w: (len(by_window[w]), w)) if by_window else 0
    notes: list[str] = []
    if len(by_window) > 1:
        which = "; ".join(f"{w} days: {', '.join(o)}" for w, o in sorted(by_window.items()))
        if not allow_mixed_windows:
            raise BenchmarkError(f"the snapshots cover different windows ({which})",
                                 "export them all with the same --period, or pass --allow-mixed-windows "
                                 "(per-week figures are then compared across windows)")
        notes.append(f"mixed windows allowed ({which}); the file says {window} days")
    team, more = team_from_values([f.values for f in figures], name=name, window_days=window, source="snapshots",
                                  min_members=min_members, now=now, mixed_windows=len(by_window) > 1)
    return team, notes + more


# --- public reference points -------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ReferencePoint:
    """A public figure for scale: ``low``…``high`` of ``metric`` (equal for a single value)."""

    key: str
    label: str
    metric: str
    low: float
    high: float
    source: str  # the public claim as tokentop's product spec states it


_MONTH_WEEKS = 365.25 / 12 / 7
_HEAVIEST = ("OpenAI's heaviest internal user growing from 100 thousand to 100 billion tokens per month over "
             "6.5 years")
#: (key, label, metric, low, high, source) — sources as tokentop's product spec states them
REFERENCE_POINTS: tuple[ReferencePoint, ...] = tuple(ReferencePoint(*row) for row in (
    ("openai-week-record", "OpenAI engineer, record week 2026", "tokens_per_week", 210e9, 210e9,
     "one OpenAI engineer at 210 billion tokens in a week (a 2026 record)"),
    ("openai-heaviest-now", "OpenAI heaviest user, now", "tokens_per_week", 100e9 / _MONTH_WEEKS,
     100e9 / _MONTH_WEEKS, _HEAVIEST),
    ("openai-heaviest-then", "OpenAI heaviest user, 6.5 yrs ago", "tokens_per_week", 100e3 / _MONTH_WEEKS,
     100e3 / _MONTH_WEEKS, _HEAVIEST),
    ("always-on-agent", "one always-on agent", "tokens_per_week", 700e6, 700e6,
     "a single always-on agent at about 700 million tokens a week"),
    ("founder", "one founder", "tokens_per_week", 1e9, 10e9, "one founder's 1–10 billion tokens a week"),
    ("claude-code-150k", "Claude Code user, $150k/month", "cost_per_week", 150_000 / _MONTH_WEEKS,
     150_000 / _MONTH_WEEKS, "a Claude Code user spending over $150k in a month"),
    ("half-of-salary", "$250k tokens, $500k engineer", "spend_to_comp", 0.5, 0.5,
     "the \"$250k of tokens for a $500k engineer\" remark (tokens at half of salary)"),
))


def references_for(metric: str) -> tuple[ReferencePoint, ...]:
    """The reference points on ``metric``'s scale, smallest first."""
    return tuple(sorted((r for r in REFERENCE_POINTS if r.metric == metric), key=lambda r: r.low))


def log_axis(values: Iterable[float]) -> tuple[float, float]:
    """Powers of ten bracketing every positive value (at least one decade wide)."""
    pos = [v for v in values if v and v > 0]
    if not pos:
        return (1.0, 10.0)
    lo, hi = math.floor(math.log10(min(pos))), math.ceil(math.log10(max(pos)))
    return (10.0 ** lo, 10.0 ** max(hi, lo + 1))


def log_fraction(value: float, lo: float, hi: float) -> float:
    """Where ``value`` falls on a log axis from ``lo`` to ``hi``, clamped to 0…1 (0 for ≤ 0)."""
    if value <= 0:
        return 0.0
    f = (math.log10(value) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
    return min(1.0, max(0.0, f))
