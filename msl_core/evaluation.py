"""Evaluation protocols: match predicted maps to COCO ground truth, score every method, write the numbers.

Protocols (docs/method.md §5, docs/architecture.md; each a `DatasetProtocol` of msl_core.dataset_protocols):
- `flickr`: every annotated image; consensus ground truth (§5.2); class-agnostic cIoU only.
- `audioset-instrument`: frames with exactly two annotated classes (§5.4); class-agnostic cIoU against the union of
  the boxes and class-specific cIoU (each class's boxes vs that class's map, averaged over the two classes).
- `multi-source` (scenes, AVE): every frame with ≥ 1 sounding box; same two scores, class-specific averaged over the
  frame's sounding classes.
Predicted maps are bilinearly upsampled to 256×256 and binarised at `threshold · max` (strict `>`).

Methods: the maps of `maps.h5` (`stage2`, `cam`, and their `*_class` versions) and map-free baselines (`all_ones`,
`centre`) whose class-specific map is the same map for every class. Items are matched to map rows by
(`clip_id`, `second`); an annotated item without a map, a NaN map or a map of the wrong shape is an error naming the
items (or, with `allow_missing_maps`, a reported exclusion), never a silently smaller test set.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from msl_core import metrics
from msl_core.coco import load_coco, missing_ids
from msl_core.config import default
from msl_core.dataset_protocols import DATASET_PROTOCOLS, DatasetProtocol, dataset_protocol
from msl_core.errors import BadInput, ConfigError
from msl_core.seeds import mean_over_seeds
from msl_core.stores.frames import FramesStore
from msl_core.stores.maps import MapsStore

log = logging.getLogger("msl.evaluation")

PROTOCOLS = DATASET_PROTOCOLS.names()
BASELINES = ("all_ones", "centre")
MAP_METHODS = ("stage2", "cam")  # maps.h5 datasets; `<name>_class` holds the class-specific maps
REFERENCE_TWO_SOURCE = 0.1  # the reference's multi-source rule: binarise at 0.1·max (utils/evaluate.py, §5.4)
CHUNK = 64  # items upsampled at once: bounds memory at 64·256·256 floats


@dataclass(frozen=True)
class EvalSettings:
    """Values that change the numbers; the defaults reproduce the reference protocols."""

    protocol: str
    threshold: float | None = None  # None: the protocol's reference value (DatasetProtocol.threshold)
    success_ciou: float = default("evaluate.success_ciou")
    centre_sigma: float = default("evaluate.centre_sigma")
    allow_missing_maps: bool = False

    def __post_init__(self) -> None:
        dataset_protocol(self.protocol)  # an unknown name is a ConfigError listing the known ones
        if self.threshold is not None and not 0.0 <= self.threshold < 1.0:
            raise ConfigError("evaluate.ciou_threshold", f"{self.threshold} is not in [0, 1)")

    @property
    def rules(self) -> DatasetProtocol:
        return dataset_protocol(self.protocol)

    @property
    def map_threshold(self) -> float:
        return self.rules.threshold if self.threshold is None else self.threshold

    @property
    def class_specific(self) -> bool:
        return self.rules.class_specific


@dataclass
class Item:
    """One scored frame: its key and its boxes on the 256×256 grid, per category name."""

    image_id: int
    clip_id: str
    second: int
    boxes: dict[str, np.ndarray]  # category name -> (K, 4) [x, y, w, h] grid pixels

    @property
    def key(self) -> str:
        return f"{self.clip_id}/{self.second}"

    def all_boxes(self) -> np.ndarray:
        return np.concatenate(list(self.boxes.values()), axis=0)  # (K, 4)


@dataclass
class MapFile:
    """Maps of maps.h5 for the rows that match the scored items."""

    categories: list[str]
    agnostic: dict[str, np.ndarray]  # method -> (n, S, S)
    per_class: dict[str, np.ndarray]  # method -> (n, C, S, S)
    audio_prob: np.ndarray | None  # (n, C)
    columns: dict[str, int] = field(default_factory=dict)  # COCO category name -> class column
    raw: dict[str, np.ndarray] = field(default_factory=dict)  # method -> (n, S, S) un-normalised maps (`<method>_raw`)


@dataclass
class MethodScores:
    agnostic: np.ndarray  # (n,) class-agnostic cIoU per item
    specific: np.ndarray | None = None  # (n,) class-specific cIoU per item (mean over its classes)
    pairs: list[tuple[int, str, float]] = field(default_factory=list)  # (item index, class, cIoU)


@dataclass
class Evaluation:
    """Every number of one evaluation, plus what is needed to redraw the maps for pictures."""

    settings: EvalSettings
    items: list[Item]
    scores: dict[str, MethodScores]
    missing: list[str]
    excluded: list[dict]
    not_scored: dict[str, int]
    maps: MapFile | None = None
    warnings: list[str] = field(default_factory=list)  # facts that change what the numbers mean
    seed: int | None = None  # the training seed of `maps` (when several were trained)
    seeds: dict | None = None  # mean ± std over every training seed (seed_summary)

    @property
    def primary(self) -> str:
        return next(iter(self.scores))

    def method_map(self, method: str, index: int, category: str | None = None) -> np.ndarray:
        """The (256, 256) map that was scored for item `index` (class-agnostic when `category` is None)."""
        if category is None:
            return next(_method_maps(self, method, [index]))[0]
        return _pair_maps(self, method, [(index, category)])[0]

    def summary(self, method: str) -> dict:
        scores = self.scores[method]
        out_agnostic = metrics.summarise(scores.agnostic, self.settings.success_ciou)
        if not self.settings.class_specific:
            return out_agnostic | {"per_class": self._groups(method)}
        specific = None
        if scores.specific is not None:
            specific = metrics.summarise(scores.specific, self.settings.success_ciou)
            specific["per_class"] = _per_class(scores.pairs, self.settings.success_ciou)
        return {"class_agnostic": out_agnostic, "class_specific": specific}

    def by_sources(self, method: str) -> dict:
        """The scores split by the number of sounding objects of an item ("1", "2", ...): whether simultaneous
        sources are separated. Each split also gives the reference's two-source rule (map binarised at
        REFERENCE_TWO_SOURCE · max, docs/method.md §5.4) beside the protocol's own threshold."""
        reference = replace(self.settings, threshold=REFERENCE_TWO_SOURCE)
        out = {}
        for n in sorted({len(item.all_boxes()) for item in self.items}):
            chosen = [i for i, item in enumerate(self.items) if len(item.all_boxes()) == n]
            subset = Evaluation(self.settings, [self.items[i] for i in chosen], {}, [], [], {}, self._subset_maps(chosen))
            split = {}
            for label, settings in (("", self.settings), ("reference_rule", reference)):
                subset.settings = settings
                scores = _score_method(subset, method)
                numbers = {"class_agnostic": metrics.summarise(scores.agnostic, self.settings.success_ciou) |
                           {"n_items": len(chosen)}}
                if scores.specific is not None:
                    numbers["class_specific"] = metrics.summarise(scores.specific, self.settings.success_ciou) | \
                        {"n_items": len(chosen)}
                split |= {label: numbers} if label else numbers
            out[str(n)] = split
        return out

    def _subset_maps(self, rows: list[int]) -> MapFile | None:
        if self.maps is None:
            return None
        m = self.maps
        return MapFile(m.categories, {k: v[rows] for k, v in m.agnostic.items()},
                       {k: v[rows] for k, v in m.per_class.items()},
                       None if m.audio_prob is None else m.audio_prob[rows], m.columns)

    def _groups(self, method: str) -> dict:
        """Flickr: class-agnostic numbers per arg-max audio category (the only class information a Flickr item has)."""
        if self.maps is None or self.maps.audio_prob is None:
            return {}
        top = np.argmax(self.maps.audio_prob, axis=1)
        pairs = [(i, self.maps.categories[c], float(s)) for i, (c, s) in enumerate(zip(top, self.scores[method].agnostic))]
        return _per_class(pairs, self.settings.success_ciou)

    def to_json(self) -> dict:
        methods = {name: self.summary(name) for name in self.scores}
        primary = methods[self.primary]
        out = {
            "protocol": self.settings.protocol,
            "n_items": len(self.items),
            "missing": self.missing,
            "n_missing": len(self.missing),
            "excluded": self.excluded,
            "not_scored": self.not_scored,
            "threshold": self.settings.map_threshold,
            "success_ciou": self.settings.success_ciou,
            "primary": self.primary,
            "warnings": self.warnings,
        }
        out |= {k: v for k, v in primary.items() if k != "per_class"}
        out["methods"] = methods
        if self.settings.class_specific:
            for name in self.scores:
                methods[name]["by_sources"] = self.by_sources(name)
        if self.seeds is not None:
            out["seeds"] = self.seeds
        out["settings"] = asdict(self.settings)
        out["per_item"] = {"ids": [item.key for item in self.items]} | {
            name: [round(float(v), 6) for v in s.agnostic] for name, s in self.scores.items()
        }
        return out


