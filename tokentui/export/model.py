"""The snapshot data model: one versioned, JSON-ready document shared by every format.

A snapshot file carries three things, in every format::

    format          "tokentop-snapshot"
    schema_version  SCHEMA_VERSION (also inside ``data``, where the digest covers it)
    digest          sha256 hex of canonical_json(data)
    data            the document below

``canonical_json(data)`` is ``json.dumps(data, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)``: ``tokentop verify`` and ``tokentop team build`` both recompute it.

``data`` holds only strings, integers, finite floats, booleans, lists and objects: no null
(TOML has none: absent means unknown). Money is a decimal string (exact, never a float);
tokentop's own ratios are decimal strings too; the leverage figures keep the leverage
module's JSON (rates and ratios as floats, which JSON and TOML both round-trip exactly).
Layout (schema 1)::

    schema_version, kind="tokentop-snapshot", layout_version, generated_at (UTC ISO),
    tokentop_version
    label?                      optional free text (--name)
    period      {spec, start, end (inclusive), days, timezone, to_date}
    window_days                 days in the period (leverage metrics are per week over it)
    totals      {input_tokens, output_tokens, cache_write_tokens, cache_read_tokens,
                 reasoning_tokens, total_tokens, cost_usd, billed_usd, estimated_usd,
                 unpriced_tokens, unpriced_share, requests, records, estimated_tokens, active_days}
    by_source   [{source, kind, <token fields>, total_tokens, cost_usd, billed_usd, unpriced_tokens,
                  records, estimated_tokens}]
    by_model    [{model, <token fields>, total_tokens, cost_usd, unpriced_tokens}]  (counted, cost desc)
    daily       [{date, <token fields>, total_tokens, cost_usd, unpriced_tokens}]  every day
    (totals, by_model and daily count usage seen in both logs and a usage API once per day;
    by_source shows each source as recorded)
    projects?   [{project, total_tokens, cost_usd}]  only with --include-projects (names only)
    by_device?  [{device, <token fields>, total_tokens, cost_usd, unpriced_tokens, records}]  only with
                --include-devices (a history merged from several machines; as recorded, like by_source)
    budgets?    [{name, unit (usd|tokens), amount, period, period_start, period_end (exclusive),
                  scope, spent, remaining, used_share, elapsed_share, pace?, daily_rate, projected,
                  projected_p10, projected_p90, exhaustion?, exhaustion_p10?, exhaustion_p90?,
                  runs_out?, runway_quarters?, unpriced_tokens, status, headline, method,
                  burnup: [{date, actual?, expected?, low?, high?}]}]  ([] when none configured;
                  absent when the budgets feature is unavailable or the config is invalid)
    leverage?   {window_days, <metric>: value, model_mix, active_minutes, tokens, cost_usd}
                (core.leverage.Leverage.to_json without spend_to_comp; what ``team build`` reads)
    team?       {name, members, window_days, generated, source,
                 metrics: [{metric, n, p10, p25, p50, p75, p90, position?, percentile?, multiple?}]}
    quotas?     [{provider, limit, window, state (active|reset|idle), used_percent, resets_at?, as_of,
                  source, provenance ("official": the vendor's own number), stale, stage?,
                  expected_percent?, runs_out_at?, runs_out_at_recent?}]  plan limits at generation
                  time (percents are decimal strings; the account is left out)
    provenance  {sources: [{source, kind, status, last_sync?, records, records_in_period,
                 duplicates_dropped, skipped_lines}], pricing_data_version, store_pricing_version?,
                 tokentop_version, billed_usd, estimated_usd, unpriced_tokens, unpriced_share,
                 overlap: [{date, provider, counted, local_tokens, api_tokens}]}
    notes       [str]  method notes in plain words
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Mapping

from tokentui.core.dates import DateRangeError, check_day
from tokentui.core.projects import display_name
from tokentui.core.records import PICO

SCHEMA_VERSION = 1
KIND = "tokentop-snapshot"
#: bump when md/html/csv layout changes: verify re-renders only documents of its own layout
LAYOUT_VERSION = 3
MICRO = Decimal("0.000001")
TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens")
PERIOD_SPECS = ("7d", "28d", "month", "quarter", "year")


class SnapshotError(ValueError):
    """A document that is not a valid snapshot (the message says what is wrong)."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Validated snapshot data and its digest; renderers take this."""

    data: Mapping[str, Any]
    digest: str

    def envelope(self) -> dict[str, Any]:
        """The top-level object written by the JSON and TOML formats."""
        return {"format": KIND, "schema_version": self.data["schema_version"], "digest": self.digest,
                "data": self.data}


