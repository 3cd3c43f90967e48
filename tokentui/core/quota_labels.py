"""Plan limits in words: short window names (``5h``, ``7d``), reset countdowns and the
one-line note on how pace and run-out are computed. Pure and stdlib-only (the status line
imports it).
"""

from __future__ import annotations

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
