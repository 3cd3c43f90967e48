"""Plan limits (spec/quotas.md): the status line's spool into the store, the current windows
with their pace and forecast, and the alerts not yet fired. UI-free; the CLI and the TUI show
what this returns."""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from tokentui import paths
from tokentui.core import fmt, quota_labels, quota_readings, quota_state
from tokentui.core import quotas as q
from tokentui.services.quota_gates import OAUTH_SOURCES, STATUSLINE_SUMMARY, oauth_enabled, spool_path
from tokentui.store import ledger
from tokentui.store import quotas as store
from tokentui.store.db import now_ms, transaction

CURSOR = ("quota-spool", "cursor")
#: bytes of spool read per sync at most (the status line appends ~300 bytes per change)
MAX_READ = 32 << 20
#: a consumed spool larger than this is rotated away
ROTATE = 1 << 20
#: windows whose instance reset more than this long ago are not read for the current state
#: (a weekly window's instance, and the one before it for reset detection)
HISTORY_S = 8 * 86400


def observation_of(line: bytes) -> q.Observation | None:
    """One spool line (written by ``tokentop statusline``) as an observation, or None."""
    try:
        d = json.loads(line)
    except ValueError:
        return None
    if not isinstance(d, dict) or d.get("v") != 1 or d.get("src") != "claude-statusline":
        return None
    win, acct, sess = d.get("win"), d.get("acct"), d.get("sess") or ""
    if win not in ("five_hour", "seven_day") or not isinstance(acct, str) or not isinstance(sess, str):
        return None
    obs_ms, reset = d.get("obs_ms"), q.epoch_s(d.get("reset"))
    pct = q.number(d.get("pct"))
    if type(obs_ms) is not int or reset is None or not q.valid_pct(pct, d.get("reset")):
        return None
    cc = d.get("cc") if isinstance(d.get("cc"), str) else None
    return q.Observation("claude-statusline", "anthropic", acct[:200], "account", win,
                         q.FIVE_HOUR if win == "five_hour" else q.SEVEN_DAY, pct, reset, "absolute", obs_ms,
                         sess[:200], None, cc)


def ingest_spool(conn: sqlite3.Connection, device: str, path: Path | None = None) -> int:
    """Store the status line's new spool lines (byte offset kept in ``sync_state``); a consumed
    spool over 1 MiB is rotated away. Returns the samples stored. Never raises for the file."""
    path = path or spool_path()
    try:
        st = os.stat(path)
    except OSError:
        return 0
    got = ledger.get_sync_state(conn, *CURSOR) or ""
    ino, _, off = got.partition(":")
    offset = int(off) if off.isdigit() and ino == str(st.st_ino) and int(off) <= st.st_size else 0
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read(MAX_READ)
    except OSError:
        return 0
    end = data.rfind(b"\n") + 1  # complete lines only
    obs = [o for o in (observation_of(line) for line in data[:end].split(b"\n") if line.strip()) if o]
    with transaction(conn):
        store.upsert(conn, obs, device)
        ledger.set_sync_state(conn, *CURSOR, f"{st.st_ino}:{offset + end}")
    if offset + end == st.st_size and st.st_size > ROTATE:
        _rotate(conn, path, offset + end, device)
    return len(obs)


def _rotate(conn: sqlite3.Connection, path: Path, consumed: int, device: str) -> None:
    """Move the consumed spool aside, store what was appended meanwhile, and delete it: the next
    status line starts a new file."""
    aside = path.with_name(path.name + ".consumed")
    try:
        os.replace(path, aside)
        with open(aside, "rb") as fh:
            fh.seek(consumed)
            rest = fh.read(MAX_READ)
        obs = [o for o in (observation_of(line) for line in rest.split(b"\n") if line.strip()) if o]
        with transaction(conn):
            store.upsert(conn, obs, device)
            ledger.set_sync_state(conn, *CURSOR, "0:0")
        os.unlink(aside)
    except OSError:
        pass


