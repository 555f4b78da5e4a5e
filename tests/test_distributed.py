"""Training in `train.gpus` processes (training/distributed.py, training/launch.py): on CPU, two gloo processes
started by the launcher the rules use train as one process does with the same global batch.

The arithmetic is exact: in float64 three ranks give one process's weights to 2.2e-16 (the first test below).
The real runs differ by float summation order (convolutions over half the batch, gathered sums), which training
amplifies: measured on this synthetic set (CPU, N = 2 against N = 1; per-epoch losses, every tensor of model.pt):
- stage 1 (random-initialised ResNet-18s, lr 1e-2, 2 epochs of 2 steps): losses 9.1e-5, weights 3.0e-3 (the audio
  ResNet's batch-norm running variances). One process alone moves by 1.8e-5 and 2.7e-4 between 1 and 2 threads.
- stage 2 (1 epoch from the same stage-1 model): losses 3.6e-7, weights 8.3e-7.
- stage 1 preempted after epoch 1 with N = 2 and finished with N = 1: losses 8.3e-5.
The tolerances leave a margin of about five over these.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from msl_core.config import load_config, settings
from msl_core.errors import ConfigError, MslError
from msl_core.training.data import EpochBatchSampler
from msl_core.training.distributed import Ranks, RankSlices, check_gpus
from msl_core.training.launch import TrainJob, torchrun_command, train, write_job
from msl_core.training.loop import StageOutputs
from msl_core.training.synthetic import write_synthetic_inputs
from support import ddp_steps
from support.workspace import REPO, run_snakemake

# (per-epoch mean loss terms, every tensor of model.pt), N = 2 against N = 1
TOLERANCE = {"stage1": (5e-4, 1.5e-2), "stage2": (1e-5, 1e-5)}


def test_each_rank_reads_its_slice_of_the_same_global_batches():
    rows = np.arange(100, 123)
    clips = np.arange(23) // 2  # two rows per clip: a batch never takes both
    whole = EpochBatchSampler(rows, 6, seed=5, clips=clips)
    for epoch in (0, 3):
        whole.set_epoch(epoch)
        parts = [RankSlices(EpochBatchSampler(rows, 6, seed=5, clips=clips), r, 3) for r in range(3)]
        for part in parts:
            part.set_epoch(epoch)
        for batch, *slices in zip(whole, *parts, strict=True):
            assert [row for part in slices for row in part] == batch and max(map(len, slices)) - min(map(len, slices)) <= 1


def test_a_batch_that_does_not_split_over_the_gpus_is_refused_naming_the_key():
    check_gpus(4, 16)
    with pytest.raises(ConfigError, match="train.batch_size"):
        check_gpus(3, 16)
    config = load_config(REPO / "config.yaml", {"train": {"gpus": 3}})  # every batch size in it is even
    with pytest.raises(ConfigError, match="train.batch_size"):
        settings.train_gpus(config, "scenes")
    assert settings.train_gpus(load_config(REPO / "config.yaml", {"train": {"gpus": 2}}), "scenes") == 2


def test_the_training_rules_ask_for_train_gpus_gpus(workspace):
    """The rules' gpu resource, which the Slurm plugin turns into --gpus (a global limit below it caps it, as
    profiles/default's gpu: 1 does on one machine)."""
    proc = run_snakemake(workspace, "-n", "--config", "preset=tiny", "train={gpus: 2}", "--resources", "gpu=4", "--",
                         "results/scenes/stage2/model.pt")
    jobs = dict(re.findall(r"^rule (\w+):\n(?:    .*\n)*?    resources: (.*)$", proc.stdout + proc.stderr, re.MULTILINE))
    assert {rule: re.search(r"gpu=(\d+)", jobs[rule]).group(1) for rule in ("train_stage1", "train_stage2")} == \
        {"train_stage1": "2", "train_stage2": "2"}, jobs


