"""Rule `test_logmel`: whole-file, peak-normalised log-mel of every test row (the reference's Flickr test audio)."""
from msl_core.ingest import write_test_logmels
from msl_core.manifest import read_index
from msl_core.runlog import from_snakemake
from msl_core.spectrogram import front_end

log = from_snakemake(snakemake)
settings = snakemake.params.front_end
n = write_test_logmels(read_index(snakemake.input[0]), snakemake.output[0],
                       front_end(settings["audio_backbone"], settings["audio"]))
log.info("whole-file test log-mels of %d rows written to %s", n, snakemake.output[0])