# -- the current windows -------------------------------------------------------------------------
def current(conn: sqlite3.Connection, now: int | None = None) -> list[quota_state.WindowState]:
    """Every window with a current instance (or idle), most urgent first."""
    now = now if now is not None else now_ms()
    return quota_state.states(store.rows(conn, since_reset=now // 1000 - HISTORY_S), now)


@dataclass(frozen=True)
class Alert:
    state: quota_state.WindowState
    kind: str  # warn | critical | limit | runout
    warn: float = q.WARN

    @property
    def threshold(self) -> float:
        return self.warn if self.kind == "warn" else q.CRITICAL

    @property
    def message(self) -> str:
        s = self.state
        name = f"{provider_label(s.provider)} {limit_label(s.lim)} {quota_labels.window_label(s.win)}"
        if self.kind == "runout":
            at = s.runs_out_ms or s.runs_out_recent_ms
            return f"{name} runs out at {clock(at)} at this pace, before its reset at {clock(s.resets_at * 1000)}"
        if self.kind == "limit":
            return f"{name} is at its limit ({s.used:.0f}%), resets {clock(s.resets_at * 1000)}"
        return f"{name} passed {self.threshold:g}% ({s.used:.0f}% used)"


def new_alerts(conn: sqlite3.Connection, now: int | None = None, warn: float = q.WARN,
               states: list | tuple | None = None) -> list[Alert]:
    """Alerts due now that have not fired before for their window instance; noted as fired."""
    now = now if now is not None else now_ms()
    out = []
    states = current(conn, now) if states is None else states
    with transaction(conn):
        for s in states:
            for kind in quota_state.alerts(s, warn=warn):
                if store.fire_alert(conn, s.account, s.lim, s.win, q.canonical_reset(s.resets_at), kind, now):
                    out.append(Alert(s, kind, warn))
            if s.events:
                store.record_events(conn, s.provider, s.account, s.lim, s.win, s.events)
    return out


@dataclass(frozen=True)
class QuotaView:
    """What the dashboard and the Budgets screen show: each window with its instance's curve
    ((first seen ms, running-max percent) points), and the alerts this refresh fired; with no
    window, what the panel says instead (:func:`empty_text`)."""

    now_ms: int
    states: tuple = ()
    curves: tuple = ()  # aligned with ``states``
    alerts: tuple = ()  # Alert messages (str), each once per window instance
    empty: str = ""  # with no window: why (never read, or every window read has reset since)
    seen: bool = False  # some window was read once: its panel stays, saying why it is empty

    def __bool__(self) -> bool:
        return bool(self.states)


def warn_threshold(settings) -> float:
    """``[quota] warn`` (percent, validated by the config), default 80."""
    w = (((settings.raw or {}).get("quota") or {}).get("warn")) if settings is not None else None
    return float(w) if isinstance(w, (int, float)) and not isinstance(w, bool) else q.WARN


def view(conn: sqlite3.Connection, now: int | None = None, *, alerts: bool = True,
         warn: float = q.WARN) -> QuotaView:
    """The current windows, their curves and (``alerts``) the alerts not fired before."""
    now = now if now is not None else now_ms()
    states = tuple(current(conn, now))
    if not states:
        last = store.last_sample_ms(conn)
        return QuotaView(now, empty=empty_text(last, now), seen=bool(last))
    curves = tuple(tuple(store.curve(conn, s.provider, s.account, s.lim, s.win, q.canonical_reset(s.resets_at)))
                   if s.resets_at else () for s in states)
    fired: tuple = ()
    if alerts:
        try:
            fired = tuple(a.message for a in new_alerts(conn, now, warn, states))
        except sqlite3.OperationalError:  # the store is busy: the alerts come with the next refresh
            fired = ()
    return QuotaView(now, states, curves, fired)


# -- words -----------------------------------------------------------------------------------------
NO_DATA = ("No official plan-limit data yet: Codex's appear with your next Codex request; for Claude Code set up "
           "the status line, `tokentop statusline --install` (the numbers arrive with its next refresh).")
_READ_FROM = {"codex-log": "Codex's logs", "claude-statusline": "Claude Code's status line"}


def empty_text(last: dict[str, int], now: int) -> str:
    """What to say when no plan-limit window is current: nothing was ever read (how to get
    some), or the last readings are of windows that have all reset since (when, and from where)."""
    if not last:
        return NO_DATA
    src, ms = max(last.items(), key=lambda kv: kv[1])
    # the gist first: a one-line panel (80×24) cuts the rest
    return (f"Last read {fmt.ago(ms, now)} ({_READ_FROM.get(src, src)}): every window it showed has reset "
            "since. Fresh numbers come with your next request.")


def provider_label(provider: str) -> str:
    return {"anthropic": "Claude", "openai": "Codex"}.get(provider, provider)


def limit_label(lim: str) -> str:
    if lim in ("account", "codex"):
        return "plan"
    return lim[len("model:"):] if lim.startswith("model:") else lim


def clock(ms: int | None) -> str:
    if not ms:
        return "-"
    return datetime.fromtimestamp(ms / 1000).astimezone().strftime("%a %H:%M")


def iso(ms: int | None) -> str | None:
    if not ms:
        return None
    spec = "seconds" if ms % 1000 == 0 else "milliseconds"
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat(timespec=spec).replace("+00:00", "Z")


def as_json(s: quota_state.WindowState) -> dict:
    """One window for ``tokentop quota --json`` (spec §3.8), with its provenance."""
    p = s.pace
    return {"provider": s.provider, "account": s.account, "limit": s.lim, "window": s.win,
            "state": s.state, "used_percent": round(s.used, 2),
            "resets_at": iso(s.resets_at * 1000) if s.resets_at else None, "as_of": iso(s.as_of_ms),
            "source": s.source, "provenance": q.PROVENANCE, "stale": s.stale,
            "stage": p.stage if p else None, "expected_percent": round(p.expected, 2) if p else None,
            "delta": round(p.delta, 2) if p else None, "projected_percent": round(p.projected, 1) if p else None,
            "runs_out_at": iso(s.runs_out_ms), "runs_out_at_recent": iso(s.runs_out_recent_ms),
            "recent_rate_per_hour": round(s.recent_rate, 3) if s.recent_rate is not None else None,
            "plan": s.plan, "possible_reset_unconfirmed": s.drop_unconfirmed}


def describe(s: quota_state.WindowState, now: int) -> str:
    """One plain line for a window: used, reset, pace and forecast, source and age."""
    name = f"{provider_label(s.provider)} {limit_label(s.lim)} {quota_labels.window_label(s.win)}"
    if s.state == "idle":
        return f"{name}: no active window (starts with your next request)"
    if s.state == "reset":
        if s.win in q.FIRST_USE:
            return f"{name}: reset at {clock(s.resets_at * 1000)}; 0%, the next window starts with your next request"
        return f"{name}: reset at {clock(s.resets_at * 1000)} (new window not seen yet)"
    parts = [f"{name}: {s.used:.0f}% used, resets in {quota_labels.countdown(s.resets_at - now / 1000)} "
             f"({clock(s.resets_at * 1000)})"]
    if s.pace:
        parts.append(f"{s.pace.stage} (expected {s.pace.expected:.0f}%)")
        if s.pace.runs_out_ms:
            parts.append(f"runs out {clock(s.pace.runs_out_ms)} at this pace")
        else:
            parts.append("lasts to reset at the window average")
    if s.runs_out_recent_ms:
        parts.append(f"runs out {clock(s.runs_out_recent_ms)} at the last hour's rate"
                     if s.win == "five_hour" else f"runs out {clock(s.runs_out_recent_ms)} at the last day's rate")
    if s.drop_unconfirmed:
        parts.append("possible reset (unconfirmed)")
    age = f"as of {clock(s.as_of_ms)}" + (", stale" if s.stale else "")
    parts.append(f"{s.source}, {age}")
    return "; ".join(parts)


# -- `tokentop sources` and `budget check --json` -------------------------------------------------
_SOURCE_HINTS = {
    "codex-log": "Codex: no official limit data yet. It appears after your next Codex request.",
    "claude-statusline": "no sample yet: set up `tokentop statusline --install` in Claude Code (a Claude.ai "
                         "plan; API-key users have no plan limits)",
}


def source_rows(conn: sqlite3.Connection) -> list[dict]:
    """One entry per plan-limit source: when its last sample was seen, or what to do."""
    last = store.last_sample_ms(conn)
    out = []
    now = now_ms()
    for src in ("codex-log", "claude-statusline"):
        ms = last.get(src)
        message = None if ms else _SOURCE_HINTS[src]
        if src == "claude-statusline" and now - (ms or 0) > 86_400_000:
            used = store.latest_usage_ms(conn, "claude-code")
            if used and now - used < 86_400_000 and ms:
                message = ("Claude Code was used in the last 24 h but its status line sent nothing: is "
                           "`tokentop statusline` still set, the workspace trusted, and hooks not disabled?")
        out.append({"name": f"quota:{src}", "kind": "quota", "status": "ok" if ms else "no data",
                    "last_sample_ms": ms, "last_sample": iso(ms), "message": message})
    stored = ledger.statuses(conn)
    for src in OAUTH_SOURCES:  # opt-in: listed once polled (their last error, e.g. a 429's wait)
        row = stored.get(f"quota:{src}")
        if row is None and src not in last:
            continue
        ms = last.get(src)
        out.append({"name": f"quota:{src}", "kind": "quota", "status": row[1] if row else "ok",
                    "last_sample_ms": ms, "last_sample": iso(ms), "message": row[2] if row else None})
    return out


def quotas_json(conn: sqlite3.Connection, now: int | None = None) -> list[dict]:
    now = now if now is not None else now_ms()
    return [as_json(s) for s in current(conn, now)]


# -- opt-in OAuth usage endpoints (spec §1.3) -------------------------------------------------------
#: at most one poll per endpoint this often; after a 429, max(Retry-After, this)
OAUTH_INTERVAL_MS = 5 * 60 * 1000


def poll_oauth(conn: sqlite3.Connection, settings, *, now: int | None = None, transport=None,
               force: bool = False) -> list[tuple[str, str, str]]:
    """Poll each opted-in usage endpoint that is due: ``(source, status, message)`` each. Never
    more than every 5 minutes, never within a 429's Retry-After, never while a log or the status
    line gave the same provider's windows in the last 5 minutes (``force`` skips the last rule)."""
    import asyncio

    from tokentui.sources.api import quota_oauth as oauth

    now = now if now is not None else now_ms()
    out = []
    for src in oauth_enabled(settings):
        due = ledger.get_sync_state(conn, f"quota:{src}", "next_ms")
        if due and due.isdigit() and now < int(due):
            out.append((src, "skipped", "not due yet"))
            continue
        provider = OAUTH_SOURCES[src]
        if not force and _fresh_elsewhere(conn, provider, src, now):
            out.append((src, "skipped", "fresh from the logs or the status line"))
            continue
        status, message, next_ms = "ok", "", now + OAUTH_INTERVAL_MS
        try:
            token = oauth.claude_token(now) if src == "claude-oauth" else oauth.codex_token()
            body = asyncio.run(oauth.fetch(token, transport=transport))
            obs = _observations(src, body, now, token)
            with transaction(conn):
                store.upsert(conn, obs, settings.device)
            message = f"{len(obs)} window(s)"
        except oauth.CredentialProblem as exc:
            status, message = "error", str(exc)
        except oauth.ApiError as exc:
            status, message = "error", exc.message
            if exc.kind == "rate_limited":
                wait = max(exc.retry_after or 0, OAUTH_INTERVAL_MS / 1000)
                next_ms = now + int(wait * 1000)
                message = f"rate limited (HTTP 429), retry after {wait / 60:.0f} min"
        with transaction(conn):
            ledger.set_sync_state(conn, f"quota:{src}", "next_ms", str(next_ms))
            ledger.set_status(conn, f"quota:{src}", status, message or None)
        out.append((src, status, message))
    return out


def _fresh_elsewhere(conn: sqlite3.Connection, provider: str, src: str, now: int) -> bool:
    seen = store.last_seen_elsewhere(conn, provider, src)
    return bool(seen and now - seen < OAUTH_INTERVAL_MS)


def _observations(src: str, body: dict, now: int, token) -> list:
    if src == "claude-oauth":
        from tokentui.sources.claude_account import account_key

        return quota_readings.from_anthropic_oauth(body, now, account_key(), token.plan)
    from tokentui.sources.codex import quota_account

    from tokentui.sources.api.quota_oauth import codex_home

    return quota_readings.from_wham(body, now, quota_account(codex_home()))


# -- what the status line adds from the store (it never opens the store itself) ---------------------
#: budget status → urgency (the dashboard's order: over, projected over, alerting, ok)
_URGENCY = {"over": 3, "projected_over": 2, "warning": 1, "ok": 0}


def summary_text(snap, budgets=None) -> str:
    """``today 1.2M $3.40 · $0.52/h · work 82%``: today's tokens and cost, the last hour's burn
    and the most urgent budget (``budgets``: BudgetResults, or None when not evaluated)."""
    from tokentui.core.fmt import tokens_short

    parts = []
    today = snap.period("today") if snap is not None else None
    if today is not None:
        parts.append(f"today {tokens_short(today.tokens)} ${today.cost:.2f}")
    burn = snap.burn.usd_per_hour_1h if snap is not None else 0
    if burn:
        parts.append(f"${burn:.2f}/h")
    if budgets:
        r = max(budgets, key=lambda r: (_URGENCY.get(r.status, 0), r.used_fraction))
        parts.append(f"{r.budget.name} {r.used_fraction:.0%}" + (" ⚠" if _URGENCY.get(r.status, 0) >= 2 else ""))
    return " · ".join(parts)


def write_summary(folder: Path, snap, budgets=None) -> None:
    """Leave :func:`summary_text` for ``tokentop statusline`` in ``folder`` (the data dir);
    without ``budgets`` the last budget part written is kept. Best effort: never raises."""
    path = folder / STATUSLINE_SUMMARY
    text = summary_text(snap, budgets)
    if budgets is None:
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(old, dict) and isinstance(old.get("budget"), str) and old["budget"]:
                text = f"{text} · {old['budget']}" if text else old["budget"]
        except (OSError, ValueError):
            pass
    budget = summary_text(None, budgets) if budgets else None
    try:
        paths.write_private_text(path, json.dumps({"at_ms": snap.now_ms, "text": text, "budget": budget}))
    except Exception:  # noqa: BLE001 - an extra for the status line; never fails a refresh or a sync
        pass


def refresh_summary(conn: sqlite3.Connection, settings) -> None:
    """After a ``tokentop sync``: the status line's summary. It costs a dashboard snapshot and the
    budgets' evaluation, so the sync asks for it only when the status line is in use
    (:func:`~tokentui.services.quota_gates.statusline_in_use`, checked without importing this
    module)."""
    from datetime import datetime as _dt

    from tokentui.services import dashboard
    from tokentui.services.budgets import evaluate_all

    tz = settings.tz()
    snap = dashboard.build_snapshot(conn, _dt.now(timezone.utc), tz)
    try:
        budgets = evaluate_all(conn, settings, tz=tz)
    except Exception:  # noqa: BLE001 - a broken [budgets] table: the summary without a budget
        budgets = ()
    write_summary(paths.data_dir(), snap, tuple(budgets))
