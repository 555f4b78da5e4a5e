"""Rule `ingest`: one decode per clip → index.csv, rejected.csv, frames.h5, logmel.h5 (bad inputs rejected or fatal)."""
from msl_core.ingest import Outputs, Settings, ingest
from msl_core.manifest import load_manifest
from msl_core.runlog import from_snakemake
from msl_core.spectrogram import front_end
from msl_core.splits import describe, split_counts

log = from_snakemake(snakemake)
params, out = snakemake.params, snakemake.output
settings = Settings(params.window_s, params.size, front_end(params.front_end["audio_backbone"], params.front_end["audio"]))
index, rejected = ingest(load_manifest(snakemake.input[0]), Outputs(out.index, out.rejected, out.frames, out.logmel),
                         settings, skip_bad_inputs=params.skip_bad_inputs, workers=snakemake.threads)
clips = index.drop_duplicates("clip_id")
counts = f"{describe(split_counts(clips), 'clips')}; {describe(split_counts(index), 'rows')}"
log.info("ingest: %d rows from %d clips (%s); %d clip(s) rejected (see %s)", len(index), len(clips), counts,
         len(rejected), out.rejected)
print(f"msl: {snakemake.wildcards.dataset}: {counts}", flush=True)
if rejected:
    print(f"msl: {len(rejected)} clip(s) rejected, listed in {out.rejected}", flush=True)
