"""Rule `scenes_videos`: render the scenes as MP4s with the manifest and COCO ground truth."""

from pathlib import Path

from msl_core.runlog import from_snakemake

log = from_snakemake(snakemake)  # noqa: F821

from msl_core.scenes.build import build_dataset
from msl_core.scenes.config import ScenesConfig

settings = {k: tuple(v) if isinstance(v, list) else v for k, v in snakemake.params.scenes.items()}  # noqa: F821
build_dataset(
    ScenesConfig(**settings),
    snakemake.input.catalogue,  # noqa: F821
    videos_dir=Path(snakemake.output.manifest).parent,  # noqa: F821
    annotations_dir=Path(snakemake.output.plans).parent,  # noqa: F821
    workers=snakemake.threads,  # noqa: F821
)
