"""The EfficientAT mn04 release loads strictly and tags real Tux Paint recordings into the right category."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from msl_core.errors import BadInput
from msl_core.teachers.categories import AUDIOSET7
from msl_core.teachers.efficientat import (
    AudioTagger,
    LogMelFrontEnd,
    kaldi_mel_banks,
    load_tagger,
    tag_file,
)
from msl_core.teachers.ontology import top_level_matrix
from support.stamps import stamps_root

WEIGHTS = "weights/efficientat_mn04_as_mAP_432.pt"


@pytest.fixture(scope="module")
def tagger(assets):
    torch.set_num_threads(1)
    return AudioTagger(assets / WEIGHTS)


def test_release_loads_strictly(assets):
    model = load_tagger(assets / WEIGHTS)
    assert len(model.state_dict()) == 312
    assert model.classifier[-1].out_features == 527 and not model.training


def test_front_end_shapes():
    banks = kaldi_mel_banks(128, 1024, 32000, 0.0, 15000.0)
    assert banks.shape == (128, 513) and (banks[:, -1] == 0).all() and (banks.sum(dim=1) > 0).all()
    mel = LogMelFrontEnd()(torch.zeros(2, 32000))
    assert mel.shape == (2, 1, 128, 100)


@pytest.mark.parametrize(("stamp", "category"), [
    ("animals/mammals/dogs/dog", "Animal"),
    ("hobbies/music/string/violin", "Music"),
    ("vehicles/emergency/firetruck", "Sounds of things"),
    ("animals/birds/rooster", "Animal"),
])
def test_real_recordings_top_category(tagger, stamp, category):
    probs = tag_file(tagger, stamps_root() / f"{stamp}.ogg")
    scores = (top_level_matrix() * probs[None]).max(axis=1)  # reference rule: max over member classes
    assert AUDIOSET7[int(np.argmax(scores))] == category, dict(zip(AUDIOSET7, scores.round(2)))


def test_wrong_architecture_missing_and_truncated(tmp_path, assets):
    with pytest.raises(BadInput, match="not found"):
        load_tagger(tmp_path / "none.pt")
    wrong = tmp_path / "mobilenet_v2.pt"
    torch.save({"features.0.0.weight": torch.zeros(32, 3, 3, 3)}, wrong)
    with pytest.raises(BadInput, match=r"mobilenet_v2\.pt.*no 'classifier\.2\.weight'"):
        load_tagger(wrong)
    state = torch.load(assets / WEIGHTS, weights_only=True)
    del state["features.5.block.2.conc_se_layers.0.fc1.bias"]
    fewer = tmp_path / "fewer.pt"
    torch.save(state, fewer)
    with pytest.raises(BadInput, match="state dict has 311 keys, EfficientAT MobileNetV3 .* expects 312"):
        load_tagger(fewer)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes((assets / WEIGHTS).read_bytes()[:200_000])
    with pytest.raises(BadInput, match="cannot read"):
        load_tagger(truncated)
