"""Typed settings loaded from ``config.toml`` and written back with tomli-w.

Precedence: CLI flag > environment variable (``TOKENTOP_…``) > ``config.toml`` > default.
Every setting is declared once below with its type and meaning. An invalid file is a
:class:`ConfigError` naming the file, the line and the key. Writing back keeps every
setting the user had (comments are not preserved: tomli-w cannot keep them).

Example::

    timezone = "Europe/Berlin"        # reports and day boundaries; default: system zone
    device = "work-laptop"            # name stored with every record; default: hostname
    theme = "tokentop-dark"           # TUI theme name
    refresh_seconds = 5               # how often the TUI re-reads local logs

    [pricing]
    mode = "auto"                     # auto: use an agent's logged cost if present; calculate: always price
    table = "~/prices.json"           # optional LiteLLM-shaped price table used before genai-prices

    [pricing.overrides."my-finetune"] # USD per million tokens
    input = 3.0
    output = 15.0
    cache_write = 3.75
    cache_read = 0.3

    [sources.codex]
    enabled = true
    paths = ["~/work/.codex"]         # extra roots (in addition to the defaults)

    [sources.openai]
    base_url = "https://gateway.example/v1"
    poll_interval = 300
    backfill_days = 90

    [share]
    folder = "~/Sync/tokentop"        # a folder Syncthing/Dropbox/git carries: merges your devices
"""

from __future__ import annotations

import os
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from tokentui import paths
from tokentui.core.slots import SlotValue
from tokentui.errors import ConfigError
from tokentui.sources import registry

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo


PRICE_FIELDS = ("input", "output", "cache_write", "cache_write_1h", "cache_read")


# the immutable parts are named tuples, not frozen dataclasses: every command loads the settings,
# and a named tuple costs ~0.1 ms to define against ~0.7 ms
class SourceSettings(NamedTuple):
    """Per-source settings (``[sources.NAME]``)."""

    enabled: bool = True
    #: extra roots to read (local sources), tried in addition to the defaults
    paths: tuple[str, ...] = ()
    #: API base URL override (https, or http on loopback only)
    base_url: str | None = None
    #: seconds between API polls
    poll_interval: int = 300
    #: days fetched on the first poll of an API source
    backfill_days: int = 90


class PriceOverride(NamedTuple):
    """User prices for one model, USD per million tokens (``[pricing.overrides."MODEL"]``)."""

    input: Decimal
    output: Decimal
    cache_write: Decimal | None = None
    cache_write_1h: Decimal | None = None
    cache_read: Decimal | None = None


def _hostname() -> str:
    """This machine's name (``socket.gethostname()``, without importing socket on POSIX)."""
    try:
        return os.uname().nodename
    except AttributeError:  # Windows
        import socket

        return socket.gethostname()


_SETTINGS_FIELDS = ("path", "timezone", "device", "theme", "refresh_seconds", "pricing_mode", "pricing_table",
                    "price_overrides", "sources", "share_folder", "raw")


class Settings(SlotValue):
    """Validated settings. ``raw`` is the whole parsed document, kept for write-back;
    ``share_folder`` is ``[share] folder``, the folder a sync engine carries between your
    devices (None: off); ``device`` defaults to the host name.

    Read-only and equal by value; :meth:`replace` makes a changed copy. A plain slotted class
    (:class:`~tokentui.core.slots.SlotValue`), not a frozen dataclass: every command loads the
    settings."""

    __slots__ = _SETTINGS_FIELDS

    def __init__(self, path: Path, timezone: str | None = None, device: str | None = None,
                 theme: str = "tokentop-dark", refresh_seconds: float = 5.0, pricing_mode: str = "auto",
                 pricing_table: Path | None = None, price_overrides: dict[str, PriceOverride] | None = None,
                 sources: dict[str, SourceSettings] | None = None, share_folder: str | None = None,
                 raw: dict[str, Any] | None = None) -> None:
        values = (path, timezone, _hostname() if device is None else device, theme, refresh_seconds, pricing_mode,
                  pricing_table, {} if price_overrides is None else price_overrides,
                  {} if sources is None else sources, share_folder, {} if raw is None else raw)
        for name, value in zip(_SETTINGS_FIELDS, values):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"settings are read-only: use .replace({name}=...)")

    __delattr__ = __setattr__  # type: ignore[assignment]

    def __reduce__(self):  # copy, deepcopy and pickle build a new one (a frozen dataclass could be copied)
        return (Settings, self._values())

    def source(self, name: str) -> SourceSettings:
        return self.sources.get(name, SourceSettings())

    def tz(self) -> ZoneInfo:
        return resolve_timezone(self.timezone)


