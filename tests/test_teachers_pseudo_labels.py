"""Pseudo labels per index row from every source, on real recordings and photos; labels.h5 round trip."""

from __future__ import annotations

import cv2
import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from skimage import data

from msl_core.errors import BadInput, ConfigError
from msl_core.models.mobilenet_v2 import convert_tflite
from msl_core.stores.labels import LabelsStore, write_labels
from msl_core.teachers.categories import AUDIOSET7, category_set
from msl_core.teachers.pseudo_labels import (
    LabelConfig,
    clip_windows,
    compute_labels,
    sharpen,
    tag_labels,
)
from support.media import make_video, tone
from support.stamps import stamps_root


def index_of(audio_paths: list[str], tags: list[str], visible: list[str]) -> pd.DataFrame:
    n = len(audio_paths)
    return pd.DataFrame({"row": range(n), "clip_id": [f"c{i}" for i in range(n)], "second": 0, "split": "train",
                         "start_s": 0.0, "window_s": 1.0, "video_path": "", "image_path": "x.png",
                         "audio_path": audio_paths, "tags": tags, "visible": visible})


@pytest.fixture
def tagger_cfg(assets) -> dict:
    return {"audio_source": "audio_tagger", "visual_source": "from_audio",
            "tagger_weights": str(assets / "weights/efficientat_mn04_as_mAP_432.pt"),
            "ontology": str(assets / "audioset/ontology.json"),
            "audioset_labels": str(assets / "audioset/class_labels_indices.csv")}


def test_sharpen_matches_the_reference_rule():
    out = sharpen(np.array([0.1, 0.3, 0.31, 1.0], np.float32), 0.3, 0.4)  # the reference's rule
    np.testing.assert_allclose(out, [0.1, 0.3, 0.4 * 0.31 + 0.6, 1.0], rtol=1e-6)


def test_tag_labels_use_visible_objects_for_vision():
    index = index_of(["a.wav"] * 3, ["dogs", "orchestra;tools", ""], ["dogs;tools", "", "pigs"])
    cats = category_set("classes")
    audio, visual = tag_labels(index, cats)
    names = np.array(cats.names)
    assert [set(names[row > 0]) for row in audio] == [{"dogs"}, {"orchestra", "tools"}, set()]
    assert [set(names[row > 0]) for row in visual] == [{"dogs", "tools"}, {"orchestra", "tools"}, {"pigs"}]
    audio7, _ = tag_labels(index, category_set("audioset7"))
    assert audio7[1].tolist() == [0, 0, 0, 1, 1, 0, 0]  # orchestra -> Music, tools -> Sounds of things


def test_audio_tagger_labels_on_real_recordings(tagger_cfg, small_threads):
    root = stamps_root()
    index = index_of([str(root / "animals/birds/rooster.ogg"), str(root / "vehicles/emergency/firetruck.ogg")],
                     ["", ""], ["", ""])
    cats = category_set("audioset7")
    audio, visual = compute_labels(index, cats, LabelConfig.from_config(tagger_cfg))
    assert AUDIOSET7[audio[0].argmax()] == "Animal" and AUDIOSET7[audio[1].argmax()] == "Sounds of things"
    assert audio.max(axis=1).min() > 0.72  # sharpened: a clear category lands in (0.72, 1]
    np.testing.assert_array_equal(audio, visual)  # from_audio


def test_image_classifier_labels_from_frames(tmp_path, assets, small_threads):
    weights = tmp_path / "mobilenet.pt"
    torch.save(convert_tflite(assets / "weights/mobilenet_v2_1.0_224_quant.tflite"), weights)
    frames = tmp_path / "frames.h5"
    with h5py.File(frames, "w") as h5:
        h5["frames"] = cv2.resize(data.chelsea(), (256, 256))[None]
    index = index_of(["a.wav"], ["dogs"], [""])
    cfg = LabelConfig(visual_source="image_classifier", image_classifier_weights=str(weights))
    _, visual = compute_labels(index, category_set("audioset7"), cfg, frames_path=frames)
    assert visual.shape == (1, 7) and visual[0, 2] == 1.0  # Animal is the top category, normalised to 1
    # quantile: each category divided by its own quantile over the rows (one row: by itself, so every
    # category the frame has any evidence for reaches 1).
    lifted = LabelConfig(visual_source="image_classifier", image_classifier_weights=str(weights), normalise="quantile")
    _, normalised = compute_labels(index, category_set("audioset7"), lifted, frames_path=frames)
    np.testing.assert_allclose(normalised, (visual > 0).astype(np.float32))


