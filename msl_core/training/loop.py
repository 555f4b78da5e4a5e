"""The training loop shared by both stages (rules `train_stage1`, `train_stage2`).

SGD with the reference hyper-parameters (docs/method.md §4); stage 2 starts from the stage-1 weights with fresh
projectors. Every epoch ends with a resumable checkpoint; the final model, a per-epoch metrics CSV and a
loss-curve PNG are the rule's outputs. On CUDA: bf16 autocast and channels-last; everywhere: seeded.
"""

from __future__ import annotations

import csv
import logging
import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from tqdm import tqdm

from msl_core.config import default
from msl_core.errors import BadInput, ConfigError, MslError
from msl_core.models.coarse_to_fine import CoarseToFine, ModelConfig, build_model
from msl_core.models.losses import PAIRS, stage_losses
from msl_core.training.checkpoint import (
    atomic_save,
    config_hash,
    file_fingerprint,
    load_resumable,
    save_checkpoint,
    set_rng_state,
)
from msl_core.training.curves import plot_losses
from msl_core.training.data import TrainingData, epoch_generator, make_loader
from msl_core.training.distributed import Ranks
from msl_core.training.model_file import inference_spec, read_model_file, save_model, write_model_card
from msl_core.training.on_screen import on_screen_threshold
from msl_core.training.trunk_cache import check_trunk, step_inputs
from msl_core.training.validation import ValSplit, validate

log = logging.getLogger(__name__)

SELECT = ("last", "best_val", "best_val_success")
# A selection rule → (the metrics.csv column it reads, +1: keep its highest epoch, −1: its lowest); later on a tie.
SELECTION = {"best_val": ("val_loss", -1), "best_val_success": ("val_success", 1)}


