"""Ingestion on real ffmpeg-made media: frame content per second, exact log-mels, HDF5 layout, bad inputs."""

import subprocess

import h5py
import librosa
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from msl_core.errors import BadInput, MslError
from msl_core.ingest import Outputs, Settings, ingest, write_logmels
from msl_core.manifest import load_manifest
from msl_core.spectrogram import LogMelParams
from msl_core.stores.hdf5 import H5Rows, Store
from support.media import make_video, tone

COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]


def manifest_file(tmp_path, rows):
    path = tmp_path / "manifest.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


SETTINGS = Settings(1.0, 256, LogMelParams().sample_rate)


def run(manifest, skip_bad_inputs=False, workers=1):
    """Ingest a manifest into `out/` beside it, then its log-mels: (index, rejections, outputs)."""
    out = Outputs.in_folder(manifest.parent / "out")
    out.index.parent.mkdir(exist_ok=True)
    index, rejected = ingest(load_manifest(manifest), out, SETTINGS, skip_bad_inputs, workers)
    write_logmels(out.audio, logmel_of(out), LogMelParams())
    return index, rejected, out


def logmel_of(out: Outputs):
    return out.index.parent / "logmel.h5"


@pytest.fixture
def clips(tmp_path):
    make_video(tmp_path / "a.mp4", COLOURS, audio=tone(4.0))
    make_video(tmp_path / "b.mp4", COLOURS[:2], audio=tone(2.0, 880))
    image = np.full((100, 150, 3), 200, np.uint8)
    import cv2

    cv2.imwrite(str(tmp_path / "c.png"), image)
    sf.write(tmp_path / "c.wav", np.random.default_rng(0).standard_normal(22050 * 2).astype(np.float32) * 0.1,
             22050, subtype="FLOAT")
    return manifest_file(tmp_path, [
        {"clip_id": "a", "video_path": "a.mp4", "split": "train", "tags": "x"},
        {"clip_id": "b", "video_path": "b.mp4", "split": "test", "tags": "y"},
        {"clip_id": "c", "image_path": "c.png", "audio_path": "c.wav", "split": "val"},
    ])


def test_index_has_one_row_per_window(clips):
    index, rejected, out = run(clips, workers=2)
    assert not rejected
    assert pd.read_csv(out.index)["clip_id"].tolist() == index["clip_id"].tolist()
    assert index["clip_id"].tolist() == ["a"] * 4 + ["b"] * 2 + ["c"]
    assert index["second"].tolist() == [0, 1, 2, 3, 0, 1, 0]
    assert index["row"].tolist() == list(range(7))


def test_frames_show_the_colour_of_each_second(clips, tmp_path):
    index, _, out = run(clips)
    with h5py.File(out.frames) as h5:
        frames = h5["frames"][:]
        assert frames.shape == (7, 256, 256, 3) and frames.dtype == np.uint8
        assert h5["clip_id"].asstr()[:].tolist() == index["clip_id"].tolist()
    means = frames.reshape(7, -1, 3).mean(axis=1)
    expected = np.array(COLOURS + COLOURS[:2] + [(200, 200, 200)], float)
    np.testing.assert_allclose(means, expected, atol=12)
    assert sorted(p.name for p in out.index.parent.iterdir()) == ["audio.h5", "frames.h5", "index.csv",
                                                                  "logmel.h5", "rejected.csv"]


def test_logmels_equal_librosa_on_the_decoded_file(clips, tmp_path):
    index, _, out = run(clips)
    table = Store(logmel_of(out)).index_table()
    assert table["second"].tolist() == index["second"].tolist()
    rows = H5Rows(logmel_of(out), "logmel")
    assert rows.shape == (7, 51, 64) and rows.read([0]).dtype == np.float32
    # The pair's wav is float PCM at 22.05 kHz, so ffmpeg's decode is exact and librosa must agree to the bit.
    wave, sr = librosa.load(tmp_path / "c.wav", sr=None)
    mel = librosa.feature.melspectrogram(y=wave[:22050], sr=sr, n_fft=882, hop_length=441, n_mels=64)
    np.testing.assert_allclose(rows.read([6])[0], np.log(mel + np.spacing(1)).T, rtol=1e-5, atol=1e-4)
    # Video rows: the 440 Hz tone peaks in the mel band holding 440 Hz, the 880 Hz one higher up.
    assert rows.read([0])[0].mean(0).argmax() < rows.read([4])[0].mean(0).argmax()


