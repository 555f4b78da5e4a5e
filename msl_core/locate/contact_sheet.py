"""A captioned contact sheet of `msl locate` overlays (a few frames of each, with what was heard then), and the\nsingle richest frame of a folder of overlays (the README's still, docs/locate_still.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import cv2
import numpy as np

from msl_core.errors import BadInput
from msl_core.media import ffmpeg_name, probe
from msl_core.scenes.render import read_frame_at

TILE_WIDTH = 320
CAPTION_HEIGHT = 22


def _caption(window: dict, clip: str, top: int = 2) -> str:
    """'clip 3s: dogs .91, cattle .40 off +2': the `top` most probable sources ('off': not on screen)."""
    sources = window["sources"]
    heard = ", ".join(f"{s['category']} {s['probability']:.2f}".replace(" 0.", " .")
                      + (" off" if s["on_screen"] is False else "") for s in sources[:top])
    more = f" +{len(sources) - top}" if len(sources) > top else ""
    return f"{clip} {window['start_s']:g}s: {heard or 'nothing heard'}{more}"


def _tile(picture: np.ndarray, caption: str) -> np.ndarray:
    h, w = picture.shape[:2]
    image = cv2.resize(picture, (TILE_WIDTH, round(h * TILE_WIDTH / w)), interpolation=cv2.INTER_AREA)
    strip = np.full((CAPTION_HEIGHT, TILE_WIDTH, 3), 24, np.uint8)
    cv2.putText(strip, caption[:52], (4, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (240, 240, 240), 1, cv2.LINE_AA)
    return np.concatenate([image, strip])


def clip_tiles(picture: Path, located_json: Path, clip: str, per_clip: int) -> list[np.ndarray]:
    """`per_clip` frames of an overlay video spread over its windows (a PNG overlay gives itself, once)."""
    windows = json.loads(Path(located_json).read_text())["windows"]
    if picture.suffix == ".png":
        image = cv2.cvtColor(cv2.imread(str(picture)), cv2.COLOR_BGR2RGB)
        return [_tile(image, f"{clip}: " + ", ".join(sorted({s["category"] for w in windows for s in w["sources"]})))]
    picks = np.unique(np.linspace(0, len(windows) - 1, per_clip).round().astype(int))
    return [_tile(read_frame_at(picture, int(windows[k]["start_s"])), _caption(windows[k], clip)) for k in picks]


def _pad(tile: np.ndarray, height: int) -> np.ndarray:
    return np.pad(tile, ((0, height - tile.shape[0]), (0, 0), (0, 0)))


def overlay_sheet(items: list[tuple[str, Path, Path]], out_png: str | Path, per_clip: int = 3) -> None:
    """items: (clip id, overlay .mp4/.png, its .json) → one row of captioned frames per clip."""
    rows = [clip_tiles(picture, js, clip, per_clip) for clip, picture, js in items]
    height = max(t.shape[0] for row in rows for t in row)
    width = max(len(row) for row in rows)
    blank = np.zeros((height, TILE_WIDTH, 3), np.uint8)
    grid = np.concatenate([np.concatenate([_pad(t, height) for t in row] + [blank] * (width - len(row)), axis=1)
                           for row in rows])
    Path(out_png).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out_png), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))


def frame_at(video: str | Path, t: float) -> np.ndarray:
    """The picture of `video` shown at `t` seconds, RGB uint8 at its own size."""
    info = probe(video)
    raw = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-ss", f"{t:.3f}", "-i", ffmpeg_name(video),
                          "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:"], capture_output=True,
                         check=False).stdout
    if len(raw) != info.width * info.height * 3:
        raise BadInput(video, f"has no frame at {t:g} s")
    return np.frombuffer(raw, np.uint8).reshape(info.height, info.width, 3)


def richest_window(folder: str | Path, clip: str | None = None, start_s: float | None = None) -> tuple[Path, dict, dict]:
    """The overlay window of `folder` (msl locate's outputs) that shows the most: most sources drawn (on screen),
    then the highest summed probability; or the one of `clip` starting at `start_s`. → (video, its JSON, window)."""
    found = []
    for js in sorted(Path(folder).glob("*.json")):
        video = js.with_suffix(".mp4")
        if not video.is_file() or (clip is not None and js.stem != clip):
            continue
        located = json.loads(js.read_text())
        for w in located["windows"]:
            if start_s is None or abs(w["start_s"] - start_s) < 1e-6:
                shown = [s for s in w["sources"] if s["on_screen"] is not False]
                found.append(((len(shown), sum(s["probability"] for s in shown)), video, located, w))
    if not found:
        raise BadInput(folder, "has no overlay window" + (f" of clip {clip}" if clip else "")
                       + (f" starting at {start_s:g} s" if start_s is not None else ""))
    _, video, located, window = max(found, key=lambda item: item[0])
    return video, located, window
