"""Every source tokentop knows, named once: the one place a source is declared.

A record says what a source is (name, kind, label, the provider that bills its usage), how a
user points tokentop at it (env vars, key hints, where its data lives by default) and which
module reads it. Everything else derives from here: the CLI's ``--source`` choices and help,
config validation, the ``keys`` commands and the key modal, status rows, the local/API
overlap rule, budget scopes by provider and the Sources screen.

Installed packages may add local sources through the ``tokentop.sources`` entry-point group
(:func:`load_plugins`, run at the first question asked of the registry).

Pure data: importing this module imports no reader. A reader is named as ``module:attribute``
and loaded on first use (:func:`reader`): a local reader is a strategy from
:mod:`tokentui.sources.readers`, an API reader a :class:`~tokentui.sources.api.Provider`.
"""

from __future__ import annotations

import importlib
import os
import re
from typing import Any, Mapping, NamedTuple

LOCAL = "local"  # an agent's logs or database on this machine
API = "api"  # a provider's usage or balance API, read with the user's key
KINDS = (LOCAL, API)


class Source(NamedTuple):  # a named tuple, not a dataclass: every command imports it (~10x cheaper to define)
    name: str  # as in config (``[sources.NAME]``), the CLI and the store
    kind: str  # LOCAL | API
    label: str  # for people: "Claude Code"
    #: "module:attribute" of the reader declaration, a module of tokentop's own (imported on first
    #: use); or the declaration itself (a source defined in code, e.g. a test's)
    reader: Any
    #: the provider whose bill holds this usage: the key of budget ``providers`` scopes; a local
    #: source whose provider also has an API source is counted once with it (core.overlap)
    provider: str | None = None
    #: local: env vars that replace the default locations; API: the key's env var first
    env: tuple[str, ...] = ()
    #: where the data is read from, in a sentence (README, help, `sources`)
    reads: str = ""
    #: API: what the key should be, in plain words, and the prefixes such keys start with
    key_hint: str = ""
    key_prefixes: tuple[str, ...] = ()
    #: API: a warning for a key without one of ``key_prefixes`` (the commonest mistake)
    key_warning: str = ""
    #: API: its reader can pull a team's per-person usage (`tokentop team pull NAME`)
    team_pull: bool = False

    @property
    def key_env(self) -> str | None:
        return self.env[0] if self.kind == API and self.env else None


READER_PACKAGE = "tokentui.sources."
_SOURCES: dict[str, Source] = {}
_loaded: dict[str, Any] = {}  # name → its imported reader (see reader())


def register(source: Source) -> Source:
    """Add ``source`` (a reader module's own entry, or a test's). Names are unique."""
    if source.kind not in KINDS:
        raise ValueError(f"unknown source kind {source.kind!r}")
    if isinstance(source.reader, str) and not source.reader.startswith(READER_PACKAGE):
        raise ValueError(f"a reader module must be one of tokentop's own ({READER_PACKAGE}…)")
    if source.name in _SOURCES:
        raise ValueError(f"source {source.name!r} is already registered")
    _SOURCES[source.name] = source
    _loaded.pop(source.name, None)
    return source


def unregister(name: str) -> None:
    _SOURCES.pop(name, None)
    _loaded.pop(name, None)


