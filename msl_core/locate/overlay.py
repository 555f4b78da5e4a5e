"""Drawing the sources over a picture: one colour per category, its map blended in, its region outlined, its
name and probability at the peak, and a legend of every category heard in the input.

A window's drawing is computed once as an RGBA layer; the encoder composites it onto each of the window's frames,
so the cost per frame does not grow with the number of sources.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from msl_core.locate.sources import BOX_LEVEL, Window

# matplotlib's tab10, RGB: category k of the model always gets colour k (mod 10) in every output
PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]
MAX_ALPHA = 0.55  # the map never hides the picture
FLOOR = 0.25  # map values below this fraction of the peak stay transparent
FONT = cv2.FONT_HERSHEY_SIMPLEX
BLEND_STEP = 4  # the maps' colours are computed at 1/4 of the picture's size


def colours(categories: tuple[str, ...]) -> dict[str, tuple[int, int, int]]:
    return {name: PALETTE[k % len(PALETTE)] for k, name in enumerate(categories)}


@dataclass(frozen=True)
class Layer:
    """A window's drawing as straight RGBA: ffmpeg's overlay filter composites it onto every frame of the window
    (in the encoder, so the frames never pass through Python); `apply` draws it onto a still picture."""

    rgba: np.ndarray  # (H, W, 4) uint8

    def apply(self, picture: np.ndarray) -> np.ndarray:
        """picture · (1 − alpha) + colour · alpha, RGB uint8."""
        alpha = self.rgba[..., 3:].astype(np.float32) / 255
        return np.round(picture * (1 - alpha) + self.rgba[..., :3] * alpha).astype(np.uint8)


def _text(ink: np.ndarray, text: str, x: int, y: int, scale: float, colour: tuple[int, ...],
          taken: list[tuple[int, int, int, int]] | None = None) -> None:
    """Opaque text on a dark backing box, its top-left at (x, y) (kept inside the picture); `ink` is RGBA. With
    `taken` (boxes of labels already drawn), the label moves a line down or up, the nearest first, until it
    covers none of them (labels of sources that share a peak would hide each other), and its box is added."""
    thick = max(1, round(scale * 2))
    (tw, th), base = cv2.getTextSize(text, FONT, scale, thick)
    h, w = ink.shape[:2]
    x, bw, bh = min(max(0, x), max(0, w - tw - 4)), tw + 4, th + base + 4
    tries = [y + sign * k * bh for k in range(h // bh + 1) for sign in (1, -1)]  # nearest line first
    places = [min(max(0, t), max(0, h - bh)) for t in tries]
    y = next((t for t in places if not any(_overlap((x, t, bw, bh), b) for b in taken or ())), places[0])
    if taken is not None:
        taken.append((x, y, bw, bh))
    cv2.rectangle(ink, (x, y), (x + bw, y + bh), (16, 16, 16, 255), -1)
    cv2.putText(ink, text, (x + 2, y + th + 2), FONT, scale, (*colour[:3], 255), thick, cv2.LINE_AA)


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    """Whether two (x, y, width, height) boxes share any pixel."""
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def window_layer(window: Window, maps: dict[str, np.ndarray], palette: dict[str, tuple[int, int, int]],
                 heard: list[str], width: int, height: int, title: str = "") -> Layer:
    """The drawing of one window: maps of its on-screen sources, outlines, labels, and the legend of `heard`."""
    ink = np.zeros((height, width, 4), np.uint8)  # outlines and text, drawn opaque (alpha 255) over the maps
    scale = max(0.4, height / 900)
    drawn = [s for s in window.sources if s.on_screen is not False]
    paint = {s.category: (*palette[s.category], 255) for s in window.sources}
    for s in reversed(drawn):  # the most probable source's outline ends on top
        contours, _ = cv2.findContours((maps[s.category] >= BOX_LEVEL).astype(np.uint8), cv2.RETR_EXTERNAL,
                                       cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(ink, contours, -1, paint[s.category], max(1, round(scale * 3)), cv2.LINE_AA)
    taken = _legend(ink, window, palette, heard, scale, title)
    for s in drawn:
        cv2.drawMarker(ink, s.peak, paint[s.category], cv2.MARKER_CROSS, round(24 * scale), max(1, round(scale * 3)))
        _text(ink, f"{s.category} {s.probability:.2f}", s.peak[0] + 8, s.peak[1] + 8, scale, paint[s.category], taken)
    layer = _blend([maps[s.category] for s in drawn], [palette[s.category] for s in drawn], height, width)
    drawn_on = ink[..., 3].copy()
    ink[..., 3] = 255
    cv2.copyTo(ink, drawn_on, layer)
    return Layer(layer)


def _blend(maps: list[np.ndarray], colours: list[tuple[int, int, int]], height: int,
           width: int) -> np.ndarray:
    """Maps stacked in colour, the first on top: each covers what lies below with a = MAX_ALPHA · the map above
    FLOOR, so map k shows through with weight a_k · Π_{j<k} (1 − a_j) and the stack's alpha is 1 − Π (1 − a_j).
    → (H, W, 4) uint8 RGBA, straight colour. The maps are smooth (bilinear from 16×16), so the stack is
    computed at 1/BLEND_STEP of the size and enlarged: 16× less arithmetic, no visible difference."""
    size = (max(1, width // BLEND_STEP), max(1, height // BLEND_STEP))
    clear = np.ones(size[::-1], np.float32)  # Π (1 − a_j) over the maps above
    colour = np.zeros((*size[::-1], 3), np.float32)
    for m, c in zip(maps, colours, strict=True):
        a = np.clip((cv2.resize(m, size, interpolation=cv2.INTER_AREA) - FLOOR) * (MAX_ALPHA / (1 - FLOOR)), 0,
                    MAX_ALPHA)
        a *= clear
        clear -= a
        colour += a[..., None] * np.asarray(c, np.float32)
    alpha = 1 - clear
    colour /= np.maximum(alpha, 1e-6)[..., None]
    full = cv2.resize(np.dstack([colour, alpha * 255]), (width, height), interpolation=cv2.INTER_LINEAR)
    return np.round(full).clip(0, 255).astype(np.uint8)


def _legend(ink: np.ndarray, window: Window, palette: dict, heard: list[str], scale: float,
            title: str) -> list[tuple[int, int, int, int]]:
    """Top-left: the time, then every category heard anywhere in the input with its probability now → the
    legend's box (labels keep off it)."""
    now = {s.category: s for s in window.sources}
    lines = [(f"{title}{window.start_s:.1f}-{window.end_s:.1f} s" + ("" if heard else ": no category heard"),
              (235, 235, 235))]
    for name in heard:
        s = now.get(name)
        state = "-" if s is None else f"{s.probability:.2f}" + (" off screen" if s.on_screen is False else "")
        lines.append((f"{name} {state}", palette[name] if s else (150, 150, 150)))
    step, taken = round(34 * scale) + 6, []
    for k, (text, colour) in enumerate(lines):
        _text(ink, text, 6, 6 + k * step, scale, colour, taken)
    return taken
