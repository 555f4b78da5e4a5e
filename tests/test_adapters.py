"""Raw layouts → manifests with the datasets' own splits, on small hand-made trees."""

import pickle

import numpy as np
import pytest

from msl_core.adapters import (
    audioset_instrument_manifest,
    ave_manifest,
    build_manifest,
    check_splits,
    flickr_manifest,
)
from msl_core.errors import BadInput, ConfigError, MslError
from msl_core.readers import read_pickle
from msl_core.splits import read_ids

HEADER = "Category&VideoID&Quality&StartTime&EndTime\n"


def _pairs(folder, stems):
    for stem in stems:
        (folder / f"{stem}.jpg").write_bytes(b"x")
        (folder / f"{stem}.wav").write_bytes(b"x")


def test_flickr_test_split_is_exactly_the_listed_ids(tmp_path):
    (tmp_path / "Data" / "3").mkdir(parents=True)
    _pairs(tmp_path / "Data" / "3", [str(i) for i in range(10, 30)])
    (tmp_path / "12.jpg").write_bytes(b"x")  # no sound: not a pair
    manifest = flickr_manifest(str(tmp_path), ["11", "15", "99"], val_fraction=0.2, seed=0)
    split = manifest.set_index("clip_id")["split"]
    assert sorted(split[split == "test"].index) == ["11", "15", "99"]  # 99 is listed, its pair missing
    assert (split == "val").sum() == round(0.2 * 18) and (split == "train").sum() == 18 - 4
    assert manifest.set_index("clip_id").loc["10", "audio_path"].endswith("Data/3/10.wav")
    # Seeded: the same seed gives the same val carve, another seed another one.
    again = flickr_manifest(str(tmp_path), ["11", "15", "99"], val_fraction=0.2, seed=0)
    other = flickr_manifest(str(tmp_path), ["11", "15", "99"], val_fraction=0.2, seed=1)
    assert again.equals(manifest) and not other["split"].equals(manifest["split"])


def test_check_splits_names_missing_and_empty_splits(tmp_path):
    _pairs(tmp_path, ["1", "2", "3"])
    manifest = flickr_manifest(str(tmp_path), ["1", "77"], val_fraction=0)
    with pytest.raises(MslError, match=r"1 listed clip\(s\) have no media.*77"):
        check_splits(manifest, "flickr")
    warnings = check_splits(manifest, "flickr", skip_bad_inputs=True)
    assert "77" in warnings[0] and "rejected.csv" in warnings[0]
    assert "the test split is empty" in check_splits(flickr_manifest(str(tmp_path), [], val_fraction=0), "flickr")[0]


def test_split_lists_in_the_reference_and_lvs_layouts(tmp_path):
    (tmp_path / "gtest.txt").write_text("10000130166.png\n2401957951.png\n")
    (tmp_path / "flickr_test.csv").write_text("10000130166,202\n2401957951,0\n")
    assert read_ids(tmp_path / "gtest.txt") == read_ids(tmp_path / "flickr_test.csv") == ["10000130166", "2401957951"]


def test_flickr_needs_a_test_list():
    with pytest.raises(ConfigError, match="datasets.flickr.annotations.split"):
        build_manifest("flickr", {"kind": "flickr", "root": "/", "annotations": {"format": "flickr-gtdata"}})


def _ave(tmp_path, train, val, test, annotations):
    (tmp_path / "AVE").mkdir()
    (tmp_path / "Annotations.txt").write_text(HEADER + annotations)
    for name, lines in (("trainSet.txt", train), ("valSet.txt", val), ("testSet.txt", test)):
        (tmp_path / name).write_text(HEADER + lines)


def test_ave_splits_and_per_second_tags_of_several_events(tmp_path):
    _ave(tmp_path, train="Church bell&abc&good&2&5\nBark&abc&good&7&9\n", val="Cat&ghi&good&0&10\n",
         test="Bark&def&good&0&10\n",
         annotations="Church bell&abc&good&2&5\nBark&abc&good&7&9\nBark&def&good&0&10\nCat&ghi&good&0&10\n")
    manifest = ave_manifest(str(tmp_path)).set_index("clip_id")
    assert manifest["split"].to_dict() == {"abc": "train", "def": "test", "ghi": "val"}
    assert manifest.loc["abc", "tags"] == "Bark;Church bell"
    seconds = manifest.loc["abc", "tags_per_second"].split("|")
    assert seconds == ["", "", "Church bell", "Church bell", "Church bell", "", "", "Bark", "Bark", ""]


