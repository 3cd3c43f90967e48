"""``tokentop statusline``: Claude Code's ``statusLine`` command (spec/quotas.md §2).

Claude Code writes one JSON object to stdin on every refresh. This records its ``rate_limits``
(the official 5-hour and weekly percentages) by appending to a spool file that ``tokentop
sync`` and the dashboard ingest, and prints one status line. It is on the hot path of every
Claude Code refresh, so it imports only the standard library and the pure plan-limit modules
:mod:`tokentui.core.quotas`, :mod:`~tokentui.core.quota_readings` and
:mod:`~tokentui.core.quota_labels` (and the names of the files it shares with a sync, from
:mod:`tokentui.services.quota_gates`): no SQLite, no network, no log scan, no Textual, no config
parsing. It always prints one non-empty line and exits 0; nothing goes to stderr
(``TOKENTOP_DEBUG=1`` writes a line to ``statusline-debug.log`` in the data dir instead).
"""

from __future__ import annotations

import json
import os
import sys
import time

from tokentui.core import quota_labels, quota_readings
from tokentui.core import quotas as q
from tokentui.services.quota_gates import SPOOL
from tokentui.services.quota_gates import STATUSLINE_STATE as STATE
from tokentui.services.quota_gates import STATUSLINE_SUMMARY as SUMMARY

MAX_STDIN = 1 << 20
READ_DEADLINE = 0.2
#: the same (account, window, reset, session, percent) is appended again only after this long
HEARTBEAT_MS = 10 * 60 * 1000
#: the summary a sync leaves for the status line is shown while it is this fresh
SUMMARY_FRESH_MS = 30 * 60 * 1000
SNIPPET = {"statusLine": {"type": "command", "command": "tokentop statusline", "padding": 0}}

USAGE = """usage: tokentop statusline [--now EPOCH] [--no-record] [--then COMMAND] [--install | --print-config]

Claude Code's status line: reads the JSON Claude Code sends on stdin, records its official
5-hour / weekly plan-limit percentages for tokentop, and prints one line:
  [model] 5h 62% +15 ↻2h40m ⚠15:45 · 7d 38% ↻4d5h · ctx 38%
(+15: points ahead of an even pace; ↻: time to reset; ⚠: when the window runs out at this pace).

options:
  --now EPOCH     use this clock (Unix seconds; for tests)
  --no-record     print only: record nothing
  --then COMMAND  record, then run your own status line COMMAND (in a shell) on the same input
                  and print its line instead (tokentop's own line if it fails or prints nothing)
  --print-config  print the settings.json snippet that sets it up
  --install       print the snippet and offer to add it to ~/.claude/settings.json
"""


def data_dir() -> str:
    """tokentop's data dir, as :func:`tokentui.paths.data_dir` finds it (platformdirs' user data
    dir), computed with the standard library only."""
    env = os.environ.get("TOKENTOP_DATA_DIR")
    if env:
        return os.path.expanduser(env)
    home = os.path.expanduser("~")
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.join(home, "AppData", "Local")
        return os.path.join(base, "tokentop")
    if sys.platform == "darwin":
        return os.path.join(home, "Library", "Application Support", "tokentop")
    base = os.environ.get("XDG_DATA_HOME", "").strip() or os.path.join(home, ".local", "share")
    return os.path.join(base, "tokentop")