def test_whole_file_test_logmels_have_each_recordings_length(clips, tmp_path):
    from msl_core.ingest import whole_file_logmel, write_test_logmels
    from msl_core.stores.logmel import WholeFileAudio

    index, _, _ = run(clips)
    assert write_test_logmels(index, tmp_path / "logmel_test.h5", LogMelParams()) == 2  # b's two seconds
    audio = WholeFileAudio(tmp_path / "logmel_test.h5")
    b = index[index["clip_id"] == "b"]
    expected = whole_file_logmel(b.iloc[0].fillna(""), LogMelParams())
    assert expected.shape[0] > 51  # the whole 2-s recording, not one window
    for row in b["row"]:
        np.testing.assert_array_equal(audio.read_row(int(row)), expected)
    with pytest.raises(BadInput, match="logmel_test.h5: has no whole-file audio for index row 0"):
        audio.read_row(0)


def test_reader_returns_rows_in_the_order_asked(clips, tmp_path):
    _, _, out = run(clips)
    rows = H5Rows(logmel_of(out), "logmel")
    both = rows.read([5, 1, 5])
    np.testing.assert_array_equal(both[0], rows.read([5])[0])
    np.testing.assert_array_equal(both[1], rows.read([1])[0])


def test_an_interrupted_ingestion_resumes_where_it_stopped(clips, tmp_path, monkeypatch):
    from msl_core import ingest as ingestion
    from msl_core import media

    decode, calls, stop = media.decode, [], [True]

    def interrupted(path, *args, **kwargs):
        calls.append(path)
        if str(path).endswith("b.mp4") and stop:
            stop.clear()
            raise KeyboardInterrupt
        return decode(path, *args, **kwargs)

    monkeypatch.setattr(media, "decode", interrupted)
    monkeypatch.setattr(ingestion.Progress, "CHECKPOINT_S", 0.0)  # a checkpoint after every clip
    with pytest.raises(KeyboardInterrupt):
        run(clips)
    out = tmp_path / "out"
    assert (out / "frames.h5.partial").exists() and not (out / "frames.h5").exists()
    calls.clear()
    index, _, resumed = run(clips)
    assert [p.rsplit("/", 1)[-1] for p in map(str, calls)] == ["b.mp4", "c.wav"]  # a was done before
    frames = h5py.File(resumed.frames)["frames"][:]
    monkeypatch.setattr(media, "decode", decode)
    (tmp_path / "again").mkdir()
    clean = ingest(load_manifest(clips), Outputs.in_folder(tmp_path / "again"), SETTINGS)[0]
    pd.testing.assert_frame_equal(index, clean)
    np.testing.assert_array_equal(frames, h5py.File(tmp_path / "again/frames.h5")["frames"][:])
    assert sorted(p.name for p in out.iterdir()) == ["audio.h5", "frames.h5", "index.csv", "logmel.h5", "rejected.csv"]


@pytest.mark.parametrize("case, reason", [
    ("corrupt", "unreadable media"),
    ("silent", "no audio stream"),
    ("short", "too short"),
    ("missing", "file not found"),
])
def test_bad_inputs_name_the_file_and_reason(tmp_path, case, reason):
    path = tmp_path / f"{case}.mp4"
    if case == "corrupt":
        path.write_bytes(np.random.default_rng(0).bytes(5000))
    elif case == "silent":
        make_video(path, COLOURS[:2])
    elif case == "short":
        make_video(path, COLOURS[:1], fps=5, audio=tone(0.5))
    manifest = manifest_file(tmp_path, [{"clip_id": case, "video_path": path.name, "split": "train"}])
    with pytest.raises(MslError) as err:
        run(manifest)
    assert str(path) in str(err.value) and reason in str(err.value)
    assert not (tmp_path / "out/index.csv").exists() and not (tmp_path / "out/frames.h5").exists()
    good = make_video(tmp_path / "good.mp4", COLOURS[:2], audio=tone(2.0))
    manifest = manifest_file(tmp_path, [{"clip_id": case, "video_path": path.name, "split": "train"},
                                        {"clip_id": "good", "video_path": good.name, "split": "train"}])
    index_rows, rejected, _ = run(manifest, skip_bad_inputs=True)
    assert [r.clip_id for r in rejected] == [case] and reason in rejected[0].reason
    assert set(index_rows["clip_id"]) == {"good"}


