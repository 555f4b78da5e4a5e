"""train_stage1 → train_stage2 → localize through Snakemake on CPU (tiny preset, pre-written contract files)."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest

from msl_core.stores.proposals import write_proposals
from msl_core.training.synthetic import write_synthetic_inputs
from support.coco import split_boxes
from support.workspace import run_snakemake


def test_tiny_preset_trains_both_stages_and_localizes(workspace):
    # Upstream rules (ingest, pseudo labels) are not allowed to run: their outputs are written here.
    res = workspace / "results" / "scenes"
    files = write_synthetic_inputs(res, n=12, size=64, num_classes=3, splits=("train", "val", "test"))
    split_boxes(files.index, "val", res / "annotations" / "val.json", size=64)  # the scenes' val boxes
    boxes = np.tile(np.array([[0.1, 0.1, 0.6, 0.5], [0.5, 0.4, 0.9, 0.9]], np.float32), (12, 1, 1))
    write_proposals(res / "proposals.h5", boxes, np.full((12, 2), 0.5, np.float32))  # evaluate.snap: proposals
    rules = ["train_stage1", "train_stage2", "convert_mobilenet", "localize"]
    run_snakemake(workspace, "--config", "preset=tiny", "--allowed-rules", *rules, "--",
                  "results/scenes/maps.h5")
    for stage in ("stage1", "stage2"):
        assert (res / stage / "model.pt").is_file() and (res / stage / "checkpoint.pt").is_file()
        metrics = pd.read_csv(res / stage / "metrics.csv")
        assert len(metrics) == 1  # tiny preset: one epoch per stage
        assert {"val_loss", "val_success"} <= set(metrics)  # the val split, scored every epoch
    assert "align" in pd.read_csv(res / "stage2" / "metrics.csv")
    assert "stage 2 epoch 1/1" in (res / "logs" / "train_stage2.log").read_text()
    with h5py.File(res / "maps.h5") as f:
        assert f["stage2"].shape == (4, 64, 64)  # snapped to the proposals on the 64-cell grid
        inside = np.zeros((64, 64), bool)
        inside[6:32, 6:38] = inside[26:58, 32:58] = True  # cells whose centres lie in either box
        assert (f["stage2_class"][:][..., ~inside] == 0).all()
    # Nothing to do on a second run.
    proc = run_snakemake(workspace, "--config", "preset=tiny", "--allowed-rules", *rules, "-n", "--",
                         "results/scenes/maps.h5")
    assert "Nothing to be done" in proc.stdout + proc.stderr
    # The cached frozen trunk (off under tiny's auto: 1 + 1 epochs): switched on, rule trunk_features writes trunk.h5
    # and stage 1 trains again from it (its inputs changed; no checkpoint to resume) to the very same losses.
    before = pd.read_csv(res / "stage1" / "metrics.csv")
    (res / "stage1" / "checkpoint.pt").unlink()
    run_snakemake(workspace, "--config", "preset=tiny", 'train={"cache_trunk": true}', "--allowed-rules",
                  "trunk_features", "train_stage1", "--", "results/scenes/stage1/model.pt")
    assert "trunk.h5" in (res / "logs" / "train_stage1.log").read_text()
    with h5py.File(res / "trunk.h5") as f:
        assert f["trunk"].shape == (12, 2, 96, 4, 4)  # every row, as is and mirrored: MobileNetV2 block 13 at /16
    after = pd.read_csv(res / "stage1" / "metrics.csv")
    assert after.drop(columns="samples_per_s").equals(before.drop(columns="samples_per_s"))


@pytest.mark.slow
def test_tiny_preset_trains_in_two_processes(workspace):
    """train.gpus: 2 through the rules' own script: two gloo processes on CPU, one log written by process 0."""
    res = workspace / "results" / "scenes"
    files = write_synthetic_inputs(res, n=12, size=64, num_classes=3, splits=("train", "val", "test"))
    split_boxes(files.index, "val", res / "annotations" / "val.json", size=64)
    rules = ["train_stage1", "train_stage2", "convert_mobilenet"]
    run_snakemake(workspace, "--config", "preset=tiny", "train={gpus: 2}", "--allowed-rules", *rules, "--resources",
                  "gpu=2", "--", "results/scenes/stage2/model.pt")
    for stage in ("stage1", "stage2"):
        log = (res / "logs" / f"train_{stage}.log").read_text()
        assert "2 process(es)" in log and log.count("epoch 1: cls_audio") == 1, log[-2000:]
        assert {"val_loss", "val_success"} <= set(pd.read_csv(res / stage / "metrics.csv"))