# ---------------------------------------------------------------------------------------------------------------------
# Ground truth


def load_items(
    annotations: str | Path, protocol: str
) -> tuple[list[Item], list[dict], dict[str, int], list[str], dict[str, str]]:
    """Scored items of a COCO file under `protocol`, plus exclusions (with reasons), unscored counts, missing ids and
    {category name: supercategory}."""
    rules = dataset_protocol(protocol)
    coco = load_coco(annotations)
    names = {c["id"]: c["name"] for c in coco.dataset["categories"]}
    supercategories = {c["name"]: str(c.get("supercategory") or "") for c in coco.dataset["categories"]}
    items, excluded = [], []
    not_scored = {"no_boxes": 0, "not_two_classes": 0}
    for image in sorted(coco.dataset["images"], key=lambda im: (str(im["clip_id"]), int(im["second"]))):
        anns = coco.imgToAnns.get(image["id"], [])
        boxes = grid_boxes(anns, image, names)
        item = Item(int(image["id"]), str(image["clip_id"]), int(image["second"]), boxes)
        if not boxes:
            if rules.boxes_required:  # e.g. every Flickr test item should carry boxes: report, never skip quietly
                excluded.append({"id": item.key, "reason": "no boxes"})
            else:
                not_scored["no_boxes"] += 1
            continue
        if not rules.scores(boxes):
            not_scored["not_two_classes"] += 1  # §5.4: audioset-instrument scores frames with exactly two classes
            continue
        if not metrics.union_map(item.all_boxes()).any():
            excluded.append({"id": item.key, "reason": "boxes cover no pixel of the 256x256 grid"})
            continue
        items.append(item)
    if not items:
        raise BadInput(annotations, f"no item to score under the {protocol} protocol")
    return items, excluded, not_scored, missing_ids(coco), supercategories


