"""Name-to-class registries, one per kind of component (policy, env, env manager, buffer, hook).

A class registers itself where it is defined with ``@REGISTRY.register('name', 'alias', ...)``.
Looking up an unknown name raises :class:`UnknownNameError`, whose message lists the known names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from ding_lite.errors import DingLiteError

T = TypeVar("T")


class UnknownNameError(DingLiteError, KeyError):
    """An unknown component name; ``str()`` gives a one-line message listing the known ones."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class Registry(Generic[T]):
    """Maps names (and aliases) of one kind of component to their classes."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._primary: list[str] = []

    def register(self, name: str, *aliases: str) -> Callable[[T], T]:
        def decorate(obj: T) -> T:
            for key in (name, *aliases):
                if key in self._entries and self._entries[key] is not obj:
                    raise ValueError(f"{self.kind} name '{key}' is already registered")
                self._entries[key] = obj
            if name not in self._primary:
                self._primary.append(name)
            return obj

        return decorate

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries))
            raise UnknownNameError(f"unknown {self.kind} type '{name}'; known types: {known}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def names(self) -> list[str]:
        """Primary names, in registration order (aliases left out)."""
        return list(self._primary)
