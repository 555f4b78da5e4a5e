"""Rule `convert_annotations`: configured test annotations → results/<dataset>/annotations/test.json (COCO)."""
import shutil

from msl_core.annotations import SOURCE_ARGUMENTS, convert_configured, load_coco, write_coco
from msl_core.runlog import from_snakemake

log = from_snakemake(snakemake)
inputs, fmt = snakemake.input, snakemake.params.format
if fmt == "coco":  # already canonical: checked, then copied unchanged
    load_coco(inputs.coco)
    shutil.copyfile(inputs.coco, snakemake.output[0])
    log.info("copied COCO annotations %s", inputs.coco)
else:
    files = {key: inputs.get(key) for key in SOURCE_ARGUMENTS}
    conversion = convert_configured(fmt, files, snakemake.wildcards.dataset)
    write_coco(conversion, snakemake.output[0])
    log.info("%s: %s", snakemake.output[0], conversion.summary())