def test_the_arithmetic_of_two_ranks_is_that_of_one_process(tmp_path):
    """float64 network with msl's losses: a trainable batch norm, the pairwise correspondence loss, SGD with
    momentum, an unused layer; three steps in three gloo processes (uneven slices, one empty) against one process.
    Measured: equal to 2.2e-16."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    torch.multiprocessing.spawn(ddp_steps.rank_main, args=(3, str(tmp_path), port), nprocs=3)
    two = torch.load(tmp_path / "weights.pt", weights_only=True)
    one = ddp_steps.train_steps(Ranks())
    start = ddp_steps.Small().double().state_dict()
    floats = [k for k in one if one[k].is_floating_point()]
    moved = max((one[k] - start[k]).abs().max().item() for k in floats)
    worst = max((one[k] - two[k]).abs().max().item() for k in floats)
    assert moved > 0.05 and worst < 1e-12, (moved, worst)
    assert one["bn.num_batches_tracked"] == two["bn.num_batches_tracked"] == len(ddp_steps.BATCHES)


# ---- real runs: two gloo processes through the launcher (slow on shared CPUs: minutes) ----

def _job(files, stage: int, out: Path, epochs: int, **options) -> TrainJob:
    train_cfg = {"stage": stage, "epochs": epochs, "lr": 1e-2 if stage == 1 else 1e-3, "batch_size": 4, "seed": 3}
    return TrainJob.of(files, {"embed_dim": 8, "hidden_dim": 16}, train_cfg, StageOutputs.in_dir(out),
                       device="cpu", threads=2, progress=False, **options)


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


def _max_weight_difference(a: Path, b: Path) -> float:
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    return max((wa[k].double() - wb[k].double()).abs().max().item() for k in wa if wa[k].numel())


def _max_loss_difference(a: Path, b: Path) -> float:
    ma, mb = pd.read_csv(a), pd.read_csv(b)
    cols = [c for c in ma if c not in ("epoch", "samples_per_s")]
    assert list(ma["epoch"]) == list(mb["epoch"]) and cols == [c for c in mb if c not in ("epoch", "samples_per_s")]
    return float((ma[cols] - mb[cols]).abs().to_numpy().max())


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    """The reference: stage 1 (2 epochs) and stage 2 (1 epoch, background term on) in this process."""
    root = tmp_path_factory.mktemp("ddp")
    files = write_synthetic_inputs(root / "data", n=12, size=32, num_classes=3)
    torch.set_num_threads(2)
    train(_job(files, 1, root / "n1" / "stage1", 2))
    train(_job(files, 2, root / "n1" / "stage2", 1, stage1_model=root / "n1" / "stage1" / "model.pt"))
    return root, files


@pytest.mark.slow
def test_two_processes_train_both_stages_as_one(one_process):
    root, files = one_process
    s1, s2 = root / "n2" / "stage1", root / "n2" / "stage2"
    train(_job(files, 1, s1, 2), gpus=2)
    # stage 2 from the same stage-1 model as the reference: its probability filters are thresholds, where a
    # start 1e-4 away may flip a pair in or out (1e-3 in the losses) and no longer measure stage 2 itself
    train(_job(files, 2, s2, 1, stage1_model=root / "n1" / "stage1" / "model.pt"), gpus=2)
    for stage in ("stage1", "stage2"):
        one, two = StageOutputs.in_dir(root / "n1" / stage), StageOutputs.in_dir(root / "n2" / stage)
        losses, weights = _max_loss_difference(one.metrics, two.metrics), _max_weight_difference(one.model, two.model)
        print(f"{stage}: N=2 against N=1, max |loss difference| {losses:.2e}, max |weight difference| {weights:.2e}")
        assert losses < TOLERANCE[stage][0] and weights < TOLERANCE[stage][1], stage
        # rank 0 alone wrote: the same files as one process, and nothing half-written or locked left behind
        assert sorted(p.name for p in two.model.parent.iterdir()) == sorted(p.name for p in one.model.parent.iterdir())


@pytest.mark.slow
def test_a_preempted_two_process_run_resumes_in_one(one_process, tmp_path):
    root, files = one_process
    out = tmp_path / "stage1"
    job = _job(files, 1, out, 2)
    spec = write_job(job, tmp_path)
    proc = subprocess.Popen(torchrun_command(spec, 2), start_new_session=True, env=os.environ | {"OMP_NUM_THREADS": "1"})
    checkpoint = out / "checkpoint.pt"
    try:
        while not checkpoint.exists() and proc.poll() is None:
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGTERM)  # as Slurm does to a preempted job
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    state = torch.load(checkpoint, weights_only=True)
    assert state["epoch"] == 1 and not (out / "model.pt").exists()
    train(job)  # one process takes over after epoch 1
    reference = StageOutputs.in_dir(root / "n1" / "stage1")
    losses = _max_loss_difference(reference.metrics, out / "metrics.csv")
    weights = _max_weight_difference(reference.model, out / "model.pt")
    print(f"stage1, N=2 preempted after epoch 1, N=1 after: max |loss difference| {losses:.2e}, "
          f"max |weight difference| {weights:.2e}")
    assert losses < TOLERANCE["stage1"][0] and weights < TOLERANCE["stage1"][1]


@pytest.mark.slow
def test_a_failing_process_ends_the_job_with_its_message(one_process, tmp_path):
    files = one_process[1]
    out = tmp_path / "stage1"
    out.mkdir()
    # another live writer holds the checkpoint: rank 0 fails saving it while rank 1 waits at the barrier
    (out / "checkpoint.pt.partial.lock").write_text(f"{os.getpid()}@{socket.gethostname()}")
    start = time.monotonic()
    with pytest.raises(MslError, match=r"training process 0 of 2: .*checkpoint.pt.partial.*being written"):
        train(_job(files, 1, out, 1), gpus=2)
    assert time.monotonic() - start < 600
