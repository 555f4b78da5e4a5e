"""Probe clips of the test split: the field's negatives and interactive items, on the demo's own pictures.

For each of the first `probe_scenes` test scenes (plan order), clips of `probe_duration_s` seconds that show the
scene's picture unchanged with another soundtrack:
- `<scene>_silence` (digital silence), `<scene>_noise` (pink noise at NOISE_RMS) and `<scene>_offscreen` (the
  recording of a class that is not in the picture, over the scene's noise floor): the negatives of SLAVC's extended
  sets and of PIA;
- `<scene>_solo<i>`: visible object i alone (its own recording segments at its gain, over the noise floor), once
  per visible object: IS3's interactive items, grouped by the shared frame (`group` = `<scene>/<second>`).
The silent objects every scene already has serve DSOL's NSA. Probes draw from their own seeded generator, so the
scenes themselves do not change with `probe_scenes`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from msl_core.scenes.audio import mix_scene, pink_noise
from msl_core.scenes.compose import PlacedObject, Scene
from msl_core.scenes.config import ScenesConfig
from msl_core.scenes.groundtruth import Boxes
from msl_core.scenes.stamps import Stamp

NOISE_RMS = 0.05  # the noise negative's level: well above the scenes' noise floor, below their sources
NEGATIVES = ("silence", "noise", "offscreen")


@dataclass
class Probe:
    """One probe clip: its kind, the scene whose picture it shows, and the soundtrack plan (`audio.sounding`)."""

    clip_id: str
    parent: Scene
    kind: str                # silence | noise | offscreen | solo
    audio: Scene             # the parent's objects (plus the off-screen one, last) and who sounds each second
    solo: int | None = None  # the object heard alone

    def to_dict(self) -> dict:
        extra = {"offscreen_stamp": self.audio.objects[-1].stamp} if self.kind == "offscreen" else {}
        return {"clip_id": self.clip_id, "parent": self.parent.clip_id, "kind": self.kind, "solo": self.solo, **extra}


def plan_probes(scenes: list[Scene], boxes: list[Boxes], stamps: list[Stamp], cfg: ScenesConfig) -> list[Probe]:
    """Probe clips for the first `cfg.probe_scenes` test scenes; `boxes` are the scenes' visible boxes."""
    duration = min(cfg.probe_duration_s, cfg.duration_s)
    probes = []
    tests = [(s, b) for s, b in zip(scenes, boxes) if s.split == "test"][: cfg.probe_scenes]
    for index, (scene, scene_boxes) in enumerate(tests):
        rng = np.random.default_rng([cfg.seed, 104729, index])
        quiet = _audio(scene, f"{scene.clip_id}_silence", scene.objects, [[]] * duration)
        probes.append(Probe(quiet.clip_id, scene, "silence", quiet))
        probes.append(Probe(f"{scene.clip_id}_noise", scene, "noise", replace(quiet, clip_id=f"{scene.clip_id}_noise")))
        elsewhere = _offscreen_object(rng, scene, stamps, cfg, duration)
        heard = _audio(scene, f"{scene.clip_id}_offscreen", [*scene.objects, elsewhere],
                       [[len(scene.objects)]] * duration)
        probes.append(Probe(heard.clip_id, scene, "offscreen", heard))
        for i, box in enumerate(scene_boxes):
            if box is not None:
                solo = _audio(scene, f"{scene.clip_id}_solo{i}", scene.objects, [[i]] * duration)
                probes.append(Probe(solo.clip_id, scene, "solo", solo, solo=i))
    return probes


def probe_soundtrack(probe: Probe, stamps: dict[str, Stamp], cfg: ScenesConfig) -> np.ndarray:
    """The probe's audio (float32); the picture is its parent's."""
    if probe.kind == "noise":
        rng = np.random.default_rng(probe.audio.noise_seed)
        return (pink_noise(rng, len(probe.audio.sounding) * cfg.sample_rate) * NOISE_RMS).astype(np.float32)
    return mix_scene(probe.audio, stamps, cfg.sample_rate, cfg.snr_db).mix  # silence: no source, no noise → zeros


def probe_images(probes: list[Probe], boxes_of: dict[str, Boxes], category_id: dict[str, int], width: int,
                 height: int, first_image: int, first_annotation: int) -> tuple[list[dict], list[dict]]:
    """COCO images (with `negative` or `group`) and the solo items' annotations, ids continuing the splits'."""
    images, annotations = [], []
    for probe in probes:
        for second in range(len(probe.audio.sounding)):
            image_id = first_image + len(images)
            image = {"id": image_id, "file_name": f"{probe.clip_id}/{second:04d}", "width": width, "height": height,
                     "clip_id": probe.clip_id, "second": second}
            if probe.kind in NEGATIVES:
                image["negative"] = probe.kind
            else:
                (x, y, w, h), area = boxes_of[probe.parent.clip_id][probe.solo]
                image["group"] = f"{probe.parent.clip_id}/{second}"
                cls = probe.parent.objects[probe.solo].cls
                annotations.append({"id": first_annotation + len(annotations), "image_id": image_id, "iscrowd": 0,
                                    "bbox": [x, y, w, h], "area": area, "category_id": category_id[cls]})
            images.append(image)
    return images, annotations


def _audio(scene: Scene, clip_id: str, objects: list[PlacedObject], sounding: list[list[int]]) -> Scene:
    return replace(scene, clip_id=clip_id, objects=objects, sounding=[list(s) for s in sounding])


def _offscreen_object(rng: np.random.Generator, scene: Scene, stamps: list[Stamp], cfg: ScenesConfig,
                      duration: int) -> PlacedObject:
    """A stamp of a class the picture does not show; it only contributes sound (never drawn)."""
    shown = {o.cls for o in scene.objects}
    others = [s for s in stamps if s.cls not in shown]
    stamp = others[int(rng.integers(len(others)))]
    short = stamp.audio.size <= cfg.sample_rate
    offsets = [int(rng.integers(stamp.audio.size)) if short else int(rng.choice(stamp.active_starts))
               for _ in range(duration)]
    return PlacedObject(stamp.name, stamp.cls, 0, 0, 0, 0, 0.0, offsets)
