"""Rule `join_shards`: the shard jobs' outputs as one dataset (virtual frames.h5 / audio.h5, nothing copied)."""
from pathlib import Path

from msl_core.ingest import Outputs, join_shards, summary
from msl_core.runlog import from_snakemake

log = from_snakemake(snakemake)
out = snakemake.output
shards = [Outputs.in_folder(Path(out.index).parent / "shards" / str(k)) for k in range(snakemake.params.shards)]
index, rejected = join_shards(shards, Outputs(out.index, out.rejected, out.frames, out.audio),
                              snakemake.params.skip_bad_inputs)
log.info("joined %d shards: %d rows (%s); %d clip(s) rejected", len(shards), len(index), summary(index), len(rejected))
print(f"msl: {snakemake.wildcards.dataset}: {summary(index)}", flush=True)
if rejected:
    print(f"msl: {len(rejected)} clip(s) rejected, listed in {out.rejected}", flush=True)
