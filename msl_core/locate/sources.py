"""Per-window sources from the stage-2 maps: which categories are heard, where, and whether on screen.

For window j and category c with audio probability σ(z^a_c) above the threshold:
  peak (x, y)  the arg-max of the category's map S_c, stretched to the input picture (the model saw it whole);
  box          the bounding box of the region around the peak where S_c ≥ 0.5·max S_c (the evaluation's
               binarisation of a max-normalised map, docs/method.md §5);
  score_raw    max S_c, the cosine similarity of the sound's and the best position's embeddings, in [0, 1];
  score_norm   max S_c divided by the largest peak over all categories in the window (relative strength);
  on_screen    score_raw ≥ the model's on-screen threshold (`training.on_screen`); null when it has none.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

BOX_LEVEL = 0.5


@dataclass(frozen=True)
class Source:
    category: str
    probability: float
    peak: tuple[int, int]  # (x, y) in input pixels
    box: tuple[int, int, int, int]  # (x1, y1, x2, y2) in input pixels, inclusive
    score_raw: float
    score_norm: float
    on_screen: bool | None


@dataclass(frozen=True)
class Window:
    index: int
    start_s: float
    end_s: float
    sources: list[Source]


def upsample(class_map: np.ndarray, width: int, height: int) -> np.ndarray:
    """A (S, S) map → (height, width) float32, bilinear (the model's frame is the whole picture, stretched)."""
    return cv2.resize(class_map.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)


def peak_and_box(full: np.ndarray) -> tuple[tuple[int, int], tuple[int, int, int, int]]:
    """Arg-max of a map and the box of the connected region ≥ BOX_LEVEL·max that contains it."""
    y, x = np.unravel_index(int(np.argmax(full)), full.shape)
    mask = (full >= BOX_LEVEL * full[y, x]).astype(np.uint8)
    _, labels = cv2.connectedComponents(mask, connectivity=8)
    left, top, w, h = cv2.boundingRect((labels == labels[y, x]).astype(np.uint8))
    return (int(x), int(y)), (left, top, left + w - 1, top + h - 1)


def window_sources(index: int, start_s: float, window_s: float, prob: np.ndarray, class_maps: np.ndarray,
                   categories: tuple[str, ...], keep: list[int], threshold: float, on_screen: float | None,
                   width: int, height: int) -> tuple[Window, dict[str, np.ndarray]]:
    """prob (C,), class_maps (C, S, S) of one window → its heard sources (most probable first) and, for drawing,
    each one's map at input size, max-normalised."""
    peaks = class_maps.reshape(len(categories), -1).max(1)
    strongest = max(float(peaks.max()), 1e-12)
    sources, maps = [], {}
    for c in sorted(keep, key=lambda c: -prob[c]):
        if prob[c] <= threshold:
            continue
        full = upsample(class_maps[c], width, height)
        name, raw = categories[c], float(peaks[c])
        (x, y), box = peak_and_box(full) if raw > 0 else ((width // 2, height // 2), (0, 0, width - 1, height - 1))
        sources.append(Source(name, round(float(prob[c]), 4), (x, y), box, round(raw, 4), round(raw / strongest, 4),
                              None if on_screen is None else raw >= on_screen))
        maps[name] = full / max(float(full.max()), 1e-12)
    return Window(index, round(start_s, 4), round(start_s + window_s, 4), sources), maps


def write_json(path: Path, header: dict, windows: list[Window]) -> None:
    body = [{"index": w.index, "start_s": w.start_s, "end_s": w.end_s, "sources": [asdict(s) for s in w.sources]}
            for w in windows]
    path.write_text(json.dumps({**header, "windows": body}, indent=1) + "\n")


CSV_FIELDS = ("start_s", "end_s", "category", "probability", "peak_x", "peak_y", "box_x1", "box_y1", "box_x2",
              "box_y2", "score_raw", "score_norm", "on_screen")


def write_csv(path: Path, windows: list[Window]) -> None:
    """One row per (window, heard category); a window where nothing is heard has no row."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_FIELDS)
        for w in windows:
            for s in w.sources:
                on = "" if s.on_screen is None else str(s.on_screen).lower()
                writer.writerow([w.start_s, w.end_s, s.category, s.probability, *s.peak, *s.box, s.score_raw,
                                 s.score_norm, on])
