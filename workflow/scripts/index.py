"""Rule `index`: probe every clip, split it into windows, reject (or fail on) bad inputs."""
from msl_core.manifest import build_index, load_manifest, write_index
from msl_core.runlog import from_snakemake

log = from_snakemake(snakemake)
index, rejected = build_index(load_manifest(snakemake.input[0]), snakemake.params.window_s,
                              skip_bad_inputs=snakemake.params.skip_bad_inputs)
write_index(index, rejected, snakemake.output.index, snakemake.output.rejected)
log.info("index: %d rows from %d clips; %d clip(s) rejected (see %s)", len(index), index["clip_id"].nunique(),
         len(rejected), snakemake.output.rejected)
if rejected:
    print(f"msl: {len(rejected)} clip(s) rejected, listed in {snakemake.output.rejected}", flush=True)
