"""A tiny stage-2 model trained by the project's own loop on real signals, and ffmpeg-made clips to locate.

Category "tone" is a 440 Hz tone and a red square; "noise" is white noise and a blue square. Training rows pair
each sound with a frame showing its square (or none, with silence), so the model learns to hear them quickly.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import soundfile as sf

from msl_core.models import ModelConfig
from msl_core.spectrogram import LogMelParams, log_mel
from msl_core.training.data import open_training_data
from msl_core.training.loop import RunOptions, StageOutputs, TrainConfig, train_stage

SR = 22050
COLOURS = {"tone": (220, 30, 30), "noise": (30, 30, 220)}
GREY = (110, 110, 110)


def sound(kind: str, seconds: float, sample_rate: int = SR, seed: int = 0) -> np.ndarray:
    n = int(seconds * sample_rate)
    if kind == "tone":
        return (0.3 * np.sin(2 * np.pi * 440.0 * np.arange(n) / sample_rate)).astype(np.float32)
    if kind == "noise":
        return (0.1 * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)
    return np.zeros(n, np.float32)


def picture(width: int, height: int, squares: dict[str, tuple[int, int]], side: int) -> np.ndarray:
    """Grey picture with a `side`-pixel square of each category's colour at its (x, y) top-left corner."""
    image = np.empty((height, width, 3), np.uint8)
    image[:] = GREY
    for name, (x, y) in squares.items():
        image[y : y + side, x : x + side] = COLOURS[name]
    return image


def write_tiny_dataset(folder: Path, n: int = 36, size: int = 48, seed: int = 0) -> tuple[Path, Path, Path, Path]:
    """frames.h5 / logmel.h5 / labels.h5 / index.csv: rows cycle silence, tone, noise; one val row in four."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    kinds = ["silence", "tone", "noise"]
    frames, waves, audio, visual = [], [], [], []
    for i in range(n):
        kind = kinds[i % 3]
        squares = {} if kind == "silence" else {kind: tuple(int(v) for v in rng.integers(0, size - 20, 2))}
        frames.append(picture(size, size, squares, 20))
        waves.append(sound(kind, 1.0, seed=i))
        audio.append([kind == "tone", kind == "noise"])
        visual.append([kind == "tone", kind == "noise"])
    params = LogMelParams()
    paths = [folder / f for f in ("frames.h5", "logmel.h5", "labels.h5", "index.csv")]
    with h5py.File(paths[0], "w") as f:
        f.create_dataset("frames", data=np.stack(frames))
    with h5py.File(paths[1], "w") as f:
        ds = f.create_dataset("logmel", data=log_mel(np.stack(waves), params))
        for key, value in {**vars(params), "window_s": 1.0}.items():
            ds.attrs[key] = value
    with h5py.File(paths[2], "w") as f:
        f.create_dataset("audio", data=np.asarray(audio, np.float32))
        f.create_dataset("visual", data=np.asarray(visual, np.float32))
        f.attrs["categories"] = ["tone", "noise"]
    split = ["val" if i % 4 == 3 else "train" for i in range(n)]
    pd.DataFrame({"row": range(n), "clip_id": [f"c{i:03d}" for i in range(n)], "second": 0, "split": split}).to_csv(
        paths[3], index=False)
    return tuple(paths)


def train_tiny_model(folder: Path) -> Path:
    """Stage 1 then stage 2 on the tiny dataset; returns stage2/model.pt (a few seconds on one CPU thread)."""
    from msl_core.training.data import TrainingFiles

    data = open_training_data(TrainingFiles(*write_tiny_dataset(folder / "data")))
    model_cfg = ModelConfig(num_classes=2, embed_dim=16, hidden_dim=32, categories=data.categories)
    opts = RunOptions(progress=False)
    out1, out2 = StageOutputs.in_dir(folder / "stage1"), StageOutputs.in_dir(folder / "stage2")
    train_stage(data, model_cfg, TrainConfig(stage=1, epochs=5, lr=0.02, batch_size=6, seed=0), out1, opts)
    train_stage(data, model_cfg, TrainConfig(stage=2, epochs=1, lr=0.01, batch_size=6, seed=0,
                                             background_weight=4.0), out2, opts, stage1_model=out1.model)
    return out2.model


def moving_square_video(path: Path, seconds: int = 6, fps: int = 10, size: tuple[int, int] = (160, 96),
                        sound_from: float = 3.0, kind: str = "tone", with_audio: bool = True) -> Path:
    """H.264 + AAC: a square crossing the picture left to right; silence, then `kind` from `sound_from` seconds."""
    width, height = size
    side = height // 3
    frames = [picture(width, height, {kind: (int(k / (seconds * fps) * (width - side)), height // 3)}, side)
              for k in range(seconds * fps)]
    cmd = ["ffmpeg", "-y", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
           "-r", str(fps), "-i", "pipe:0"]
    if with_audio:
        wav = path.with_suffix(".src.wav")
        quiet = sound("silence", sound_from)
        sf.write(wav, np.concatenate([quiet, sound(kind, seconds - sound_from)]), SR, subtype="FLOAT")
        cmd += ["-i", str(wav), "-c:a", "aac", "-b:a", "128k"]
    cmd += ["-c:v", "libx264", "-pix_fmt", "yuv420p"] + ([] if with_audio else ["-an"]) + [str(path)]
    subprocess.run(cmd, input=np.stack(frames).tobytes(), check=True)
    return path
