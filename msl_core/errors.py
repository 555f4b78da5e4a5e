"""Errors that name the file (or config key) and the problem, so a user can act on them."""

from __future__ import annotations

from pathlib import Path


class MslError(Exception):
    """Base class: a problem the user can fix; the CLI prints it without a traceback."""


class BadInput(MslError):
    """An input file that cannot be used: corrupt, no audio, too short, missing."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ConfigError(MslError):
    """A configuration value that is missing or points nowhere; names the key."""

    def __init__(self, key: str, problem: str):
        self.key = key
        super().__init__(f"config key '{key}': {problem}")
