"""Ingestion (msl's `ingest` + `logmel` jobs: index, frames.h5, audio.h5, logmel.h5) against the decode floor and the
reference's way.

Usage: .venv/bin/python bench/ingest_throughput.py [--clips 16] [--seconds 10] [--workers 2] [--repeats 3]

Two clip sets made here with ffmpeg (moving test pattern, H.264 at 25 fps, AAC audio): demo-size 320x240 and
AVE-size 640x360. On each, the median of `--repeats` runs of
  floor      one ffmpeg process per clip decoding both streams (`-f null`), nothing kept;
  reference  the reference's way: ffmpeg to JPEG frames at 1 fps and to a WAV, then librosa (load + log-mel);
  msl        `msl_core.ingest.ingest` on the manifest, then `write_logmels`: what the workflow's `ingest` and
             `logmel` jobs do;
all with `--workers` clips at once. Prints the times, this process's peak RSS, and last
`ingest_ratio: floor / msl`, the lower of the two sets (1.0 = msl ingests at the speed of a bare decode).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import librosa
import numpy as np
import pandas as pd
from timing import timed

from msl_core.ingest import Outputs, Settings, ingest, write_logmels
from msl_core.manifest import load_manifest
from msl_core.spectrogram import LogMelParams, log_mel, windows

SETS = {"demo 320x240": (320, 240), "AVE 640x360": (640, 360)}


def make_clips(folder: Path, n: int, seconds: int, size: tuple[int, int]) -> Path:
    folder.mkdir(parents=True)
    for k in range(n):
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=size={size[0]}x{size[1]}:rate=25",
                        "-f", "lavfi", "-i", f"sine=frequency={200 + 50 * k}:sample_rate=44100", "-t", str(seconds),
                        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "50", "-c:a", "aac", "-b:a", "128k",
                        str(folder / f"{k}.mp4")], check=True)
    pd.DataFrame([{"clip_id": str(k), "video_path": f"{k}.mp4", "split": "train"} for k in range(n)]).to_csv(
        folder / "manifest.csv", index=False)
    return folder / "manifest.csv"


def each(fn, items, workers: int) -> None:
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(fn, items))


def floor(video: Path) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(video), "-map", "0:v:0", "-map", "0:a:0", "-f",
                    "null", "-"], check=True)


def reference(video: Path) -> None:
    params = LogMelParams()
    out = video.with_suffix("")
    out.mkdir(exist_ok=True)
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", str(video), "-vf", "fps=1", str(out / "%03d.jpg")],
                   check=True)
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", str(video), "-ac", "1", "-ar", "22050",
                    str(out / "audio.wav")], check=True)
    wave, _ = librosa.load(out / "audio.wav", sr=params.sample_rate)
    log_mel(windows(wave, len(wave) // params.sample_rate, 1.0, params.sample_rate), params)
    shutil.rmtree(out)


def msl(manifest: Path, workers: int) -> None:
    out = manifest.parent / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    params = LogMelParams()
    ingest(load_manifest(manifest), Outputs.in_folder(out), Settings(1.0, 256, params.sample_rate), workers=workers)
    write_logmels(out / "audio.h5", out / "logmel.h5", params)


def median_time(fn, repeats: int) -> float:
    return statistics.median(timed(fn) for _ in range(repeats))


def measure(folder: Path, size: tuple[int, int], args) -> tuple[float, float, float]:
    """Median seconds of the floor, the reference's way and msl on one clip set."""
    manifest = make_clips(folder, args.clips, args.seconds, size)
    videos = sorted(manifest.parent.glob("*.mp4"))
    return (median_time(lambda: each(floor, videos, args.workers), args.repeats),
            median_time(lambda: each(reference, videos, args.workers), args.repeats),
            median_time(lambda: msl(manifest, args.workers), args.repeats))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2, help="Clips decoded at once (the rule uses its threads).")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    log_mel(np.zeros((1, 22050), np.float32), LogMelParams())  # librosa's lazy imports: once per job, not timed
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, size in SETS.items():
            base, ref, ours = measure(Path(tmp) / name.split()[0], size, args)
            ratios.append(base / ours)
            print(f"{name}: {args.clips} clips × {args.seconds} s, {args.workers} at once, median of {args.repeats}: "
                  f"floor {base:.2f} s, reference {ref:.2f} s, msl {ours:.2f} s; floor/msl {base / ours:.2f}, "
                  f"reference/msl {ref / ours:.2f}")
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print(f"ingest_ratio: {min(ratios):.2f}")


if __name__ == "__main__":
    main()
