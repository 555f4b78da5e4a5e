"""Ingestion throughput (frames + log-mel to HDF5) against plain `ffmpeg -i X -f null -` decoding of the same videos.

Usage: .venv/bin/python bench/ingest_throughput.py [--clips 16] [--seconds 10]
Prints clips/s and MB/s for both, peak RSS, and last the ratio ingest/decode (1.0 = as fast as a bare decode).
librosa's one-off start-up (about 1 s of lazy imports, paid once per ingestion job) is measured apart.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from conftest import make_video, tone
from timing import timed

from msl_core.ingest import write_frames, write_logmels
from msl_core.manifest import build_index, load_manifest
from msl_core.spectrogram import LogMelParams, log_mel


def make_clips(folder: Path, n: int, seconds: int) -> Path:
    rng = np.random.default_rng(0)
    rows = []
    for k in range(n):
        colours = [tuple(int(v) for v in rng.integers(0, 255, 3)) for _ in range(seconds)]
        make_video(folder / f"{k}.mp4", colours, fps=25, size=(640, 360), audio=tone(seconds, 200 + 50 * k))
        rows.append({"clip_id": str(k), "video_path": f"{k}.mp4", "split": "train"})
    pd.DataFrame(rows).to_csv(folder / "manifest.csv", index=False)
    return folder / "manifest.csv"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2, help="Clips decoded at once (the rules use their threads).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        manifest = make_clips(folder, args.clips, args.seconds)
        videos = sorted(folder.glob("*.mp4"))
        megabytes = sum(v.stat().st_size for v in videos) / 1e6

        def decode_only():
            for video in videos:
                subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(video), "-f", "null", "-"], check=True)

        def ingest():
            index, _ = build_index(load_manifest(manifest), 1.0)
            write_frames(index, folder / "frames.h5", workers=args.workers)
            write_logmels(index, folder / "logmel.h5", LogMelParams(), workers=args.workers)

        warm_up = timed(lambda: log_mel(np.zeros((1, 22050), np.float32), LogMelParams()))
        base = timed(decode_only)
        ours = timed(ingest)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"videos: {args.clips} × {args.seconds} s, 640x360 @ 25 fps, {megabytes:.1f} MB")
    print(f"ffmpeg decode only: {base:.2f} s  ({args.clips / base:.2f} clips/s, {megabytes / base:.1f} MB/s)")
    print(f"msl ingest (frames + log-mel, {args.workers} workers): {ours:.2f} s  ({args.clips / ours:.2f} clips/s, {megabytes / ours:.1f} MB/s)")
    print(f"librosa start-up, once per job (not in the ratio): {warm_up:.2f} s")
    print(f"peak RSS of this process: {rss_mb:.0f} MB")
    print(f"ingest_throughput_vs_ffmpeg_decode: {base / ours:.2f}")


if __name__ == "__main__":
    main()