def test_one_pass_names_every_bad_clip(tmp_path):
    (tmp_path / "junk.mp4").write_bytes(b"not a video")
    silent = make_video(tmp_path / "silent.mp4", COLOURS[:2])
    good = make_video(tmp_path / "good.mp4", COLOURS[:2], audio=tone(2.0))
    manifest = manifest_file(tmp_path, [{"clip_id": p.stem, "video_path": p.name, "split": "train"}
                                        for p in (tmp_path / "junk.mp4", good, silent)])
    with pytest.raises(MslError, match="2 unusable clip") as err:
        run(manifest, workers=2)
    lines = str(err.value).splitlines()[1:]
    assert [line.split(":")[0].strip() for line in lines] == [str(tmp_path / "junk.mp4"), str(silent)]
    assert "no audio stream" in lines[1]


def test_manifest_errors_name_the_problem(tmp_path):
    bad = manifest_file(tmp_path, [{"clip_id": "a", "video_path": "a.mp4", "split": "training"}])
    with pytest.raises(BadInput, match=r"column split: unknown value\(s\) at row 2: 'training'"):
        load_manifest(bad)
    with pytest.raises(BadInput, match="manifest not found"):
        load_manifest(tmp_path / "nope.csv")
    twice = manifest_file(tmp_path, [{"clip_id": "a", "video_path": "a.mp4", "split": "train"}] * 2)
    with pytest.raises(BadInput, match="column clip_id: duplicate id\\(s\\) at row 2: 'a', row 3: 'a'"):
        load_manifest(twice)
    bad = manifest_file(tmp_path, [{"clip_id": "a", "video_path": "a.mp4", "split": "train", "start_s": "abc"}])
    with pytest.raises(BadInput, match=r"row 2, column start_s: 'abc' is not a number"):
        load_manifest(bad)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("clip_id,video_path,split\nd\xe9j\xe0,a.mp4,train\n".encode("latin-1"))
    with pytest.raises(BadInput, match="not UTF-8"):
        load_manifest(latin)


def test_decoding_the_audio_of_a_silent_video_says_no_audio_stream(tmp_path):
    from msl_core.media import decode_audio

    path = make_video(tmp_path / "silent.mp4", COLOURS[:2])
    with pytest.raises(BadInput, match="no audio stream"):
        decode_audio(path, 32000)


@pytest.mark.parametrize("faststart, keep, reason", [
    (True, 0.88, "cut short"), (True, 0.60, "cut short"), (False, 0.88, "unreadable media"),
])
def test_a_file_cut_mid_stream_is_a_bad_input_never_padded(tmp_path, faststart, keep, reason):
    whole = make_video(tmp_path / "whole.mp4", COLOURS * 2, audio=tone(8.0))
    if faststart:
        fast = tmp_path / "fast.mp4"
        subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(whole), "-c", "copy", "-movflags",
                        "+faststart", str(fast)], check=True)
        whole = fast
    data = whole.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: int(len(data) * keep)])
    good = make_video(tmp_path / "good.mp4", COLOURS[:2], audio=tone(2.0))
    manifest = manifest_file(tmp_path, [{"clip_id": "cut", "video_path": "cut.mp4", "split": "train"},
                                        {"clip_id": "good", "video_path": good.name, "split": "train"}])
    with pytest.raises(MslError, match=reason):
        run(manifest)
    index, rejected, out = run(manifest, skip_bad_inputs=True)
    assert [r.clip_id for r in rejected] == ["cut"] and reason in rejected[0].reason
    assert set(index["clip_id"]) == {"good"}  # none of the cut clip's rows reach any store
    assert Store(out.frames).index_table()["clip_id"].tolist() == ["good", "good"]


