"""Rule `manifest`: a user dataset's raw layout → manifest.csv, with the splits of the dataset's own files."""
from msl_core.adapters import build_manifest, check_splits
from msl_core.runlog import from_snakemake
from msl_core.splits import describe, split_counts

log = from_snakemake(snakemake)
dataset = snakemake.wildcards.raw_dataset
manifest = build_manifest(dataset, snakemake.params.settings, snakemake.params.seed)
for warning in check_splits(manifest, dataset, snakemake.params.skip_bad_inputs):
    log.warning(warning)
manifest.to_csv(snakemake.output[0], index=False)
log.info("manifest: %d clips (%s) → %s", len(manifest), describe(split_counts(manifest), "clips"), snakemake.output[0])
