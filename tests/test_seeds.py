"""Training seeds: which seeds train, where each seed's run lives, and mean ± std over seeds by hand."""

from __future__ import annotations

import math

import pytest

from msl_core.errors import ConfigError
from msl_core.seeds import mean_over_seeds, run_folder, training_seeds


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