def canonical_json(data: Any) -> str:
    """The canonical text the digest is computed over (shared with ``team build``)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(data: Any) -> str:
    """sha256 hex of :func:`canonical_json`."""
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()


def clean(value: Any) -> Any:
    """Drop None values from objects (recursively) and turn tuples into lists."""
    if isinstance(value, Mapping):
        return {str(k): clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value if v is not None]
    return value


def _check_values(value: Any, where: str) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str):
                raise SnapshotError(f"{where}: non-string key {k!r}")
            _check_values(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_values(v, f"{where}[{i}]")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise SnapshotError(f"{where}: {value!r} is not a finite number")
    elif value is None or not isinstance(value, (str, int, bool)):
        raise SnapshotError(f"{where}: {type(value).__name__} is not allowed")


REQUIRED = {"schema_version": int, "kind": str, "generated_at": str, "tokentop_version": str, "period": dict,
            "window_days": int, "totals": dict, "by_source": list, "by_model": list, "daily": list,
            "provenance": dict, "notes": list}
#: the other top-level fields of schema 1 (see the layout above); nothing else is accepted
OPTIONAL = ("layout_version", "label", "projects", "by_device", "budgets", "leverage", "team", "quotas")


def validate(data: Any) -> None:
    """Raise :class:`SnapshotError` unless ``data`` follows the schema's shape and value rules."""
    if not isinstance(data, Mapping):
        raise SnapshotError("the snapshot data is not an object")
    for key, kind in REQUIRED.items():
        if not isinstance(data.get(key), kind):
            raise SnapshotError(f"data.{key} is missing or not {kind.__name__}")
    if data["kind"] != KIND:
        raise SnapshotError(f"data.kind is {data['kind']!r}, not {KIND!r}")
    if data["schema_version"] > SCHEMA_VERSION:
        raise SnapshotError(f"schema version {data['schema_version']} is newer than this tokentop "
                            f"understands ({SCHEMA_VERSION})")
    extra = sorted(str(k) for k in data if k not in REQUIRED and k not in OPTIONAL)
    if extra:
        raise SnapshotError(f"unexpected field{'s' if len(extra) > 1 else ''} "
                            f"{', '.join('data.' + k for k in extra[:5])}{' …' if len(extra) > 5 else ''}: "
                            "tokentop never writes it")
    _check_values(data, "data")


def make(data: Mapping[str, Any]) -> Snapshot:
    """Clean, validate and digest ``data``."""
    cleaned = clean(data)
    validate(cleaned)
    return Snapshot(cleaned, digest(cleaned))


# --- values ---------------------------------------------------------------------------------

def money(pico: int | None) -> str | None:
    """Integer picodollars → USD decimal string to the micro-dollar ('12.345679')."""
    if pico is None:
        return None
    return str((Decimal(pico) / PICO).quantize(MICRO, rounding=ROUND_HALF_UP))


def money_of(value: Decimal | int | float | str, places: Decimal = MICRO) -> str:
    """Any exact or float USD amount → decimal string (floats via ``repr``)."""
    d = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    return str(d.quantize(places, rounding=ROUND_HALF_UP))


def ratio(num: int | float, den: int | float, places: int = 4) -> str:
    """``num / den`` as a decimal string ('0.1234'); 0 when ``den`` is 0."""
    if not den:
        return "0"
    q = Decimal(1).scaleb(-places)
    return str((Decimal(repr(float(num))) / Decimal(repr(float(den)))).quantize(q, rounding=ROUND_HALF_UP))


def number(value: Any, places: int = 4) -> Any:
    """A metric value for ``data``: ints stay, floats and Decimals become decimal strings."""
    if isinstance(value, bool) or isinstance(value, int) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        return str(Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))
    if isinstance(value, Decimal):
        return str(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))
    if isinstance(value, Mapping):
        return {str(k): number(v, places) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [number(v, places) for v in value]
    return str(value)


def project_name(project: str) -> str:
    """A project's name without the path it lives at.

    ``/home/u/work/api`` → ``api``; Claude's flattened ``-home-u-my-app`` → ``my-app``, as the
    tables show it (:func:`tokentui.core.projects.display_name`), never a path."""
    p = project.strip().rstrip("/\\")
    if "/" in p or "\\" in p or not p:
        return re.split(r"[/\\]", p)[-1] or "(root)"
    return display_name(p).lstrip("-") or "(home)"


# --- periods --------------------------------------------------------------------------------

def parse_period(spec: str, today: date, bounds) -> tuple[date, date, bool]:
    """``(first day, last day, to_date)`` of a period spec, both inclusive, in local dates.

    ``7d``/``28d``: the last N days ending today. ``month``/``quarter``/``year``: the current
    calendar period up to today (``bounds(period)`` gives its local start date).
    ``YYYY-MM-DD..YYYY-MM-DD``: exactly those days."""
    s = spec.strip()
    if s in ("7d", "28d"):
        n = int(s[:-1])
        return today - timedelta(days=n - 1), today, True
    if s in ("month", "quarter", "year"):
        return bounds(s), today, True
    if ".." in s:
        a_text, b_text = s.split("..", 1)
        try:
            a, b = date.fromisoformat(a_text.strip()), date.fromisoformat(b_text.strip())
        except ValueError:
            raise SnapshotError(f"dates in {spec!r} must look like 2026-11-01..2026-11-30") from None
        try:
            check_day(a, "--period")
            check_day(b, "--period")
        except DateRangeError as exc:
            raise SnapshotError(str(exc)) from None
        if a > b:
            raise SnapshotError(f"period {spec!r} ends before it starts")
        return a, b, b >= today
    raise SnapshotError(f"unknown period {spec!r}: use 7d, 28d, month, quarter, year or "
                        "YYYY-MM-DD..YYYY-MM-DD")