def test_clip_windows_cut_a_video_per_row(tmp_path):
    sr = 16000
    audio = np.concatenate([tone(1.0, 440, sr), np.zeros(sr, np.float32), tone(1.0, 440, sr)])
    video = make_video(tmp_path / "v.mp4", [(0, 0, 0)] * 3, audio=audio, sample_rate=sr)
    rows = pd.DataFrame({"start_s": [0.0, 1.0, 2.0], "window_s": 1.0, "video_path": str(video), "audio_path": ""})
    windows = clip_windows(rows, 32000)
    assert windows.shape == (3, 32000)
    rms = np.sqrt((windows[:, 3000:29000] ** 2).mean(axis=1))
    assert rms[0] > 0.1 and rms[1] < 0.01 and rms[2] > 0.1


def test_labels_h5_round_trip(tmp_path):
    index = index_of(["a.wav"] * 2, ["dogs", "pigs"], ["", ""])
    cats = category_set("classes")
    audio, visual = tag_labels(index, cats)
    write_labels(tmp_path / "labels.h5", audio, visual, list(cats.names), cats.kind, index,
                 attrs={"audio_source": "tags"})
    labels = LabelsStore(tmp_path / "labels.h5")
    a = labels.read("audio")
    np.testing.assert_array_equal(a, audio)
    assert labels.categories == cats.names and a.dtype == np.float32
    assert labels.index_table()["clip_id"].tolist() == ["c0", "c1"]
    assert labels.sources() == "audio from tags, visual from ?"


def test_bad_configuration_and_inputs(tmp_path, tagger_cfg):
    with pytest.raises(ConfigError, match="labels.audio_source"):
        LabelConfig(audio_source="guess")
    untagged = index_of(["a.wav"], [""], [""])
    with pytest.raises(ConfigError, match="no tags"):
        compute_labels(untagged, category_set("audioset7"), LabelConfig())
    missing = LabelConfig.from_config({**tagger_cfg, "tagger_weights": str(tmp_path / "none.pt")})
    with pytest.raises(BadInput, match=r"none\.pt: EfficientAT tagger weights not found"):
        compute_labels(untagged, category_set("audioset7"), missing)
    with pytest.raises(BadInput, match="tag 'unicorn'"):
        compute_labels(index_of(["a.wav"], ["unicorn"], [""]), category_set("classes"), LabelConfig())


def test_quantile_normalisation_lifts_each_category_by_its_own_scale():
    from msl_core.teachers.pseudo_labels import LabelConfig, quantile_normalise

    scores = np.array([[0.01, 0.5], [0.02, 0.6], [0.04, 0.2], [0.08, 0.9], [0.0, 0.1]], np.float32)
    out = quantile_normalise(scores, 0.75)
    # 75th percentiles (linear interpolation over 5 rows): 0.04 and 0.6.
    np.testing.assert_allclose(out[:, 0], [0.25, 0.5, 1.0, 1.0, 0.0], rtol=1e-6)
    np.testing.assert_allclose(out[:, 1], [0.5 / 0.6, 1.0, 0.2 / 0.6, 1.0, 0.1 / 0.6], rtol=1e-6)
    with pytest.raises(ConfigError, match="labels.normalise"):
        LabelConfig(normalise="zscore")


def test_quantile_scale_comes_from_the_training_rows_only():
    from msl_core.teachers.pseudo_labels import quantile_normalise, scale_rows

    index = pd.DataFrame({"split": ["train", "train", "test", "val", "train"]})
    scores = np.array([[0.1], [0.3], [5.0], [9.0], [0.2]], np.float32)
    fit = scale_rows(index)
    np.testing.assert_array_equal(fit, [True, True, False, False, True])
    # the median of the train rows (0.1, 0.3, 0.2) is 0.2, whatever the test and val rows hold
    np.testing.assert_allclose(quantile_normalise(scores, 0.5, fit)[:, 0], [0.5, 1.0, 1.0, 1.0, 1.0], rtol=1e-6)
    assert scale_rows(pd.DataFrame({"clip": ["a"]})) is None


def test_label_agreement_measures_the_written_labels_on_train_rows_only():
    from msl_core.teachers.categories import category_set
    from msl_core.teachers.pseudo_labels import label_agreement_tables

    index = pd.DataFrame({"tags": ["dogs", "tools", "dogs", "tools"], "visible": ["dogs;tools"] * 4,
                          "split": ["train", "train", "train", "test"]})
    cats = category_set("classes")
    audio = np.zeros((4, len(cats)), np.float32)
    audio[[0, 1], cats.names.index("dogs")] = 0.9  # row 1 is a false positive, row 2 a miss
    visual = np.zeros_like(audio)
    tables = label_agreement_tables(index, cats, audio, visual)
    dogs = tables["audio"].set_index("category").loc["dogs"]
    assert (dogs["tagged_rows"], dogs["precision"], dogs["recall"]) == (2, 0.5, 0.5)
    assert tables["visual"].set_index("category").loc["tools", "tagged_rows"] == 3
