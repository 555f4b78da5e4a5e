"""Training seeds: which seeds train, where each seed's run lives, and mean ± std over seeds by hand."""

from __future__ import annotations

import json
import math

import h5py
import numpy as np
import pytest

from msl_core.errors import ConfigError
from msl_core.evaluation import EvalSettings, evaluate
from msl_core.seeds import mean_over_seeds, run_folder, training_seeds
from support.workspace import run_snakemake


def test_null_seeds_train_with_the_global_seed():
    assert training_seeds({"seed": 7, "evaluate": {"seeds": None}}) == [7]
    assert training_seeds({"seed": 7, "evaluate": {"seeds": [3, 1]}}) == [3, 1]  # listed seeds win, in order


@pytest.mark.parametrize("seeds, problem", [([], "lists no seed"), ([1, 2, 1], "repeats a seed")])
def test_bad_seed_lists_name_the_key(seeds, problem):
    with pytest.raises(ConfigError, match=f"evaluate.seeds.*{problem}"):
        training_seeds({"seed": 0, "evaluate": {"seeds": seeds}})


def test_the_first_seed_keeps_the_dataset_folder():
    assert run_folder("scenes", 3, [3, 1]) == "results/scenes"
    assert run_folder("scenes", 1, [3, 1]) == "results/scenes/seed1"


def test_mean_and_sample_std_over_seeds_by_hand():
    cells = [{"n_items": 10, "auc": 0.2, "nsa": 0.5, "by_kind": {"noise": 0.1}},
             {"n_items": 10, "auc": 0.4, "nsa": None, "by_kind": {"noise": 0.3}},
             {"n_items": 10, "auc": 0.9, "nsa": 0.7, "by_kind": {"noise": 0.5}}]
    out = mean_over_seeds(cells)
    assert out["n_items"] == 10 and out["n_seeds"] == 3
    assert out["auc"] == pytest.approx(0.5)
    # sample std: sqrt(((0.2 − 0.5)² + (0.4 − 0.5)² + (0.9 − 0.5)²) / (3 − 1)) = sqrt(0.13)
    assert out["std"]["auc"] == pytest.approx(math.sqrt(0.13))
    assert out["nsa"] is None and "nsa" not in out["std"]  # one seed without silent objects: no mean
    assert out["by_kind"]["noise"] == pytest.approx(0.3) and out["by_kind"]["std"]["noise"] == pytest.approx(0.2)


def test_a_cell_one_seed_cannot_score_stays_unscored():
    assert mean_over_seeds([{"auc": 0.1}, {"not_scored": "no raw maps"}]) == {"not_scored": "no raw maps"}


@pytest.mark.slow
def test_tiny_preset_with_two_seeds_gives_mean_and_std(workspace):
    # ~2 min on 2 cores: the tiny preset end to end, both stages trained twice.
    (workspace / "seeds.yaml").write_text("evaluate:\n  seeds: [0, 1]\n")
    run_snakemake(workspace, "--configfile", "seeds.yaml", "--config", "preset=tiny", "--",
                  "results/scenes/protocols.md", "results/scenes/ciou.txt")
    check_two_seeds(workspace / "results" / "scenes")


def check_two_seeds(res):
    """What a run with evaluate.seeds [0, 1] leaves in `res`: each seed's run, and tables whose cells are the mean
    and sample std of the seeds' own numbers."""
    assert (res / "stage2" / "model.pt").is_file() and (res / "seed1" / "stage2" / "model.pt").is_file()
    assert not (res / "seed0").exists()  # the first seed keeps the dataset's own paths
    with h5py.File(res / "maps.h5") as first, h5py.File(res / "seed1" / "maps.h5") as second:
        assert not np.array_equal(first["stage2"][()], second["stage2"][()])  # the seed took effect
    table = json.loads((res / "protocols.json").read_text())
    assert table["seeds"] == [0, 1]
    for name, metric in (("dsol", "success_rate"), ("tvsl", "mean_ciou"), ("pia", "pia")):
        cell = table["protocols"][name]["methods"]["stage2"]
        per_seed = [table["per_seed"][s][name]["methods"]["stage2"][metric] for s in ("0", "1")]
        assert cell["n_seeds"] == 2 and cell["n_items"] > 0
        assert cell[metric] == pytest.approx(np.mean(per_seed))
        assert cell["std"][metric] == pytest.approx(np.std(per_seed, ddof=1))
    markdown = (res / "protocols.md").read_text()
    n = table["protocols"]["tvsl"]["methods"]["stage2"]["n_items"]
    assert f"(n={n}, 2 seeds) |" in markdown and " ± " in markdown
    metrics = json.loads((res / "metrics.json").read_text())
    seeds = metrics["seeds"]
    assert (seeds["seeds"], seeds["n_seeds"]) == ([0, 1], 2)
    ciou_first = metrics["methods"]["stage2"]["class_agnostic"]["success_rate"]
    assert float((res / "ciou.txt").read_text()) == pytest.approx(ciou_first, abs=1e-6)  # the first seed's, as today
    assert seeds["methods"]["stage2"]["n_items"] == metrics["n_items"]
    first = metrics["methods"]["stage2"]["class_agnostic"]["mean_ciou"]
    settings = EvalSettings(**metrics["settings"])
    second = evaluate(res / "annotations" / "test.json", settings, res / "seed1" / "maps.h5", baselines=())
    second = second.summary("stage2")["class_agnostic"]["mean_ciou"]
    both = seeds["methods"]["stage2"]["class_agnostic"]
    assert both["n_seeds"] == 2 and both["mean_ciou"] == pytest.approx((first + second) / 2)
    assert both["std"]["mean_ciou"] == pytest.approx(abs(first - second) / np.sqrt(2)) and first != second