class TrainingDiverged(MslError):
    """A non-finite loss: names the epoch and batch."""


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters that change the result (all from config.yaml `train:`)."""

    stage: int
    epochs: int
    lr: float
    momentum: float = default("train.stage1.momentum")
    weight_decay: float = default("train.stage1.weight_decay")
    batch_size: int = default("train.batch_size")
    margin: float = default("train.stage2.margin")
    prob_filter: float = default("train.stage2.prob_filter")
    background_weight: float = default("train.stage2.background_weight")  # 0: the reference loss
    pairs: str = default("train.stage2.pairs")  # negatives: every other pair (reference) or other categories
    flip_prob: float = default("train.flip_prob")
    seed: int = default("seed")
    # Which epoch becomes model.pt: `last` (the reference keeps every epoch and uses the last), `best_val`, the
    # epoch with the lowest val loss (the same loss, on rows never trained on; validation.py), or `best_val_success`,
    # the one with the highest val success rate (val frames with boxes).
    select: str = default("train.select")

    def __post_init__(self) -> None:
        if self.stage not in (1, 2):
            raise ConfigError("train.stage", f"must be 1 or 2, got {self.stage}")
        if self.epochs < 1:
            raise ConfigError(f"train.stage{self.stage}.epochs", f"must be ≥ 1, got {self.epochs}")
        if self.batch_size < 2:
            raise ConfigError("train.batch_size", "must be ≥ 2 (the correspondence loss needs negative pairs)")
        if self.select not in SELECT:
            raise ConfigError("train.select", f"'{self.select}' is not one of {', '.join(SELECT)}")
        if self.pairs not in PAIRS:
            raise ConfigError("train.stage2.pairs", f"'{self.pairs}' is not one of {', '.join(PAIRS)}")

    @property
    def loss_options(self) -> dict:
        return {"margin": self.margin, "prob_filter": self.prob_filter, "background_weight": self.background_weight,
                "pairs": self.pairs}


@dataclass(frozen=True)
class RunOptions:
    """Throughput settings: they never change the result, so they are not part of the config hash."""

    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    workers: int = 0
    progress: bool = True
    ranks: Ranks = field(default_factory=Ranks)  # `train.gpus` processes (distributed.py); rank 0 writes


@dataclass(frozen=True)
class StageOutputs:
    model: Path
    metrics: Path
    curve: Path
    checkpoint: Path
    card: Path  # model_card.md

    @classmethod
    def in_dir(cls, folder: str | Path) -> StageOutputs:
        folder = Path(folder)
        return cls(folder / "model.pt", folder / "metrics.csv", folder / "loss.png", folder / "checkpoint.pt",
                   folder / "model_card.md")


BatchHook = Callable[[int, int], None]


def init_model(model_cfg: ModelConfig, train_cfg: TrainConfig, vision_weights: str | None,
               stage1_model: str | Path | None, audio_weights: str | None = None) -> CoarseToFine:
    """Seeded model: stage 1 from the pretrained backbones, stage 2 from the stage-1 file (projectors fresh)."""
    torch.manual_seed(train_cfg.seed)
    if train_cfg.stage == 1:
        return build_model(model_cfg, vision_weights, audio_weights=audio_weights)
    if stage1_model is None:
        raise ConfigError("train.stage2", "stage 2 needs the stage-1 model file")
    state = read_model_file(stage1_model)
    trained = ModelConfig.from_dict(state["model_config"])
    shape = (trained.num_classes, trained.vision_backbone, trained.audio_backbone)
    if shape != (model_cfg.num_classes, model_cfg.vision_backbone, model_cfg.audio_backbone):
        raise BadInput(stage1_model, f"was trained with {shape[0]} classes, {shape[1]} and {shape[2]}; stage 2 asks "
                                     f"for {model_cfg.num_classes}, {model_cfg.vision_backbone} and "
                                     f"{model_cfg.audio_backbone}")
    model = build_model(model_cfg, None, warn_random=False)
    # The reference loads stage 1 non-strictly so the projectors start fresh.
    weights = {k: v for k, v in state["state_dict"].items() if not k.startswith(("audio_proj.", "visual_proj."))}
    missing, unexpected = model.load_state_dict(weights, strict=False)
    if unexpected or any(not k.startswith(("audio_proj.", "visual_proj.")) for k in missing):
        raise BadInput(stage1_model, f"weights do not fit the model (missing {missing[:3]}, unexpected {unexpected[:3]})")
    return model


def make_optimizer(model: CoarseToFine, cfg: TrainConfig) -> torch.optim.SGD:
    return torch.optim.SGD(model.parameter_groups(cfg.stage, cfg.lr), lr=cfg.lr, momentum=cfg.momentum,
                           weight_decay=cfg.weight_decay)


def train_one_epoch(model: CoarseToFine, loader, optimizer: torch.optim.Optimizer, cfg: TrainConfig, epoch: int,
                    opts: RunOptions, on_batch: BatchHook | None = None, net: torch.nn.Module | None = None
                    ) -> dict[str, float]:
    """One pass over the loader; returns the mean of every loss term and the throughput.

    `net` runs the steps (`Ranks.wrap`: DDP over `model` with several ranks); each rank holds a slice of every
    batch, and the losses are those of the whole batch (distributed.py).
    """
    net = model if net is None else net
    net.train()
    loader.sampler.set_epoch(epoch)
    flip_gen = epoch_generator(cfg.seed, epoch, stream=1)
    device, cuda = opts.device, opts.device.type == "cuda"
    sums: dict[str, float] = {}
    samples, start = 0, time.perf_counter()
    bar = tqdm(loader, desc=f"stage {cfg.stage} epoch {epoch + 1}/{cfg.epochs}", file=sys.stderr,
               disable=not opts.progress or not opts.ranks.main, mininterval=2.0, dynamic_ncols=False, ncols=120)
    for b, batch in enumerate(bar):
        if on_batch is not None:
            on_batch(epoch, b)
        shard = opts.ranks.shard(batch["logmel"].shape[0])
        n = shard.total
        flips = shard.local(torch.rand(n, generator=flip_gen) < cfg.flip_prob)
        visual, from_trunk = step_inputs(model, batch, flips, device)  # frames, or the cached trunk's features
        logmel = batch["logmel"].to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda), shard.pairs_across_ranks(model):
            out = shard.gather_outputs(net(visual, logmel, stage=cfg.stage, positions=cfg.background_weight > 0,
                                           from_trunk=from_trunk))
        labels = (shard.gather(batch[k].to(device)) for k in ("audio", "visual"))
        terms = stage_losses(out, *labels, cfg.stage, **cfg.loss_options)
        values = {k: v.item() for k, v in terms.items()}
        if not all(map(_finite, values.values())):
            raise TrainingDiverged(f"stage {cfg.stage}, epoch {epoch + 1}, batch {b + 1}: non-finite loss {values}; "
                                   "stopped without saving (the last good checkpoint is kept)")
        optimizer.zero_grad(set_to_none=True)
        terms["loss"].backward()
        optimizer.step()
        for k, v in values.items():
            sums[k] = sums.get(k, 0.0) + v * n
        samples += n
        bar.set_postfix({k: f"{v / samples:.3f}" for k, v in sums.items()}, refresh=False)
    if samples == 0:
        raise MslError(f"stage {cfg.stage}, epoch {epoch + 1}: no training batch (fewer than 2 training rows?)")
    means = {k: v / samples for k, v in sums.items()}
    means["samples_per_s"] = samples / (time.perf_counter() - start)
    return means


def save_weights(path: Path, model: CoarseToFine, epoch: int) -> None:
    """The selected epoch's weights (tensors only), kept beside the checkpoint until the stage ends."""
    atomic_save({"state_dict": model.state_dict(), "epoch": epoch}, path)


