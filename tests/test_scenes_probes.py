"""Probe clips of the demo's test split: real MP4s decoded by ffmpeg, their soundtracks and their ground truth."""

from __future__ import annotations

import json

import numpy as np
import pytest

from msl_core.manifest import load_manifest
from msl_core.media import decode_audio
from msl_core.protocols.data import load_protocol_items
from msl_core.scenes.build import build_dataset
from msl_core.scenes.config import ScenesConfig
from support.stamps import write_catalogue

CFG = ScenesConfig(n_clips=5, duration_s=3, seed=3, probe_scenes=1, probe_duration_s=2)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("probes")
    build_dataset(CFG, write_catalogue(root), root / "videos", root / "annotations", workers=2)
    return root


def test_probe_clips_are_test_clips_with_the_parent_picture(built):
    manifest = load_manifest(built / "videos/manifest.csv").set_index("clip_id")
    plans = json.loads((built / "annotations/scenes.json").read_text())
    probes = plans["probes"]
    parent = probes[0]["parent"]
    scene = next(s for s in plans["scenes"] if s["clip_id"] == parent)
    visible = {p["solo"] for p in probes if p["kind"] == "solo"}
    assert [p["kind"] for p in probes][:3] == ["silence", "noise", "offscreen"]
    assert visible and visible <= set(range(len(scene["objects"])))
    assert scene["split"] == "test" and len(manifest) == CFG.n_clips + len(probes)
    for probe in probes:
        row = manifest.loc[probe["clip_id"]]
        assert row["split"] == "test" and len(row["tags_per_second"].split("|")) == CFG.probe_duration_s
    offscreen = next(p for p in probes if p["kind"] == "offscreen")
    heard = manifest.loc[offscreen["clip_id"], "tags"]
    assert heard and heard not in {o["cls"] for o in scene["objects"]}  # a class the picture does not show
    # Silence is digital silence; the noise probe is pink noise at its documented level (AAC keeps it within 30 %).
    silence = decode_audio(built / "videos" / f"{parent}_silence.mp4", CFG.sample_rate)
    noise = decode_audio(built / "videos" / f"{parent}_noise.mp4", CFG.sample_rate)
    assert np.abs(silence).max() < 1e-3
    assert np.sqrt(np.mean(noise**2)) == pytest.approx(0.05, rel=0.3)


def test_protocols_json_adds_negatives_and_interactive_groups(built):
    items = load_protocol_items(built / "annotations/protocols.json", 224)
    test = json.loads((built / "annotations/test.json").read_text())
    negatives = [it for it in items.items if not it.positive]
    solos = [it for it in items.items if it.group]
    assert sorted({it.negative for it in negatives}) == ["noise", "offscreen", "silence"]
    assert len(negatives) == 3 * CFG.probe_duration_s
    # One solo item per visible object and second; each holds exactly that object's box and class.
    assert all(len(it.boxes) == 1 for it in solos)
    groups = {it.group for it in solos}
    assert len(groups) == CFG.probe_duration_s and len(solos) % len(groups) == 0
    ids = [im["id"] for im in json.loads((built / "annotations/protocols.json").read_text())["images"]]
    assert len(ids) == len(set(ids)) and len(ids) == len(test["images"]) + len(negatives) + len(solos)
