"""Shared fixtures: the repository root, the shipped assets, a workflow workspace. Helpers live in tests/support.

Every test that runs (or parses) the Snakemake workflow is marked `workflow` here, found from what it uses: the
`workspace` fixture, or a workflow runner (`run_snakemake`, `snakemake_workspace`, `SNAKEMAKE`, `SnakemakeApi`) named
by the test, its fixtures or the module's functions they call. `pytest -m "not workflow and not slow and not slurm"` is then the unit suite.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import pytest

from support.workspace import ASSETS, REPO, snakemake_workspace

os.environ.setdefault("OMP_NUM_THREADS", "1")

RUNNERS = {"run_snakemake", "snakemake_workspace", "SNAKEMAKE", "SnakemakeApi"}  # SnakemakeApi: parses the workflow


def _runs_snakemake(function, module, seen: set) -> bool:
    """Whether `function` (or a function of `module` it calls, transitively) names a workflow runner."""
    code = getattr(inspect.unwrap(function), "__code__", None)
    if code is None or code in seen:
        return False
    seen.add(code)
    names = set(code.co_names) | {n for c in code.co_consts if inspect.iscode(c) for n in c.co_names}
    if names & RUNNERS:
        return True
    return any(_runs_snakemake(vars(module)[n], module, seen) for n in names
               if inspect.isfunction(vars(module).get(n)) and vars(module)[n].__module__ == module.__name__)


def pytest_collection_modifyitems(items):
    for item in items:
        module = getattr(item, "module", None)
        if module is None:
            continue
        functions = [item.function] + [d.func for defs in item._fixtureinfo.name2fixturedefs.values() for d in defs]
        if "workspace" in item.fixturenames or any(_runs_snakemake(f, module, set()) for f in functions):
            item.add_marker(pytest.mark.workflow)


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def assets() -> Path:
    if not ASSETS.is_dir():
        pytest.skip(f"shared assets not found at {ASSETS}")
    return ASSETS


@pytest.fixture
def small_threads():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def workspace(tmp_path) -> Path:
    return snakemake_workspace(tmp_path)
