"""Snapshot writers (md, html, json, toml, csv) and their verifier.

:func:`render` turns a :class:`tokentui.export.model.Snapshot` into the text of one format;
every renderer is a pure function of the snapshot's data and digest, so ``tokentop verify``
can render a document again from the data it embeds and compare.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tokentui.export.model import Snapshot

#: format name → file extension
EXTENSIONS = {"md": "md", "html": "html", "json": "json", "toml": "toml", "csv": "csv"}
FORMATS = tuple(EXTENSIONS)


def render(snap: "Snapshot", fmt: str) -> str:
    """The document text of ``snap`` in format ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "md":
        from tokentui.export.markdown import render_md

        return render_md(snap)
    if fmt == "html":
        from tokentui.export.html import render_html

        return render_html(snap)
    if fmt == "json":
        from tokentui.export.machine import render_json

        return render_json(snap)
    if fmt == "toml":
        from tokentui.export.machine import render_toml

        return render_toml(snap)
    if fmt == "csv":
        from tokentui.export.machine import render_csv

        return render_csv(snap)
    raise ValueError(f"unknown snapshot format {fmt!r}")