for _s in (
    Source("claude-code", LOCAL, "Claude Code", "tokentui.sources.claude_code:READER", provider="anthropic",
           env=("CLAUDE_CONFIG_DIR",),
           reads="`*.jsonl` under `projects/` of `$CLAUDE_CONFIG_DIR` (comma list), else `~/.config/claude` "
                 "and `~/.claude`; plus Claude Desktop's Cowork and Code-tab sessions "
                 "(`local-agent-mode-sessions/`, `claude-code-sessions/` in its app-data folder), deduplicated "
                 "with them"),
    Source("codex", LOCAL, "Codex", "tokentui.sources.codex:READER", provider="openai", env=("CODEX_HOME",),
           reads="`$CODEX_HOME` (comma list, default `~/.codex`): `sessions/` and `archived_sessions/`; a root "
                 "with neither is read as saved `codex exec --json` output"),
    Source("gemini-cli", LOCAL, "Gemini CLI", "tokentui.sources.gemini_cli:READER", provider="google",
           env=("GEMINI_DATA_DIR", "GEMINI_CLI_HOME"),
           reads="`$GEMINI_DATA_DIR` (comma list), else `$GEMINI_CLI_HOME/.gemini/tmp` or `~/.gemini/tmp`"),
    Source("opencode", LOCAL, "OpenCode", "tokentui.sources.opencode:READER", env=("OPENCODE_DATA_DIR",),
           reads="`$OPENCODE_DATA_DIR`, else `${XDG_DATA_HOME:-~/.local/share}/opencode` (SQLite "
                 "`opencode*.db` + legacy JSON)"),
    Source("openclaw", LOCAL, "OpenClaw", "tokentui.sources.openclaw:READER",
           env=("OPENCLAW_STATE_DIR", "CLAWDBOT_STATE_DIR", "OPENCLAW_HOME"),
           reads="`$OPENCLAW_STATE_DIR` (comma list), else `~/.openclaw` (or `~/.clawdbot`, `~/.moltbot`; "
                 "`~` = `$OPENCLAW_HOME`): `agents/*/sessions/*.jsonl` with reset/deleted archives, and "
                 "`agents/*/agent/openclaw-agent.sqlite`"),
    Source("amp", LOCAL, "Amp", "tokentui.sources.amp:READER", env=("AMP_DATA_DIR",),
           reads="`threads/*.json` of `$AMP_DATA_DIR` (comma list), else `${XDG_DATA_HOME:-~/.local/share}/amp`"),
    Source("copilot", LOCAL, "GitHub Copilot CLI", "tokentui.sources.copilot:READER", provider="github",
           env=("COPILOT_HOME", "COPILOT_OTEL_FILE_EXPORTER_PATH"),
           reads="`$COPILOT_HOME` (comma list, default `~/.copilot`): `session-state/*/events.jsonl`, "
                 "`otel/**/*.jsonl` and `session-store.db`, plus the file `$COPILOT_OTEL_FILE_EXPORTER_PATH`"),
    Source("qwen-code", LOCAL, "Qwen Code", "tokentui.sources.qwen_code:READER",
           env=("QWEN_RUNTIME_DIR", "QWEN_DATA_DIR"),
           reads="`projects/*/chats/*.jsonl` of `$QWEN_RUNTIME_DIR` (comma list), else `$QWEN_DATA_DIR`, else "
                 "`~/.qwen`"),
    Source("codebuff", LOCAL, "Codebuff", "tokentui.sources.codebuff:READER", env=("CODEBUFF_DATA_DIR",),
           reads="`projects/*/chats/*/chat-messages.json` of `$CODEBUFF_DATA_DIR` (comma list), else "
                 "`~/.config/manicode` (and its `-dev`, `-staging` channels)"),
    Source("cline", LOCAL, "Cline", "tokentui.sources.cline_sessions:CLINE_READER",
           env=("CLINE_DATA_DIR", "CLINE_DIR", "CLINE_HOME", "CLINE_SESSION_DATA_DIR"),
           reads="`tasks/*/ui_messages.json` of `globalStorage/saoudrizwan.claude-dev` in every VS Code family user "
                 "dir (Code, Insiders, VSCodium, Cursor, Windsurf, `~/.vscode-server/data`, …) and of "
                 "`$CLINE_DATA_DIR`, else `$CLINE_DIR/data`, else `~/.cline/data`; and the sessions of the Cline CLI "
                 "and SDK-based extension, `sessions/*/*.messages.json` of `$CLINE_SESSION_DATA_DIR`, else of that "
                 "data dir (and of that `globalStorage`)"),
    Source("roo-code", LOCAL, "Roo Code", "tokentui.sources.cline:ROO_READER",
           reads="`tasks/*/ui_messages.json` of `globalStorage/rooveterinaryinc.roo-cline` in every VS Code family "
                 "user dir"),
    Source("kilo-code", LOCAL, "Kilo Code", "tokentui.sources.cline:KILO_READER",
           reads="`tasks/*/ui_messages.json` of `globalStorage/kilocode.kilo-code` in every VS Code family user dir"),
    Source("zed", LOCAL, "Zed", "tokentui.sources.zed:READER",
           reads="`threads/threads.db` of Zed's data dir (`${XDG_DATA_HOME:-~/.local/share}/zed`, macOS "
                 "`~/Library/Application Support/Zed`, Windows `%LOCALAPPDATA%\\Zed`): thread totals, exact; each "
                 "increase dated at the thread's save (timing estimated)"),
    Source("kimi", LOCAL, "Kimi CLI / Kimi Code", "tokentui.sources.kimi:READER", provider="moonshot",
           env=("KIMI_SHARE_DIR", "KIMI_DATA_DIR", "KIMI_CODE_HOME", "KIMI_MODEL_NAME"),
           reads="`sessions/**/wire.jsonl` of `$KIMI_SHARE_DIR` (comma list; ccusage's `$KIMI_DATA_DIR`), else "
                 "`~/.kimi`, and of `$KIMI_CODE_HOME`, else `~/.kimi-code`; model from `$KIMI_MODEL_NAME` or "
                 "`config.toml`"),
    Source("pi", LOCAL, "pi / Oh My Pi", "tokentui.sources.pi:READER",
           env=("PI_CODING_AGENT_DIR", "OMP_CODING_AGENT_DIR", "PI_AGENT_DIR"),
           reads="`sessions/*/*.jsonl` of `$PI_CODING_AGENT_DIR`, else `~/.pi/agent`, and of "
                 "`$OMP_CODING_AGENT_DIR`, else `~/.omp/agent` (Oh My Pi); ccusage's `$PI_AGENT_DIR` names a "
                 "sessions folder"),
    Source("goose", LOCAL, "Goose", "tokentui.sources.goose:READER", env=("GOOSE_PATH_ROOT",),
           reads="`sessions/sessions.db` (SQLite, read-only) of `$GOOSE_PATH_ROOT/data`, else "
                 "`${XDG_DATA_HOME:-~/.local/share}/goose`"),
    Source("droid", LOCAL, "Droid (Factory)", "tokentui.sources.droid:READER", env=("DROID_SESSIONS_DIR", "FACTORY_DIR"),
           reads="`*.settings.json` under `$DROID_SESSIONS_DIR` (comma list), else `$FACTORY_DIR/sessions`, else "
                 "`~/.factory/sessions`"),
    Source("crush", LOCAL, "Crush", "tokentui.sources.crush:READER", env=("CRUSH_GLOBAL_DATA", "XDG_DATA_HOME"),
           reads="each project's `.crush/crush.db` (SQLite, read-only) listed in `projects.json` of "
                 "`$CRUSH_GLOBAL_DATA`, else `${XDG_DATA_HOME:-~/.local/share}/crush`"),
    Source("hermes", LOCAL, "Hermes Agent", "tokentui.sources.hermes:READER", env=("HERMES_HOME",),
           reads="`state.db` (SQLite, read-only) of `$HERMES_HOME` (comma list), else `~/.hermes` and its "
                 "`profiles/*/`"),
    Source("cursor", LOCAL, "Cursor", "tokentui.sources.cursor:READER", env=("XDG_CONFIG_HOME", "APPDATA"),
           reads="chat bubbles in `Cursor/User/globalStorage/state.vscdb` (SQLite, read-only) of "
                 "`${XDG_CONFIG_HOME:-~/.config}`, `~/Library/Application Support` or `%APPDATA%`"),
    Source("openai", API, "OpenAI", "tokentui.sources.api.openai:PROVIDER", provider="openai",
           env=("OPENAI_ADMIN_KEY",), reads="organization usage (completions and siblings) and costs",
           key_hint="an admin key (sk-admin-…)", key_prefixes=("sk-admin-",),
           key_warning="an OpenAI admin key (sk-admin-…); project keys cannot read usage", team_pull=True),
    Source("anthropic", API, "Anthropic", "tokentui.sources.api.anthropic:PROVIDER", provider="anthropic",
           env=("ANTHROPIC_ADMIN_KEY",), reads="usage report, cost report, Claude Code analytics",
           key_hint="an admin key (sk-ant-admin…)", key_prefixes=("sk-ant-admin",),
           key_warning="an Anthropic Admin API key (sk-ant-admin…); normal API keys cannot read usage",
           team_pull=True),
    Source("openrouter", API, "OpenRouter", "tokentui.sources.api.openrouter:PROVIDER", provider="openrouter",
           env=("OPENROUTER_API_KEY",), reads="`/key` spend; `/activity` with a management key",
           key_hint="any API key (a management key also reads activity)", key_prefixes=("sk-or-",),
           key_warning="an OpenRouter key (sk-or-…)"),
    Source("deepseek", API, "DeepSeek", "tokentui.sources.api.balances:DEEPSEEK", provider="deepseek",
           env=("DEEPSEEK_API_KEY",), reads="balance", key_hint="any API key (balance only)"),
    Source("moonshot", API, "Moonshot", "tokentui.sources.api.balances:MOONSHOT", provider="moonshot",
           env=("MOONSHOT_API_KEY",), reads="balance", key_hint="any API key (balance only)"),
):
    register(_s)
