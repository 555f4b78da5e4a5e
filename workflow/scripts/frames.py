"""Rule `frames`: one ffmpeg process per clip → frames.h5."""
from msl_core.ingest import write_frames
from msl_core.manifest import read_index
from msl_core.runlog import from_snakemake

log = from_snakemake(snakemake)
write_frames(read_index(snakemake.input[0]), snakemake.output[0], size=snakemake.params.size,
             workers=snakemake.threads)
log.info("frames written to %s", snakemake.output[0])
