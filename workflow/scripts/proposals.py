"""Rule proposals: frames.h5 -> proposals.h5 with the top-K class-agnostic boxes of every frame."""

from msl_core.device import resolve_device
from msl_core.runlog import from_snakemake
from msl_core.stores.frames import FramesStore
from msl_core.stores.proposals import write_proposals
from msl_core.teachers.choices import make_proposer
from msl_core.teachers.proposals import ProposalConfig, frame_proposals

log = from_snakemake(snakemake)  # noqa: F821 - injected by Snakemake
inp = snakemake.input  # noqa: F821

cfg = ProposalConfig.from_config(snakemake.params.settings)  # noqa: F821
proposer = make_proposer(cfg, resolve_device(snakemake.config["device"]))  # noqa: F821
boxes, scores = frame_proposals(inp.frames, cfg, proposer)
write_proposals(snakemake.output[0], boxes, scores, FramesStore(inp.frames).index_table(),  # noqa: F821
                attrs={"backend": cfg.backend, "top_k": cfg.top_k, "nms_iou": cfg.nms_iou})
log.info("%d frames, %s, mean boxes kept %.2f", len(boxes), cfg.backend, float((scores > 0).sum(1).mean()) if len(scores) else 0)
