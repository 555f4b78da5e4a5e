"""Rule `index`: probe every clip, split it into windows, reject (or fail on) bad inputs."""
from msl_core.manifest import build_index, load_manifest, write_index
from msl_core.runlog import from_snakemake
from msl_core.splits import describe, split_counts

log = from_snakemake(snakemake)
index, rejected = build_index(load_manifest(snakemake.input[0]), snakemake.params.window_s,
                              skip_bad_inputs=snakemake.params.skip_bad_inputs)
write_index(index, rejected, snakemake.output.index, snakemake.output.rejected)
clips = index.drop_duplicates("clip_id")
counts = f"{describe(split_counts(clips), 'clips')}; {describe(split_counts(index), 'rows')}"
log.info("index: %d rows from %d clips (%s); %d clip(s) rejected (see %s)", len(index), len(clips), counts,
         len(rejected), snakemake.output.rejected)
print(f"msl: {snakemake.wildcards.dataset}: {counts}", flush=True)
if rejected:
    print(f"msl: {len(rejected)} clip(s) rejected, listed in {snakemake.output.rejected}", flush=True)
