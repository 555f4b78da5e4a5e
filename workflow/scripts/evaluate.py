"""Rule `evaluate`: stage-2 and CAM maps plus the map-free baselines → metrics.json, ciou.txt, auc.txt, pictures."""
import pandas as pd

from msl_core.evaluation import EvalSettings, run_evaluation
from msl_core.runlog import from_snakemake

log = from_snakemake(snakemake)
params = dict(snakemake.params.settings)
baselines = params.pop("baselines")
warnings = list(snakemake.params.warnings)
rejected = pd.read_csv(snakemake.input.rejected)
if len(rejected):
    warnings.append(f"{len(rejected)} clip(s) could not be used and are left out (skip_bad_inputs; "
                    f"{snakemake.input.rejected})")
for warning in warnings:
    print(f"msl: warning: {warning}", flush=True)
out, seeds = snakemake.output, snakemake.params.seeds
numbers = run_evaluation(
    snakemake.input.annotations,
    EvalSettings(**params),
    out.metrics,
    maps=snakemake.input.maps,
    baselines=baselines,
    ciou_txt=out.ciou,
    auc_txt=out.auc,
    heatmaps=out.heatmaps,
    per_class=out.per_class,
    frames=snakemake.input.frames,
    warnings=warnings,
    seed=seeds[0],
    seed_maps=dict(zip(seeds[1:], snakemake.input.seed_maps)),
)
log.info("%d items scored, %d missing; primary %s", numbers["n_items"], numbers["n_missing"], numbers["primary"])
