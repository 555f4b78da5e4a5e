"""The storage layer: the one atomic writer (interrupted writes, a second writer) and the readers' errors."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import h5py
import numpy as np
import pandas as pd
import pytest

from msl_core.errors import BadInput
from msl_core.spectrogram import EfficientATParams, LogMelParams
from msl_core.stores.atomic import atomic_write, owned
from msl_core.stores.frames import frames_writer
from msl_core.stores.hdf5 import Store, create
from msl_core.stores.labels import LabelsStore, write_labels
from msl_core.stores.logmel import LogmelStore, logmel_writer
from msl_core.stores.maps import MapsStore, write_maps

INDEX = pd.DataFrame({"clip_id": ["a", "a", "b"], "second": [0, 1, 0], "split": ["train", "train", "test"]})


def test_a_failed_write_leaves_the_previous_file_and_no_partial(tmp_path):
    path = tmp_path / "labels.h5"
    path.write_bytes(b"previous")
    with pytest.raises(RuntimeError, match="boom"), atomic_write(path) as partial:
        partial.write_bytes(b"half")
        raise RuntimeError("boom")
    assert path.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.h5"]  # no partial, no lock


def test_a_killed_writer_leaves_no_final_file_and_the_next_writer_finishes(tmp_path):
    path = tmp_path / "maps.h5"
    killed = ("import os, numpy as np\nfrom msl_core.stores.hdf5 import create\n"
              f"with create({str(path)!r}) as h5:\n    h5['x'] = np.zeros(1000)\n    h5.flush()\n    os._exit(9)\n")
    assert subprocess.run([sys.executable, "-c", killed], check=False).returncode == 9
    assert not path.exists() and (tmp_path / "maps.h5.partial").exists()  # only the partial: never read
    with create(path) as h5:  # the dead writer's lock is taken over, its partial replaced
        h5["x"] = np.ones(3)
    assert Store(path).read("x").tolist() == [1, 1, 1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["maps.h5"]


def test_a_second_writer_of_the_same_file_refuses_and_a_stale_lock_is_taken_over(tmp_path):
    path = tmp_path / "logmel.h5"
    lock = tmp_path / "logmel.h5.partial.lock"
    with atomic_write(path) as partial:
        partial.write_bytes(b"first")
        with pytest.raises(BadInput, match=f"logmel.h5.partial: is being written by process {os.getpid()}"), \
                atomic_write(path):
            pass
        assert lock.read_text() == f"{os.getpid()}@{socket.gethostname()}"
        assert partial.read_bytes() == b"first"  # the refused writer touched nothing
    assert not lock.exists() and path.read_bytes() == b"first"
    proc = subprocess.Popen(["true"])
    proc.wait()
    lock.write_text(f"{proc.pid}@{socket.gethostname()}")
    with owned(tmp_path / "logmel.h5.partial"):  # the writer is gone: its lock is taken over
        pass


def test_an_append_store_closed_unfinished_stays_partial(tmp_path):
    with frames_writer(tmp_path / "frames.h5", 16, key="k") as frames:
        frames.append(np.zeros((2, 16, 16, 3), np.uint8))
    assert not (tmp_path / "frames.h5").exists() and (tmp_path / "frames.h5.partial").exists()
    with frames_writer(tmp_path / "frames.h5", 16, key="k") as frames:  # same key: resumed
        assert len(frames) == 2
        frames.append(np.zeros((1, 16, 16, 3), np.uint8))
        frames.finish(INDEX)
    assert Store(tmp_path / "frames.h5").index_table().equals(INDEX.astype({"second": np.int32}))


def test_readers_name_the_file_and_what_is_missing(tmp_path):
    with pytest.raises(BadInput, match="none.h5: file not found"):
        Store(tmp_path / "none.h5")
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(BadInput, match="text.h5: not a readable HDF5 file"):
        Store(tmp_path / "text.h5")
    with create(tmp_path / "labels.h5") as h5:
        h5["audio"] = np.zeros((3, 2), np.float32)
    with pytest.raises(BadInput, match=r"labels.h5: no dataset 'visual' \(has \['audio'\]\)"):
        LabelsStore(tmp_path / "labels.h5")
    with create(tmp_path / "labels.h5") as h5:
        h5["audio"] = h5["visual"] = np.zeros((3, 2), np.float32)
    with pytest.raises(BadInput, match="labels.h5: the file has no attribute 'categories'"):
        LabelsStore(tmp_path / "labels.h5")
    with create(tmp_path / "logmel.h5") as h5:
        h5["logmel"] = np.zeros((3, 5, 8), np.float32)
        h5["logmel"].attrs["n_mels"] = 64
    with pytest.raises(BadInput, match="logmel.h5: 'logmel' has 8 mel bands but its attribute n_mels says 64"):
        LogmelStore(tmp_path / "logmel.h5")
    with pytest.raises(BadInput, match="logmel.h5: dataset 'logmel' has no attribute 'window_s'"):
        Store(tmp_path / "logmel.h5").attr("window_s", "logmel")


@pytest.mark.parametrize("params", [LogMelParams(n_mels=128), EfficientATParams()], ids=["librosa", "efficientat"])
def test_a_logmel_store_describes_itself(tmp_path, params):
    with logmel_writer(tmp_path / "logmel.h5", INDEX, 7, params, 0.5) as data:
        data[...] = np.ones((3, 7, params.n_mels), np.float32)
    store = LogmelStore(tmp_path / "logmel.h5")
    assert (store.n_frames, store.window_s, store.params()) == (7, 0.5, params)
    assert store.index_table()["clip_id"].tolist() == ["a", "a", "b"]


def test_labels_and_maps_round_trip(tmp_path):
    audio = np.array([[0.1, 0.9], [0.5, 0.5], [1.0, 0.0]], np.float32)
    write_labels(tmp_path / "labels.h5", audio, audio[::-1], ["dog", "cat"], "classes", INDEX,
                 {"audio_source": "tags", "visual_source": "rois"})
    labels = LabelsStore(tmp_path / "labels.h5")
    assert labels.categories == ("dog", "cat") and labels.sources() == "audio from tags, visual from rois"
    np.testing.assert_array_equal(labels.rows("visual").read([2, 0]), audio[::-1][[2, 0]])

    maps = np.arange(3 * 4 * 4, dtype=np.float32).reshape(3, 4, 4)
    write_maps(tmp_path / "maps.h5", INDEX.assign(row=[5, 6, 9]), {"stage2": maps}, ["dog", "cat"])
    store = MapsStore(tmp_path / "maps.h5")
    assert store.keys() == ["a/0", "a/1", "b/0"] and store.categories == ["dog", "cat"]
    assert store.row_of() == {"a/0": 5, "a/1": 6, "b/0": 9}
    np.testing.assert_array_equal(store.read_items("stage2", [2, 0, 2]), maps[[2, 0, 2]])
    with h5py.File(tmp_path / "maps.h5") as h5:  # the layout docs/architecture.md gives
        assert h5["clip_id"].dtype.kind == "O" and h5["second"].dtype == np.int32
