"""The tuxpaint stamp tree the scenes are drawn from, and a stamp catalogue built from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from msl_core.errors import ConfigError
from msl_core.scenes.stamps import build_catalogue, class_table, obtain_stamps
from support.workspace import cache_dir

INSTALLED = Path("/usr/share/tuxpaint/stamps")


def stamps_root() -> Path:
    """An unpacked tuxpaint-stamps-default tree (installed, or fetched once into the tests' cache); skips the test
    where neither works."""
    if (INSTALLED / "animals").is_dir():
        return INSTALLED
    try:  # the workflow's own way (apt-get download, dpkg-deb -x), into the cache the workspaces share
        return obtain_stamps(None, cache_dir() / "msl")
    except ConfigError as exc:
        pytest.skip(f"tuxpaint-stamps-default not obtainable here: {exc}")


def write_catalogue(folder: Path) -> Path:
    path = folder / "catalogue.csv"
    build_catalogue(stamps_root(), class_table()).to_csv(path, index=False)
    return path
