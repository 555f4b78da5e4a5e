"""Rule `manifest`: a user dataset's raw layout → manifest.csv."""
from msl_core.adapters import build_manifest
from msl_core.runlog import from_snakemake

log = from_snakemake(snakemake)
manifest = build_manifest(snakemake.wildcards.raw_dataset, snakemake.params.settings)
manifest.to_csv(snakemake.output[0], index=False)
log.info("manifest: %d clips → %s", len(manifest), snakemake.output[0])
