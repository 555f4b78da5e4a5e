"""Rule `logmel`: ffmpeg-decoded 22.05 kHz mono audio → log-mel windows in logmel.h5."""
from msl_core.ingest import write_logmels
from msl_core.manifest import read_index
from msl_core.runlog import from_snakemake
from msl_core.spectrogram import LogMelParams

log = from_snakemake(snakemake)
write_logmels(read_index(snakemake.input[0]), snakemake.output[0], LogMelParams(**snakemake.params.audio),
              workers=snakemake.threads)
log.info("log-mel windows written to %s", snakemake.output[0])
