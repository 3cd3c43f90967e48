"""Plan limits: what each source said, as :class:`~tokentui.core.quotas.Observation` s
(spec/quotas.md §3.3): Codex ``rate_limits`` in the logs, Claude Code's status line stdin, and
the Anthropic and ChatGPT usage endpoints' bodies. Pure and stdlib-only (the status line
imports it); every number here came from the vendor.
"""

from __future__ import annotations

import re

from tokentui.core.quotas import (
    FIVE_HOUR,
    SEVEN_DAY,
    Observation,
    epoch_s,
    number,
    round_half_away,
    valid_pct,
    window_kind,
)


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
    return codex_readings(rl, ts_ms, account, session, source=source)[0]


def codex_readings(rl, ts_ms: int, account: str, session: str = "", *,
                   source: str = "codex-log") -> tuple[list[Observation], bool]:
    """:func:`from_codex`, and whether its result is timeless: the same ``rl`` seen at any
    other time reads the same but for ``observed_ms``. It is not when a reset is relative
    (``resets_in_seconds``) or a window's kind comes from the time left to its reset."""
    if not isinstance(rl, dict):
        return [], True
    lim, plan = codex_lim(rl), _text(rl.get("plan_type"))
    out: list[Observation] = []
    timeless = True

    def add(slot: str, used, minutes, reset, src: str, remaining) -> None:
        nonlocal timeless
        pct = number(used)
        if not valid_pct(pct, reset):
            return
        mins = number(minutes)
        if mins is not None and mins > 0:
            win, length = window_kind(mins)
        elif remaining is None:
            return
        else:
            timeless = False  # the kind (or none) follows from the time left
            if slot == "primary" and 0 <= remaining <= FIVE_HOUR:
                win, length = "five_hour", FIVE_HOUR
            elif slot == "secondary" and 0 <= remaining <= SEVEN_DAY:
                win, length = "seven_day", SEVEN_DAY
            else:
                return
        out.append(Observation(source, "openai", account, lim, win, length, pct, reset, src, ts_ms, session, plan))

    if "primary_used_percent" in rl or "secondary_used_percent" in rl:  # G1: flat, no reset
        for slot in ("primary", "secondary"):
            if rl.get(f"{slot}_used_percent") is not None:
                add(slot, rl.get(f"{slot}_used_percent"), rl.get(f"{slot}_window_minutes"), None, "unknown", None)
        return out, timeless
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
                timeless = False
            else:
                src = "unknown"
        add(slot, w.get("used_percent"), w.get("window_minutes"), reset, src, remaining)
    return out, timeless


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
