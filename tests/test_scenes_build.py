"""The whole tiny dataset: determinism, COCO with pycocotools, audio = sum of sounding sources after AAC, splits."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pycocotools.coco import COCO

from msl_core.manifest import MANIFEST_COLUMNS, load_manifest
from msl_core.media import decode_audio
from msl_core.scenes.audio import mix_scene
from msl_core.scenes.build import build_dataset, load_stamps, plan_scenes
from msl_core.scenes.compose import Scene, object_boxes, render_frame
from msl_core.scenes.config import ScenesConfig
from msl_core.scenes.stamps import class_names, class_table
from support.stamps import write_catalogue

TINY = ScenesConfig(n_clips=6, duration_s=3, seed=5, probe_scenes=0)


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    return write_catalogue(tmp_path_factory.mktemp("catalogue"))


@pytest.fixture(scope="module")
def stamps(catalogue):
    return load_stamps(catalogue, TINY.sample_rate)


@pytest.fixture(scope="module")
def built(tmp_path_factory, catalogue):
    root = tmp_path_factory.mktemp("tiny")
    build_dataset(TINY, catalogue, root / "videos", root / "annotations", workers=2)
    return root


def test_same_seed_gives_identical_manifest_and_annotations(built, catalogue, tmp_path):
    build_dataset(TINY, catalogue, tmp_path / "videos", tmp_path / "annotations", workers=1)
    assert (tmp_path / "videos/manifest.csv").read_text() == (built / "videos/manifest.csv").read_text()
    for name in ("train.json", "val.json", "test.json", "objects.csv", "scenes.json"):
        assert (tmp_path / "annotations" / name).read_text() == (built / "annotations" / name).read_text()


def test_another_seed_gives_other_scenes(stamps):
    classes = class_names(class_table())
    first = [s.to_dict() for s in plan_scenes(stamps, classes, TINY)]
    other = [s.to_dict() for s in plan_scenes(stamps, classes, ScenesConfig(n_clips=6, duration_s=3, seed=6, probe_scenes=0))]
    assert first != other


def test_manifest_follows_the_contract(built):
    manifest = load_manifest(built / "videos/manifest.csv")
    assert list(pd.read_csv(built / "videos/manifest.csv").columns) == MANIFEST_COLUMNS
    assert len(manifest) == TINY.n_clips and set(manifest["split"]) == {"train", "val", "test"}
    for clip in manifest.itertuples():
        assert clip.video_path.endswith(f"{clip.clip_id}.mp4")
        per_second = clip.tags_per_second.split("|")
        visible = clip.visible_per_second.split("|")
        assert len(per_second) == len(visible) == TINY.duration_s
        for sounding, seen in zip(per_second, visible):
            assert sounding and set(sounding.split(";")) < set(seen.split(";"))   # someone is always silent
        assert set(clip.tags.split(";")) == set(";".join(per_second).split(";"))


def test_coco_loads_with_pycocotools_and_round_trips(built, tmp_path):
    manifest = load_manifest(built / "videos/manifest.csv").set_index("clip_id")
    names = class_names(class_table())
    for split in ("train", "val", "test"):
        coco = COCO(str(built / "annotations" / f"{split}.json"))
        assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == names
        clips = manifest[manifest["split"] == split]
        assert len(coco.getImgIds()) == len(clips) * TINY.duration_s
        for image in coco.loadImgs(coco.getImgIds()):
            assert image["file_name"] == f"{image['clip_id']}/{image['second']:04d}"
            assert (image["width"], image["height"]) == (TINY.width, TINY.height)
            sounding = {coco.cats[a["category_id"]]["name"] for a in coco.loadAnns(coco.getAnnIds(image["id"]))}
            expected = manifest.loc[image["clip_id"], "tags_per_second"].split("|")[image["second"]]
            assert sounding == set(expected.split(";"))
            assert image["silent_objects"]
        again = tmp_path / f"{split}.json"
        again.write_text(json.dumps(coco.dataset))
        assert COCO(str(again)).dataset == coco.dataset
        if coco.getAnnIds():
            results = [{**a, "score": 1.0} for a in coco.loadAnns(coco.getAnnIds())]
            assert len(coco.loadRes(results).getAnnIds()) == len(results)


def test_boxes_and_areas_match_the_rendered_masks(built, stamps):
    plans = json.loads((built / "annotations/scenes.json").read_text())["scenes"]
    objects = pd.read_csv(built / "annotations/objects.csv")
    by_name = {s.name: s for s in stamps}
    for plan in plans[:3]:
        scene = Scene.from_dict(plan)
        _, labels = render_frame(scene, by_name, TINY.width, TINY.height)
        rows = objects[(objects["clip_id"] == scene.clip_id) & (objects["second"] == 0)].sort_values("object")
        for row, (box, area) in zip(rows.itertuples(), object_boxes(labels, len(scene.objects))):
            assert [row.x, row.y, row.w, row.h] == box and row.area == area


def test_decoded_audio_of_each_second_is_the_sum_of_its_sounding_sources(built, stamps):
    plans = json.loads((built / "annotations/scenes.json").read_text())["scenes"]
    by_name = {s.name: s for s in stamps}
    sr = TINY.sample_rate
    for plan in plans[:2]:
        scene = Scene.from_dict(plan)
        mixture = mix_scene(scene, by_name, sr, TINY.snr_db)
        decoded = decode_audio(built / "videos" / f"{scene.clip_id}.mp4", sr)
        assert abs(decoded.size - mixture.mix.size) < sr // 20
        for second, sounding in enumerate(scene.sounding):
            window = slice(second * sr, (second + 1) * sr)
            expected = mixture.tracks[sounding, window].sum(0) + mixture.noise[window]
            got = decoded[window]
            error_db = 10 * np.log10(np.mean(expected ** 2) / np.mean((got[:expected.size] - expected) ** 2))
            assert error_db > 15, (scene.clip_id, second, error_db)   # AAC at 128 kb/s: typically 25-35 dB
            for silent in set(range(len(scene.objects))) - set(sounding):
                assert not mixture.tracks[silent, window].any()


def test_every_class_sounds_in_every_split_of_the_default_size(stamps):
    classes = class_names(class_table())
    scenes = plan_scenes(stamps, classes, ScenesConfig(n_clips=60, duration_s=10, probe_scenes=0))
    for split in ("train", "val", "test"):
        heard = {s.objects[i].cls for s in scenes if s.split == split for sec in s.sounding for i in sec}
        assert heard == set(classes), split


def test_held_out_stamps_are_never_seen_in_training(stamps):
    classes = class_names(class_table())
    scenes = plan_scenes(stamps, classes, ScenesConfig(n_clips=30, duration_s=2, holdout_stamps=True, probe_scenes=0))
    seen = {o.stamp for s in scenes if s.split != "test" for o in s.objects}
    unseen = {o.stamp for s in scenes if s.split == "test" for o in s.objects}
    assert unseen and not seen & unseen