def _finite(x: float) -> bool:
    return math.isfinite(x)


def write_metrics(path: Path, history: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = list(dict.fromkeys(k for row in history for k in row))  # a resumed run may add val columns
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(history)


def run_hash(model_cfg: ModelConfig, cfg: TrainConfig, data: TrainingData, vision_weights: str | None,
             stage1_model: str | Path | None, audio_weights: str | None = None) -> str:
    inputs = [file_fingerprint(p) for p in (data.files.frames, data.files.logmel, data.files.labels, data.files.index)]
    init = file_fingerprint(stage1_model) if stage1_model else (str(vision_weights) if vision_weights else None)
    if audio_weights and not stage1_model:
        init = [init, str(audio_weights)]
    return config_hash(model_cfg.to_dict(), asdict(cfg), inputs, init)


def train_stage(data: TrainingData, model_cfg: ModelConfig, cfg: TrainConfig, outputs: StageOutputs,
                opts: RunOptions = RunOptions(), *, vision_weights: str | None = None,
                stage1_model: str | Path | None = None, on_batch: BatchHook | None = None,
                audio_weights: str | None = None, val: ValSplit | None = None,
                dataset: str | None = None) -> list[dict]:
    """Train one stage to `outputs`, resuming from `outputs.checkpoint` when it matches this run.

    With `val` (the val split, `validation.open_val_split`), every epoch is also scored on it (`val_loss`, and
    `val_success` where it has boxes); with `select: best_val` the epoch with the lowest val loss becomes the model,
    with `best_val_success` the one with the highest val success.
    `dataset` names the training data in the model file (default: the folder of frames.h5, results/<dataset>/).
    Returns the per-epoch history (the rows of metrics.csv).
    """
    if cfg.select in SELECTION and val is None:
        raise ConfigError("train.select", f"{cfg.select} needs val rows; {data.files.index} has none")
    if model_cfg.num_classes != data.num_classes:
        raise BadInput(data.files.labels, f"has {data.num_classes} categories, the model {model_cfg.num_classes}")
    chash = run_hash(model_cfg, cfg, data, vision_weights, stage1_model, audio_weights)
    model = init_model(model_cfg, cfg, vision_weights, stage1_model, audio_weights).to(opts.device)
    if data.files.trunk is not None:
        check_trunk(data.files.trunk, model, data.n_rows, cfg.flip_prob)
        log.info("stage %d: the frozen vision stages' features come from %s", cfg.stage, data.files.trunk)
    if opts.device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, cfg)
    history: list[dict] = []
    start = 0
    resumed = load_resumable(outputs.checkpoint, chash)
    if resumed is not None:
        model.load_state_dict(resumed["model"])
        optimizer.load_state_dict(resumed["optimizer"])
        set_rng_state(resumed["rng"])
        start, history = resumed["epoch"], resumed["history"]
        log.info("resuming stage %d from %s after epoch %d", cfg.stage, outputs.checkpoint, start)
    ranks = opts.ranks
    net = ranks.wrap(model, optimizer)
    loader = make_loader(data, cfg.batch_size, cfg.seed, opts.workers, pin_memory=opts.device.type == "cuda",
                         rank=ranks.rank, world=ranks.world)
    log.info("stage %d: %d training rows, %d batches/epoch, device %s, %d process(es), epochs %d..%d",
             cfg.stage, len(data.rows), len(loader), opts.device, ranks.world, start + 1, cfg.epochs)
    best = outputs.checkpoint.with_name("best.pt")  # the selected epoch's model, kept across a resume
    for epoch in range(start, cfg.epochs):
        means = train_one_epoch(model, loader, optimizer, cfg, epoch, opts, on_batch, net)
        if val is not None:
            means |= validate(model, val, cfg.stage, cfg.batch_size, cfg.seed, cfg.loss_options, opts.device)
        if cfg.select in SELECTION:
            check_selectable(cfg.select, means, data.files.index, val)
            if selection_score(cfg.select, means) >= max(selection_score(cfg.select, h) for h in history + [means]) \
                    and ranks.main:
                save_weights(best, model, epoch + 1)
        history.append({"epoch": epoch + 1, **means})
        if ranks.main:  # every rank holds the same weights and optimiser state: one writes them
            save_checkpoint(outputs.checkpoint, model, optimizer, epoch + 1, history, chash)
            log.info("epoch %d: %s", epoch + 1, ", ".join(f"{k} {v:.4f}" for k, v in means.items()))
        ranks.barrier()
    if not ranks.main:
        return history
    if cfg.select in SELECTION:
        chosen = max(history, key=lambda h: (selection_score(cfg.select, h), h["epoch"]))["epoch"]
        log.info("stage %d: epoch %d has the best %s; it becomes %s", cfg.stage, chosen, SELECTION[cfg.select][0],
                 outputs.model)
        model.load_state_dict(torch.load(best, map_location=opts.device, weights_only=True)["state_dict"])
        best.unlink()
        cfg = replace(cfg, epochs=chosen)
    save_final_model(outputs, model, cfg, chash, data, history, opts.device, dataset)
    write_metrics(outputs.metrics, history)
    plot_losses(history, outputs.curve, title=f"stage {cfg.stage}", chosen=cfg.epochs)
    return history


