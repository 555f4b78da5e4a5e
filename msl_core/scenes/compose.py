"""Composing one scene: a real photograph as background, 2-4 stamps pasted at fixed positions, a sounding schedule.

The picture is static for the whole clip (objects stay put); only the set of sounding objects changes from second to
second (AVE-like), so the frame that ffmpeg's fps=1 filter returns at t = s is the frame of every second s.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import lru_cache

import cv2
import numpy as np
import skimage.data

from msl_core.scenes.config import ScenesConfig
from msl_core.scenes.stamps import Stamp

# Real CC0 photographs bundled with scikit-image (no download); those showing animals, people or vehicles are left out
# because they would be unlabelled sound-source look-alikes.
BACKGROUNDS = ("brick", "coffee", "coins", "grass", "gravel", "hubble_deep_field", "moon", "page", "rocket")
MAX_TRIES = 200


@dataclass
class PlacedObject:
    """A stamp at a fixed place: its scaled size (w, h) and top-left corner (x, y), which may lie outside the frame."""

    stamp: str
    cls: str
    x: int
    y: int
    w: int
    h: int
    gain_db: float
    offsets: list[int] = field(default_factory=list)   # per second: sample offset of its recording when sounding


@dataclass
class Scene:
    clip_id: str
    split: str
    background: str
    crop: tuple[float, float, float, bool]  # background crop: left, top (fractions), size (fraction), mirrored
    objects: list[PlacedObject]
    sounding: list[list[int]]                # per second: indices into `objects` (drawing order) that sound
    noise_seed: int

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Scene:
        data = dict(data)
        data["objects"] = [PlacedObject(**o) for o in data["objects"]]
        data["crop"] = tuple(data["crop"])
        return cls(**data)


@lru_cache(maxsize=len(BACKGROUNDS))
def load_background(name: str) -> np.ndarray:
    """A scikit-image sample photograph as RGB uint8 (H, W, 3); cached, treat as read-only."""
    image = getattr(skimage.data, name)()
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return np.ascontiguousarray(image[..., :3].astype(np.uint8))


def render_background(image: np.ndarray, crop: tuple[float, float, float, bool], width: int, height: int) -> np.ndarray:
    """Crop a width:height window of `image` (size = fraction of the largest window that fits), resize, mirror."""
    left, top, size, mirrored = crop
    ih, iw = image.shape[:2]
    full_w = min(iw, ih * width / height)
    cw, ch = full_w * size, full_w * size * height / width
    x0, y0 = int(left * (iw - cw)), int(top * (ih - ch))
    window = image[y0:y0 + int(ch), x0:x0 + int(cw)]
    frame = cv2.resize(window, (width, height), interpolation=cv2.INTER_AREA)
    return frame[:, ::-1].copy() if mirrored else frame


def scale_stamp(rgba: np.ndarray, w: int, h: int) -> np.ndarray:
    """Resize an RGBA stamp to (h, w, 4); area averaging when shrinking keeps the alpha edge faithful."""
    shrink = w * h < rgba.shape[0] * rgba.shape[1]
    return cv2.resize(rgba, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def stamp_mask(scaled: np.ndarray) -> np.ndarray:
    """The object mask of a (scaled) stamp: alpha >= 128, bool (h, w)."""
    return scaled[..., 3] >= 128


def _paste_window(obj: PlacedObject, width: int, height: int):
    """Frame and stamp slices of the part of `obj` inside the frame (None when nothing is inside)."""
    fx0, fy0, fx1, fy1 = max(obj.x, 0), max(obj.y, 0), min(obj.x + obj.w, width), min(obj.y + obj.h, height)
    if fx1 <= fx0 or fy1 <= fy0:
        return None
    frame_sl = (slice(fy0, fy1), slice(fx0, fx1))
    stamp_sl = (slice(fy0 - obj.y, fy1 - obj.y), slice(fx0 - obj.x, fx1 - obj.x))
    return frame_sl, stamp_sl


def label_map(objects: list[PlacedObject], stamps: dict[str, Stamp], width: int, height: int) -> np.ndarray:
    """Which object each pixel shows, int16 (H, W), -1 for background; later objects cover earlier ones."""
    labels = np.full((height, width), -1, dtype=np.int16)
    for i, obj in enumerate(objects):
        window = _paste_window(obj, width, height)
        if window is None:
            continue
        frame_sl, stamp_sl = window
        mask = stamp_mask(scale_stamp(stamps[obj.stamp].rgba, obj.w, obj.h))[stamp_sl]
        labels[frame_sl][mask] = i
    return labels


def render_frame(scene: Scene, stamps: dict[str, Stamp], width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """The clip's picture, RGB uint8 (H, W, 3), and its label map (see `label_map`)."""
    frame = render_background(load_background(scene.background), scene.crop, width, height).astype(np.float32)
    for obj in scene.objects:
        window = _paste_window(obj, width, height)
        if window is None:
            continue
        frame_sl, stamp_sl = window
        scaled = scale_stamp(stamps[obj.stamp].rgba, obj.w, obj.h)[stamp_sl].astype(np.float32)
        alpha = scaled[..., 3:] / 255.0
        frame[frame_sl] = frame[frame_sl] * (1 - alpha) + scaled[..., :3] * alpha
    return np.clip(frame + 0.5, 0, 255).astype(np.uint8), label_map(scene.objects, stamps, width, height)


