"""UsageRecord and Settings are plain slotted classes (a dataclass costs every command ~8 ms of
imports): they keep what the dataclasses gave — equality by value, a changed copy, copies and
pickles, and Settings stays read-only."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import pytest

from tokentui.config import Settings
from tokentui.core.records import TOKENS_EXACT, UNPRICED, UsageRecord


def test_usage_record_defaults_equality_and_replace() -> None:
    r = UsageRecord("codex", "k1", 1_790_000_000_000, "gpt-5", 10, 2, cache_read=5)
    assert (r.cost_label, r.kind, r.requests, r.token_label, r.total) == (UNPRICED, "local", 1, TOKENS_EXACT, 17)
    assert r == UsageRecord("codex", "k1", 1_790_000_000_000, "gpt-5", 10, 2, 0, 0, 5)
    assert r != r.replace(output=3) and r.replace(output=3).output == 3 and r.output == 2
    assert r != ("codex", "k1") and r.replace() is not r
    with pytest.raises(TypeError):
        r.replace(tokens=1)
    with pytest.raises(TypeError):
        hash(r)  # mutable: compared by value, never a dict key
    for twin in (copy.copy(r), copy.deepcopy(r), pickle.loads(pickle.dumps(r))):
        assert twin == r and twin is not r
    assert "key='k1'" in repr(r)


def test_settings_are_read_only_values() -> None:
    s = Settings(Path("/cfg/config.toml"), timezone="UTC", device="laptop", raw={"theme": "x"})
    assert s.sources == {} and s.price_overrides == {} and s.theme == "tokentop-dark"
    assert Settings(Path("/c")).device  # the host name when not given
    assert Settings(Path("/c")).raw is not Settings(Path("/c")).raw  # no shared default dict
    with pytest.raises(AttributeError):
        s.theme = "other"  # type: ignore[misc]
    t = s.replace(theme="tokentop-light")
    assert (t.theme, s.theme, t.device, t.raw) == ("tokentop-light", "tokentop-dark", "laptop", {"theme": "x"})
    assert s == Settings(Path("/cfg/config.toml"), timezone="UTC", device="laptop", raw={"theme": "x"}) != t
    with pytest.raises(TypeError):
        s.replace(colour="red")
    for twin in (copy.copy(s), copy.deepcopy(s), pickle.loads(pickle.dumps(s))):
        assert twin == s
