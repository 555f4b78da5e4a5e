"""Rule `logmel`: each row's audio window under the audio backbone's front end → logmel.h5."""
from msl_core.ingest import write_logmels
from msl_core.manifest import read_index
from msl_core.runlog import from_snakemake
from msl_core.spectrogram import front_end

log = from_snakemake(snakemake)
settings = snakemake.params.front_end
params = front_end(settings["audio_backbone"], settings["audio"])
write_logmels(read_index(snakemake.input[0]), snakemake.output[0], params, workers=snakemake.threads)
log.info("log-mel windows (%s) written to %s", type(params).__name__, snakemake.output[0])