def selection_score(select: str, row: dict) -> float:
    """An epoch's score under a selection rule: higher is better."""
    column, sign = SELECTION[select]
    return sign * row[column]


def check_selectable(select: str, means: dict, index: Path, val) -> None:
    """The epoch's val numbers hold what `select` reads, else a clear error naming the val split's problem."""
    column = SELECTION[select][0]
    if column == "val_loss" and column not in means:
        raise ConfigError("train.select", f"{select} needs a val batch (rows of two clips); "
                                          f"{index} has {len(set(val.data.clips))} val clip(s)")
    if column not in means:
        raise ConfigError("train.select", f"{select} needs val frames with sounding boxes; the val split of {index} "
                                          "has none (use best_val)")


def save_final_model(outputs: StageOutputs, model: CoarseToFine, cfg: TrainConfig, chash: str, data: TrainingData,
                     history: list[dict], device: torch.device, dataset: str | None) -> None:
    """model.pt with everything inference needs (stage 2: the on-screen threshold too), then its model card."""
    files = data.files
    on_screen = on_screen_threshold(model, files, data.n_rows, device, cfg.batch_size) if cfg.stage == 2 else None
    losses = {k: v for k, v in history[cfg.epochs - 1].items() if k not in ("epoch", "samples_per_s")}
    save_model(outputs.model, model, cfg.stage, chash, cfg.epochs, inference_spec(files.frames, files.logmel, model.cfg),
               dataset or files.frames.parent.name, losses, on_screen)
    write_model_card(outputs.model, outputs.card)
