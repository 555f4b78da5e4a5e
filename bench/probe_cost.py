"""What the protocol probe clips (scenes.probe_scenes) add to the demo's wall time: the steps whose cost grows with
the clips, timed for the scenes' clips and for the probes' clips apart, in one run on the same machine.

    .venv/bin/python bench/probe_cost.py --preset default --workers 2

Renders the preset's scenes, then its probes; indexes, decodes frames, computes log-mels and proposals for each part
as the rules do. Training never sees a probe (they are test clips); localisation and scoring grow with the test rows
(printed, not timed here). Last line `probe_seconds: <seconds the probes add to these steps>`.
"""

from __future__ import annotations

import argparse
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
from timing import timed

from msl_core.config import load_config
from msl_core.ingest import write_frames, write_logmels
from msl_core.manifest import MANIFEST_COLUMNS, build_index, load_manifest
from msl_core.scenes.build import load_stamps, plan_scenes, render_clip, render_probes
from msl_core.scenes.config import from_config
from msl_core.scenes.groundtruth import manifest_row
from msl_core.scenes.probes import plan_probes
from msl_core.scenes.stamps import class_names, class_table
from msl_core.spectrogram import front_end
from msl_core.teachers.choices import make_proposer
from msl_core.teachers.proposals import ProposalConfig, frame_proposals


def ingest(manifest: Path, config: dict, workers: int) -> dict[str, float]:
    """Seconds of index, frames, log-mel and proposals for the clips of `manifest` (files beside it)."""
    out, times = manifest.parent, {}
    index = []
    times["index"] = timed(lambda: index.append(build_index(load_manifest(manifest), 1.0)[0]))
    rows = index[0]
    times["frames"] = timed(lambda: write_frames(rows, out / "frames.h5", workers=workers))
    params = front_end("resnet18", config["audio"])
    times["logmel"] = timed(lambda: write_logmels(rows, out / "logmel.h5", params, workers=workers))
    proposals = ProposalConfig.from_config(config["proposals"])
    times["proposals"] = timed(lambda: frame_proposals(out / "frames.h5", proposals, make_proposer(proposals)))
    times["rows"] = len(rows)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="default")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--config", default="config.yaml")
    ap.add_argument("--catalogue", default=".cache/msl/stamps/catalogue.csv")
    args = ap.parse_args()
    config = load_config(args.config, {"preset": args.preset})
    cfg = from_config(config)
    stamps = load_stamps(args.catalogue, cfg.sample_rate)
    by_name, classes = {s.name: s for s in stamps}, class_names(class_table())
    scenes = plan_scenes(stamps, classes, cfg)
    with tempfile.TemporaryDirectory() as tmp:
        parts = {name: Path(tmp) / name for name in ("scenes", "probes")}
        for folder in parts.values():
            folder.mkdir()
        boxes = []

        def render_scenes() -> None:
            with ThreadPoolExecutor(args.workers) as pool:
                boxes.extend(pool.map(lambda s: render_clip(s, by_name, cfg, parts["scenes"] / f"{s.clip_id}.mp4"),
                                      scenes))

        times = {"scenes": {"render": timed(render_scenes)}}
        probes = plan_probes(scenes, boxes, stamps, cfg)
        times["probes"] = {"render": timed(lambda: render_probes(probes, by_name, cfg, parts["probes"], args.workers))}
        boxes_of = {s.clip_id: b for s, b in zip(scenes, boxes)}
        rows = {"scenes": [manifest_row(s, b, f"{s.clip_id}.mp4", classes) for s, b in zip(scenes, boxes)],
                "probes": [manifest_row(p.audio, boxes_of[p.parent.clip_id], f"{p.clip_id}.mp4", classes)
                           for p in probes]}
        for name, folder in parts.items():
            pd.DataFrame(rows[name], columns=MANIFEST_COLUMNS).to_csv(folder / "manifest.csv", index=False)
            times[name] |= ingest(folder / "manifest.csv", config, args.workers)
    steps = ("render", "index", "frames", "logmel", "proposals")
    print(f"{args.preset}: {len(scenes)} scenes ({times['scenes']['rows']} rows), {len(probes)} probe clips "
          f"({times['probes']['rows']} rows, all test)")
    print(f"{'step':<10} {'scenes s':>9} {'probes s':>9} {'probes/scenes':>14}")
    for step in steps:
        s, p = times["scenes"][step], times["probes"][step]
        print(f"{step:<10} {s:9.1f} {p:9.1f} {p / s:14.3f}")
    total_s, total_p = (sum(times[part][step] for step in steps) for part in ("scenes", "probes"))
    print(f"{'total':<10} {total_s:9.1f} {total_p:9.1f} {total_p / total_s:14.3f}")
    print(f"probe_seconds: {total_p:.1f}")


if __name__ == "__main__":
    main()
