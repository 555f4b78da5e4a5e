"""Same command, same machine, same numbers: two fresh tiny runs of the whole workflow write the same metrics.json."""

from __future__ import annotations

import pytest

from support.workspace import run_snakemake, snakemake_workspace


@pytest.mark.slow
def test_two_runs_give_the_same_metrics_bit_for_bit(tmp_path):
    outputs = []
    for k in range(2):
        ws = snakemake_workspace(tmp_path / f"run{k}")
        run_snakemake(ws, "results/scenes/ciou.txt", "--config", "preset=tiny")
        outputs.append((ws / "results/scenes/metrics.json").read_bytes())
    assert outputs[0] == outputs[1]
