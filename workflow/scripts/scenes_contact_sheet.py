"""Rule `contact_sheet`: sample frames decoded from the scene videos with their ground-truth boxes."""

from pathlib import Path

from msl_core.runlog import from_snakemake

log = from_snakemake(snakemake)  # noqa: F821

from msl_core.scenes.contact_sheet import contact_sheet

contact_sheet(snakemake.input.manifest, Path(snakemake.input.annotations[0]).parent, snakemake.output[0])  # noqa: F821