def grid_boxes(anns: list[dict], image: dict, names: dict[int, str], grid: int = metrics.GRID) -> dict[str, np.ndarray]:
    """{category name: (K, 4) boxes [x, y, w, h] scaled from the image's pixels to the grid×grid evaluation grid}."""
    size = np.array([image["width"], image["height"]] * 2, dtype=np.float64)
    grouped: dict[str, list] = {}
    for ann in anns:
        grouped.setdefault(names[ann["category_id"]], []).append(ann["bbox"])
    # (v·256)/W, not v·(256/W): 120 px of a 240-px frame must land on row 128, not 127.99999999999999. On the
    # 256×256 Flickr and AudioSet grids this is exact, so the reference rasterisation is kept bit for bit.
    return {name: np.asarray(b, dtype=np.float64).reshape(-1, 4) * grid / size for name, b in grouped.items()}


GROUND_TRUTHS = {"consensus": metrics.consensus_map, "union": metrics.union_map}  # DatasetProtocol.ground_truth


def ground_truth(item: Item, protocol: str, category: str | None = None) -> np.ndarray:
    """(256, 256) ground truth of the item's boxes (of one class): Flickr consensus (§5.2) or their binary union."""
    boxes = item.boxes[category] if category else item.all_boxes()
    return GROUND_TRUTHS[dataset_protocol(protocol).ground_truth](boxes)


# ---------------------------------------------------------------------------------------------------------------------
# Predicted maps


