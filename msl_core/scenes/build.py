"""Building the whole `scenes` dataset: plan every clip from the seed, render the MP4s, write the ground truth.

Planning is sequential and seeded (one generator for the split/class draws, one per clip for the rest), so the
dataset does not depend on how many workers render it.
"""

from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from msl_core.errors import ConfigError
from msl_core.manifest import MANIFEST_COLUMNS
from msl_core.scenes.audio import mix_scene
from msl_core.scenes.compose import Scene, object_boxes, render_frame, sample_scene
from msl_core.scenes.config import ScenesConfig
from msl_core.scenes.groundtruth import (
    OBJECT_COLUMNS,
    SPLITS,
    Boxes,
    coco_splits,
    manifest_row,
    object_rows,
)
from msl_core.scenes.probes import Probe, plan_probes, probe_images, probe_soundtrack
from msl_core.scenes.render import write_video
from msl_core.scenes.stamps import (
    Stamp,
    class_names,
    class_table,
    coco_categories,
    load_stamp,
    read_catalogue,
)

log = logging.getLogger(__name__)


def split_sizes(n_clips: int, cfg: ScenesConfig) -> dict[str, int]:
    """Clips per split; val and test get at least one clip each when there are three or more clips."""
    n_test = max(1, round(n_clips * cfg.test_fraction)) if n_clips >= 3 else 0
    n_val = max(1, round(n_clips * cfg.val_fraction)) if n_clips >= 3 else 0
    return {"train": n_clips - n_val - n_test, "val": n_val, "test": n_test}


def stamp_pools(stamps: list[Stamp], classes: list[str], holdout: bool,
                rng: np.random.Generator) -> dict[str, dict[str, list[Stamp]]]:
    """Stamps each split may draw from, per class; with `holdout`, one stamp per class is reserved for test."""
    by_class = {c: [s for s in stamps if s.cls == c] for c in classes}
    if not holdout:
        return {split: by_class for split in SPLITS}
    single = [c for c, members in by_class.items() if len(members) < 2]
    if single:
        raise ConfigError("scenes.holdout_stamps", f"class(es) {single} have one stamp; nothing is left to hold out")
    held = {c: int(rng.integers(len(members))) for c, members in by_class.items()}
    seen = {c: [s for j, s in enumerate(members) if j != held[c]] for c, members in by_class.items()}
    unseen = {c: [members[held[c]]] for c, members in by_class.items()}
    return {"train": seen, "val": seen, "test": unseen}


def draw_classes(rng: np.random.Generator, classes: list[str], n_clips: int, cfg: ScenesConfig) -> list[list[str]]:
    """Distinct classes per clip, dealt from shuffled rounds of all classes so every class appears evenly."""
    stream: list[str] = []
    draws = []
    for _ in range(n_clips):
        k = int(rng.integers(cfg.objects_per_clip[0], cfg.objects_per_clip[1] + 1))
        while len(stream) < 2 * k + len(classes):
            stream += list(rng.permutation(classes))
        picked: list[str] = []
        for _ in range(k):
            j = next(j for j, c in enumerate(stream) if c not in picked)
            picked.append(stream.pop(j))
        draws.append(picked)
    return draws


def plan_scenes(stamps: list[Stamp], classes: list[str], cfg: ScenesConfig) -> list[Scene]:
    """Every clip's scene: split, classes, stamps, placement, schedule; a pure function of `cfg` and the stamps."""
    master = np.random.default_rng([cfg.seed, 7919])
    sizes = split_sizes(cfg.n_clips, cfg)
    splits = list(master.permutation([s for s in SPLITS for _ in range(sizes[s])]))
    pools = stamp_pools(stamps, classes, cfg.holdout_stamps, master)
    drawn = {split: iter(draw_classes(master, classes, sizes[split], cfg)) for split in SPLITS}
    scenes = []
    for index, split in enumerate(splits):
        rng = np.random.default_rng([cfg.seed, index])
        chosen = [pools[split][c][int(rng.integers(len(pools[split][c])))] for c in next(drawn[split])]
        scenes.append(sample_scene(rng, f"scene_{index:04d}", str(split), chosen, cfg))
    return scenes


def render_clip(scene: Scene, stamps: dict[str, Stamp], cfg: ScenesConfig, video_path: Path) -> Boxes:
    """Write one clip's MP4; returns each object's visible box and mask area."""
    frame, labels = render_frame(scene, stamps, cfg.width, cfg.height)
    mixture = mix_scene(scene, stamps, cfg.sample_rate, cfg.snr_db)
    write_video(video_path, frame, mixture.mix, cfg.sample_rate, cfg.fps)
    return object_boxes(labels, len(scene.objects))


