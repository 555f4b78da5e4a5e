"""Training throughput: the model step alone vs the full loop with the HDF5 data loader, and the loop from the frames
vs from the cached frozen trunk (trunk.h5, rule trunk_features).

Writes random contract files (or reads --data results/<ds>), times `--steps` SGD steps on one in-memory batch,
then epochs of `train_one_epoch` (the step the workflow runs, flips and background term included; the first epoch
starts the workers and is not timed) over the loader, and prints samples/s of both and their ratio (loader /
model-only; near 1 means data loading keeps up). With frozen vision stages it then writes trunk.h5 (timed: its
rows/s and size per row give the break-even) and times epochs from it, alternating with epochs from the frames
(`--repeats` of each, medians). Last line: `cached_trunk_speedup: <cached ÷ uncached samples/s>`, or, with
nothing frozen, `train_loader_efficiency: <ratio>`.

    .venv/bin/python bench/train_throughput.py --backbone mobilenet_v2 --rows 64 --threads 2
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

import torch

from msl_core.device import resolve_device
from msl_core.models import ModelConfig, build_model
from msl_core.models.losses import stage_losses
from msl_core.training.data import TrainingFiles, make_loader, open_training_data
from msl_core.training.loop import RunOptions, TrainConfig, make_optimizer, train_one_epoch
from msl_core.training.synthetic import write_synthetic_inputs
from msl_core.training.trunk_cache import write_trunk_features


def model_step_rate(model, optimizer, batch, cfg: TrainConfig, device, steps: int) -> float:
    frames = batch["frames"].to(device)
    logmel, ya, yv = batch["logmel"].to(device), batch["audio"].to(device), batch["visual"].to(device)
    model.train()

    def step():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            out = model(model.prepare_frames(frames), logmel, stage=cfg.stage, positions=cfg.background_weight > 0)
        loss = stage_losses(out, ya, yv, cfg.stage, **cfg.loss_options)["loss"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss.item()

    step()  # warm-up
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * frames.shape[0] / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None, help="results/<ds> with the contract files (default: random)")
    ap.add_argument("--backbone", default="mobilenet_v2", choices=["resnet18", "mobilenet_v2"])
    ap.add_argument("--audio-backbone", default="resnet18", choices=["resnet18", "efficientat_mn04"])
    ap.add_argument("--freeze", type=int, default=None, help="frozen vision stages (default: config's)")
    ap.add_argument("--stage", type=int, default=2, choices=[1, 2])
    ap.add_argument("--rows", type=int, default=48)
    ap.add_argument("--window-frames", type=int, default=51, help="log-mel steps T of random data (1 s = 51)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--repeats", type=int, default=3, help="timed epochs from the frames and from the cache, each")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        if args.data is None:
            pretrained_audio = args.audio_backbone != "resnet18"  # its own front end: 128 bands, 100 steps a second
            files = write_synthetic_inputs(tmp, n=args.rows, num_classes=10, size=256, splits=("train",),
                                           n_frames=100 if pretrained_audio else args.window_frames,
                                           n_mels=128 if pretrained_audio else 64)
        else:
            d = args.data
            files = TrainingFiles(d / "frames.h5", d / "logmel.h5", d / "labels.h5", d / "index.csv")
        data = open_training_data(files)
        freeze = args.freeze if args.freeze is not None else {"resnet18": 0, "mobilenet_v2": 14}[args.backbone]
        torch.manual_seed(0)
        model = build_model(ModelConfig(num_classes=data.num_classes, vision_backbone=args.backbone,
                                        audio_backbone=args.audio_backbone, freeze_vision_stages=freeze),
                            None, warn_random=False).to(device)
        if device.type == "cuda":
            model = model.to(memory_format=torch.channels_last)
        cfg = TrainConfig(stage=args.stage, epochs=1, lr=1e-4, batch_size=args.batch_size)
        optimizer = make_optimizer(model, cfg)
        loader = make_loader(data, cfg.batch_size, cfg.seed, args.workers, pin_memory=device.type == "cuda")
        batch = next(iter(loader))
        alone = model_step_rate(model, optimizer, batch, cfg, device, args.steps)
        opts = RunOptions(device, args.workers, progress=False)

        def epoch_rate(epoch_loader, epoch: int) -> float:
            return train_one_epoch(model, epoch_loader, optimizer, cfg, epoch, opts)["samples_per_s"]

        epoch_rate(loader, 0)  # starts the persistent workers
        full_rate = epoch_rate(loader, 1)
        cached = None
        if freeze:
            trunk = Path(tmp) / "trunk.h5"
            start = time.perf_counter()
            write_trunk_features(files.frames, trunk, model, flipped=True, device=device, progress=False)
            trunk_rate = data.n_rows / (time.perf_counter() - start)
            cached_data = dataclasses.replace(data, files=dataclasses.replace(files, trunk=trunk))
            cached_loader = make_loader(cached_data, cfg.batch_size, cfg.seed, args.workers,
                                        pin_memory=device.type == "cuda")
            epoch_rate(cached_loader, 0)
            frames_rates, cached_rates = [], []
            for r in range(args.repeats):  # alternating, so a busy machine slows both alike
                frames_rates.append(epoch_rate(loader, 2 + r))
                cached_rates.append(epoch_rate(cached_loader, 2 + r))
            cached = (statistics.median(frames_rates), statistics.median(cached_rates), trunk_rate,
                      trunk.stat().st_size / data.n_rows)
    print(f"device: {device}, backbone: {args.backbone} (frozen {freeze}), audio {args.audio_backbone}, "
          f"stage {args.stage}, "
          f"rows {len(data.rows)}, batch {args.batch_size}, T {data.n_frames}, threads {args.threads}, "
          f"workers {args.workers}")
    print(f"model_step_samples_per_s: {alone:.2f}")
    print(f"full_loop_samples_per_s: {full_rate:.2f}")
    print(f"train_loader_efficiency: {full_rate / alone:.3f}")
    if cached:
        frames_rate, cached_rate, trunk_rate, row_bytes = cached
        # trunk.h5 costs about one frames-epoch per (rows/s of training ÷ rows/s of trunk_features) epochs
        print(f"trunk_features_rows_per_s: {trunk_rate:.2f} (both views; {row_bytes / 1e3:.1f} kB per row)")
        print(f"uncached_loop_samples_per_s: {frames_rate:.2f} (median of {args.repeats})")
        print(f"cached_loop_samples_per_s: {cached_rate:.2f} (median of {args.repeats})")
        print(f"cached_trunk_speedup: {cached_rate / frames_rate:.3f}")


if __name__ == "__main__":
    main()
