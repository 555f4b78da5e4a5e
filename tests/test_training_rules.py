"""train_stage1 → train_stage2 → localize through Snakemake on CPU (tiny preset, pre-written contract files)."""

from __future__ import annotations

import h5py
import pandas as pd

from msl_core.training.synthetic import write_synthetic_inputs
from support.workspace import run_snakemake


def test_tiny_preset_trains_both_stages_and_localizes(workspace):
    # Upstream rules (ingest, pseudo labels) are not allowed to run: their outputs are written here.
    write_synthetic_inputs(workspace / "results" / "scenes", n=12, size=64, num_classes=3)
    rules = ["train_stage1", "train_stage2", "convert_mobilenet", "localize"]
    run_snakemake(workspace, "--config", "preset=tiny", "--allowed-rules", *rules, "--",
                  "results/scenes/maps.h5")
    res = workspace / "results" / "scenes"
    for stage in ("stage1", "stage2"):
        assert (res / stage / "model.pt").is_file() and (res / stage / "checkpoint.pt").is_file()
        metrics = pd.read_csv(res / stage / "metrics.csv")
        assert len(metrics) == 1  # tiny preset: one epoch per stage
    assert "align" in pd.read_csv(res / "stage2" / "metrics.csv")
    assert "stage 2 epoch 1/1" in (res / "logs" / "train_stage2.log").read_text()
    with h5py.File(res / "maps.h5") as f:
        assert f["stage2"].shape == (4, 16, 16)
    # Nothing to do on a second run.
    proc = run_snakemake(workspace, "--config", "preset=tiny", "--allowed-rules", *rules, "-n", "--",
                         "results/scenes/maps.h5")
    assert "Nothing to be done" in proc.stdout + proc.stderr