BUILTIN = frozenset(_SOURCES)


# --- third-party readers: the ``tokentop.sources`` entry-point group ---------------------------

PLUGIN_GROUP = "tokentop.sources"
PLUGINS_OFF_ENV = "TOKENTOP_NO_PLUGINS"  # set (non-empty) to load no plugin
MAX_PLUGINS = 64
_PLUGIN_NAME = re.compile(r"[a-z][a-z0-9-]{0,39}")
_plugins_loaded = False
_plugin_problems: list[str] = []
_plugin_origin: dict[str, str] = {}  # source name → "distribution version"


def load_plugins() -> None:
    """Register the local sources that installed packages declare in the ``tokentop.sources``
    entry-point group (once per process). An entry point names a :class:`Source` (or a
    function returning one) whose ``reader`` is one of the strategies of
    :mod:`tokentui.sources.readers`. A plugin that fails to import, names something else,
    is an API source, has a bad name or takes a built-in's (or an earlier plugin's) name is
    not registered: one plain line says why (:func:`plugin_problems`), the others load."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    if os.environ.get(PLUGINS_OFF_ENV, "").strip():
        return
    if not _may_have_plugins():
        return
    try:
        from importlib.metadata import entry_points

        eps = list(entry_points(group=PLUGIN_GROUP))
    except Exception as exc:  # noqa: BLE001 - a broken installed package's metadata
        _plugin_problems.append(f"plugins: cannot list the {PLUGIN_GROUP} entry points: {exc}")
        return
    for n, ep in enumerate(eps):
        if n >= MAX_PLUGINS:
            _plugin_problems.append(f"plugins: more than {MAX_PLUGINS} declared; the rest are not loaded")
            break
        dist = getattr(ep, "dist", None)
        origin = f"{dist.name} {dist.version}" if dist is not None else ep.value
        problem = _load_plugin(ep, origin)
        if problem:
            _plugin_problems.append(f"plugin {ep.name!r} ({origin}): {problem}; the other sources are not affected")


def _may_have_plugins() -> bool:
    """Whether any installed distribution may declare the group, found without importing
    ``importlib.metadata`` (20-40 ms at every start): the ``entry_points.txt`` of each
    ``*.dist-info`` / ``*.egg-info`` folder on ``sys.path`` is looked at. A ``sys.path`` entry
    that is a file (a zip) cannot be looked into this way: then the answer is yes."""
    import sys

    marker = f"[{PLUGIN_GROUP}]".encode()
    for entry in sys.path:
        folder = entry or "."
        try:
            names = os.listdir(folder)
        except NotADirectoryError:
            return True
        except OSError:
            continue
        for n in names:
            if n.endswith((".dist-info", ".egg-info")):
                try:
                    with open(os.path.join(folder, n, "entry_points.txt"), "rb") as fh:
                        if marker in fh.read(1 << 20):
                            return True
                except OSError:
                    continue
    return False


def _load_plugin(ep, origin: str) -> str | None:
    """Register one entry point's source; the reason it was not, or None."""
    from tokentui.sources import readers

    try:
        obj = ep.load()
        if callable(obj) and not isinstance(obj, Source):
            obj = obj()
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - any failure of third-party code
        return f"cannot be loaded: {type(exc).__name__}: {exc}"
    if not isinstance(obj, Source):
        return f"names a {type(obj).__name__}, not a tokentop Source"
    if not isinstance(obj.name, str) or not _PLUGIN_NAME.fullmatch(obj.name):
        return "its source name must be 1-40 of a-z, 0-9 and '-', starting with a letter"
    if obj.name != ep.name:
        return f"declares the source {obj.name!r} under the entry point name {ep.name!r}; they must match"
    if obj.name in BUILTIN:
        return f"cannot replace the built-in source {obj.name!r}"
    if obj.name in _SOURCES:
        return f"the source {obj.name!r} is already registered by {_plugin_origin.get(obj.name, 'another plugin')}"
    if obj.kind != LOCAL:
        return "only local sources can come from a plugin"
    if not isinstance(obj.reader, (readers.JsonlLog, readers.RewrittenJson, readers.SignedDatabase,
                                   readers.WatermarkDatabase, readers.Combined)):
        return "its reader is not one of tokentop's strategies (tokentui.sources.readers)"
    if not isinstance(obj.label, str) or not obj.label.strip() or len(obj.label) > 60:
        return "its label must be a short text"
    try:
        register(obj)
    except ValueError as exc:
        return str(exc)
    _plugin_origin[obj.name] = origin
    return None


