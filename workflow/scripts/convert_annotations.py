"""Rule `convert_annotations`: configured test annotations → results/<dataset>/annotations/test.json (COCO)."""
from msl_core.annotations import SOURCE_ARGUMENTS, convert_configured
from msl_core.coco import write_coco
from msl_core.runlog import from_snakemake

log = from_snakemake(snakemake)
files = {key: snakemake.input.get(key) for key in SOURCE_ARGUMENTS}
conversion = convert_configured(snakemake.params.format, files, snakemake.wildcards.dataset)
write_coco(conversion, snakemake.output[0])
log.info("%s: %s", snakemake.output[0], conversion.summary())
