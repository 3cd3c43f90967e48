"""What one Codex rollout line's payload says (spec/local-logs.md §3.2–3.3): token usage with
the aliases other writers use, the model, when a turn started. Pure functions of the payload;
the per-file algorithm that uses them is :mod:`tokentui.sources.codex`."""

from __future__ import annotations

import re

from tokentui.sources.common import MAX_MS, MIN_MS, parse_ts_ms, token_count

FALLBACK_MODEL = "gpt-5"
#: running totals of a session grow past one request's cap; beyond this they are corrupt
MAX_RUNNING_TOTAL = 10**13
_FIELDS = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens", "total_tokens")
_ALIASES = {
    "input_tokens": ("input_tokens", "prompt_tokens", "input"),
    "cached_input_tokens": ("cached_input_tokens", "cache_read_input_tokens", "cached_tokens"),
    "output_tokens": ("output_tokens", "completion_tokens", "output"),
    "reasoning_output_tokens": ("reasoning_output_tokens", "reasoning_tokens"),
    "total_tokens": ("total_tokens",),
}
_UUID7 = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-7[0-9a-fA-F]{3}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# codex-auto-review is billed as the newest model released on or before the log date (§3.3)
_AUTO_REVIEW = (("2026-04-23", "gpt-5.5"), ("2026-03-05", "gpt-5.4"), ("2026-02-05", "gpt-5.3-codex"),
                ("2025-12-11", "gpt-5.2-codex"), ("2025-11-13", "gpt-5.1-codex"), ("2025-09-15", "gpt-5-codex"))


def token_usage(obj) -> list[int] | None:
    """A ``TokenUsage`` object as ``[input, cached, output, reasoning, total]`` (its aliases
    read as ccusage reads them; total = input + output when missing), or None when corrupt."""
    if type(obj) is not dict:
        return None
    g = obj.get
    vals = [g("input_tokens"), g("cached_input_tokens"), g("output_tokens"), g("reasoning_output_tokens"),
            g("total_tokens")]
    if (type(vals[0]) is int and type(vals[1]) is int and type(vals[2]) is int and type(vals[3]) is int
            and type(vals[4]) is int and 0 <= min(vals) and max(vals) <= MAX_RUNNING_TOTAL):
        # the usual shape, every canonical field a count: what the alias walk below would give
        if vals[4] == 0 and (vals[0] or vals[2]):
            vals[4] = vals[0] + vals[2]
        return vals
    vals = []
    for f in _FIELDS:
        v = 0
        for alias in _ALIASES[f]:
            x = obj.get(alias)
            if x is not None:
                v = x
                break
        v = token_count(v, MAX_RUNNING_TOTAL)
        if v is None:
            return None
        vals.append(v)
    if vals[4] == 0 and (vals[0] or vals[2]):
        vals[4] = vals[0] + vals[2]
    return vals


def model_of(payload) -> str | None:
    """The model a payload names (``model``, ``model_name``, ``metadata.model``), or None."""
    if type(payload) is not dict:
        return None
    for k in ("model", "model_name"):
        v = payload.get(k)
        if type(v) is str and v:
            return v
    meta = payload.get("metadata")
    if type(meta) is dict and type(meta.get("model")) is str and meta["model"]:
        return meta["model"]
    return None


def auto_review(day: str) -> str:
    """The model ``codex-auto-review`` is billed as on ``day`` (YYYY-MM-DD)."""
    for start, model in _AUTO_REVIEW:
        if day >= start:
            return model
    return FALLBACK_MODEL


def turn_start_ms(payload: dict) -> int | None:
    """When a turn started, from its ``turn_context`` / ``task_started`` payload: ``started_at``
    (Unix seconds or milliseconds, or an ISO time), else the time inside a UUIDv7 ``turn_id``
    (its first 48 bits are Unix milliseconds); None when the payload says nothing."""
    v = payload.get("started_at", payload.get("startedAt"))
    ms = None
    if type(v) in (int, float) and v == v and v > 0:
        ms = int(v * 1000) if v < 10**11 else int(v)  # seconds, or already milliseconds
    elif type(v) is str:
        ms = parse_ts_ms(v)
    if ms is None:
        tid = payload.get("turn_id")
        if type(tid) is str and _UUID7.match(tid):
            ms = int(tid[:8] + tid[9:13], 16)
    return ms if ms is not None and MIN_MS <= ms < MAX_MS else None