def plugin_problems() -> tuple[str, ...]:
    """One plain line per plugin that was not registered, and why."""
    load_plugins()
    return tuple(_plugin_problems)


def plugin_origin(name: str) -> str | None:
    """``"distribution version"`` of the package that added source ``name``, None for a built-in."""
    load_plugins()
    return _plugin_origin.get(name)


# --- what the rest of tokentop derives ------------------------------------------------------

def get(name: str) -> Source:
    load_plugins()
    return _SOURCES[name]


def known(name: str) -> bool:
    load_plugins()
    return name in _SOURCES


def all_sources(kind: str | None = None) -> tuple[Source, ...]:
    """Local sources first, then API sources, each in registration order (plugins' last)."""
    load_plugins()
    return tuple(s for k in ((kind,) if kind else KINDS) for s in _SOURCES.values() if s.kind == k)


def names(kind: str | None = None) -> tuple[str, ...]:
    return tuple(s.name for s in all_sources(kind))


def kind_of(name: str) -> str:
    return _SOURCES[name].kind


def key_env(name: str) -> str:
    """The env var that holds ``name``'s API key (``OPENAI_ADMIN_KEY``)."""
    env = _SOURCES[name].key_env
    if env is None:
        raise KeyError(name)
    return env


def key_env_vars() -> dict[str, str]:
    """API source → the env var of its key."""
    return {s.name: s.key_env for s in all_sources(API) if s.key_env}


