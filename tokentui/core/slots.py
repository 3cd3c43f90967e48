"""Plain slotted value classes, for the few types every command defines at start (a dataclass
costs ~0.5-1.7 ms to define, and ``dataclasses`` brings ``inspect``: ~8 ms of each start).

A subclass lists its fields as ``__slots__``, in constructor order, and writes its own
``__init__``; it gets equality by value (same class only), a readable ``repr`` and
:meth:`~SlotValue.replace`, as a dataclass would give.
"""

from __future__ import annotations


class SlotValue:
    __slots__ = ()

    def _values(self) -> tuple:
        return tuple(getattr(self, f) for f in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # compared by value: never a dict key

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{f}={getattr(self, f)!r}' for f in self.__slots__)})"

    def replace(self, **changes):
        """A copy with ``changes`` (field names as in the constructor)."""
        unknown = set(changes) - set(self.__slots__)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field(s) {', '.join(sorted(unknown))}")
        return type(self)(*(changes[f] if f in changes else getattr(self, f) for f in self.__slots__))
