"""One small registry class for everything reachable by name (layers, presets, models, ...).

Lookups ignore case, '-' and '_', so ``"pAdaIN"``, ``"padain"`` and ``"p_adain"`` name the same
entry. A miss raises :class:`~stylebias.errors.UnknownNameError` that suggests the closest names.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

from .errors import UnknownNameError

__all__ = ["Registry", "normalize_name", "close_matches"]

T = TypeVar("T")


def normalize_name(name: str) -> str:
    """Lower-case ``name`` and drop '-', '_' and spaces: the key every lookup uses."""
    return "".join(ch for ch in name.lower() if ch not in "-_ ")


def close_matches(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """The candidates closest to ``name`` (difflib ratio), best first: "did you mean" hints."""
    return difflib.get_close_matches(name, list(candidates), n=n)


class Registry(Generic[T]):
    """A name -> object map with aliases, wildcard listing and helpful misses.

    Args:
        kind: what the registry holds, used in error messages ("style layer", "model", ...).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}  # canonical name -> object
        self._keys: dict[str, str] = {}  # normalized name or alias -> canonical name

    def register(self, name: str, obj: T, *, aliases: tuple[str, ...] = ()) -> T:
        """Add ``obj`` under ``name`` (and ``aliases``); a name already taken raises."""
        for key in (name, *aliases):
            norm = normalize_name(key)
            if norm in self._keys:
                raise ValueError(
                    f"{self.kind} name {key!r} is already registered (as {self._keys[norm]!r})"
                )
        self._items[name] = obj
        for key in (name, *aliases):
            self._keys[normalize_name(key)] = name
        return obj

    def canonical(self, name: str) -> str:
        """The registered name that ``name`` (any case or alias) refers to."""
        try:
            return self._keys[normalize_name(name)]
        except KeyError:
            close = close_matches(normalize_name(name), self._keys)
            hint = sorted({self._keys[c] for c in close})
            suggestion = f" Did you mean {', '.join(map(repr, hint))}?" if hint else ""
            raise UnknownNameError(
                f"unknown {self.kind} {name!r}.{suggestion} "
                f"Available: {', '.join(sorted(self._items))}."
            ) from None

    def get(self, name: str) -> T:
        """The object registered under ``name``; unknown names raise ``UnknownNameError``."""
        return self._items[self.canonical(name)]

    def list(self, pattern: str = "*") -> list[str]:
        """Sorted canonical names matching a shell-style wildcard, e.g. ``"*mix*"``."""
        pat = pattern.lower()
        return sorted(n for n in self._items if fnmatch.fnmatchcase(n.lower(), pat))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and normalize_name(name) in self._keys

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def __len__(self) -> int:
        return len(self._items)
