"""Rule overlays: `msl locate` on the first test clips of a dataset, and their captioned contact sheet."""

from msl_core.runlog import from_snakemake

log = from_snakemake(snakemake)  # noqa: F821 - injected by Snakemake

import torch

from msl_core.device import resolve_device
from msl_core.locate.contact_sheet import overlay_sheet
from msl_core.locate.run import LocateOptions, locate_test_clips

out = snakemake.output  # noqa: F821
torch.set_num_threads(snakemake.threads)  # noqa: F821
done = locate_test_clips(
    snakemake.input.index,  # noqa: F821
    snakemake.input.model,  # noqa: F821
    out.videos,
    snakemake.params.n,  # noqa: F821
    LocateOptions(threshold=snakemake.params.localize["class_threshold"], gate=snakemake.params.localize["gate"],  # noqa: F821
                  contrast_heard=snakemake.params.localize["contrast_heard"], progress=False),  # noqa: F821
    resolve_device(snakemake.config["device"]),  # noqa: F821
)
overlay_sheet(done, out.sheet)
