"""The source registry: the one place a source is declared, and what derives from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokentui.sources import registry
from tokentui.sources.readers import Combined, JsonlLog, RewrittenJson, SessionTotals, SignedDatabase, WatermarkDatabase

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_source_is_in_the_readme_table_with_what_it_reads():
    text = README.read_text(encoding="utf-8")
    table = text[text.index("## What it reads"):text.index("## Where data and keys live")]
    for s in registry.all_sources():
        row = next((line for line in table.splitlines() if f"`{s.name}`" in line), None)
        assert row is not None, f"{s.name} has no row under 'What it reads'"
        assert f"| {s.kind} |" in row, s.name
        if s.kind == registry.LOCAL:
            assert s.reads in row, f"{s.name}: the README row and the registry's `reads` differ"


def test_every_local_reader_declares_a_strategy_and_every_api_reader_a_provider():
    from tokentui.sources.api import PROVIDERS
    from tokentui.sources.api.base import ApiReader

    for name in registry.names(registry.LOCAL):
        assert isinstance(registry.reader(name), (JsonlLog, RewrittenJson, SignedDatabase, WatermarkDatabase, SessionTotals,
                                                         Combined)), name
    for name in registry.names(registry.API):
        assert isinstance(registry.reader(name), ApiReader), name
        assert PROVIDERS[name].label == registry.get(name).label
        assert registry.get(name).key_env, f"{name} has no key env var"
    assert list(PROVIDERS) == list(registry.names(registry.API))


def test_derived_relations():
    assert registry.local_provider() == {"claude-code": "anthropic", "codex": "openai", "gemini-cli": "google",
                                         "copilot": "github", "kimi": "moonshot"}
    providers = registry.provider_sources()
    assert providers["anthropic"] == ("claude-code", "anthropic") and providers["openai"] == ("codex", "openai")
    assert registry.names() == registry.names(registry.LOCAL) + registry.names(registry.API)
    cat = registry.catalog()
    assert cat.names == registry.names() and cat.kinds["codex"] == registry.LOCAL


def test_register_refuses_duplicates_unknown_kinds_and_foreign_modules():
    with pytest.raises(ValueError, match="already"):
        registry.register(registry.Source("codex", registry.LOCAL, "Codex again", "tokentui.sources.codex:READER"))
    with pytest.raises(ValueError, match="kind"):
        registry.register(registry.Source("x", "quota", "X", "tokentui.sources.codex:READER"))
    with pytest.raises(ValueError, match="own"):
        registry.register(registry.Source("x", registry.LOCAL, "X", "subprocess:run"))
    assert not registry.known("x")


def test_importing_the_registry_imports_no_reader():
    import subprocess
    import sys

    code = ("import sys; from tokentui.sources import registry; registry.names(); registry.catalog()\n"
            "print(sorted(m for m in sys.modules if m.startswith('tokentui.sources.') and m not in "
            "('tokentui.sources.registry',)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