def render_probes(probes: list[Probe], stamps: dict[str, Stamp], cfg: ScenesConfig, videos_dir: Path,
                  workers: int) -> None:
    """Write each probe clip: its parent's picture (drawn once per parent) with the probe's soundtrack."""
    pictures = {p.parent.clip_id: render_frame(p.parent, stamps, cfg.width, cfg.height)[0] for p in probes}

    def write(probe: Probe) -> None:
        audio = probe_soundtrack(probe, stamps, cfg)
        write_video(videos_dir / f"{probe.clip_id}.mp4", pictures[probe.parent.clip_id], audio, cfg.sample_rate,
                    cfg.fps)

    with ThreadPoolExecutor(max(1, workers)) as pool:
        list(pool.map(write, probes))


def load_stamps(catalogue_path: str | Path, sample_rate: int) -> list[Stamp]:
    catalogue = read_catalogue(catalogue_path)
    return [load_stamp(row, sample_rate) for _, row in catalogue.iterrows()]


def build_dataset(cfg: ScenesConfig, catalogue_path: str | Path, videos_dir: str | Path,
                  annotations_dir: str | Path, workers: int = 1) -> pd.DataFrame:
    """Render all clips into `videos_dir` (+ manifest.csv) and the ground truth into `annotations_dir`.

    Writes `{train,val,test}.json` (COCO), `objects.csv` (per second and object: box, class, area, sounding),
    `scenes.json` (the full scene plans and the config) and `protocols.json` (the test COCO plus the probe clips of
    probes.py: negatives and interactive items). Returns the manifest, probe clips included (split `test`).
    """
    started = time.perf_counter()
    videos_dir, annotations_dir = Path(videos_dir), Path(annotations_dir)
    videos_dir.mkdir(parents=True, exist_ok=True)
    annotations_dir.mkdir(parents=True, exist_ok=True)
    table = class_table()
    classes = class_names(table)
    stamps = load_stamps(catalogue_path, cfg.sample_rate)
    scenes = plan_scenes(stamps, classes, cfg)
    by_name = {s.name: s for s in stamps}
    for stale in videos_dir.glob("scene_*.mp4"):   # a smaller rebuild must not leave clips of the last one
        stale.unlink()
    with ThreadPoolExecutor(max(1, workers)) as pool:
        boxes = list(pool.map(lambda s: render_clip(s, by_name, cfg, videos_dir / f"{s.clip_id}.mp4"), scenes))
    probes = plan_probes(scenes, boxes, stamps, cfg)
    render_probes(probes, by_name, cfg, videos_dir, workers)
    boxes_of = {s.clip_id: b for s, b in zip(scenes, boxes)}
    rows = [manifest_row(s, b, f"{s.clip_id}.mp4", classes) for s, b in zip(scenes, boxes)]
    rows += [manifest_row(p.audio, boxes_of[p.parent.clip_id], f"{p.clip_id}.mp4", classes) for p in probes]
    manifest = pd.DataFrame(rows, columns=MANIFEST_COLUMNS)
    objects = pd.DataFrame([r for s, b in zip(scenes, boxes) for r in object_rows(s, b)], columns=OBJECT_COLUMNS)
    write_groundtruth(cfg, scenes, objects, coco_categories(table), annotations_dir, probes, boxes_of)
    manifest.to_csv(videos_dir / "manifest.csv", index=False)
    log.info("built %d clips (%s) in %.1f s", len(scenes), manifest["split"].value_counts().to_dict(),
             time.perf_counter() - started)
    return manifest


def write_groundtruth(cfg: ScenesConfig, scenes: list[Scene], objects: pd.DataFrame, categories: list[dict],
                      annotations_dir: Path, probes: list[Probe] = (), boxes_of: dict[str, Boxes] | None = None) -> None:
    splits = coco_splits(objects, categories, cfg.width, cfg.height)
    for split, coco in splits.items():
        (annotations_dir / f"{split}.json").write_text(json.dumps(coco))
    first_image = 1 + max((im["id"] for coco in splits.values() for im in coco["images"]), default=0)
    first_annotation = 1 + max((a["id"] for coco in splits.values() for a in coco["annotations"]), default=0)
    images, annotations = probe_images(probes, boxes_of or {}, {c["name"]: c["id"] for c in categories}, cfg.width,
                                       cfg.height, first_image, first_annotation)
    test = splits["test"]
    protocols = {**test, "info": {"description": "msl scenes (test + probe clips)"},
                 "images": test["images"] + images, "annotations": test["annotations"] + annotations}
    (annotations_dir / "protocols.json").write_text(json.dumps(protocols))
    objects.to_csv(annotations_dir / "objects.csv", index=False)
    plans = {"config": asdict(cfg), "scenes": [s.to_dict() for s in scenes], "probes": [p.to_dict() for p in probes]}
    (annotations_dir / "scenes.json").write_text(json.dumps(plans, indent=1))
