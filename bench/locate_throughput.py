"""`msl locate` throughput on a 10-s 640×360 clip, against ffmpeg decoding and re-encoding the same clip.

Usage: .venv/bin/python bench/locate_throughput.py [--seconds 10] [--fps 1] [--threads N] [--device cpu] [--repeat 3]
The model is the default demo network (MobileNetV2 vision backbone, 12 categories, 256×256 frames) with random
weights: throughput does not depend on what it learned. The floor is `ffmpeg -i clip.mp4` re-encoded with the
overlay's own encoder settings, the least any overlay writer must do. Floor and locate run alternately `--repeat`
times and the medians are compared (the machine may be shared). `--threads` fixes the model's CPU threads (default:
locate's own choice, half the cores while the encoder runs). Prints video-seconds per wall-second for both and last
the ratio floor time / locate time (1.0 = as fast as the bare re-encode; the target is ≥ 0.5 at 1 fps). It also
prints both CPU times: on a machine whose cores are all busy with other work the wall ratio tends to their ratio.

Measured on 2 quiet CPU cores (load 1): 0.38 (floor 0.63 s, locate 1.64 s). With the initialisers skipped at load,
alternating with the version before at load 3–4: 0.37–0.40 against 0.36–0.38.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from timing import timed

from msl_core.device import resolve_device
from msl_core.locate.run import H264_AAC, LocateOptions, locate
from msl_core.models.coarse_to_fine import ModelConfig, build_model
from msl_core.spectrogram import LogMelParams
from msl_core.training.model_file import InferenceSpec, save_model
from support.tiny_model import moving_square_video


def demo_model(path: Path) -> Path:
    torch.manual_seed(0)
    cfg = ModelConfig(num_classes=12, vision_backbone="mobilenet_v2", categories=tuple(f"class{k}" for k in range(12)))
    model = build_model(cfg, None, warn_random=False)
    spec = InferenceSpec(LogMelParams(), 1.0, (256, 256), tuple(model.pixel_mean.flatten().tolist()),
                         tuple(model.pixel_std.flatten().tolist()))
    save_model(path, model, 2, "bench", 1, spec, "bench", {})
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--fps", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clip = moving_square_video(folder / "clip.mp4", seconds=args.seconds, fps=25, size=(640, 360))
        model = demo_model(folder / "model.pt")

        def floor():
            subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", str(clip), *H264_AAC,
                            str(folder / "floor.mp4")], check=True)

        opts = LocateOptions(fps=args.fps, progress=False, threads=args.threads)
        device = resolve_device(args.device)
        first = timed(lambda: locate([clip], model, folder / "out", opts, device))  # includes one-off warm-up
        bases, times, base_cpu, our_cpu = [], [], [], []
        for _ in range(args.repeat):
            before = cpu_seconds()
            bases.append(timed(floor))
            base_cpu.append(cpu_seconds() - before)
            before = cpu_seconds()
            times.append(timed(lambda: locate([clip], model, folder / "out", opts, device)))
            our_cpu.append(cpu_seconds() - before)
        base, ours = statistics.median(bases), statistics.median(times)
        cpu = statistics.median(base_cpu), statistics.median(our_cpu)
    threads = args.threads or f"{max(1, len(os.sched_getaffinity(0)) // 2)} (of {len(os.sched_getaffinity(0))} cores)"
    print(f"clip: {args.seconds} s, 640x360 @ 25 fps; locate at {args.fps:g} fps on {device}, model threads {threads}")
    print(f"ffmpeg decode + re-encode: {base:.2f} s  ({args.seconds / base:.1f} video-s per s)")
    print(f"msl locate (model load, decode, maps, overlay, encode): {ours:.2f} s  ({args.seconds / ours:.1f} video-s "
          f"per s); first call with warm-up {first:.2f} s")
    print(f"CPU time (this process and its ffmpeg children): floor {cpu[0]:.2f} s, locate {cpu[1]:.2f} s, ratio "
          f"{cpu[0] / cpu[1]:.2f} (what the wall ratio tends to when every core is busy with other work)")
    print(f"locate_throughput_vs_ffmpeg_reencode: {base / ours:.2f}")


def cpu_seconds() -> float:
    """User + system CPU seconds of this process (all its threads) and of its finished children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


if __name__ == "__main__":
    main()
