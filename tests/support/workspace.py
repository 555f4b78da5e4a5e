"""A working directory that runs this repository's workflow, and the venv's snakemake run in it.

Tests never write into the repository: the workflow's stamp cache (`scenes.cache_dir`, `.cache/msl`) lives in a
per-user cache outside it, so the stamp package is fetched once per machine, not once per test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ASSETS = REPO.parent / "shared" / "assets"
SNAKEMAKE = Path(sys.executable).with_name("snakemake")


def cache_dir() -> Path:
    """The tests' download cache: $MSL_TEST_CACHE, else $XDG_CACHE_HOME/msl-tests, else ~/.cache/msl-tests."""
    if os.environ.get("MSL_TEST_CACHE"):
        path = Path(os.environ["MSL_TEST_CACHE"])
    else:
        path = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "msl-tests"
    path.mkdir(parents=True, exist_ok=True)
    return path


def snakemake_workspace(root: Path, copy: bool = False) -> Path:
    """`root/ws`, a working directory for the workflow; `root/shared` resolves to the real shared assets.

    Linked (the default): Snakefile, workflow/, profiles/ and msl_core/ are symlinks and config.yaml a copy (so a
    test may edit it). Copied (`copy=True`): the workflow files are real copies, as a user's clone has them, and
    the package comes from the environment; Snakemake records the rules' conda env hashes, so envs/ comes too.
    Both share the per-user stamp cache.
    """
    ws = root / "ws"
    ws.mkdir(parents=True)
    if copy:
        for name in ("workflow", "profiles", "envs"):
            shutil.copytree(REPO / name, ws / name, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy2(REPO / "Snakefile", ws / "Snakefile")
    else:
        for name in ("Snakefile", "workflow", "profiles", "msl_core"):
            (ws / name).symlink_to(REPO / name)
    shutil.copy2(REPO / "config.yaml", ws / "config.yaml")
    (ws / ".cache").symlink_to(cache_dir())
    if not (root / "shared").exists():
        (root / "shared").symlink_to(REPO.parent / "shared")
    return ws


def run_snakemake(ws: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the venv's snakemake in `ws`; output is returned (and shown on failure)."""
    proc = subprocess.run([str(SNAKEMAKE), "--cores", "2", *args], cwd=ws, capture_output=True, text=True,
                          check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc
