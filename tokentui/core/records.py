"""The one record type every source produces and the store keeps."""

from __future__ import annotations

from decimal import Decimal

from tokentui.core.slots import SlotValue

#: cost labels: from a provider cost API / priced locally / no price known
BILLED, ESTIMATED, UNPRICED = "billed", "estimated", "unpriced"
#: token labels: counted per request as the agent logged them / derived from session-level
#: totals or character counts (spec/agents.md: Goose, Droid, Hermes, Cursor)
TOKENS_EXACT, TOKENS_ESTIMATED = "exact", "estimated"
TOKEN_LABELS = (TOKENS_EXACT, TOKENS_ESTIMATED)

#: integer picodollars (1e-12 USD) per dollar: exact sums of per-token prices
PICO = 10**12

#: more tokens of one kind than this in one request (local logs) is corrupt data
MAX_TOKENS = 10**10
#: more tokens than this in one local log line (all kinds together) is no real request: 100x
#: the largest context window an agent uses. Such a line is quarantined (not stored, counted
#: and named in `tokentop sources`) by the ingest, never added to a total (issue 14: one
#: corrupt line of 10^10 tokens added $426,000)
MAX_LINE_TOKENS = 10**8
#: the same for one API bucket (a whole organisation's day of one model)
MAX_BUCKET_TOKENS = 10**13
#: SQLite INTEGER: the largest cost (picodollars, about $9.2 million) one record can hold
MAX_PICO = 2**63 - 1
#: accepted timestamps: 2000-01-01 … 2100-01-01 UTC (epoch ms)
MIN_TS_MS, MAX_TS_MS = 946_684_800_000, 4_102_444_800_000
_TOKEN_FIELDS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read", "reasoning")


_RECORD_FIELDS = ("source", "key", "ts_ms", "model", "input", "output", "cache_write_5m", "cache_write_1h",
                  "cache_read", "reasoning", "project", "session", "cost_pico", "cost_label", "kind", "width_s",
                  "requests", "model_fallback", "msg_id", "sidechain", "logged_cost_pico", "raw", "token_label")


class UsageRecord(SlotValue):
    """One request (local logs) or one time bucket (provider APIs).

    Token kinds do not overlap: ``input`` is uncached input only, the cache fields are
    separate, ``output`` includes reasoning (``reasoning`` is the informative subset).
    ``key`` is the natural key inside the source: re-ingesting the same usage yields the
    same key, so the store's upsert never double counts. ``token_label`` says whether the
    token counts are exact (:data:`TOKENS_EXACT`) or an estimate.

    A plain slotted class (:class:`~tokentui.core.slots.SlotValue`: equal by value,
    :meth:`replace` for a changed copy), not a dataclass: every command defines it.
    """

    __slots__ = _RECORD_FIELDS

    def __init__(self, source: str, key: str, ts_ms: int, model: str | None, input: int = 0, output: int = 0,
                 cache_write_5m: int = 0, cache_write_1h: int = 0, cache_read: int = 0, reasoning: int = 0,
                 project: str | None = None, session: str | None = None, cost_pico: int | None = None,
                 cost_label: str = UNPRICED, kind: str = "local", width_s: int = 0, requests: int = 1,
                 model_fallback: bool = False, msg_id: str | None = None, sidechain: bool = False,
                 logged_cost_pico: int | None = None, raw: str | None = None,
                 token_label: str = TOKENS_EXACT) -> None:
        self.source = source
        self.key = key
        self.ts_ms = ts_ms
        self.model = model
        self.input = input
        self.output = output
        self.cache_write_5m = cache_write_5m
        self.cache_write_1h = cache_write_1h
        self.cache_read = cache_read
        self.reasoning = reasoning
        self.project = project
        self.session = session
        self.cost_pico = cost_pico
        self.cost_label = cost_label
        self.kind = kind
        self.width_s = width_s
        self.requests = requests
        self.model_fallback = model_fallback
        self.msg_id = msg_id
        self.sidechain = sidechain
        self.logged_cost_pico = logged_cost_pico
        self.raw = raw
        self.token_label = token_label

    @property
    def cache_write(self) -> int:
        return self.cache_write_5m + self.cache_write_1h

    @property
    def total(self) -> int:
        return self.input + self.output + self.cache_write_5m + self.cache_write_1h + self.cache_read

    @property
    def cost(self) -> Decimal | None:
        return None if self.cost_pico is None else Decimal(self.cost_pico) / PICO