def load_maps(path: str | Path, items: list[Item], allow_missing: bool) -> tuple[MapFile, list[Item], list[dict]]:
    """Rows of maps.h5 aligned with `items`; checks shapes and finiteness. Returns the maps, kept items, exclusions."""
    store = MapsStore(path)
    store.shape("stage2")
    row_of: dict[str, int] = {}
    for row, key in enumerate(store.keys()):
        if key in row_of:
            raise BadInput(store.path, f"item {key} has more than one map row")
        row_of[key] = row
    absent = [item.key for item in items if item.key not in row_of]
    excluded = []
    if absent:
        message = f"{len(absent)} of {len(items)} annotated item(s) have no map (first: {', '.join(absent[:10])})"
        if not allow_missing:
            raise BadInput(store.path, message)
        log.warning("%s: %s; excluded", store.path, message)
        excluded = [{"id": key, "reason": "no map"} for key in absent]
        items = [item for item in items if item.key in row_of]
        if not items:
            raise BadInput(store.path, "no annotated item has a map")
    rows = np.array([row_of[item.key] for item in items])
    agnostic, per_class, raw = {}, {}, {}
    for method in MAP_METHODS:
        if method in store:
            agnostic[method] = _read_maps(store, method, rows, ndim=3)
        if f"{method}_raw" in store:
            raw[method] = _read_maps(store, f"{method}_raw", rows, ndim=3)
        if f"{method}_class" in store:
            per_class[method] = _read_maps(store, f"{method}_class", rows, ndim=4)
            if per_class[method].shape[1] != len(store.categories):
                raise BadInput(
                    store.path,
                    f"'{method}_class' has {per_class[method].shape[1]} classes but attr 'categories' "
                    f"names {len(store.categories)}",
                )
    audio_prob = store.read("audio_prob")[rows] if "audio_prob" in store else None
    unused = len(store) - len(rows)
    if unused:
        log.info("%s: %d map row(s) have no scored annotation (not in the protocol's test set)", store.path, unused)
    return MapFile(store.categories, agnostic, per_class, audio_prob, raw=raw), items, excluded


def _read_maps(store: MapsStore, name: str, rows: np.ndarray, ndim: int) -> np.ndarray:
    shape = store.shape(name)
    if len(shape) != ndim or shape[0] != len(store) or shape[-1] != shape[-2]:
        expected = "(M, S, S)" if ndim == 3 else "(M, C, S, S)"
        raise BadInput(store.path, f"'{name}' has shape {shape}; expected {expected} with M = {len(store)} rows")
    values = store.read_items(name, rows)
    bad = ~np.isfinite(values.reshape(len(rows), -1)).all(axis=1)
    if bad.any():
        raise BadInput(store.path, f"'{name}': {int(bad.sum())} map(s) contain NaN or inf")
    return values


def class_index(maps: MapFile, needed: Iterable[str], path: str | Path, supercategories: dict[str, str]) -> dict[str, int]:
    """COCO category name -> column of the `*_class` maps, matched by name (case and spaces ignored), else by its
    supercategory (scenes trained on the 7 AudioSet top-level categories: "dog" is scored with the "Animal" map)."""
    columns = {_norm(name): i for i, name in enumerate(maps.categories)}
    index, unknown = {}, []
    for name in sorted(set(needed)):
        for candidate in (name, supercategories.get(name, "")):
            if _norm(candidate) in columns:
                index[name] = columns[_norm(candidate)]
                break
        else:
            unknown.append(name)
    if unknown:
        raise BadInput(path, f"annotated class(es) {unknown} (nor their supercategories) are not among the map "
                             f"categories {maps.categories}")
    return index


def _norm(name: str) -> str:
    return " ".join(name.lower().replace("_", " ").split())


# ---------------------------------------------------------------------------------------------------------------------
# Scoring


def evaluate(
    annotations: str | Path,
    settings: EvalSettings,
    maps: str | Path | None = None,
    baselines: Sequence[str] = BASELINES,
) -> Evaluation:
    """Score the maps of `maps` (stage 2 first, then CAM) and each baseline on the protocol's test items."""
    unknown = [b for b in baselines if b not in BASELINES]
    if unknown:
        raise ConfigError("evaluate.baselines", f"unknown baseline(s) {unknown}; known: {', '.join(BASELINES)}")
    if maps is None and not baselines:
        raise ConfigError("evaluate", "nothing to evaluate: give a maps file or at least one baseline")
    items, excluded, not_scored, missing, supercategories = load_items(annotations, settings.protocol)
    map_file = None
    if maps is not None:
        map_file, items, map_excluded = load_maps(maps, items, settings.allow_missing_maps)
        excluded += map_excluded
        if settings.class_specific and map_file.per_class:
            map_file.columns = class_index(map_file, (n for item in items for n in item.boxes), maps, supercategories)
    evaluation = Evaluation(settings, items, {}, missing, excluded, not_scored, map_file)
    methods = list(map_file.agnostic) if map_file else []
    for method in [*methods, *baselines]:
        evaluation.scores[method] = _score_method(evaluation, method)
        log.info("%s: %s", method, json.dumps(evaluation.summary(method), default=float)[:300])
    if missing:
        log.warning("%d split item(s) missing from the annotations: %s", len(missing), ", ".join(missing[:20]))
    return evaluation


