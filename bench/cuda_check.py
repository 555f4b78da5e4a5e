"""The CUDA path end to end on small random contract files: both training stages and localisation on the GPU
(bf16 autocast, channels-last), then the same on the CPU from the same seed, and how far the GPU's maps are from
the CPU's. Needs no ffmpeg or Snakemake, so it runs on a bare GPU machine with PyTorch and h5py.

    python bench/cuda_check.py --audio-backbone efficientat_mn04 --weights ../shared/assets/weights/...pt

Last line: `cuda_cpu_map_correlation: <mean Pearson r of the stage-2 maps>` (bf16 arithmetic: close to, not at, 1).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import torch

from msl_core.models import ModelConfig
from msl_core.models.localization import LocalizationConfig
from msl_core.training.data import open_training_data
from msl_core.training.inference import write_maps
from msl_core.training.loop import RunOptions, StageOutputs, TrainConfig, train_stage
from msl_core.training.synthetic import write_synthetic_inputs


def run(device: torch.device, folder: Path, files, args) -> tuple[np.ndarray, float]:
    data = open_training_data(files)
    pretrained = args.audio_backbone != "resnet18"
    model_cfg = ModelConfig(num_classes=data.num_classes, categories=data.categories, vision_backbone="mobilenet_v2",
                            audio_backbone=args.audio_backbone, freeze_vision_stages=14)
    opts = RunOptions(device, workers=2, progress=False)
    start = time.perf_counter()
    outs = [StageOutputs.in_dir(folder / f"stage{k}") for k in (1, 2)]
    for stage, out in zip((1, 2), outs):
        cfg = TrainConfig(stage=stage, epochs=args.epochs, lr=1e-2, batch_size=16, seed=0, background_weight=4.0)
        train_stage(data, model_cfg, cfg, out, opts, stage1_model=outs[0].model if stage == 2 else None,
                    audio_weights=args.weights if pretrained and stage == 1 else None)
    write_maps(files.frames, files.logmel, files.index, outs[0].model, outs[1].model, folder / "maps.h5",
               LocalizationConfig(), device=device, progress=False)
    seconds = time.perf_counter() - start
    with h5py.File(folder / "maps.h5") as h5:
        return h5["stage2"][()].astype(np.float32), seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=96)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--audio-backbone", default="resnet18", choices=["resnet18", "efficientat_mn04"])
    ap.add_argument("--weights", default=None, help="EfficientAT release for the pretrained audio backbone")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("cuda_check: no CUDA device here")
    pretrained = args.audio_backbone != "resnet18"
    with tempfile.TemporaryDirectory() as tmp:
        files = write_synthetic_inputs(Path(tmp) / "data", n=args.rows, num_classes=7, size=256,
                                       n_frames=100 if pretrained else 51, n_mels=128 if pretrained else 64,
                                       front_end="efficientat" if pretrained else "librosa")
        gpu, gpu_s = run(torch.device("cuda"), Path(tmp) / "cuda", files, args)
        torch.set_num_threads(8)
        cpu, cpu_s = run(torch.device("cpu"), Path(tmp) / "cpu", files, args)
    r = [np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(gpu, cpu) if a.std() > 0 and b.std() > 0]
    print(f"device: {torch.cuda.get_device_name()}, audio {args.audio_backbone}, rows {args.rows}, "
          f"epochs {args.epochs} per stage")
    print(f"cuda_seconds: {gpu_s:.1f}")
    print(f"cpu_seconds: {cpu_s:.1f}")
    print(f"cuda_speedup: {cpu_s / gpu_s:.2f}")
    print(f"maps_compared: {len(r)} of {len(gpu)}")
    print(f"cuda_cpu_map_correlation: {float(np.mean(r)) if r else float('nan'):.4f}")


if __name__ == "__main__":
    main()
