"""Shared fixtures: real media made by ffmpeg in the test, the repository root, the shipped assets."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
ASSETS = REPO.parent / "shared" / "assets"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def assets() -> Path:
    if not ASSETS.is_dir():
        pytest.skip(f"shared assets not found at {ASSETS}")
    return ASSETS


def make_video(path: Path, colours: list[tuple[int, int, int]], fps: int = 10, size=(160, 120),
               audio: np.ndarray | None = None, sample_rate: int = 22050) -> Path:
    """An H.264 (+AAC) video showing colours[k] during second k, with `audio` as its sound track when given."""
    width, height = size
    frames = np.concatenate([np.tile(np.array(c, np.uint8), (fps, height, width, 1)) for c in colours])
    cmd = ["ffmpeg", "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
           "-r", str(fps), "-i", "pipe:0"]
    if audio is not None:
        wav = path.with_suffix(".src.wav")
        sf.write(wav, audio, sample_rate, subtype="FLOAT")
        cmd += ["-i", str(wav), "-c:a", "aac", "-b:a", "128k"]
    cmd += ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-shortest" if audio is not None else "-an", str(path)]
    subprocess.run(cmd, input=frames.tobytes(), check=True)
    return path


def tone(seconds: float, freq: float = 440.0, sample_rate: int = 22050) -> np.ndarray:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture
def small_threads():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


os.environ.setdefault("OMP_NUM_THREADS", "1")


def snakemake_workspace(root: Path) -> Path:
    """A working directory that runs this repository's workflow: Snakefile, workflow/ and profiles/ linked,
    config.yaml copied (so a test may edit it), and ../shared resolving to the real shared assets."""
    import shutil

    ws = root / "ws"
    ws.mkdir(parents=True)
    for name in ("Snakefile", "workflow", "profiles", "msl_core"):
        (ws / name).symlink_to(REPO / name)
    shutil.copy(REPO / "config.yaml", ws / "config.yaml")
    (REPO / ".cache").mkdir(exist_ok=True)
    (ws / ".cache").symlink_to(REPO / ".cache")  # the stamp package is fetched once, not per test
    if not (root / "shared").exists():
        (root / "shared").symlink_to(REPO.parent / "shared")
    return ws


def run_snakemake(ws: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the venv's snakemake in `ws`; output is returned (and shown on failure)."""
    import sys

    exe = Path(sys.executable).with_name("snakemake")
    proc = subprocess.run([str(exe), "--cores", "2", *args], cwd=ws, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc


@pytest.fixture
def workspace(tmp_path) -> Path:
    return snakemake_workspace(tmp_path)
