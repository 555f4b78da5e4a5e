"""Rule `ingest`: one decode per clip → index.csv, rejected.csv, frames.h5, audio.h5 (bad inputs rejected or fatal);
with `ingest.shard_clips` one shard of the clips (its bad inputs listed, `join_shards` decides)."""
from msl_core.ingest import Outputs, Settings, ingest, shard_of, summary
from msl_core.manifest import load_manifest
from msl_core.runlog import from_snakemake

log = from_snakemake(snakemake)
params, out = snakemake.params, snakemake.output
settings = Settings(params.window_s, params.size, params.sample_rate)
manifest = load_manifest(snakemake.input[0])
sharded = bool(params.shards)
if sharded:
    manifest = shard_of(manifest, int(snakemake.wildcards.shard), params.shards)
index, rejected = ingest(manifest, Outputs(out.index, out.rejected, out.frames, out.audio), settings,
                         skip_bad_inputs=params.skip_bad_inputs, workers=snakemake.threads, shard=sharded)
log.info("ingest: %d rows (%s); %d clip(s) rejected (see %s)", len(index), summary(index), len(rejected), out.rejected)
if not sharded:  # a shard's counts are part of a dataset: join_shards prints the whole
    print(f"msl: {snakemake.wildcards.dataset}: {summary(index)}", flush=True)
    if rejected:
        print(f"msl: {len(rejected)} clip(s) rejected, listed in {out.rejected}", flush=True)
