"""`msl locate` and the model file it reads: a tiny model trained by the project's loop on real tones and squares,
ffmpeg-made clips, the JSON/CSV/overlay outputs, and one clear line for each bad input."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from msl_core.cli import main
from msl_core.errors import BadInput
from msl_core.locate.inputs import audio_windows, frames_at
from msl_core.locate.run import LocateOptions, locate
from msl_core.locate.sources import window_sources
from msl_core.media import probe
from msl_core.models.localization import LocalizationConfig, localize_batch
from msl_core.spectrogram import LogMelParams
from msl_core.training.model_file import load_model_file
from support.tiny_model import moving_square_video, picture, sound, train_tiny_model


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield train_tiny_model(tmp_path_factory.mktemp("tiny"))
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return moving_square_video(tmp_path_factory.mktemp("clip") / "square.mp4")


def _run_cli(args, capsys) -> tuple[int, str]:
    argv = sys.argv
    sys.argv = ["msl", "locate", *map(str, args)]
    try:
        with pytest.raises(SystemExit) as exit_info:
            main()
            raise SystemExit(0)
    finally:
        sys.argv = argv
    return exit_info.value.code, capsys.readouterr().err


def _frame_at(path, t):
    raw = subprocess.run(["ffmpeg", "-v", "error", "-ss", str(t), "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "pipe:"], capture_output=True, check=True).stdout
    info = probe(path)
    return np.frombuffer(raw, np.uint8).reshape(info.height, info.width, 3).astype(np.int16)


def test_model_file_round_trip(model):
    mf = load_model_file(model)
    assert mf.stage == 2 and mf.categories == ("tone", "noise") and mf.dataset == "data"
    assert mf.inference.logmel == LogMelParams() and mf.inference.window_s == 1.0
    assert mf.inference.frame_size == (48, 48) and mf.inference.pixel_std == pytest.approx((0.229, 0.224, 0.225))
    assert {"cls_audio", "align", "loss"} <= set(mf.metrics)
    assert mf.on_screen.split == "val" and mf.on_screen.negatives == 12  # 9 val rows: 3 silent × 2 categories + 6 × the other one
    raw = torch.load(model, weights_only=True)
    for key, value in mf.model.state_dict().items():
        assert torch.equal(value, raw["state_dict"][key]), key
    card = (model.parent / "model_card.md").read_text()
    assert hashlib.sha256(model.read_bytes()).hexdigest() in card and "tone, noise" in card and "1 epochs" in card


def test_checkpoint_loads_weights_only(model):
    state = torch.load(model.parent / "checkpoint.pt", weights_only=True)
    assert state["epoch"] == 1 and isinstance(state["rng"]["numpy"][1], torch.Tensor)


def test_model_file_without_the_fields_or_with_code_is_refused(model, tmp_path):
    raw = torch.load(model, weights_only=True)
    old = {k: raw[k] for k in ("model_config", "state_dict", "stage", "config_hash", "epochs")}  # msl before locate
    torch.save(old, tmp_path / "old.pt")
    with pytest.raises(BadInput, match=r"old\.pt: was written by an older msl .*missing inference, dataset"):
        load_model_file(tmp_path / "old.pt")
    import datetime

    torch.save({**raw, "extra": datetime.date(2020, 1, 1)}, tmp_path / "code.pt")  # needs the unpickler
    with pytest.raises(BadInput, match=r"code\.pt: not a readable msl model file"):
        load_model_file(tmp_path / "code.pt")


def test_video_tone_starting_halfway(model, clip, tmp_path, capsys):
    code, err = _run_cli([clip, "--model", model, "--out", tmp_path / "out", "--quiet"], capsys)
    assert code == 0, err
    out = json.loads((tmp_path / "out" / "square.json").read_text())
    assert [w["start_s"] for w in out["windows"]] == [0, 1, 2, 3, 4, 5]
    heard = [[s["category"] for s in w["sources"]] for w in out["windows"]]
    assert heard == [[], [], [], ["tone"], ["tone"], ["tone"]]
    for w in out["windows"][3:]:
        s = w["sources"][0]
        x1, y1, x2, y2 = s["box"]
        assert 0 <= x1 <= s["peak"][0] <= x2 < 160 and 0 <= y1 <= s["peak"][1] <= y2 < 96
        assert 0 < s["score_raw"] <= 1 and s["score_norm"] == 1.0 and s["probability"] > 0.3
        assert s["on_screen"] == (s["score_raw"] >= out["on_screen_threshold"])
    rows = pd.read_csv(tmp_path / "out" / "square.csv")
    assert rows["start_s"].tolist() == [3.0, 4.0, 5.0] and set(rows["category"]) == {"tone"}

    video, source = probe(tmp_path / "out" / "square.mp4"), probe(clip)
    assert (video.width, video.height) == (160, 96) and video.audio_duration is not None
    assert video.video_duration == pytest.approx(source.video_duration, abs=0.11)
    assert video.audio_duration == pytest.approx(source.audio_duration, abs=0.1)
    # nothing heard at 1.5 s: below the legend the picture is the input's; at 4.5 s the tone's colour is blended in
    quiet_in, quiet_out = _frame_at(clip, 1.5), _frame_at(tmp_path / "out" / "square.mp4", 1.5)
    assert np.abs(quiet_in[50:] - quiet_out[50:]).mean() < 4
    heard_in, heard_out = _frame_at(clip, 4.5), _frame_at(tmp_path / "out" / "square.mp4", 4.5)
    px, py = out["windows"][4]["sources"][0]["peak"]
    assert np.abs(heard_in - heard_out)[max(0, py - 5) : py + 5, max(0, px - 5) : px + 5].mean() > 20


def test_frames_at_many_windows_and_past_the_end(tmp_path):
    """More windows than ffmpeg nests expressions (100), repeats, and windows after the last frame."""
    clip = tmp_path / "count.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=25:duration=6", "-c:v",
                    "libx264", "-pix_fmt", "yuv420p", str(clip)], check=True)
    info = probe(clip)
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(clip), "-vf", "fps=25", "-f", "rawvideo", "-pix_fmt",
                          "rgb24", "pipe:"], capture_output=True, check=True).stdout
    every = np.frombuffer(raw, np.uint8).reshape(-1, 48, 64, 3)
    wanted = np.concatenate([np.arange(0, 140), [140, 140, len(every) - 1, len(every) + 7]])
    got = list(frames_at(clip, info, wanted))
    assert len(got) == len(wanted)
    assert all(np.array_equal(g, every[min(i, len(every) - 1)]) for g, i in zip(got, wanted, strict=True))


def _plain_windows(model_path, clip, fps: float) -> list[dict]:
    """The per-window sources computed the plain way: every frame of the clip decoded at its frame rate, window j
    paired with frame round(j/fps · rate), the network exactly as stored (no folded batch norms), one batch."""
    mf = load_model_file(model_path)
    info = probe(clip)
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(clip), "-vf", f"fps={info.frame_rate}", "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "pipe:"], capture_output=True, check=True).stdout
    frames = np.frombuffer(raw, np.uint8).reshape(-1, info.height, info.width, 3)
    audio = audio_windows(clip, mf.inference, fps)
    picks = np.minimum(np.round(audio.starts * info.frame_rate).astype(int), len(frames) - 1)
    size = mf.inference.frame_size[::-1]
    small = np.stack([cv2.resize(frames[i], size, interpolation=cv2.INTER_LINEAR) for i in picks])
    out = localize_batch(mf.model, mf.model.prepare_frames(torch.from_numpy(small)),
                         torch.from_numpy(audio.logmel(0, len(audio))), LocalizationConfig())
    prob, maps = out["audio_prob"].numpy(), out["stage2_class"].numpy()
    windows = [window_sources(j, audio.starts[j], mf.inference.window_s, prob[j], maps[j], mf.categories,
                              list(range(len(mf.categories))), 0.3, mf.on_screen.threshold, info.width,
                              info.height)[0] for j in range(len(audio))]
    return json.loads(json.dumps([asdict(w) for w in windows]))


def test_streamed_sources_equal_the_plain_computation(model, clip, tmp_path):
    """The fast path (only the paired frames decoded, folded network, one frame per pass, overlay drawn by the
    encoder) changes no number of the per-window sources."""
    done = locate([clip], model, tmp_path / "out", LocateOptions(fps=2, progress=False))
    streamed = json.loads(done.json.read_text())["windows"]
    assert len(streamed) == 11 and any(w["sources"] for w in streamed)
    assert streamed == _plain_windows(model, clip, 2)


def test_phone_clip_is_located_upright(model, tmp_path):
    upright = moving_square_video(tmp_path / "upright.mp4", size=(96, 160))
    stored = tmp_path / "stored.mp4"  # the same pictures stored sideways (lossless) ...
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(upright), "-vf", "transpose=1", "-c:v", "libx264", "-qp", "0",
                    "-c:a", "copy", str(stored)], check=True)
    phone = tmp_path / "phone.mp4"  # ... with the display matrix that turns them upright, as a phone writes them
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(stored), "-c", "copy", "-metadata:s:v:0", "rotate=90",
                    str(phone)], check=True)
    info = probe(phone)
    assert (info.rotation, info.width, info.height) == (90, 96, 160)
    want = locate([upright], model, tmp_path / "a", LocateOptions(progress=False))
    got = locate([phone], model, tmp_path / "b", LocateOptions(progress=False))
    assert any(w.sources for w in got.windows) and got.windows == want.windows  # boxes in upright pixels
    overlay = probe(got.picture)
    assert (overlay.width, overlay.height, overlay.rotation) == (96, 160, 0)
    assert np.abs(_frame_at(got.picture, 4.5) - _frame_at(want.picture, 4.5)).mean() < 1


def test_the_gate_reaches_the_located_maps(model, tmp_path):
    """`evaluate.gate` / `--gate cam` multiplies each map by its own visual CAM here as in maps.h5."""
    image = tmp_path / "photo.jpg"
    cv2.imwrite(str(image), cv2.cvtColor(picture(300, 200, {"tone": (40, 60)}, 80), cv2.COLOR_RGB2BGR))
    wav = tmp_path / "rec.wav"
    sf.write(wav, sound("tone", 2.0, 22050), 22050)
    plain = locate([image, wav], model, tmp_path / "plain", LocateOptions(video=False, progress=False))
    gated = locate([image, wav], model, tmp_path / "gated", LocateOptions(gate="cam", video=False, progress=False))
    assert [s.category for s in gated.windows[0].sources] == [s.category for s in plain.windows[0].sources]
    assert gated.windows != plain.windows


def test_image_and_sound_of_other_rate_and_size(model, tmp_path):
    image = tmp_path / "photo.jpg"
    cv2.imwrite(str(image), cv2.cvtColor(picture(300, 200, {"tone": (40, 60)}, 80), cv2.COLOR_RGB2BGR))
    wav = tmp_path / "rec.wav"
    sf.write(wav, sound("tone", 3.0, 44100), 44100)
    done = locate([image, wav], model, tmp_path / "out", LocateOptions(fps=2, progress=False))
    assert [w.start_s for w in done.windows] == [0, 0.5, 1.0, 1.5, 2.0]
    assert all([s.category for s in w.sources] == ["tone"] for w in done.windows)
    drawn = cv2.imread(str(done.picture))
    assert done.picture.name == "photo.png" and drawn.shape == (200, 300, 3)
    assert not np.array_equal(drawn, cv2.imread(str(image)))
    header = json.loads(done.json.read_text())
    assert header["width"] == 300 and header["fps"] == 2 and header["duration_s"] == pytest.approx(3.0)

    only = locate([image, wav], model, tmp_path / "only", LocateOptions(categories=("noise",), video=False,
                                                                         progress=False))
    assert all(w.sources == [] for w in only.windows) and only.picture is None
    assert sorted(p.name for p in (tmp_path / "only").iterdir()) == ["photo.csv", "photo.json"]


def _bad_inputs(tmp_path, model):
    """(arguments, what the one-line message must say) for each kind of bad input."""
    silent = moving_square_video(tmp_path / "silent.mp4", seconds=2, with_audio=False)
    image = tmp_path / "photo.png"
    cv2.imwrite(str(image), picture(64, 48, {}, 10))
    short = tmp_path / "short.wav"
    sf.write(short, sound("tone", 0.5), 22050)
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    old = tmp_path / "old.pt"
    torch.save({k: v for k, v in torch.load(model, weights_only=True).items() if k != "inference"}, old)
    clip = moving_square_video(tmp_path / "ok.mp4", seconds=2)
    return [
        ([silent, "--model", model], "silent.mp4: has no audio stream"),
        ([image, "--model", model], "photo.png: is a still image"),
        ([image, short, "--model", model], "short.wav: the sound lasts 0.50 s, shorter than one 1-s window"),
        ([corrupt, "--model", model], "corrupt.mp4: unreadable media"),
        ([clip, "--model", old], "old.pt: was written by an older msl"),
        ([clip, "--model", model.parent.parent / "stage1" / "model.pt"], "is a stage-1 model"),
    ]


def test_bad_inputs_one_line_and_nothing_written(model, tmp_path, capsys):
    for args, message in _bad_inputs(tmp_path, model):
        out = tmp_path / "out"
        code, err = _run_cli([*args, "--out", out, "--quiet"], capsys)
        assert code == 2 and message in err, (args, err)
        assert len(err.strip().splitlines()) == 1 and err.startswith("msl: error: "), err
        assert not out.exists() or not any(out.iterdir())


def test_contact_sheet_of_overlays(model, clip, tmp_path):
    from msl_core.locate.contact_sheet import CAPTION_HEIGHT, TILE_WIDTH, overlay_sheet

    done = locate([clip], model, tmp_path / "out", LocateOptions(progress=False), name="c7")
    assert done.picture.name == "c7.mp4"
    overlay_sheet([("c7", done.picture, done.json), ("c7", done.picture, done.json)], tmp_path / "sheet.png")
    sheet = cv2.imread(str(tmp_path / "sheet.png"))
    assert sheet.shape == (2 * (TILE_WIDTH * 96 // 160 + CAPTION_HEIGHT), 3 * TILE_WIDTH, 3)
    # the README's still: the window that shows the most (the tone, heard from 3 s), its frame at mid-window
    script = Path(__file__).resolve().parents[1] / "docs" / "locate_still.py"
    printed = subprocess.run([sys.executable, str(script), str(tmp_path / "out"), str(tmp_path / "still.png")],
                             capture_output=True, text=True, check=True).stdout
    assert "c7, " in printed and ": tone " in printed and "on-screen threshold" in printed
    start = float(printed.split("c7, ")[1].split("-")[0])
    assert start >= 3 and np.array_equal(cv2.imread(str(tmp_path / "still.png"))[..., ::-1],
                                         _frame_at(done.picture, start + 0.5).astype(np.uint8))


def test_labels_that_share_a_peak_do_not_hide_each_other():
    """Two sources with one peak near the bottom edge (as on the README's still): each label keeps every pixel
    of its text, the second one moved a line away from the first."""
    from msl_core.locate.overlay import colours, window_layer
    from msl_core.locate.sources import Source, Window

    w, h, peak = 320, 240, (90, 232)
    palette = colours(("cattle", "equines"))
    a = Source("equines", 0.47, peak, (60, 170, 150, 239), 0.9, 1.0, True)
    b = Source("cattle", 0.32, peak, (60, 170, 150, 239), 0.9, 1.0, True)
    maps = {name: np.zeros((h, w), np.float32) for name in palette}

    def text_pixels(sources: list[Source], name: str) -> int:
        """Pixels near the category's own colour right of its marker: its label's letters (anti-aliased)."""
        rgba = window_layer(Window(0, 0.0, 1.0, sources), maps, palette, [], w, h).rgba[:, peak[0] + 8 :]
        return int((np.abs(rgba[..., :3].astype(int) - palette[name]).max(-1) < 80).sum())

    alone = {s.category: text_pixels([s], s.category) for s in (a, b)}
    assert min(alone.values()) > 20
    assert {s.category: text_pixels([a, b], s.category) for s in (a, b)} == alone


def test_odd_sized_clip_whose_sound_outlasts_its_picture(model, clip, tmp_path):
    """An odd-sized picture (the overlay padded to even sides for 4:2:0) that stops at 4 s while the sound goes on
    to 6 s: the windows after the picture's end take its last frame, and the overlay keeps the whole sound."""
    odd = tmp_path / "odd.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(clip), "-vf", "trim=duration=4,scale=161:97", "-c:v", "libx264",
                    "-pix_fmt", "yuv444p", "-c:a", "copy", str(odd)], check=True)
    info = probe(odd)
    assert (info.width, info.height) == (161, 97) and info.video_duration < 4.2 < info.audio_duration
    done = locate([odd], model, tmp_path / "out", LocateOptions(progress=False))
    located = json.loads(done.json.read_text())["windows"]
    assert len(located) == 6 and located == _plain_windows(model, odd, 1)
    overlay = probe(done.picture)
    assert (overlay.width, overlay.height) == (162, 98) and overlay.audio_duration == pytest.approx(6, abs=0.1)
    assert overlay.video_duration == pytest.approx(info.video_duration, abs=0.11)
    drawn, plain = _frame_at(done.picture, 3.5)[:97, :161], _frame_at(odd, 3.5)
    assert np.abs(drawn - plain).max(-1).mean() > 2  # the tone heard from 3 s: its map blended in


def test_interrupt_mid_video_stops_at_once_and_writes_nothing(model, clip, tmp_path, monkeypatch):
    """Ctrl-C while the third window is drawn (the frame decoder and the overlay encoder running): raised
    promptly, no thread left behind, no file written."""
    import threading
    import time

    from msl_core.locate import run

    drawn, draw = [], run.window_layer

    def interrupted(*args, **kwargs):
        drawn.append(time.perf_counter())
        if len(drawn) == 3:
            raise KeyboardInterrupt
        return draw(*args, **kwargs)

    monkeypatch.setattr(run, "window_layer", interrupted)
    before = set(threading.enumerate())
    with pytest.raises(KeyboardInterrupt):
        locate([clip], model, tmp_path / "out", LocateOptions(progress=False))
    assert time.perf_counter() - drawn[-1] < 2
    assert not any(t.is_alive() and t.name != "tqdm_monitor" for t in set(threading.enumerate()) - before)
    assert not any((tmp_path / "out").iterdir())