def test_ave_bad_line_and_missing_split_file_are_named(tmp_path):
    (tmp_path / "Annotations.txt").write_text("Dog&def&good\n")
    with pytest.raises(BadInput, match="trainSet.txt"):
        ave_manifest(str(tmp_path))
    for name in ("trainSet.txt", "valSet.txt", "testSet.txt"):
        (tmp_path / name).write_text(HEADER)
    with pytest.raises(BadInput, match="line 1"):
        ave_manifest(str(tmp_path))


def _tags(path, table):
    path.write_bytes(pickle.dumps(table))
    return str(path)


def test_audioset_instrument_train_and_test_pickles(tmp_path):
    train = _tags(tmp_path / "train_audio.pkl", {f"t{i:02d}": np.eye(15)[i % 15] for i in range(10)})
    test = _tags(tmp_path / "val_audio.pkl", {"zzz": np.eye(15)[11], "aaa": np.eye(15)[0] + np.eye(15)[2]})
    manifest = audioset_instrument_manifest(str(tmp_path), train, test, val_fraction=0.2, seed=0)
    split = manifest.set_index("clip_id")["split"]
    assert sorted(split[split == "test"].index) == ["aaa", "zzz"]
    assert (split == "val").sum() == 2 and (split == "train").sum() == 8
    assert manifest.set_index("clip_id").loc["aaa", "tags"] == "Banjo;Drum"
    with pytest.raises(ConfigError, match="datasets.audioset_instrument.train_tags"):
        audioset_instrument_manifest(str(tmp_path), None, test)


def test_unset_root_names_the_config_key():
    with pytest.raises(ConfigError, match="datasets.flickr.root"):
        flickr_manifest(None, [])


class _Payload:
    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):  # unpickling would create the file
        return (open, (self.target, "w"))


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    path, target = tmp_path / "gtdata.pkl", tmp_path / "pwned"
    path.write_bytes(pickle.dumps({0: _Payload(target)}))
    with pytest.raises(BadInput, match="refusing to load io.open"):
        read_pickle(path, "gtdata pickle")
    assert not target.exists()
    ok = tmp_path / "ok.pkl"
    ok.write_bytes(pickle.dumps({0: {"anno": np.array([["1", "2", "3", "4"]]), "roi": np.zeros((8, 4), np.float32)}}))
    assert read_pickle(ok, "gtdata pickle")[0]["anno"].shape == (1, 4)


def test_dataset_kinds_name_the_files_they_need():
    from msl_core.adapters import DATASET_KINDS

    flickr = DATASET_KINDS.get("flickr")
    xml = {"root": "r", "annotations": {"format": "flickr-xml", "xml_dir": "x"}}
    assert flickr.required(xml) == {"root": "r", "annotations.xml_dir": "x"}
    xml["annotations"]["split"] = "s"  # a split list wins over the folder's stems (flickr_test_ids)
    assert flickr.required(xml) == {"root": "r", "annotations.split": "s"}
    assert DATASET_KINDS.get("audioset_instrument").required({"root": "r"}) == \
        {"root": "r", "train_tags": None, "test_tags": None}
    assert DATASET_KINDS.get("manifest").required({"manifest": "m.csv"}) == {"manifest": "m.csv"}
    assert [k.name for k in DATASET_KINDS if k.built_in] == ["scenes"]
    assert [k.name for k in DATASET_KINDS if k.events] == ["ave"]
    with pytest.raises(ConfigError, match="datasets.mine.kind.*'scenes'"):
        build_manifest("mine", {"kind": "scenes"})
    with pytest.raises(ConfigError, match="datasets.mine.kind.*'vggsound' is not a known dataset kind; known: scenes"):
        build_manifest("mine", {"kind": "vggsound"})
