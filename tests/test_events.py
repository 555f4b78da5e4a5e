"""AVE's event scores from a maps.h5 written by the stores' writer, checked against counts made by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msl_core.errors import BadInput
from msl_core.events import score_events
from msl_core.stores.maps import write_maps
from msl_core.teachers.categories import CategorySet

CATS = CategorySet("classes", ("bell", "dog"), {"bell": (0,), "dog": (1,)})


def test_event_accuracies_and_temporal_auc(tmp_path):
    # clip a: seconds 0, 1 ring a bell, second 2 is background; clip b: second 0 barks.
    index = pd.DataFrame({"clip_id": ["a", "a", "a", "b"], "second": [0, 1, 2, 0], "tags": ["bell", "bell", "", "dog"]})
    audio = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.4], [0.3, 0.7]], np.float32)
    visual = np.array([[0.9, 0.1], [0.9, 0.1], [0.1, 0.9], [0.6, 0.4]], np.float32)
    items = index.assign(split="test")[["clip_id", "second", "split"]]
    write_maps(tmp_path / "maps.h5", items, {"audio_prob": audio, "visual_prob": visual}, list(CATS.names))
    out = score_events(tmp_path / "maps.h5", index, CATS)
    # event seconds a/0, a/1, b/0: audio arg-max right on a/0, b/0; visual on a/0, a/1; both only on a/0
    assert (out["n_event_seconds"], out["n_background_seconds"], out["n_clips"]) == (3, 1, 2)
    assert out["audio_accuracy"] == pytest.approx(2 / 3) and out["visual_accuracy"] == pytest.approx(2 / 3)
    assert out["audio_visual_accuracy"] == pytest.approx(1 / 3)
    # each second's probability of its clip's event category: event seconds a/0 0.9, a/1 0.2, b/0 0.7 against
    # the background a/2 0.5 → two of three pairs ranked right
    assert out["temporal_auc"] == pytest.approx(2 / 3) and out["n_temporal_pairs"] == 3


def test_maps_without_probabilities_are_named(tmp_path):
    items = pd.DataFrame({"clip_id": ["a"], "second": [0], "split": ["test"]})
    write_maps(tmp_path / "maps.h5", items, {"stage2": np.zeros((1, 4, 4), np.float32)}, list(CATS.names))
    with pytest.raises(BadInput, match=r"maps.h5: no 'audio_prob' dataset \(rerun `localize`\)"):
        score_events(tmp_path / "maps.h5", items.assign(tags=""), CATS)
