"""Training data: contract checks with file-naming errors, batched HDF5 reads, seeded epoch order."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest

from msl_core.errors import BadInput
from msl_core.training.data import BatchReader, EpochBatchSampler, make_loader, open_training_data
from msl_core.training.synthetic import write_synthetic_inputs


@pytest.fixture
def files(tmp_path):
    return write_synthetic_inputs(tmp_path, n=9, size=32, num_classes=3)


def test_selects_train_rows(files):
    data = open_training_data(files)
    assert data.rows.tolist() == [0, 1, 3, 4, 6, 7]
    assert data.num_classes == 3 and data.categories == ("class0", "class1", "class2")
    assert open_training_data(files, split="test").rows.tolist() == [2, 5, 8]


def _rewrite(path, name, data):
    with h5py.File(path, "a") as f:
        attrs = dict(f.attrs)
        del f[name]
        f.create_dataset(name, data=data)
        f.attrs.update(attrs)


@pytest.mark.parametrize(
    ("name", "data", "match"),
    [
        ("logmel", np.zeros((8, 51, 64), np.float32), "logmel.h5.*8 rows"),  # row count mismatch
        ("frames", np.zeros((9, 32, 32), np.uint8), "frames.h5"),  # wrong frame shape
        ("frames", np.zeros((0, 32, 32, 3), np.uint8), "frames.h5.*empty"),  # empty file
        ("logmel", np.zeros((9, 51), np.float32), "logmel.h5"),  # no mel axis
    ],
    ids=["row-count", "frame-shape", "empty", "mel-shape"],
)
def test_bad_store_names_the_file(files, name, data, match):
    _rewrite(getattr(files, name), name, data)
    with pytest.raises(BadInput, match=match):
        open_training_data(files)


def test_label_category_count(files):
    with pytest.raises(BadInput, match="labels.h5.*3 categories.*7"):
        open_training_data(files, num_classes=7)
    _rewrite(files.labels, "visual", np.zeros((9, 4), np.float32))
    with pytest.raises(BadInput, match="labels.h5.*'visual' has 4"):
        open_training_data(files)


def test_labels_out_of_range(files):
    _rewrite(files.labels, "audio", np.full((9, 3), np.nan, np.float32))
    with pytest.raises(BadInput, match="labels.h5.*finite"):
        open_training_data(files)


def test_index_must_align(files):
    pd.read_csv(files.index).iloc[:5].to_csv(files.index, index=False)
    with pytest.raises(BadInput, match="index.csv"):
        open_training_data(files)


def test_missing_dataset_and_file(files, tmp_path):
    with h5py.File(files.labels, "a") as f:
        del f["audio"]
    with pytest.raises(BadInput, match="labels.h5.*'audio'"):
        open_training_data(files)
    files.frames.unlink()
    with pytest.raises(BadInput, match="frames.h5.*not found"):
        open_training_data(files)


def test_reader_returns_rows_in_sampler_order(files):
    batch = BatchReader(files)[[4, 0, 3]]
    with h5py.File(files.frames) as f, h5py.File(files.labels) as y:
        assert np.array_equal(batch["frames"].numpy(), f["frames"][[0, 3, 4]][[2, 0, 1]])
        assert np.allclose(batch["audio"].numpy(), y["audio"][[0, 3, 4]][[2, 0, 1]])
    assert batch["logmel"].shape == (3, 51, 64) and batch["frames"].dtype.is_floating_point is False


def test_sampler_is_seeded_per_epoch_and_drops_single_rows():
    rows = np.arange(7)
    sampler = EpochBatchSampler(rows, 3, seed=1)
    first = list(sampler)
    assert [len(b) for b in first] == [3, 3]  # the lone 7th row would give no AVC negative
    assert list(EpochBatchSampler(rows, 3, seed=1)) == first
    sampler.set_epoch(1)
    assert list(sampler) != first


def test_a_batch_takes_at_most_one_row_per_clip():
    rows = np.arange(40)
    clips = rows // 10  # four clips of ten seconds
    batches = list(EpochBatchSampler(rows, 4, seed=0, clips=clips))
    assert sum(len(b) for b in batches) == 40
    for batch in batches:
        assert len(set(clips[batch])) == len(batch)
    assert len(EpochBatchSampler(rows, 4, seed=0, clips=clips)) == len(batches)


def test_loader_with_workers(files):
    loader = make_loader(open_training_data(files), batch_size=2, seed=0, workers=1, pin_memory=False)
    batches = list(loader)
    assert len(batches) == 3 and batches[0]["frames"].shape == (2, 32, 32, 3)


def test_rows_are_read_in_the_order_asked_with_repeats(tmp_path):
    import h5py

    from msl_core.stores.hdf5 import read_rows

    values = np.arange(20 * 3, dtype=np.float32).reshape(20, 3)
    with h5py.File(tmp_path / "s.h5", "w") as h5:
        h5.create_dataset("x", data=values, chunks=(1, 3))
    with h5py.File(tmp_path / "s.h5", "r") as h5:
        rows = [7, 3, 4, 5, 19, 3, 0]
        np.testing.assert_array_equal(read_rows(h5["x"], rows), values[rows])
        assert read_rows(h5["x"], []).shape == (0, 3)


def test_a_store_of_another_front_end_is_refused(tmp_path):
    from msl_core.training.data import check_front_end

    files = write_synthetic_inputs(tmp_path / "d", n=6)
    check_front_end(files.logmel, "resnet18")
    with pytest.raises(BadInput, match="librosa front end.*efficientat_mn04 reads the efficientat one"):
        check_front_end(files.logmel, "efficientat_mn04")
