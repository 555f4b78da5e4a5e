"""One training stage in `train.gpus` processes: this process alone, or N processes under torchrun (one per GPU).

The rules train_stage1/2 and `msl train` describe the stage as a `TrainJob` (plain values). With one process it runs
here; with N, `python -m torch.distributed.run --standalone --nproc_per_node N -m msl_core.training.launch job.json`
starts N copies of `main` on this node, which join one process group (distributed.py) and train together; rank 0
writes every output. When a process fails, torchrun stops the others, and the failure is raised here with the
message of the process that failed first (each writes its error beside the job file).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from msl_core.device import resolve_device
from msl_core.errors import MslError
from msl_core.models import ModelConfig
from msl_core.runlog import setup_logging
from msl_core.training.data import TrainingFiles, check_front_end, open_training_data
from msl_core.training.distributed import Ranks, check_gpus
from msl_core.training.loop import RunOptions, StageOutputs, TrainConfig, train_stage
from msl_core.training.validation import open_val_split

ERROR = "rank{}.error"


@dataclass(frozen=True)
class TrainJob:
    """One stage's training, as a rule hands it over: files, settings (`ModelConfig` without the categories,
    `TrainConfig`), outputs and the throughput options."""

    files: dict[str, str]  # TrainingFiles fields
    model: dict
    train: dict
    outputs: dict[str, str]  # StageOutputs fields
    device: str = "auto"
    workers: int = 0
    threads: int = 1  # CPU threads of the whole job, shared by its processes
    progress: bool = True
    vision_weights: str | None = None
    audio_weights: str | None = None
    stage1_model: str | None = None
    val_boxes: str | None = None  # the val split's COCO boxes (val success rate)
    dataset: str | None = None

    @classmethod
    def of(cls, files: TrainingFiles, model: dict, train: dict, outputs: StageOutputs, **options) -> TrainJob:
        strings = {k: str(v) if isinstance(v, Path) else v for k, v in options.items()}
        return cls({k: str(v) for k, v in asdict(files).items() if v is not None}, model, train,
                   {k: str(v) for k, v in asdict(outputs).items()}, **strings)


def run(job: TrainJob, ranks: Ranks) -> list[dict]:
    """Train the job's stage as this process (`ranks`: its place among the job's processes)."""
    files = TrainingFiles(**{k: Path(v) for k, v in job.files.items()})
    data = open_training_data(files, split="train")
    model_cfg = ModelConfig(num_classes=data.num_classes, categories=data.categories, **job.model)
    check_front_end(files.logmel, model_cfg.audio_backbone)
    opts = RunOptions(device=ranks.device, workers=job.workers, progress=job.progress, ranks=ranks)
    return train_stage(data, model_cfg, TrainConfig(**job.train),
                       StageOutputs(**{k: Path(v) for k, v in job.outputs.items()}), opts,
                       vision_weights=job.vision_weights, stage1_model=job.stage1_model,
                       audio_weights=job.audio_weights, val=open_val_split(files, job.val_boxes),
                       dataset=job.dataset)


def train(job: TrainJob, gpus: int = 1) -> None:
    """Run `job` in `gpus` processes (1: this one)."""
    check_gpus(gpus, job.train["batch_size"])
    if gpus == 1:
        torch.set_num_threads(job.threads)
        run(job, Ranks(device=resolve_device(job.device)))
        return
    with tempfile.TemporaryDirectory(prefix="msl-train-") as folder:
        spec = write_job(job, Path(folder))
        out = _stream()
        proc = subprocess.run(torchrun_command(spec, gpus), stdout=out, stderr=out, env=_env(job, gpus), check=False)
        if proc.returncode:
            raise MslError(first_error(Path(folder)) or f"training in {gpus} processes failed (torchrun exit "
                                                        f"{proc.returncode}): see the log above")


def write_job(job: TrainJob, folder: Path) -> Path:
    spec = folder / "job.json"
    spec.write_text(json.dumps(asdict(job)))
    return spec


def torchrun_command(spec: Path, gpus: int) -> list[str]:
    """N processes on this node (a free rendezvous port each time), each running `main(spec)`."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={gpus}",
            "-m", "msl_core.training.launch", str(spec)]


def _env(job: TrainJob, gpus: int) -> dict[str, str]:
    return os.environ | {"OMP_NUM_THREADS": str(max(1, job.threads // gpus))}


def _stream():
    """The caller's stderr (a rule's log file) for torchrun and its processes, where it is a real file."""
    try:
        sys.stderr.fileno()
        return sys.stderr
    except (AttributeError, OSError, ValueError):
        return None


def first_error(folder: Path) -> str | None:
    """The message of the process that failed first (the others often fail only because it left)."""
    errors = sorted(folder.glob(ERROR.format("*")), key=lambda p: p.stat().st_mtime_ns)
    return errors[0].read_text() if errors else None


def main(spec: str) -> None:
    """One of torchrun's processes: join the group, train, and leave the error where the launcher finds it."""
    job = TrainJob(**json.loads(Path(spec).read_text()))
    ranks = Ranks.from_env(resolve_device(job.device))
    setup_logging(level=logging.INFO if ranks.main else logging.WARNING)
    torch.set_num_threads(max(1, job.threads // ranks.world))
    try:
        run(job, ranks)
    except Exception as exc:
        message = str(exc) if isinstance(exc, MslError) else f"{type(exc).__name__}: {exc}"
        (Path(spec).parent / ERROR.format(ranks.rank)).write_text(f"training process {ranks.rank} of "
                                                                  f"{ranks.world}: {message}")
        raise
    finally:
        ranks.close()


if __name__ == "__main__":
    main(sys.argv[1])
