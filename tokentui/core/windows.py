"""The time window the Dashboard, Sessions and Projects share (``w`` cycles it) and the
efficiency figures shown per session and project: measured facts, never advice."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from tokentui.core.totals import Totals


# named tuples, not dataclasses: `tokentop`'s parser takes the window names from here at every
# start, and a named tuple costs a tenth of a frozen dataclass to define
class Window(NamedTuple):
    name: str  # what the header and `--window` say: 5m, 1h, 24h, 7d, 30d, all
    seconds: int | None  # None: all history

    def since_ms(self, now_ms: int) -> int | None:
        return None if self.seconds is None else now_ms - self.seconds * 1000


WINDOWS = (Window("5m", 300), Window("1h", 3600), Window("24h", 86400), Window("7d", 7 * 86400),
           Window("30d", 30 * 86400), Window("all", None))
DEFAULT_WINDOW = WINDOWS[3]  # 7d: a week of sessions opens in well under the dashboard's first paint


def window(name: str) -> Window:
    """The window called ``name`` (``ValueError`` naming the choices otherwise)."""
    for w in WINDOWS:
        if w.name == name:
            return w
    raise ValueError(f"unknown window {name!r}: choose {', '.join(w.name for w in WINDOWS)}")


def next_window(current: Window) -> Window:
    """The window after ``current``, wrapping from ``all`` to ``5m``."""
    i = next((i for i, w in enumerate(WINDOWS) if w.name == current.name), -1)
    return WINDOWS[(i + 1) % len(WINDOWS)]


class Efficiency(NamedTuple):
    """``cache_hit``: cache reads / all input (uncached + cache writes + cache reads);
    ``output_share``: output / all tokens; ``cost_per_request`` in picodollars (None when
    any of the tokens is unpriced, which would understate it, or there were no requests);
    ``top_model``: the model that cost most."""

    cache_hit: float | None
    output_share: float | None
    cost_per_request_pico: int | None
    top_model: str | None


def efficiency(total: Totals, by_model: dict[str | None, Totals]) -> Efficiency:
    prompt = total.input + total.cache_write + total.cache_read
    priced = None if total.unpriced_tokens else total.cost_pico
    top = max(((m, t.cost_pico) for m, t in by_model.items() if m and t.cost_pico), key=lambda x: x[1],
              default=(None, 0))[0]
    return Efficiency(total.cache_read / prompt if prompt else None,
                      total.output / total.total if total.total else None,
                      priced // total.requests if priced is not None and total.requests else None, top)
