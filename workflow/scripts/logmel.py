"""Rule `logmel`: each audio.h5 window under the audio backbone's front end → logmel.h5 (no decoding)."""
from msl_core.ingest import write_logmels
from msl_core.runlog import from_snakemake
from msl_core.spectrogram import front_end

log = from_snakemake(snakemake)
settings = snakemake.params.front_end
params = front_end(settings["audio_backbone"], settings["audio"])
n = write_logmels(snakemake.input[0], snakemake.output[0], params)
log.info("log-mel windows (%s) of %d rows written to %s", type(params).__name__, n, snakemake.output[0])