def usd(pico: int | None) -> Decimal | None:
    """Picodollars to a Decimal number of dollars."""
    return None if pico is None else Decimal(pico) / PICO


def to_pico(dollars: Decimal | int | float | str) -> int:
    """Dollars (any exact representation) to integer picodollars."""
    return int((Decimal(str(dollars)) * PICO).to_integral_value())


def token_count(v: object, cap: int = MAX_TOKENS) -> int | None:
    """A whole, non-negative count up to ``cap`` (``12.0`` is fine), else None."""
    if type(v) is float and v.is_integer():
        v = int(v)
    if type(v) is not int or v < 0 or v > cap:
        return None
    return v


def implausible(r: UsageRecord) -> bool:
    """Whether a local record holds more tokens than any one request can (:data:`MAX_LINE_TOKENS`)."""
    if r.kind != "local":
        return False
    i, o, c5, c1, cr = r.input, r.output, r.cache_write_5m, r.cache_write_1h, r.cache_read
    # hot (every local record): inline checks, not all() over a generator
    return (type(i) is int and type(o) is int and type(c5) is int and type(c1) is int and type(cr) is int
            and i + o + c5 + c1 + cr > MAX_LINE_TOKENS)


def problem(r: UsageRecord) -> str | None:
    """Why ``r`` must not be stored (absurd, negative or unstorable numbers), or None.

    The store refuses such records whatever produced them, so one corrupt line or bucket can
    never break a total or a sum (SQLite sums overflow past 2**63)."""
    cap = MAX_BUCKET_TOKENS if r.kind == "api" else MAX_TOKENS
    i, o, c5, c1, cr, rs, n, ts = r.input, r.output, r.cache_write_5m, r.cache_write_1h, r.cache_read, \
        r.reasoning, r.requests, r.ts_ms
    if (type(i) is int and type(o) is int and type(c5) is int and type(c1) is int and type(cr) is int
            and type(rs) is int and type(n) is int and type(ts) is int and type(r.key) is str and r.key
            and 0 <= i <= cap and 0 <= o <= cap and 0 <= c5 <= cap and 0 <= c1 <= cap and 0 <= cr <= cap
            and 0 <= rs <= cap and 0 <= n <= MAX_PICO
            and MIN_TS_MS <= ts < MAX_TS_MS and r.token_label in TOKEN_LABELS):
        return None  # the common case, checked at once; the checks below say what is wrong
    for f in _TOKEN_FIELDS:
        if token_count(getattr(r, f), cap) is None:
            return f"{f} is not a token count between 0 and {cap}: {getattr(r, f)!r:.40}"
    if token_count(r.requests, MAX_PICO) is None:
        return f"requests is not a count: {r.requests!r:.40}"
    if type(r.ts_ms) is not int or not MIN_TS_MS <= r.ts_ms < MAX_TS_MS:
        return f"timestamp out of range: {r.ts_ms!r:.40}"
    if not isinstance(r.key, str) or not r.key:
        return "no key"
    if r.token_label not in TOKEN_LABELS:
        return f"token label is not one of {', '.join(TOKEN_LABELS)}: {r.token_label!r:.40}"
    return None


def storable_cost(cost: int | None, kind: str = "local") -> int | None:
    """``cost`` when one record can hold it (local costs are never negative), else None."""
    if cost is None or type(cost) is not int or abs(cost) > MAX_PICO or (kind == "local" and cost < 0):
        return None
    return cost
