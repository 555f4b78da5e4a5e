"""Raw layouts → manifests, on small hand-made trees."""

import pickle

import numpy as np
import pytest

from msl_core.adapters import audioset_instrument_manifest, ave_manifest, build_manifest, flickr_manifest
from msl_core.errors import BadInput, ConfigError


def test_flickr_pairs_by_stem(tmp_path):
    for stem in ("10", "11"):
        (tmp_path / f"{stem}.jpg").write_bytes(b"x")
        (tmp_path / f"{stem}.wav").write_bytes(b"x")
    (tmp_path / "12.jpg").write_bytes(b"x")  # no sound: not a pair
    manifest = flickr_manifest(str(tmp_path))
    assert manifest["clip_id"].tolist() == ["10", "11"]
    assert manifest["audio_path"].str.endswith(".wav").all()


def test_ave_layout_with_splits_and_per_second_tags(tmp_path):
    (tmp_path / "AVE").mkdir()
    header = "Category&VideoID&Quality&StartTime&EndTime\n"
    (tmp_path / "Annotations.txt").write_text(header + "Church bell&abc&good&2&5\nDog&def&good&0&10\n")
    (tmp_path / "testSet.txt").write_text(header + "Dog&def&good&0&10\n")
    manifest = ave_manifest(str(tmp_path))
    church = manifest.set_index("clip_id").loc["abc"]
    assert church["split"] == "train" and church["tags"] == "Church bell"
    assert church["tags_per_second"].split("|") == ["", "", "Church bell", "Church bell", "Church bell"] + [""] * 5
    assert manifest.set_index("clip_id").loc["def", "split"] == "test"


def test_ave_bad_line_is_named(tmp_path):
    (tmp_path / "Annotations.txt").write_text("Dog&def&good\n")
    with pytest.raises(BadInput, match="line 1"):
        ave_manifest(str(tmp_path))


def test_audioset_instrument_tags_in_sorted_key_order(tmp_path):
    tags = {"zzz": np.eye(15)[11], "aaa": np.eye(15)[0] + np.eye(15)[2]}
    with open(tmp_path / "val.pkl", "wb") as handle:
        pickle.dump(tags, handle)
    manifest = audioset_instrument_manifest(str(tmp_path), str(tmp_path / "val.pkl"))
    assert manifest["clip_id"].tolist() == ["aaa", "zzz"]
    assert manifest["tags"].tolist() == ["Banjo;Drum", "Violin"]


def test_unset_root_names_the_config_key():
    with pytest.raises(ConfigError, match="datasets.flickr.root"):
        build_manifest("flickr", {"kind": "flickr", "root": None})
