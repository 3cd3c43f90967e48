"""Claude Code's dedupe rules across files (spec/local-logs.md §2.4): which copy of one response
is kept when the same message id appears again (a resumed session, a sub-agent transcript), given
what is stored. Pure: the ingest feeds it the parser's entries (:mod:`tokentui.sources.claude_code`)
and the stored entries of the same message ids."""

from __future__ import annotations

from typing import Sequence

from tokentui.core.slots import SlotValue


class Kept(SlotValue):
    """An entry already kept for a message id (see :func:`resolve_duplicates`). A plain slotted
    class, equal by value to another ``Kept`` (``list.remove`` relies on it): a cold ingest makes
    one per entry, which a named tuple would make ~2x slower, and a dataclass costs every
    command ~0.5 ms to build at import."""

    __slots__ = ("key", "sidechain", "total", "has_speed")

    def __init__(self, key: str, sidechain: bool, total: int, has_speed: bool) -> None:
        self.key = key
        self.sidechain = sidechain
        self.total = total
        self.has_speed = has_speed


def resolve_duplicates(new: Sequence[Sequence], kept: dict[str, list[Kept]]
                       ) -> tuple[dict[str, int], set[str], list[int]]:
    """Apply the §2.4 dedupe rules to ``new`` entries (in path, line order).

    Each entry starts ``(key, msg_id, sidechain, total, has_speed, ...)`` (see
    :func:`dedupe_item`). ``kept`` maps message id → entries already stored (updated in
    place). Returns the index (into ``new``) of the entry to upsert, by key; the stored keys
    to delete; and the indices of the entries that were duplicates of another.
    """
    upsert: dict[str, int] = {}
    delete: set[str] = set()
    dups: list[int] = []
    for i, e in enumerate(new):
        key, msg_id, sidechain, total, has_speed = e[0], e[1], e[2], e[3], e[4]
        if msg_id is None:
            if key in upsert:
                dups.append(i)
            upsert[key] = i
            continue
        group = kept.setdefault(msg_id, [])
        match = None
        for k in group:
            if k.key == key:
                match = k
                break
        if match is None:
            for k in group:
                if k.sidechain or sidechain:
                    match = k
                    break
        if match is None:
            group.append(Kept(key, sidechain, total, has_speed))
            upsert[key] = i
            delete.discard(key)  # an earlier replacement may have scheduled this key's stored row
            continue
        dups.append(i)
        if match.sidechain != sidechain:
            replace = match.sidechain
        elif total != match.total:
            replace = total > match.total
        else:
            replace = has_speed and not match.has_speed
        if replace:
            group.remove(match)
            group.append(Kept(key, sidechain, total, has_speed))
            if match.key != key:
                upsert.pop(match.key, None)
                delete.add(match.key)
            upsert[key] = i
            delete.discard(key)
    return upsert, delete, dups
