"""What every protocol scores: COCO items (positives, negatives, interactive groups, silent objects) and the maps of
each method on one evaluation grid.

COCO fields beyond the canonical ones (docs/architecture.md):
- `images[].negative`: `silence`, `noise` or `offscreen` — the frame with audio that has no visible source; no boxes.
- `images[].group`: items sharing one frame, each with one sounding object's audio and box (IS3 interactive sets).
- `images[].silent_objects`: visible objects that make no sound (the demo's; DSOL's NSA scores their class maps).
- `info.ground_truth`: `consensus` for Flickr's several annotators (a pixel is 1 where two boxes agree, docs/method.md
  §5.2); anything else is the binary union of the boxes.
- `info.source_corners`: `one-based` for Flickr, whose COCO boxes start at xmin − 1: LVS-style code scales the
  1-based corners themselves (`int(224·xmin/256)` … `int(224·xmax/256)`), so the protocols shift them back by one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from msl_core import metrics
from msl_core.coco import load_coco, missing_ids
from msl_core.config import default
from msl_core.errors import BadInput
from msl_core.evaluation import BASELINES, MapFile, class_index, grid_boxes, load_maps
from msl_core.stores.maps import MapsStore
from msl_core.stores.proposals import ProposalsStore

NEGATIVE_KINDS = ("silence", "noise", "offscreen")
CHUNK = 64  # items upsampled at once: bounds memory at 64·grid² floats
OBJECT_PRIOR = "object_prior"
PRIOR_TOP_K = 3  # proposals whose union is the object-prior map


@dataclass
class ProtocolItem:
    """One scored frame + audio pair; `key` (clip_id/second) finds its maps.h5 row."""

    key: str
    boxes: dict[str, np.ndarray]  # sounding category -> (K, 4) [x, y, w, h] on the grid
    negative: str | None = None
    group: str | None = None
    silent: tuple[str, ...] = ()  # categories of visible silent objects

    @property
    def positive(self) -> bool:
        return self.negative is None

    def all_boxes(self) -> np.ndarray:
        return np.concatenate(list(self.boxes.values()), axis=0)  # (K, 4)


@dataclass
class ItemSet:
    items: list[ProtocolItem]
    consensus: bool
    missing: list[str]
    not_scored: int  # positives without any sounding box (nothing to localise)
    supercategories: dict[str, str] = field(default_factory=dict)
    excluded: list[dict] = field(default_factory=list)  # {id, reason}: reported in metrics.json


def load_protocol_items(annotations: str | Path, grid: int) -> ItemSet:
    """Every item of a COCO file as the protocols see it, boxes scaled to `grid`×`grid`."""
    coco = load_coco(annotations)
    names = {c["id"]: c["name"] for c in coco.dataset["categories"]}
    supercategories = {c["name"]: str(c.get("supercategory") or "") for c in coco.dataset["categories"]}
    items, not_scored, excluded = [], 0, []
    one_based = coco.dataset.get("info", {}).get("source_corners") == "one-based"
    for image in sorted(coco.dataset["images"], key=lambda im: (str(im["clip_id"]), int(im["second"]))):
        negative = image.get("negative")
        if negative is not None and negative not in NEGATIVE_KINDS:
            raise BadInput(annotations, f"image {image['id']}: negative '{negative}' is not one of {NEGATIVE_KINDS}")
        anns = coco.imgToAnns.get(image["id"], [])
        if one_based:
            anns = [{**a, "bbox": [a["bbox"][0] + 1, a["bbox"][1] + 1, *a["bbox"][2:]]} for a in anns]
        boxes = grid_boxes(anns, image, names, grid)
        if negative is not None and boxes:
            raise BadInput(annotations, f"image {image['id']} is a '{negative}' negative but has sounding boxes")
        if negative is None and not boxes:
            not_scored += 1
            continue
        key = f"{image['clip_id']}/{int(image['second'])}"
        if boxes and not metrics.union_map(np.concatenate(list(boxes.values())), grid).any():
            excluded.append({"id": key, "reason": f"boxes cover no pixel of the {grid}x{grid} grid"})
            continue
        silent = tuple(sorted({names[o["category_id"]] for o in image.get("silent_objects", [])} - set(boxes)))
        group = image.get("group")
        items.append(ProtocolItem(key, boxes, negative,
                                  None if group is None else str(group), silent))
    if not items:
        raise BadInput(annotations, "no item to score")
    consensus = coco.dataset.get("info", {}).get("ground_truth") == "consensus"
    return ItemSet(items, consensus, missing_ids(coco), not_scored, supercategories, excluded)


class MapSource:
    """Maps of every method for the items, upsampled (bilinear) to the protocol's grid on demand, in chunks.

    Methods: the maps of maps.h5 (`stage2`, `cam`), the map-free baselines and, given proposals.h5, the object prior
    (the union of each frame's PRIOR_TOP_K highest-scoring class-agnostic proposals: what an object detector alone
    earns). A baseline's raw map, class maps and normalised map are all the same map.
    """

    def __init__(self, itemset: ItemSet, grid: int, maps: str | Path | None, baselines: Sequence[str],
                 allow_missing: bool = False, centre_sigma: float = default("evaluate.centre_sigma")):
        unknown = [b for b in baselines if b not in BASELINES]
        if unknown:
            raise BadInput(maps or "baselines", f"unknown baseline(s) {unknown}; known: {', '.join(BASELINES)}")
        self.grid, self.path, self.baselines = grid, maps, list(baselines)
        self.file: MapFile | None = None
        self.excluded: list[dict] = []
        if maps is not None:
            self.file, itemset.items, self.excluded = load_maps(maps, itemset.items, allow_missing)
            if self.file.per_class:
                needed = [*self.file.categories, *(n for item in itemset.items for n in (*item.boxes, *item.silent))]
                self.file.columns = class_index(self.file, needed, maps, itemset.supercategories)
        self.items = itemset.items
        self.consensus = itemset.consensus
        self.prior = metrics.centre_prior(grid, centre_sigma).astype(np.float32)
        self.object_prior: np.ndarray | None = None  # (n, grid, grid) bool, set by `add_object_prior`

    def add_object_prior(self, proposals: str | Path) -> None:
        """Score the object prior too: proposals.h5 rows are found through maps.h5's `row` (index row) dataset."""
        self.object_prior = object_prior_maps(proposals, self.path, [it.key for it in self.items], self.grid)
        self.baselines.append(OBJECT_PRIOR)

    @property
    def methods(self) -> list[str]:
        return [*(self.file.agnostic if self.file else []), *self.baselines]

    def has(self, method: str, kind: str) -> bool:
        """Whether `method` has `raw` or `class` maps (baselines always do)."""
        if method in self.baselines:
            return True
        return method in (self.file.raw if kind == "raw" else self.file.per_class)

    def agnostic(self, method: str, rows: list[int]) -> np.ndarray:
        return self._grid(method, rows, lambda: self.file.agnostic[method][rows])

    def raw(self, method: str, rows: list[int]) -> np.ndarray:
        if not self.has(method, "raw"):
            raise BadInput(self.path, f"no '{method}_raw' dataset: this protocol needs the un-normalised maps")
        return self._grid(method, rows, lambda: self.file.raw[method][rows])

    def class_maps(self, method: str, pairs: list[tuple[int, str]]) -> np.ndarray:
        """(len(pairs), grid, grid) maps of (item index, category name) pairs."""
        if method not in self.baselines and method not in self.file.per_class:
            raise BadInput(self.path, f"no '{method}_class' dataset: this protocol needs class-specific maps")
        rows = [i for i, _ in pairs]
        return self._grid(method, rows, lambda: self.file.per_class[method][
            np.array(rows, dtype=int), np.array([self.file.columns[n] for _, n in pairs], dtype=int)])

    def column(self, name: str) -> int | str:
        """The class-map column scoring category `name` (the name itself when every class shares one map)."""
        return self.file.columns[name] if self.file is not None and self.file.per_class else name

    def all_categories(self) -> list[str]:
        return list(self.file.categories) if self.file is not None and self.file.per_class else []

    def _grid(self, method: str, rows: list[int], read) -> np.ndarray:
        if method == "all_ones":
            return np.ones((len(rows), self.grid, self.grid), dtype=np.float32)
        if method == "centre":
            return np.broadcast_to(self.prior, (len(rows), self.grid, self.grid))
        if method == OBJECT_PRIOR:
            return self.object_prior[rows].astype(np.float32)
        return metrics.upsample(read(), self.grid)

    def ground_truth(self, index: int, category: str | None = None) -> np.ndarray:
        """(grid, grid) ground truth of an item (Flickr consensus or box union), or of one category's boxes."""
        item = self.items[index]
        if category is not None:
            return metrics.union_map(item.boxes[category], self.grid)
        boxes = item.all_boxes()
        return metrics.consensus_map(boxes, self.grid) if self.consensus else metrics.union_map(boxes, self.grid)


def chunks(indices: Sequence) -> Iterator[list]:
    for start in range(0, len(indices), CHUNK):
        yield list(indices[start : start + CHUNK])


def object_prior_maps(proposals: str | Path, maps: str | Path, keys: list[str], grid: int) -> np.ndarray:
    """(len(keys), grid, grid) bool: union of the top PRIOR_TOP_K proposals (normalised [x1, y1, x2, y2]) per item."""
    row_of = MapsStore(maps).row_of()
    store = ProposalsStore(proposals)
    boxes, scores = store.read("boxes"), store.read("scores")  # (N, K, 4), (N, K)
    out = np.zeros((len(keys), grid, grid), dtype=bool)
    for i, key in enumerate(keys):
        row = row_of[key]
        top = np.argsort(-scores[row])[:PRIOR_TOP_K]
        kept = boxes[row, top][scores[row, top] > 0] * grid  # (k, 4) grid pixels, corners
        if len(kept):
            out[i] = metrics.box_masks(np.c_[kept[:, :2], kept[:, 2:] - kept[:, :2]], grid).any(axis=0)
    return out