def resolve_timezone(name: str | None) -> ZoneInfo:
    """The named IANA zone, or the system's local zone (UTC if it cannot be found)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # here: a sync never needs a zone

    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"unknown timezone {name!r}", "use an IANA name such as Europe/Berlin") from None
    env = os.environ.get("TZ")
    if env:
        try:
            return ZoneInfo(env.lstrip(":"))
        except (ZoneInfoNotFoundError, ValueError):
            pass
    try:
        link = os.readlink("/etc/localtime")
        marker = "zoneinfo/"
        if marker in link:
            return ZoneInfo(link.split(marker, 1)[1])
    except (OSError, ZoneInfoNotFoundError, ValueError):
        pass
    return ZoneInfo("UTC")


# --- locating a key in the file, for error messages --------------------------------------

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def _split_dotted(s: str) -> list[str]:
    parts, cur, quote = [], "", None
    for ch in s:
        if quote:
            if ch == quote:
                quote = None
            else:
                cur += ch
        elif ch in "\"'":
            quote = ch
        elif ch == ".":
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts.append(cur.strip())
    return parts


def line_of(text: str, key_path: list[str]) -> int | None:
    """Best-effort line number (1-based) where ``key_path`` is set in ``text``."""
    table: list[str] = []
    header_line = None
    for no, line in enumerate(text.splitlines(), 1):
        m = _HEADER.match(line)
        if m:
            table = _split_dotted(m.group(1))
            if table == key_path:
                header_line = no
            continue
        m = re.match(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.\-"' ]+?)\s*=""", line)
        if m and table + _split_dotted(m.group(1)) == key_path:
            return no
    return header_line


class _Checker:
    def __init__(self, path: Path, text: str) -> None:
        self.path, self.text = path, text

    def fail(self, key_path: list[str], problem: str) -> ConfigError:
        line = line_of(self.text, key_path)
        where = f"{self.path}:{line}" if line else str(self.path)
        return ConfigError(f"{where}: {'.'.join(key_path)}: {problem}")

    def typed(self, value: Any, kp: list[str], kind: type | tuple[type, ...], what: str) -> Any:
        if isinstance(value, bool) and kind is not bool and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise self.fail(kp, f"expected {what}, got {value!r}")
        if not isinstance(value, kind):
            raise self.fail(kp, f"expected {what}, got {value!r}")
        return value

    def table(self, value: Any, kp: list[str]) -> dict:
        return self.typed(value, kp, dict, "a table")

    def known(self, table: dict, kp: list[str], allowed: tuple[str, ...]) -> None:
        for key in table:
            if key not in allowed:
                raise self.fail(kp + [key], f"unknown setting (known: {', '.join(allowed)})")

    def money(self, value: Any, kp: list[str], most: int = 10**9) -> Decimal:
        self.typed(value, kp, (int, float, str), "a number")
        try:
            d = Decimal(str(value))
        except InvalidOperation:
            raise self.fail(kp, f"expected a number, got {value!r}") from None
        if not d.is_finite() or d < 0:
            raise self.fail(kp, "must be a non-negative number")
        if d > most:  # compared as Decimals: "1e999999999" never becomes a giant integer
            raise self.fail(kp, f"must be at most {most:,}")
        return d

    def file_path(self, value: Any, kp: list[str], what: str = "a file path") -> str:
        self.typed(value, kp, str, what)
        if "\0" in value or not value.strip():
            raise self.fail(kp, f"expected {what}, got {value!r}")
        return value


TOP_LEVEL = ("timezone", "device", "theme", "refresh_seconds", "pricing", "sources", "budgets", "team",
             "comp_usd", "quota", "share")