def _score_method(evaluation: Evaluation, method: str) -> MethodScores:
    settings, items = evaluation.settings, evaluation.items
    indices = list(range(len(items)))
    agnostic = np.empty(len(items))
    for chunk, maps in zip(_chunks(indices), _method_maps(evaluation, method, indices)):
        gt = np.stack([ground_truth(items[i], settings.protocol) for i in chunk])
        agnostic[chunk] = metrics.ciou(metrics.binarise(maps, settings.map_threshold), gt)
    scores = MethodScores(agnostic)
    has_class_maps = method in BASELINES or (evaluation.maps is not None and method in evaluation.maps.per_class)
    if not settings.class_specific or not has_class_maps:
        return scores
    pairs = [(i, name) for i in indices for name in sorted(items[i].boxes)]
    values = np.empty(len(pairs))
    pair_ids = list(range(len(pairs)))
    for chunk in _chunks(pair_ids):
        maps = _pair_maps(evaluation, method, [pairs[p] for p in chunk])
        gt = np.stack([ground_truth(items[pairs[p][0]], settings.protocol, pairs[p][1]) for p in chunk])
        values[chunk] = metrics.ciou(metrics.binarise(maps, settings.map_threshold), gt)
    specific = np.zeros(len(items))
    counts = np.zeros(len(items))
    np.add.at(specific, [i for i, _ in pairs], values)
    np.add.at(counts, [i for i, _ in pairs], 1)
    scores.specific = specific / counts
    scores.pairs = [(i, name, float(v)) for (i, name), v in zip(pairs, values)]
    return scores


def _method_maps(evaluation: Evaluation, method: str, indices: list[int]) -> Iterator[np.ndarray]:
    """(len(chunk), 256, 256) class-agnostic maps of `method` for consecutive chunks of `indices`."""
    for chunk in _chunks(indices):
        if method in BASELINES:
            yield _baseline(method, len(chunk), evaluation.settings)
        else:
            yield metrics.upsample(evaluation.maps.agnostic[method][chunk])


def _pair_maps(evaluation: Evaluation, method: str, pairs: list[tuple[int, str]]) -> np.ndarray:
    """(len(pairs), 256, 256) class-specific maps for (item index, category name) pairs."""
    if method in BASELINES:  # a map-free baseline predicts the same map for every class
        return _baseline(method, len(pairs), evaluation.settings)
    maps = evaluation.maps
    rows = np.array([i for i, _ in pairs])
    columns = np.array([maps.columns[name] for _, name in pairs])
    return metrics.upsample(maps.per_class[method][rows, columns])


def _baseline(method: str, n: int, settings: EvalSettings) -> np.ndarray:
    if method == "all_ones":
        return np.ones((n, metrics.GRID, metrics.GRID), dtype=np.float32)
    prior = metrics.centre_prior(metrics.GRID, settings.centre_sigma).astype(np.float32)
    return np.broadcast_to(prior, (n, metrics.GRID, metrics.GRID))


def _chunks(indices: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(indices), CHUNK):
        yield indices[start : start + CHUNK]


def _per_class(pairs: list[tuple[int, str, float]], success_ciou: float) -> dict:
    by_class: dict[str, list[float]] = {}
    for _, name, value in pairs:
        by_class.setdefault(name, []).append(value)
    return {
        name: {"n": len(v), "mean_ciou": float(np.mean(v)), "success_rate": metrics.success_rate(v, success_ciou)}
        for name, v in sorted(by_class.items())
    }


# ---------------------------------------------------------------------------------------------------------------------
# Outputs


def write_metrics(evaluation: Evaluation, metrics_json: str | Path, ciou_txt: str | Path | None = None,
                  auc_txt: str | Path | None = None) -> dict:
    """metrics.json with every number; ciou.txt / auc.txt hold the primary method's (class-agnostic) success rate / AUC."""
    numbers = evaluation.to_json()
    Path(metrics_json).parent.mkdir(parents=True, exist_ok=True)
    Path(metrics_json).write_text(json.dumps(numbers, indent=1))
    headline = evaluation.settings.rules.headline_numbers(numbers)
    if ciou_txt is not None:
        Path(ciou_txt).write_text(f"{headline['success_rate']:.6f}\n")
    if auc_txt is not None:
        Path(auc_txt).write_text(f"{headline['auc']:.6f}\n")
    return numbers


def read_frames(path: str | Path, items: list[Item]) -> dict[str, np.ndarray]:
    """{item key: (256, 256, 3) uint8} for the items found in frames.h5 (others are simply not drawn)."""
    store = FramesStore(path)
    wanted, found = {item.key for item in items}, {}
    for row, key in enumerate(store.keys()):
        if key in wanted and key not in found:
            found[key] = row
    return dict(zip(found, store.rows("frames").read(list(found.values()))))