def local_provider() -> dict[str, str]:
    """Local source → the provider whose API may report the same usage (core.overlap)."""
    return {s.name: s.provider for s in all_sources(LOCAL) if s.provider}


def provider_sources() -> dict[str, tuple[str, ...]]:
    """Provider → the sources whose usage it bills (budget ``providers`` scopes)."""
    out: dict[str, tuple[str, ...]] = {}
    for s in all_sources():
        if s.provider:
            out[s.provider] = out.get(s.provider, ()) + (s.name,)
    return out


def help_list(kind: str | None = None) -> str:
    """``claude-code, codex, …`` for help and error texts."""
    return ", ".join(names(kind))


def reader(name: str) -> Any:
    """The reader declared for ``name`` (imported on first use)."""
    found = _loaded.get(name)
    if found is None:
        load_plugins()
        found = _SOURCES[name].reader
        if isinstance(found, str):  # register() checked it names a module of tokentop's own
            module, _, attr = found.partition(":")
            found = getattr(importlib.import_module(module), attr)
        _loaded[name] = found
    return found


def readers(kind: str) -> Mapping[str, Any]:
    return {s.name: reader(s.name) for s in all_sources(kind)}


def catalog():
    """The sources as the pure rules in ``core`` take them."""
    from tokentui.core.catalog import SourceCatalog

    return SourceCatalog(names(), {s.name: s.kind for s in all_sources()}, local_provider(), provider_sources())