def object_boxes(labels: np.ndarray, n_objects: int) -> list[tuple[list[int], int] | None]:
    """Per object: COCO box [x, y, w, h] (pixels, tight around its visible mask) and mask area; None if unseen."""
    boxes = []
    for i in range(n_objects):
        ys, xs = np.nonzero(labels == i)
        if ys.size == 0:
            boxes.append(None)
            continue
        x0, y0 = int(xs.min()), int(ys.min())
        boxes.append(([x0, y0, int(xs.max()) + 1 - x0, int(ys.max()) + 1 - y0], int(ys.size)))
    return boxes


def _placement_ok(objects: list[PlacedObject], stamps: dict[str, Stamp], cfg: ScenesConfig) -> bool:
    """Each object keeps >= (1 - max_outside) of its mask in frame and >= (1 - max_occlusion) of that uncovered."""
    labels = label_map(objects, stamps, cfg.width, cfg.height)
    for i, obj in enumerate(objects):
        full = stamp_mask(scale_stamp(stamps[obj.stamp].rgba, obj.w, obj.h))
        window = _paste_window(obj, cfg.width, cfg.height)
        inside = int(full[window[1]].sum()) if window else 0
        if inside < (1 - cfg.max_outside) * full.sum():
            return False
        if (labels == i).sum() < (1 - cfg.max_occlusion) * inside:
            return False
    return True


def place_objects(rng: np.random.Generator, chosen: list[Stamp], cfg: ScenesConfig) -> list[PlacedObject]:
    """Random scales and positions (edge cropping and occlusion allowed but bounded), redrawn until valid."""
    stamps = {s.name: s for s in chosen}
    for attempt in range(MAX_TRIES):
        shrink = 1.0 - 0.5 * attempt / MAX_TRIES   # crowded draws get smaller objects until they fit
        objects = []
        for stamp in chosen:
            h0, w0 = stamp.rgba.shape[:2]
            side = rng.uniform(*cfg.scale_range) * cfg.height * shrink
            factor = side / max(h0, w0)
            w, h = max(2, round(w0 * factor)), max(2, round(h0 * factor))
            x = int(rng.integers(-w // 3, cfg.width - 2 * w // 3 + 1))
            y = int(rng.integers(-h // 3, cfg.height - 2 * h // 3 + 1))
            gain = float(rng.uniform(*cfg.gain_db))
            objects.append(PlacedObject(stamp.name, stamp.cls, x, y, w, h, round(gain, 3)))
        if _placement_ok(objects, stamps, cfg):
            return objects
    raise RuntimeError(f"could not place {[s.name for s in chosen]} within the occlusion bounds")


def sounding_schedule(rng: np.random.Generator, n_objects: int, cfg: ScenesConfig) -> list[list[int]]:
    """Per second, the 1-2 objects that sound (always leaving one silent); redrawn with `change_prob`, preferring
    objects not heard yet so that every object sounds at some point when the clip is long enough."""
    heard: set[int] = set()
    schedule: list[list[int]] = []
    for second in range(cfg.duration_s):
        if schedule and rng.random() >= cfg.change_prob:
            schedule.append(list(schedule[-1]))
            continue
        k = min(int(rng.integers(cfg.sounding_per_second[0], cfg.sounding_per_second[1] + 1)), n_objects - 1)
        fresh = [i for i in range(n_objects) if i not in heard]
        rest = [i for i in range(n_objects) if i in heard]
        order = list(rng.permutation(fresh)) + list(rng.permutation(rest))
        chosen = sorted(int(i) for i in order[:k])
        heard.update(chosen)
        schedule.append(chosen)
    return schedule


def sample_scene(rng: np.random.Generator, clip_id: str, split: str, chosen: list[Stamp],
                 cfg: ScenesConfig) -> Scene:
    """A full scene for the given stamps: background crop, placement, gains, schedule and recording offsets."""
    background = BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
    crop = (round(float(rng.random()), 4), round(float(rng.random()), 4), round(float(rng.uniform(0.6, 1.0)), 4),
            bool(rng.random() < 0.5))
    objects = place_objects(rng, chosen, cfg)
    for obj, stamp in zip(objects, chosen):
        short = stamp.audio.size <= cfg.sample_rate
        obj.offsets = [int(rng.integers(stamp.audio.size)) if short else int(rng.choice(stamp.active_starts))
                       for _ in range(cfg.duration_s)]
    schedule = sounding_schedule(rng, len(objects), cfg)
    return Scene(clip_id, split, background, crop, objects, schedule, int(rng.integers(2**31)))
