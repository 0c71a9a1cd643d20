"""A registry of named singletons: the grammar's term kinds and links register here.

Why a registry: the engine looks a kind or a link up by its name (in a form's
key, an engine option, a results file) and never tests names itself, so adding
one is a class and a decorator.
"""

from __future__ import annotations

from typing import Generic, Iterator, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> the one instance of each registered class, in the order of registration."""

    def __init__(self, what: str):
        self.what = what
        self._items: dict[str, T] = {}

    def register(self, cls):
        """Class decorator: register one instance of ``cls`` under its ``name``."""
        item = cls()
        if item.name in self._items:
            raise RuntimeError(f"{self.what} {item.name!r} is registered twice")
        self._items[item.name] = item
        return cls

    def __getitem__(self, name: str) -> T:
        return self._items[name]

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)