def parse_settings(text: str, path: Path) -> Settings:
    """Validate a config document and build :class:`Settings`."""
    import tomllib  # here: without a config file (the default) a command never needs it

    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: arrays or tables nested too deeply") from None
    c = _Checker(path, text)
    c.known(raw, [], TOP_LEVEL)
    kw: dict[str, Any] = {}
    if "timezone" in raw:
        tzname = c.typed(raw["timezone"], ["timezone"], str, "an IANA timezone name")
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(tzname)
        except (ZoneInfoNotFoundError, ValueError):
            raise c.fail(["timezone"], f"unknown timezone {tzname!r}") from None
        kw["timezone"] = tzname
    if "device" in raw:
        dev = c.typed(raw["device"], ["device"], str, "a device name")
        if not dev.strip():
            raise c.fail(["device"], "must not be empty")
        kw["device"] = dev.strip()
    if "theme" in raw:
        kw["theme"] = c.typed(raw["theme"], ["theme"], str, "a theme name")
    if "refresh_seconds" in raw:
        r = c.typed(raw["refresh_seconds"], ["refresh_seconds"], (int, float), "a number of seconds")
        if not 0.5 <= r <= 3600:
            raise c.fail(["refresh_seconds"], "must be between 0.5 and 3600")
        kw["refresh_seconds"] = float(r)
    if "comp_usd" in raw:
        c.money(raw["comp_usd"], ["comp_usd"])
    pricing = c.table(raw.get("pricing", {}), ["pricing"])
    c.known(pricing, ["pricing"], ("mode", "table", "overrides"))
    if "mode" in pricing:
        mode = c.typed(pricing["mode"], ["pricing", "mode"], str, "auto or calculate")
        if mode not in ("auto", "calculate"):
            raise c.fail(["pricing", "mode"], f"expected auto or calculate, got {mode!r}")
        kw["pricing_mode"] = mode
    if "table" in pricing:
        kw["pricing_table"] = Path(c.file_path(pricing["table"], ["pricing", "table"])).expanduser()
    overrides = {}
    for model, spec in c.table(pricing.get("overrides", {}), ["pricing", "overrides"]).items():
        kp = ["pricing", "overrides", model]
        c.table(spec, kp)
        c.known(spec, kp, PRICE_FIELDS)
        for req in ("input", "output"):
            if req not in spec:
                raise c.fail(kp, f"missing '{req}' (USD per million tokens)")
        # USD per million tokens: the dearest models cost a few hundred
        overrides[model] = PriceOverride(**{k: c.money(v, kp + [k], most=10**6) for k, v in spec.items()})
    kw["price_overrides"] = overrides
    sources = {}
    for name, spec in c.table(raw.get("sources", {}), ["sources"]).items():
        kp = ["sources", name]
        if not registry.known(name):
            raise c.fail(kp, f"unknown source (known: {registry.help_list()})")
        c.table(spec, kp)
        c.known(spec, kp, ("enabled", "paths", "base_url", "poll_interval", "backfill_days"))
        s: dict[str, Any] = {}
        if "enabled" in spec:
            s["enabled"] = c.typed(spec["enabled"], kp + ["enabled"], bool, "true or false")
        if "paths" in spec:
            ps = c.typed(spec["paths"], kp + ["paths"], list, "a list of paths")
            for p in ps:
                c.file_path(p, kp + ["paths"], "a list of paths")
            s["paths"] = tuple(ps)
        if "base_url" in spec:
            url = c.typed(spec["base_url"], kp + ["base_url"], str, "a URL")
            from tokentui.credentials import check_base_url

            problem = check_base_url(url)
            if problem:
                raise c.fail(kp + ["base_url"], problem)
            s["base_url"] = url
        for k, lo, hi in (("poll_interval", 30, 86400), ("backfill_days", 1, 3660)):
            if k in spec:
                v = c.typed(spec[k], kp + [k], int, "a whole number")
                if not lo <= v <= hi:
                    raise c.fail(kp + [k], f"must be between {lo} and {hi}")
                s[k] = v
        sources[name] = SourceSettings(**s)
    kw["sources"] = sources
    share = c.table(raw.get("share", {}), ["share"])
    c.known(share, ["share"], ("folder",))
    if "folder" in share:
        kw["share_folder"] = c.file_path(share["folder"], ["share", "folder"], "a folder path")
    for section in ("budgets", "team"):
        if section in raw:
            c.table(raw[section], [section])
    if "quota" in raw:  # plan limits: [quota] warn = 80; [quota.oauth] anthropic / openai = true (opt-in)
        quota = c.table(raw["quota"], ["quota"])
        c.known(quota, ["quota"], ("warn", "oauth"))
        if "warn" in quota:
            w = c.typed(quota["warn"], ["quota", "warn"], (int, float), "a percentage")
            if not 1 <= w <= 100:
                raise c.fail(["quota", "warn"], "must be between 1 and 100")
        if "oauth" in quota:
            oauth = c.table(quota["oauth"], ["quota", "oauth"])
            c.known(oauth, ["quota", "oauth"], ("anthropic", "openai"))
            for k, v in oauth.items():
                c.typed(v, ["quota", "oauth", k], bool, "true or false")
    if isinstance(raw.get("team"), dict) and isinstance(raw["team"].get("file"), str):
        c.file_path(raw["team"]["file"], ["team", "file"], "the path of a team.toml")
    return Settings(path=path, raw=raw, **kw)


def load_settings(path: Path | None = None) -> Settings:
    """Load settings from ``path`` (default: :func:`paths.config_file`); missing file = defaults."""
    path = path or paths.config_file()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings(path=path)
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_settings(text, path)


def save_raw(path: Path, raw: dict[str, Any]) -> None:
    """Validate and write a whole config document (0600, atomic)."""
    import tomli_w

    text = tomli_w.dumps(raw)
    parse_settings(text, path)  # never write a file we would refuse to read
    paths.write_private_text(path, text)


def update_config(path: Path, key_path: list[str], value: Any) -> Settings:
    """Set (or, with ``value=None``, remove) one key, keeping every other setting."""
    settings = load_settings(path)
    raw = _deepcopy(settings.raw)
    node = raw
    for k in key_path[:-1]:
        node = node.setdefault(k, {})
    if value is None:
        node.pop(key_path[-1], None)
    else:
        node[key_path[-1]] = value
    save_raw(path, raw)
    return load_settings(path)


def _deepcopy(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _deepcopy(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_deepcopy(v) for v in obj]
    return obj