def read_stdin(limit: int = MAX_STDIN, deadline: float = READ_DEADLINE) -> bytes:
    """Stdin up to EOF, at most ``limit`` bytes, giving up after ``deadline`` seconds (Claude
    Code once held stdin open without EOF)."""
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, ValueError, OSError):
        return b""
    end = time.monotonic() + deadline
    chunks, size = [], 0
    if sys.platform == "win32":  # select() takes no pipes there: a reader thread and a deadline
        import threading

        box: list[bytes] = []
        t = threading.Thread(target=lambda: box.append(os.read(fd, limit)), daemon=True)
        t.start()
        t.join(deadline)
        return box[0] if box else b""
    import select

    while size < limit:
        left = end - time.monotonic()
        if left <= 0:
            break
        try:
            ready, _, _ = select.select([fd], [], [], left)
        except (OSError, ValueError):
            break
        if not ready:
            break
        chunk = os.read(fd, min(65536, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


# -- account (spec §1.2): tokentui.sources.claude_account (stdlib only) -----------------------------
def account_key(state: dict) -> str:
    from tokentui.sources.claude_account import account_key as key

    return key(state)


# -- state and spool (spec §2.4) ----------------------------------------------------------------------
def load_state(folder: str) -> dict:
    try:
        with open(os.path.join(folder, STATE), "rb") as fh:
            data = json.loads(fh.read(4 << 20))
        return data if isinstance(data, dict) and data.get("v") == 1 else {"v": 1}
    except (OSError, ValueError):
        return {"v": 1}  # missing or corrupt: replaced on the next write


def save_state(folder: str, state: dict) -> None:
    tmp = os.path.join(folder, f".{STATE}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, json.dumps(state, separators=(",", ":")).encode())
    finally:
        os.close(fd)
    os.replace(tmp, os.path.join(folder, STATE))


def _wkey(acct: str, win: str, reset: int) -> str:
    return f"{acct}|{win}|{reset}"


def record(folder: str, state: dict, obs: list, now_ms: int) -> int:
    """Append each new reading to the spool (one ``O_APPEND`` write each) and note it in the
    state; returns how many lines were appended."""
    lines = []
    windows = state.setdefault("windows", {})
    for o in obs:
        sessions = windows.setdefault(_wkey(o.account, o.win, o.resets_at), {"raw": o.resets_at_raw, "s": {}})
        sessions["raw"] = o.resets_at_raw
        seen = sessions["s"].get(o.session)
        if seen and seen[0] == o.used_bp and now_ms - seen[1] < HEARTBEAT_MS:
            continue
        sessions["s"][o.session] = [o.used_bp, now_ms]
        lines.append(json.dumps({"v": 1, "src": o.source, "obs_ms": o.observed_ms, "acct": o.account,
                                 "sess": o.session, "cc": o.client_version, "lim": o.lim, "win": o.win,
                                 "pct": o.used_pct, "reset": o.resets_at_raw}, separators=(",", ":")) + "\n")
    if lines:
        fd = os.open(os.path.join(folder, SPOOL), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for line in lines:
                os.write(fd, line.encode())
        finally:
            os.close(fd)
    # forget windows that reset more than 8 days ago
    cutoff = now_ms // 1000 - 8 * 86400
    for k in [k for k, v in windows.items() if not isinstance(v, dict) or (v.get("raw") or 0) < cutoff]:
        del windows[k]
    return len(lines)


def shown(state: dict, obs: list) -> list[tuple[str, float, int]]:
    """(window, percent shown, raw reset) per valid window: the maximum over the sessions the
    state knows for the same instance, this one included (idle sessions show stale values)."""
    out = []
    windows = state.get("windows") or {}
    for o in obs:
        best = o.used_pct
        for key, v in windows.items():
            acct, _, rest = key.partition("|")
            win, _, reset = rest.partition("|")
            if acct != o.account or win != o.win or not reset.isdigit() or not isinstance(v, dict):
                continue
            if abs(int(reset) - o.resets_at) > q.SAME_INSTANCE_S:
                continue
            for got in (v.get("s") or {}).values():
                if isinstance(got, list) and got and isinstance(got[0], int):
                    best = max(best, got[0] / 100.0)
        out.append((o.win, best, o.resets_at_raw))
    return out


# -- the line (spec §2.5) --------------------------------------------------------------------------
def _local_clock(epoch: float, now: float) -> str:
    t = time.localtime(epoch)
    if epoch - now < 86400:
        return time.strftime("%H:%M", t)
    return time.strftime("%a %H:%M", t)


def window_text(win: str, used: float, reset: int, now: float) -> tuple[dict, str]:
    """The parts of one window's segment, and its colour (green/yellow/red)."""
    label = quota_labels.window_label(win)
    r = reset - now
    if r <= 0:
        return {"head": f"{label} ↻now"}, "green"
    length = q.FIVE_HOUR if win == "five_hour" else q.SEVEN_DAY
    parts = {"head": f"{label} {q.round_half_away(used)}%"}
    colour = "green"
    if r <= length:
        e = length - r
        f = e / length
        if f >= 0.03:
            d = q.round_half_away(used - 100.0 * f)
            if abs(d) >= 3:
                parts["delta"] = f"{d:+d}"
                if d > 0:
                    colour = "yellow"
        if used < 100 and f >= 0.10 and used > 0:
            eta = (100.0 - used) * e / used
            if eta < r:
                parts["warn"] = "⚠" + _local_clock(now + eta, now)
                colour = "red"
    parts["reset"] = "↻" + quota_labels.countdown(r)
    if used >= 95:
        colour = "red"
    elif used >= 80 and colour == "green":
        colour = "yellow"
    return parts, colour


def context_pct(payload: dict) -> int | None:
    cw = payload.get("context_window")
    if not isinstance(cw, dict):
        return None
    if "used_percentage" in cw:
        v = q.number(cw.get("used_percentage"))
        return q.round_half_away(v) if v is not None else None
    tin, size = q.number(cw.get("total_input_tokens")), q.number(cw.get("context_window_size"))
    if tin and size and tin > 0 and size > 0:
        return q.round_half_away(100.0 * tin / size)
    return None


def model_name(payload) -> str | None:
    m = payload.get("model") if isinstance(payload, dict) else None
    if isinstance(m, dict):
        for k in ("display_name", "id"):
            if isinstance(m.get(k), str) and m[k].strip():
                return m[k].strip()
    if isinstance(m, str) and m.strip():
        return m.strip()
    return None


_SGR = {"green": "\x1b[32m", "yellow": "\x1b[33m", "red": "\x1b[31m"}


def clean(text: str) -> str:
    """Text from the payload, made harmless: no control character reaches the terminal."""
    return "".join(c if c.isprintable() else "?" for c in text)[:80]


def build_line(payload: dict, windows: list[tuple[str, float, int]], now: float, *, colour: bool,
               columns: int | None = None, summary: str | None = None) -> str:
    model = clean(model_name(payload) or "Claude")
    segs = []  # (parts, colour)
    for win, used, reset in windows:
        segs.append(window_text(win, used, reset, now))
    tail = []
    if not segs:
        cost = q.number(_dig(payload, "cost", "total_cost_usd"))
        if cost is not None and cost >= 0:
            tail.append(f"${cost:.2f} session")
    ctx = context_pct(payload)
    drops = ["ctx", "warn", "delta", "reset7"]

    def render(dropped: set, with_colour: bool) -> str:
        out = [f"[{model}]"]
        for parts, c in segs:
            keys = ["head", "delta", "reset", "warn"]
            bits = []
            for k in keys:
                if k not in parts or k in dropped or (k == "reset" and "reset7" in dropped
                                                      and not parts["head"].startswith("5h")):
                    continue
                bits.append(parts[k])
            text = " ".join(bits)
            out.append(f"{_SGR[c]}{text}\x1b[0m" if with_colour else text)
        out.extend(tail)
        if summary:
            out.append(summary)
        if ctx is not None and "ctx" not in dropped:
            out.append(f"ctx {ctx}%")
        return out[0] + (" " + " · ".join(out[1:]) if len(out) > 1 else "")

    dropped: set = set()
    if columns:
        for d in drops:
            if len(render(dropped, False)) <= columns:
                break
            dropped.add(d)
        plain = render(dropped, False)
        if len(plain) > columns:
            return plain[:max(1, columns - 1)] + "…"
    return render(dropped, colour)


def _dig(d, *keys):
    for k in keys:
        d = d.get(k) if isinstance(d, dict) else None
    return d


def summary_text(folder: str, now_ms: int) -> str | None:
    """Today's tokens, cost, burn and the most urgent budget, as the last sync or dashboard
    refresh left them (``statusline-summary.json``; the status line never opens the store)."""
    try:
        with open(os.path.join(folder, SUMMARY), "rb") as fh:
            data = json.loads(fh.read(65536))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("at_ms"), int):
        return None
    if not 0 <= now_ms - data["at_ms"] <= SUMMARY_FRESH_MS or not isinstance(data.get("text"), str):
        return None
    return clean(data["text"])


# -- the command -----------------------------------------------------------------------------------
def run(argv: list[str]) -> int:
    try:
        return _run(argv)
    except BaseException as exc:  # noqa: BLE001 - never a traceback, never a blank row
        if isinstance(exc, SystemExit):
            raise
        _debug(f"statusline: {type(exc).__name__}: {exc}")
        _print("tokentop")
        return 0


def _parse(argv: list[str]) -> dict:
    opts = {"now": None, "record": True, "install": False, "print": False, "help": False, "then": None}
    it = iter(argv)
    for a in it:
        if a == "--now":
            opts["now"] = next(it, None)
        elif a.startswith("--now="):
            opts["now"] = a[6:]
        elif a == "--then":
            opts["then"] = next(it, None)
        elif a.startswith("--then="):
            opts["then"] = a[7:]
        elif a == "--no-record":
            opts["record"] = False
        elif a == "--install":
            opts["install"] = True
        elif a == "--print-config":
            opts["print"] = True
        elif a in ("-h", "--help"):
            opts["help"] = True
    return opts


def _run(argv: list[str]) -> int:
    opts = _parse(argv)
    if opts["help"]:
        sys.stdout.write(USAGE)
        return 0
    if opts["install"] or opts["print"]:
        return install(write=opts["install"])
    now = time.time()
    if opts["now"] is not None:
        given = q.number(opts["now"])
        if given is not None:
            now = given
    now_ms = int(now * 1000)
    raw = read_stdin()
    try:
        payload = json.loads(raw.decode("utf-8", "replace")) if raw.strip() else None
    except ValueError:
        payload = None
    if not isinstance(payload, dict) or not payload:
        theirs = then(opts["then"], raw)
        _print(theirs or "tokentop", lines=bool(theirs))
        return 0
    folder = data_dir()
    state = load_state(folder)
    acct = account_key(state)
    obs = quota_readings.from_statusline(payload, now_ms, acct)
    if opts["record"]:
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            record(folder, state, obs, now_ms)
            save_state(folder, state)
        except OSError as exc:  # unwritable data dir, full disk: still print the line
            _debug(f"statusline: cannot record: {exc}")
    windows = shown(state, obs)
    cols = q.number(os.environ.get("COLUMNS"))
    theirs = then(opts["then"], raw)
    if theirs:
        _print(theirs, lines=True)
        return 0
    line = build_line(payload, windows, now, colour=not os.environ.get("NO_COLOR"),
                      columns=int(cols) if cols and cols > 10 else None, summary=summary_text(folder, now_ms))
    _print(line)
    return 0


#: seconds the chained status line may take (Claude Code cancels a slow one anyway)
THEN_TIMEOUT = 5.0


def then(command: str | None, raw: bytes) -> str | None:
    """Run the user's own status-line ``command`` in a shell with the same stdin bytes; its first
    non-empty output line (kept as it is: it is the user's own program), or None."""
    if not command:
        return None
    import subprocess

    try:
        got = subprocess.run(command, shell=True, input=raw, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             timeout=THEN_TIMEOUT)
    except (OSError, subprocess.SubprocessError) as exc:
        _debug(f"statusline --then: {type(exc).__name__}")
        return None
    text = got.stdout.decode("utf-8", "replace").strip("\n")
    return text if got.returncode == 0 and text.strip() else None


def _print(line: str, *, lines: bool = False) -> None:
    """One line (``lines``: the user's own --then output, printed as it came)."""
    out = (line or "tokentop") if lines else (line or "tokentop").replace("\n", " ")
    out += "\n"
    try:
        sys.stdout.buffer.write(out.encode("utf-8", "replace"))
        sys.stdout.flush()
    except (AttributeError, ValueError):
        sys.stdout.write(out)
    except OSError:
        pass


def _debug(message: str) -> None:
    if not os.environ.get("TOKENTOP_DEBUG"):
        return
    try:
        folder = data_dir()
        os.makedirs(folder, mode=0o700, exist_ok=True)
        with open(os.path.join(folder, "statusline-debug.log"), "a", encoding="utf-8") as fh:
            fh.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {clean(message)[:500]}\n")
    except OSError:
        pass


# -- set-up --------------------------------------------------------------------------------------
def settings_path() -> str:
    cfg = os.environ.get("CLAUDE_CONFIG_DIR")
    base = os.path.expanduser(cfg) if cfg else os.path.join(os.path.expanduser("~"), ".claude")
    return os.path.join(base, "settings.json")


def install(write: bool) -> int:
    """Show the settings snippet; with ``--install`` on a terminal, offer to add it."""
    snippet = json.dumps(SNIPPET, indent=2)
    path = settings_path()
    print(f"Add this to {path} (or a project's .claude/settings.json):\n{snippet}")
    if not write:
        return 0
    if not sys.stdin.isatty():
        print("Not a terminal: nothing written. Add the snippet yourself, or run this in a terminal.")
        return 0
    try:
        with open(path, "rb") as fh:
            current = json.loads(fh.read() or b"{}")
    except FileNotFoundError:
        current = {}
    except (OSError, ValueError) as exc:
        print(f"tokentop: error: cannot read {path} ({exc}); nothing written. Add the snippet yourself.",
              file=sys.stderr)
        return 2
    if not isinstance(current, dict):
        print(f"tokentop: error: {path} is not a JSON object; nothing written.", file=sys.stderr)
        return 2
    old = current.get("statusLine")
    if old == SNIPPET["statusLine"]:
        print("Already set up.")
        return 0
    if old:
        print(f"It replaces your current statusLine: {clean(json.dumps(old))}")
        cmd = old.get("command") if isinstance(old, dict) else None
        if isinstance(cmd, str) and cmd and "tokentop statusline" not in cmd:
            print(f"To keep it, answer no and use: tokentop statusline --then {clean(json.dumps(cmd))}")
    try:
        answer = input(f"Write it to {path}? [y/N] ")
    except EOFError:
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        print("Nothing written.")
        return 0
    current["statusLine"] = SNIPPET["statusLine"]
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".settings.json.tokentop-{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(current, fh, indent=2)
        fh.write("\n")
    os.replace(tmp, path)
    print(f"Written: {path}. Claude Code shows the line from its next refresh.")
    return 0


def register(sub) -> None:
    """``tokentop statusline`` in the full CLI's help (``tokentop statusline`` itself is run by
    :func:`tokentui.cli.main` before this parser is built)."""
    import argparse

    p = sub.add_parser("statusline", add_help=False,
                       help="Claude Code's status line: records plan limits, prints one line "
                            "(`tokentop statusline --help`)")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=lambda args: run(list(args.rest)))