def seed_summary(evaluation: Evaluation, annotations: str | Path, seed_maps: dict[int, str | Path]) -> dict:
    """metrics.json's `seeds` block: each map method's headline numbers (per_class left out) as the mean ± sample
    std over the first seed's `evaluation` and the maps of the other seeds (msl_core.seeds)."""
    runs = [evaluation] + [evaluate(annotations, evaluation.settings, maps, baselines=()) for maps in seed_maps.values()]
    seeds = [evaluation.seed, *seed_maps]
    methods = {}
    for method in (m for m in evaluation.scores if m in MAP_METHODS):
        cells = [_without_per_class(run.summary(method)) | {"n_items": len(run.items)} for run in runs]
        methods[method] = mean_over_seeds(cells)
    return {"seeds": seeds, "n_seeds": len(seeds), "methods": methods}


def _without_per_class(summary: dict) -> dict:
    return {k: _without_per_class(v) if isinstance(v, dict) else v for k, v in summary.items() if k != "per_class"}


def run_evaluation(
    annotations: str | Path,
    settings: EvalSettings,
    metrics_json: str | Path,
    maps: str | Path | None = None,
    baselines: Sequence[str] = BASELINES,
    ciou_txt: str | Path | None = None,
    auc_txt: str | Path | None = None,
    heatmaps: str | Path | None = None,
    per_class: str | Path | None = None,
    frames: str | Path | None = None,
    warnings: Sequence[str] = (),
    seed: int | None = None,
    seed_maps: dict[int, str | Path] | None = None,
) -> dict:
    """Evaluate, write the numbers and (when paths are given) the pictures. The rule and `msl evaluate` call this.
    `seed_maps` ({seed: maps.h5} of further training seeds; `seed` is the one of `maps`) adds metrics.json's
    `seeds` block; everything else stays the first seed's."""
    evaluation = evaluate(annotations, settings, maps, baselines)
    evaluation.warnings = list(warnings)
    if seed_maps:
        evaluation.seed = seed
        evaluation.seeds = seed_summary(evaluation, annotations, seed_maps)
    numbers = write_metrics(evaluation, metrics_json, ciou_txt, auc_txt)
    draw_pictures(evaluation, heatmaps, per_class, frames)
    return numbers


def draw_pictures(evaluation: Evaluation, heatmaps: str | Path | None = None, per_class: str | Path | None = None,
                  frames: str | Path | None = None, n_each: int = 2) -> None:
    """The heatmap grid (best, median and worst items by the primary method's class-agnostic cIoU, on `frames`
    when given) and the per-class chart: class-specific cIoU, or for Flickr class-agnostic cIoU by the top audio
    category ("all items" when the maps carry no audio probabilities)."""
    if heatmaps is None and per_class is None:
        return
    from msl_core import plots  # matplotlib only when pictures are asked for

    protocol, class_specific = evaluation.settings.protocol, evaluation.settings.class_specific
    if heatmaps is not None:
        pictures = read_frames(frames, evaluation.items) if frames else {}
        rows = []
        for label, index in plots.select_items(evaluation.scores[evaluation.primary].agnostic, n_each):
            item = evaluation.items[index]
            maps = {m: (evaluation.method_map(m, index), evaluation.scores[m].agnostic[index])
                    for m in evaluation.scores}
            rows.append(plots.HeatmapRow(f"{label}: {item.key}", pictures.get(item.key),
                                         ground_truth(item, protocol), item.boxes, maps))
        title = f"{protocol}: ground truth and maps (rows ranked by {evaluation.primary} cIoU)"
        plots.heatmap_grid(rows, title, heatmaps, label_boxes=class_specific, warnings=evaluation.warnings)
    if per_class is not None:
        tables = {}
        for method in evaluation.scores:
            summary = evaluation.summary(method)
            if class_specific:
                table = (summary.get("class_specific") or {}).get("per_class", {})
            else:
                table = summary.get("per_class") or {"all items": {"n": len(evaluation.items),
                                                                   "mean_ciou": summary["mean_ciou"]}}
            if table:
                tables[method] = table
        kind = "class-specific" if class_specific else "class-agnostic, by top audio category"
        plots.per_class_chart(tables, f"{protocol}: per-class localisation ({kind})", per_class)
