"""The stamp-to-class table, obtaining the package (and its clear errors), the catalogue, loading stamps."""

from __future__ import annotations

import numpy as np
import pytest

from msl_core.errors import BadInput, ConfigError
from msl_core.scenes.stamps import (
    TARGET_RMS,
    build_catalogue,
    class_names,
    class_table,
    coco_categories,
    load_stamp,
    obtain_stamps,
)
from support.stamps import stamps_root

AUDIOSET_TOP = {"Animal", "Music", "Sounds of things", "Natural sounds", "Human sounds", "Source-ambiguous sounds",
                "Channel, environment and background"}


def test_class_table_has_enough_classes_with_several_stamps():
    table = class_table()
    sizes = table.groupby("class").size()
    assert len(sizes) >= 8
    assert sizes.min() >= 2
    assert not table["stamp"].duplicated().any()
    assert set(table["audioset_category"]) <= AUDIOSET_TOP


def test_coco_categories_follow_the_table_order():
    table = class_table()
    categories = coco_categories(table)
    assert [c["name"] for c in categories] == class_names(table)
    assert [c["id"] for c in categories] == list(range(1, len(categories) + 1))
    assert categories[0]["supercategory"] == table["audioset_category"].iloc[0]


def test_missing_stamps_dir_names_the_config_key(tmp_path):
    with pytest.raises(ConfigError, match="scenes.stamps_dir") as caught:
        obtain_stamps(tmp_path / "nowhere", tmp_path / "cache")
    assert "apt-get download" in str(caught.value)


def test_without_apt_get_the_error_names_both_ways(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))   # no apt-get, no dpkg-deb
    with pytest.raises(ConfigError) as caught:
        obtain_stamps(None, tmp_path / "cache")
    message = str(caught.value)
    assert "scenes.stamps_dir" in message and "scenes.cache_dir" in message
    assert "apt-get download tuxpaint-stamps-default" in message and "not installed" in message


def test_unknown_package_fails_with_the_apt_message(tmp_path):
    with pytest.raises(ConfigError, match="scenes.stamps_dir") as caught:
        obtain_stamps(None, tmp_path / "cache", package="msl-no-such-package-xyz")
    assert "msl-no-such-package-xyz" in str(caught.value)
    assert not (tmp_path / "cache" / "stamps" / "tree").exists()


def test_catalogue_of_a_folder_that_is_not_the_package(tmp_path):
    (tmp_path / "animals").mkdir()
    with pytest.raises(BadInput, match="missing"):
        build_catalogue(tmp_path, class_table())


def test_catalogue_and_loaded_stamps():
    table = class_table()
    catalogue = build_catalogue(stamps_root(), table)
    assert list(catalogue["stamp"]) == list(table["stamp"])
    assert (catalogue["duration_s"] > 0.1).all()
    stamp = load_stamp(catalogue[catalogue["stamp"] == "dog"].iloc[0], 22050)
    assert stamp.rgba.dtype == np.uint8 and stamp.rgba.shape[2] == 4
    alpha = stamp.rgba[..., 3] >= 128
    # cropped to the alpha box: every border row/column touches the object
    assert alpha[0].any() and alpha[-1].any() and alpha[:, 0].any() and alpha[:, -1].any()
    frames = np.sqrt(np.convolve(stamp.audio ** 2, np.ones(2205) / 2205, mode="valid"))
    assert frames.max() > TARGET_RMS   # loud part at (or above) the target level
    assert stamp.active_starts.min() >= 0
