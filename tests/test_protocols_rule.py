"""The `protocols` rule through Snakemake: hand-made maps, COCO (negatives, an interactive group, a silent object)
and proposals → protocols.md / protocols.json, with the numbers the protocol functions give on the same files."""

from __future__ import annotations

import json

import h5py
import numpy as np
from test_protocols import band, cols, write_coco, write_maps

from msl_core.protocols import evaluate_protocol
from support.workspace import run_snakemake


def test_protocols_rule_writes_every_applicable_protocol(workspace):
    res = workspace / "results" / "scenes"
    (res / "annotations").mkdir(parents=True)
    box = [("A", cols(0, 100))]
    images = [{"clip": "p1", "boxes": box, "silent": ["B"]}, {"clip": "p2", "boxes": box},
              {"clip": "s1", "negative": "silence"}, {"clip": "g_a", "boxes": box, "group": "g"},
              {"clip": "g_b", "boxes": [("B", cols(124, 224))], "group": "g"}]
    ann = write_coco(res / "annotations" / "protocols.json", images)
    agnostic = np.stack([band(0, 100), band(0, 50), band(0, 56, 0.8, 0.1), band(0, 100), band(124, 224)])
    per_class = np.stack([agnostic, np.zeros_like(agnostic)], axis=1)
    maps = write_maps(res / "maps.h5", [im["clip"] for im in images], stage2=agnostic, stage2_raw=agnostic,
                      stage2_class=per_class)
    with h5py.File(maps, "a") as h5:
        h5["row"] = np.arange(5)
    with h5py.File(res / "proposals.h5", "w") as h5:  # one proposal per frame: the left half
        h5["boxes"] = np.tile(np.array([[[0.0, 0.0, 0.5, 1.0]]], dtype=np.float32), (5, 1, 1))
        h5["scores"] = np.ones((5, 1), dtype=np.float32)
    run_snakemake(workspace, "--config", "preset=tiny", "--allowed-rules", "protocols", "--",
                  "results/scenes/protocols.md")
    table = json.loads((res / "protocols.json").read_text())
    assert table["methods"] == ["stage2", "all_ones", "centre", "object_prior"]
    assert set(table["protocols"]) == {"lvs", "ezvsl", "slavc-extended", "slavc-extended-code", "is3", "dsol",
                                       "dsol-code", "tvsl", "pia"}
    for name in ("is3", "pia", "dsol"):
        assert table["protocols"][name]["methods"]["stage2"] == evaluate_protocol(name, ann, maps)["methods"]["stage2"]
    assert table["protocols"]["is3"]["methods"]["stage2"]["iiou"] == 1.0  # 100/100 and 100/100
    assert table["protocols"]["ezvsl"]["methods"]["stage2"]["n_items"] == 2  # the group is IS3's alone
    # The object prior lights the left half: the ordinary positives' box (columns 0–99) within 112 columns.
    assert table["protocols"]["ezvsl"]["methods"]["object_prior"]["mean_ciou"] == np.float64(100 / 112)
    markdown = (res / "protocols.md").read_text()
    assert "| is3 | iiou | 1.000 (n=1) |" in markdown and "| pia | pia |" in markdown
