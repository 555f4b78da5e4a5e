"""Conformance of every protocol: small hand-built maps and boxes on the 224 grid, real COCO JSON and HDF5 files,
expected values worked out by hand from each published definition (see the comment above each test)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from msl_core import metrics
from msl_core.cli import cli
from msl_core.errors import BadInput
from msl_core.protocols import PROTOCOLS, evaluate_protocol
from msl_core.stores.maps import write_maps as write_map_store

G = 224


def band(c0: int, c1: int, inside: float = 1.0, outside: float = 0.0) -> np.ndarray:
    """(224, 224) map: `inside` on columns c0 … c1 − 1 of every row, `outside` elsewhere."""
    out = np.full((G, G), outside, dtype=np.float32)
    out[:, c0:c1] = inside
    return out


def cols(c0: int, c1: int) -> list[float]:
    """COCO box [x, y, w, h] covering columns c0 … c1 − 1, every row, of a 224×224 image."""
    return [float(c0), 0.0, float(c1 - c0), float(G)]


def write_coco(path: Path, images: list[dict], categories=("A", "B"), info: dict | None = None) -> Path:
    """images: {clip, boxes: [(category, bbox)], + any extra image field (negative, group, silent_objects)}."""
    ids = {name: i + 1 for i, name in enumerate(categories)}
    coco = {"info": {"missing": [], **(info or {})}, "images": [], "annotations": [],
            "categories": [{"id": i, "name": n, "supercategory": ""} for n, i in ids.items()]}
    for k, spec in enumerate(images, start=1):
        extra = {key: value for key, value in spec.items() if key not in ("clip", "boxes", "silent")}
        silent = [{"bbox": cols(0, 1), "category_id": ids[n], "area": 1.0} for n in spec.get("silent", [])]
        coco["images"].append({"id": k, "file_name": spec["clip"], "width": G, "height": G, "clip_id": spec["clip"],
                               "second": 0, **({"silent_objects": silent} if silent else {}), **extra})
        for name, bbox in spec.get("boxes", []):
            coco["annotations"].append({"id": len(coco["annotations"]) + 1, "image_id": k, "category_id": ids[name],
                                        "bbox": bbox, "area": bbox[2] * bbox[3], "iscrowd": 0})
    path.write_text(json.dumps(coco))
    return path


def write_maps(path: Path, clips: list[str], categories=("A", "B"), **datasets) -> Path:
    items = pd.DataFrame({"clip_id": clips, "second": 0, "split": "test"})
    maps = {name: np.asarray(value, dtype=np.float32) for name, value in datasets.items()}
    write_map_store(path, items, maps, list(categories))
    return path


def test_registry_names_the_issue_protocols():
    assert {"lvs", "ezvsl", "slavc-extended", "is3", "dsol", "tvsl", "pia"} <= set(PROTOCOLS)
    for protocol in PROTOCOLS.values():
        assert protocol.measures and protocol.used_by and protocol.threshold_rule


# --- the top-half rules ------------------------------------------------------------------------------------------
# Map L(r, c) = c: min-max gives c/223; sorted index ⌊224²/2⌋ = 25088 = 112·224 is the first pixel of column 112,
# so t = 112/223. EZ-VSL (L ≥ t) keeps columns 112–223 (112 columns); LVS (L > t, plus the maximum) and IS3 (L > t)
# keep columns 113–223 (111). Against a box on columns 112–223: cIoU = 1 and 111/112.


def test_top_half_rules_on_a_ramp():
    ramp = np.tile(np.arange(G, dtype=np.float64), (G, 1))[None]
    gt = metrics.union_map(np.array([cols(112, G)]), G)[None]
    assert metrics.ciou(metrics.binarise_top_half(ramp, "ge"), gt)[0] == 1.0
    assert metrics.ciou(metrics.binarise_top_half(ramp, "gt_or_max"), gt)[0] == pytest.approx(111 / 112)
    assert metrics.ciou(metrics.binarise_top_half(ramp, "gt"), gt)[0] == pytest.approx(111 / 112)
    # A two-level map (half ones): t = 1, so EZ-VSL and LVS keep the ones, IS3's strict rule keeps nothing.
    halves = band(112, G)[None]
    assert metrics.binarise_top_half(halves, "ge").sum() == 112 * G
    assert metrics.binarise_top_half(halves, "gt_or_max").sum() == 112 * G
    assert metrics.binarise_top_half(halves, "gt").sum() == 0


def test_lvs_and_ezvsl_with_flickr_consensus(tmp_path):
    # Two annotators: columns 0–111 and 56–167. Consensus G = 0.5 on 0–55, 1 on 56–111, 0.5 on 112–167, 0 beyond:
    # ΣG = 224·112. The ramp's top half (columns 112–223, EZ-VSL) gains 224·56·0.5 and adds 224·56 false pixels:
    # cIoU = 28 / (112 + 56) = 1/6. LVS (columns 113–223): (0.5·55) / (112 + 56) = 27.5/168.
    ann = write_coco(tmp_path / "a.json", [{"clip": "f1", "boxes": [("A", cols(0, 112)), ("A", cols(56, 168))]}],
                     info={"ground_truth": "consensus"})
    ramp = np.tile(np.arange(G, dtype=np.float32), (G, 1))
    maps = write_maps(tmp_path / "m.h5", ["f1"], stage2=ramp[None])
    ez = evaluate_protocol("ezvsl", ann, maps)
    lvs = evaluate_protocol("lvs", ann, maps)
    assert ez["mean_ciou"] == pytest.approx(1 / 6)
    assert lvs["mean_ciou"] == pytest.approx(27.5 / 168)
    assert ez["n_items"] == 1 and ez["success_rate"] == 0.0 and ez["primary"] == "stage2"


# --- SLAVC extended: AP and max-F1 ---------------------------------------------------------------------------------
# Items (confidence, kind): (0.9, localised positive), (0.8, mislocalised positive), (0.7, negative),
# (0.6, localised positive). Thresholds 0.9 … 0.6 give (P, R) = (1, 1/3), (1/2, 1/2), (1/3, 1/2), (1/2, 1).
# All-point AP = 1/3·1 + 1/6·1/2 + 0 + 1/2·1/2 = 2/3; SLAVC's released recipe uses thresholds 0.8, 0.7, 0.6 and
# drops the first recall step: 1/2·0 + 1/2·(1 − 1/2) = 1/4. Best F1 = 2·(1/2)·1/(3/2) = 2/3 (threshold 0.6).

CONF = np.array([0.9, 0.8, 0.7, 0.6])
POSITIVE = np.array([True, True, False, True])
HIT = np.array([True, False, False, True])


def test_average_precision_and_f1_by_hand():
    assert metrics.average_precision(CONF, POSITIVE, HIT) == pytest.approx(2 / 3)
    assert metrics.average_precision(CONF, POSITIVE, HIT, legacy=True) == pytest.approx(1 / 4)
    assert metrics.max_f1(CONF, POSITIVE, HIT) == pytest.approx(2 / 3)
    assert metrics.max_f1(CONF, POSITIVE, HIT, legacy=True) == pytest.approx(2 / 3)


def test_slavc_extended_from_files(tmp_path):
    # Localised positives predict exactly their box (right half), the mislocalised one the left half; the raw
    # maps are constant at the item's confidence (top-quarter mean = that constant).
    box = [("A", cols(112, G))]
    ann = write_coco(tmp_path / "a.json", [
        {"clip": "p1", "boxes": box}, {"clip": "p2", "boxes": box},
        {"clip": "n1", "negative": "offscreen"}, {"clip": "p3", "boxes": box}])
    agnostic = np.stack([band(112, G), band(0, 112), band(0, 112), band(112, G)])
    raw = CONF[:, None, None] * np.ones((4, G, G))
    maps = write_maps(tmp_path / "m.h5", ["p1", "p2", "n1", "p3"], stage2=agnostic, stage2_raw=raw)
    out = evaluate_protocol("slavc-extended", ann, maps)
    assert (out["n_items"], out["n_negatives"]) == (3, 1)
    assert out["ap"] == pytest.approx(2 / 3) and out["max_f1"] == pytest.approx(2 / 3)
    assert out["success_rate"] == pytest.approx(2 / 3)
    assert evaluate_protocol("slavc-extended-code", ann, maps)["ap"] == pytest.approx(1 / 4)
    # The all-ones baseline is equally confident everywhere: every item fires at the one threshold, P = 0 (its
    # top half is the whole frame, cIoU = 1/2 ≥ 0.5, so the positives are localised: P = 3/4, R = 1).
    ones = evaluate_protocol("slavc-extended", ann, maps, baselines=["all_ones"])["methods"]["all_ones"]
    assert ones["ap"] == pytest.approx(3 / 4)


def test_slavc_needs_raw_maps(tmp_path):
    ann = write_coco(tmp_path / "a.json", [{"clip": "p1", "boxes": [("A", cols(0, 10))]}, {"clip": "n1",
                                                                                           "negative": "silence"}])
    maps = write_maps(tmp_path / "m.h5", ["p1", "n1"], stage2=np.ones((2, G, G)))
    with pytest.raises(BadInput, match="stage2_raw"):
        evaluate_protocol("slavc-extended", ann, maps)


# --- IS3 interactive -----------------------------------------------------------------------------------------------
# Box = columns 0–99. A map with ones on columns 0…k−1 (k < 112) has median 0, so IS3's strict rule keeps exactly
# those columns: cIoU = k/100. Group g1 = {0.62, 0.70}, g2 = {0.62, 0.32}: frame minima 0.62 and 0.32.
# IIoU = share of minima ≥ 0.5 = 1/2. IAUC: the curve is 1 up to t = 0.30 (i ≤ 6), 1/2 for t = 0.35 … 0.60
# (i = 7 … 12), 0 from 0.65: 0.05·(6 + 0.75 + 5·0.5 + 0.25) = 0.475. Over the four pairs: success 3/4.


def test_is3_iiou_iauc(tmp_path):
    box = [("A", cols(0, 100))]
    widths = {"g1_a": 62, "g1_b": 70, "g2_a": 62, "g2_b": 32}
    ann = write_coco(tmp_path / "a.json", [{"clip": c, "boxes": box, "group": c[:2]} for c in widths])
    maps = write_maps(tmp_path / "m.h5", list(widths), stage2=np.stack([band(0, k) for k in widths.values()]))
    out = evaluate_protocol("is3", ann, maps)
    assert (out["n_items"], out["n_groups"]) == (4, 2)
    assert out["iiou"] == 0.5
    assert out["iauc"] == pytest.approx(0.475)
    assert out["success_rate"] == 0.75


def test_is3_without_groups_is_refused(tmp_path):
    ann = write_coco(tmp_path / "a.json", [{"clip": "p1", "boxes": [("A", cols(0, 10))]}])
    maps = write_maps(tmp_path / "m.h5", ["p1"], stage2=np.ones((1, G, G)))
    with pytest.raises(BadInput, match="no interactive groups"):
        evaluate_protocol("is3", ann, maps)


# --- DSOL / T-VSL class-aware ------------------------------------------------------------------------------------
# Item 1: A sounds (box columns 0–99), B is visible and silent. A's map is 1 on its box: cIoU 1 at any relative
# threshold. B's map is 0.9 on columns 0–55 (a quarter), 0.1 elsewhere: NSA = share ≤ 0.2 = 3/4.
# Item 2: A sounds (same box), A's map 1 on columns 0–49: cIoU 1/2; B's map is 0 (and B is not in view).
# dsol: success@0.3 = 1, mean 3/4, NSA = 3/4 (only item 1 has a silent object). dsol-code scores every
# non-sounding class: NSA = (3/4 + 1)/2 = 7/8. tvsl: mean 3/4.


def test_dsol_tvsl_class_aware(tmp_path):
    box = [("A", cols(0, 100))]
    ann = write_coco(tmp_path / "a.json", [{"clip": "i1", "boxes": box, "silent": ["B"]}, {"clip": "i2", "boxes": box}])
    per_class = np.stack([np.stack([band(0, 100), band(0, 56, 0.9, 0.1)]), np.stack([band(0, 50), band(0, 0)])])
    maps = write_maps(tmp_path / "m.h5", ["i1", "i2"], stage2=per_class[:, 0], stage2_class=per_class)
    dsol = evaluate_protocol("dsol", ann, maps)
    assert dsol["success_rate"] == 1.0 and dsol["mean_ciou"] == pytest.approx(0.75)
    assert dsol["nsa"] == pytest.approx(0.75) and dsol["n_silent"] == 1
    assert evaluate_protocol("dsol-code", ann, maps)["nsa"] == pytest.approx(7 / 8)
    tvsl = evaluate_protocol("tvsl", ann, maps)
    assert tvsl["mean_ciou"] == pytest.approx(0.75) and "success_rate" not in tvsl


# --- PIA -------------------------------------------------------------------------------------------------------------
# Silence: raw map 0.8 on a quarter of the columns, 0.1 elsewhere → lit share 1/4. Noise: raw map 0 → 0.
# PIA = 1/8; the all-ones baseline lights everything: 1.


def test_pia_by_kind(tmp_path):
    ann = write_coco(tmp_path / "a.json", [{"clip": "p1", "boxes": [("A", cols(0, 112))]},
                                           {"clip": "s1", "negative": "silence"}, {"clip": "z1", "negative": "noise"}])
    raw = np.stack([band(0, 112), band(0, 56, 0.8, 0.1), band(0, 0)])
    maps = write_maps(tmp_path / "m.h5", ["p1", "s1", "z1"], stage2=raw, stage2_raw=raw)
    out = evaluate_protocol("pia", ann, maps, baselines=["all_ones"])
    assert out["pia"] == pytest.approx(0.125) and out["n_negatives"] == 2
    assert out["pia_by_kind"] == {"silence": pytest.approx(0.25), "noise": 0.0}
    assert out["success_rate"] == 1.0
    assert out["methods"]["all_ones"]["pia"] == 1.0


def test_unknown_negative_kind_names_the_file(tmp_path):
    ann = write_coco(tmp_path / "a.json", [{"clip": "s1", "negative": "quiet"}])
    with pytest.raises(BadInput, match="a.json.*quiet"):
        evaluate_protocol("pia", ann, baselines=["all_ones"])


def test_msl_evaluate_protocol_command(tmp_path):
    box = [("A", cols(0, 100))]
    widths = {"g1_a": 62, "g1_b": 70}
    ann = write_coco(tmp_path / "a.json", [{"clip": c, "boxes": box, "group": "g1"} for c in widths])
    maps = write_maps(tmp_path / "m.h5", list(widths), stage2=np.stack([band(0, k) for k in widths.values()]))
    out = tmp_path / "metrics.json"
    result = CliRunner().invoke(cli, ["evaluate", "--annotations", str(ann), "--protocol", "is3", "--maps", str(maps),
                                      "--baseline", "centre", "--out", str(out)])
    assert result.exit_code == 0, result.output
    numbers = json.loads(out.read_text())
    assert numbers["iiou"] == 1.0 and numbers["n_items"] == 2 and set(numbers["methods"]) == {"stage2", "centre"}


def test_another_models_npy_maps_scored_through_docs_script(tmp_path):
    # A VGG-SS positive (box: left half) and an off-screen negative of SLAVC's list. The foreign model's raw map
    # for the positive is 3 on the left half, −1 elsewhere (min-max: exactly its box, cIoU 1, confidence 3); for
    # the negative a flat −1 (confidence −1). One threshold separates them: AP = max-F1 = 1.
    import subprocess
    import sys

    from msl_core.annotations import convert
    from msl_core.coco import write_coco

    (tmp_path / "vggss.json").write_text(json.dumps([{"file": "v1_000010", "class": "dog", "bbox": [[0, 0, 0.5, 1]]}]))
    (tmp_path / "plus_silent.csv").write_text("video,audio,label\nv1_000010,v1_000010,dog\nv2_000020,v3_000030,non-sounding\n")
    ann = write_coco(convert("slavc-extended", source=tmp_path / "plus_silent.csv", gtdata=tmp_path / "vggss.json"),
                     tmp_path / "coco.json")
    heat = tmp_path / "heat"
    heat.mkdir()
    np.save(heat / "v1_000010.npy", band(0, 112, 3.0, -1.0))
    np.save(heat / "v2_000020@v3_000030.npy", np.full((G, G), -1.0, dtype=np.float32))
    script = Path(__file__).resolve().parents[1] / "docs" / "maps_from_npy.py"
    subprocess.run([sys.executable, str(script), str(heat), str(tmp_path / "maps.h5")], check=True)
    out = evaluate_protocol("slavc-extended", ann, tmp_path / "maps.h5")
    assert (out["n_items"], out["n_negatives"]) == (1, 1)
    assert out["mean_ciou"] == 1.0 and out["ap"] == 1.0 and out["max_f1"] == 1.0


def test_table_marks_methods_without_raw_or_class_maps(tmp_path):
    # A maps file with only normalised maps: the raw- and class-map protocols cannot score stage2 (n/a, with the
    # reason), the baselines still can; protocols whose items are absent are listed as not applicable.
    from msl_core.protocols.table import protocol_table, to_markdown

    ann = write_coco(tmp_path / "a.json", [{"clip": "p1", "boxes": [("A", cols(0, 112))]},
                                           {"clip": "s1", "negative": "silence"}])
    maps = write_maps(tmp_path / "m.h5", ["p1", "s1"], stage2=np.stack([band(0, 112), band(0, 0)]))
    table = protocol_table(ann, maps, ["all_ones"])
    assert table["protocols"]["pia"]["methods"]["stage2"] == {"not_scored": "no raw maps for stage2"}
    assert table["protocols"]["pia"]["methods"]["all_ones"]["pia"] == 1.0
    assert table["protocols"]["tvsl"]["methods"]["stage2"] == {"not_scored": "no class maps for stage2"}
    assert table["not_applicable"] == {"is3": "no interactive groups", "dsol": "no silent objects"}
    assert "| pia | pia | n/a | 1.000 (n=1) |" in to_markdown(table)


def test_flickr_one_based_corners_as_lvs_code_scales_them(tmp_path):
    # gtdata box xmin = 1, xmax = 128 (1-based, 256 px), full height; our COCO stores [0, 0, 127, 255]. LVS-style
    # code: columns int(224·1/256) = 0 … int(224·128/256) − 1 = 111, rows 0 … 223: exactly a 112-column map's top
    # half (cIoU 1; one annotator, so G = 0.5 inside). Without the shift the box would cover columns 0–110 and
    # rows 0–222: hit = 0.5·111·223, false positives = 112·224 − 111·223 = 335.
    images = [{"clip": "f1", "boxes": [("A", [0.0, 0.0, 127.0, 255.0])]}]
    maps = write_maps(tmp_path / "m.h5", ["f1"], stage2=band(0, 112)[None])
    for corners, expected in (("one-based", 1.0), (None, 0.5 * 111 * 223 / (0.5 * 111 * 223 + 335))):
        info = {"ground_truth": "consensus", **({"source_corners": corners} if corners else {})}
        ann = write_coco(tmp_path / "a.json", [{**images[0]}], info=info)
        coco = json.loads(ann.read_text())
        coco["images"][0]["width"] = coco["images"][0]["height"] = 256
        ann.write_text(json.dumps(coco))
        assert evaluate_protocol("ezvsl", ann, maps)["mean_ciou"] == pytest.approx(expected)


def test_seed_table_gives_mean_and_std_of_each_cell(tmp_path):
    # Two seeds' maps of the IS3 items above: seed 0 localises one group of two (IIoU 0.5, IAUC 0.475), seed 1
    # both (1.0, 1.0). Mean ± sample std: 0.75 ± 0.5/√2 and 0.7375 ± 0.525/√2; counts are the items per seed.
    from msl_core.protocols.table import protocol_table, seed_table, to_markdown

    box = [("A", cols(0, 100))]
    widths = {"g1_a": 62, "g1_b": 70, "g2_a": 62, "g2_b": 32}
    ann = write_coco(tmp_path / "a.json", [{"clip": c, "boxes": box, "group": c[:2]} for c in widths])
    seed0 = write_maps(tmp_path / "m0.h5", list(widths), stage2=np.stack([band(0, k) for k in widths.values()]))
    seed1 = write_maps(tmp_path / "m1.h5", list(widths), stage2=np.stack([band(0, 100)] * 4))
    tables = [protocol_table(ann, m) for m in (seed0, seed1)]
    one = seed_table(tables[:1], [0])
    assert one["protocols"] == tables[0]["protocols"] and "n_seeds" not in one["protocols"]["is3"]["methods"]["stage2"]
    table = seed_table(tables, [0, 1])
    cell = table["protocols"]["is3"]["methods"]["stage2"]
    assert (cell["iiou"], cell["iauc"]) == (pytest.approx(0.75), pytest.approx(0.7375))
    assert cell["std"]["iiou"] == pytest.approx(0.5 / np.sqrt(2)) and cell["std"]["iauc"] == pytest.approx(0.525 / np.sqrt(2))
    assert (cell["n_groups"], cell["n_seeds"]) == (2, 2)
    assert table["per_seed"]["1"]["is3"]["methods"]["stage2"]["iiou"] == 1.0
    markdown = to_markdown(table)
    assert "| is3 | iiou | 0.750 ± 0.354 (n=2, 2 seeds) |" in markdown and "over 2 training seeds" in markdown
    assert "±" not in to_markdown(one)
