"""Helpers shared by the tests/test_scenes_*.py modules: where to find the stamps, a stamp catalogue, small configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from msl_core.errors import ConfigError
from msl_core.scenes.stamps import PACKAGE_ROOT, build_catalogue, class_table, obtain_stamps

REPO = Path(__file__).resolve().parents[1]
CANDIDATES = (Path("/usr/share/tuxpaint/stamps"), REPO / ".cache" / "msl" / "stamps" / "tree" / PACKAGE_ROOT)


def stamps_root() -> Path:
    """An unpacked tuxpaint-stamps-default tree (installed, or fetched by the workflow); skips the test otherwise."""
    for candidate in CANDIDATES:
        if (candidate / "animals").is_dir():
            return candidate
    try:  # the workflow's own way: apt-get download into the repository's cache, once
        return obtain_stamps(None, REPO / ".cache" / "msl")
    except ConfigError as exc:
        pytest.skip(f"tuxpaint-stamps-default not obtainable here: {exc}")


def write_catalogue(folder: Path) -> Path:
    path = folder / "catalogue.csv"
    build_catalogue(stamps_root(), class_table()).to_csv(path, index=False)
    return path
