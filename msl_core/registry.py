"""Named extension points (in the spirit of torchvision's `models/_api.py`): one registry per kind of choice.

A registry maps a config value (`resnet18`, `flickr`, ...) to the entry that knows everything the code needs about
it, so no module compares the value with string literals. An entry is registered by the module that defines it;
a registry given a `package` imports every module of that package on first use, so adding a choice is adding one
file. Entries are plain data (no torch at import time): the workflow plans from them.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from typing import Generic, TypeVar

from msl_core.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Entries of one kind by name. `key` is the config key whose values name them (used in errors)."""

    def __init__(self, kind: str, key: str, package: str | None = None) -> None:
        self.kind, self.key, self.package = kind, key, package
        self._entries: dict[str, T] = {}
        self._discovered = package is None

    def register(self, entry: T, name: str | None = None) -> T:
        """Add `entry` under `name` (default: `entry.name`); returns the entry, so it also works as a decorator."""
        name = name or entry.name
        if name in self._entries:
            raise ValueError(f"{self.kind} '{name}' is registered twice")
        self._entries[name] = entry
        return entry

    def get(self, name: str, key: str | None = None) -> T:
        """The entry `name`; an unknown name is a ConfigError on `key` (default: the registry's) listing the known."""
        self._discover()
        if name not in self._entries:
            raise ConfigError(key or self.key, f"'{name}' is not a known {self.kind}; known: {', '.join(self.names())}")
        return self._entries[name]

    def names(self) -> tuple[str, ...]:
        self._discover()
        return tuple(self._entries)

    def __contains__(self, name: object) -> bool:
        self._discover()
        return name in self._entries

    def __iter__(self) -> Iterator[T]:
        self._discover()
        return iter(self._entries.values())

    def _discover(self) -> None:
        """Import every (non-private) module of the package once: each registers its entries."""
        if self._discovered:
            return
        self._discovered = True
        package = importlib.import_module(self.package)
        for module in pkgutil.iter_modules(package.__path__):
            if not module.name.startswith("_"):
                importlib.import_module(f"{self.package}.{module.name}")
