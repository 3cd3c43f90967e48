"""What the pure rules need to know about the sources, as one value.

The sources themselves are declared once, in :mod:`tokentui.sources.registry`, which builds
this value (:func:`~tokentui.sources.registry.catalog`); core code takes it as an argument and
never names a source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping


@dataclass(frozen=True)
class SourceCatalog:
    names: tuple[str, ...]  # every known source, local first
    kinds: Mapping[str, str]  # source → "local" | "api"
    #: local source → the provider whose API may report the same usage (core.overlap)
    local_provider: Mapping[str, str]
    #: provider → the sources whose usage it bills (budget ``providers`` scopes)
    provider_sources: Mapping[str, tuple[str, ...]]