@pytest.mark.parametrize("start_s", [0.0, 1.5])
def test_one_decode_gives_ffmpegs_own_frames_and_audio(tmp_path, start_s):
    """The frames of the one-pass decode equal ffmpeg's fps + scale filters run on the video alone (the separate
    `frames` decode msl used before), the audio equals the audio decoded alone, sample for sample."""
    from msl_core.media import decode

    video = make_video(tmp_path / "v.mp4", COLOURS, fps=25, size=(320, 240), audio=tone(4.0))
    both = decode(video, 22050, fps=1.0, size=256, start_s=start_s)
    seek = ["-ss", str(start_s)] if start_s else []
    alone = subprocess.run(["ffmpeg", "-v", "error", *seek, "-i", str(video), "-vf",
                            "fps=fps=1.0,scale=256:256:flags=bilinear", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                           capture_output=True, check=True).stdout
    np.testing.assert_array_equal(both.frames, np.frombuffer(alone, np.uint8).reshape(-1, 256, 256, 3))
    audio = subprocess.run(["ffmpeg", "-v", "error", *seek, "-i", str(video), "-ac", "1", "-ar", "22050", "-f",
                            "f32le", "-"], capture_output=True, check=True).stdout
    np.testing.assert_array_equal(both.wave, np.frombuffer(audio, np.float32))
    assert both.declared == pytest.approx(4.0, abs=0.05) and both.video_s == pytest.approx(4.0, abs=0.05)


def test_file_names_that_are_not_utf8_still_decode(tmp_path):
    import os

    import cv2

    from msl_core.media import decode, decode_audio, probe, read_image

    video = make_video(tmp_path / "v.mp4", COLOURS[:2], audio=tone(2.0))
    odd = os.fsdecode(os.fsencode(str(tmp_path)) + b"/caf\xe9.mp4")  # Latin-1 bytes, as an old camera writes them
    os.rename(video, os.fsencode(odd))
    assert probe(odd).audio_duration == pytest.approx(2.0, abs=0.1)
    assert decode_audio(odd, 8000).size == pytest.approx(16000, abs=800)
    assert len(decode(odd, 8000, fps=1.0, size=16).frames) == 2
    image = os.fsdecode(os.fsencode(str(tmp_path)) + b"/\xe9t\xe9.png")
    cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))[1].tofile(os.fsencode(image))
    assert read_image(image, 16).shape == (16, 16, 3)


@pytest.mark.parametrize("n_shards", [3, 5])
def test_shards_joined_give_the_rows_of_one_job_byte_for_byte(clips, tmp_path, n_shards):
    from msl_core.ingest import join_shards, shard_of

    make_video(tmp_path / "d.mp4", COLOURS[:3], audio=tone(3.0, 330))
    (tmp_path / "e.mp4").write_bytes(b"not a video")
    manifest = pd.concat([pd.read_csv(clips), pd.DataFrame([
        {"clip_id": "d", "video_path": "d.mp4", "split": "train"},
        {"clip_id": "e", "video_path": "e.mp4", "split": "train"}])])
    manifest.to_csv(clips, index=False)
    whole = run(clips, skip_bad_inputs=True)[2]
    shards = [Outputs.in_folder(tmp_path / "shards" / str(k)) for k in range(n_shards)]
    for k, shard in enumerate(shards):  # 5 shards of 5 clips: one holds only the bad clip
        shard.index.parent.mkdir(parents=True)
        ingest(shard_of(load_manifest(clips), k, n_shards), shard, SETTINGS, shard=True)
    joined = Outputs.in_folder(tmp_path / "joined")
    joined.index.parent.mkdir()
    with pytest.raises(MslError, match=r"1 unusable clip.*\n.*e\.mp4: unreadable media"):
        join_shards(shards, joined)  # a bad clip in any shard stops the join, named as one job names it
    join_shards(shards, joined, skip_bad_inputs=True)
    write_logmels(joined.audio, logmel_of(joined), LogMelParams())
    assert joined.index.read_bytes() == whole.index.read_bytes()
    assert joined.rejected.read_bytes() == whole.rejected.read_bytes()
    for name in ("frames", "audio", "logmel"):
        def path(out, name=name):
            return logmel_of(out) if name == "logmel" else getattr(out, name)

        with h5py.File(path(whole)) as one, h5py.File(path(joined)) as many:
            assert many[name].is_virtual == (name != "logmel") and not one[name].is_virtual
            assert one[name][:].tobytes() == many[name][:].tobytes()
            assert dict(one[name].attrs) == dict(many[name].attrs)
            for key in ("clip_id", "second", "split"):
                np.testing.assert_array_equal(one[key][:], many[key][:])
        reads = H5Rows(path(joined), name).read([9, 0, 4])  # across shards, in the order asked
        np.testing.assert_array_equal(reads, H5Rows(path(whole), name).read([9, 0, 4]))
    (tmp_path / "shards/1/frames.h5").unlink()
    with pytest.raises(BadInput, match=r"shard file\(s\) \['\.\./shards/1/frames\.h5'\] are missing"):
        H5Rows(joined.frames, "frames")
