"""Data-parallel training over N processes (`train.gpus`): the same run as one process, split by rows.

Every rank reads its slice of each global batch (the seeded sampler's order is unchanged), runs the networks on it,
and gathers the per-sample outputs of all ranks, with gradients, before the loss: both losses compare samples with
each other (the correspondence loss scores all N² audio-image pairs of a batch, the alignment loss every pair of
class embeddings), so each rank computes the loss of the whole global batch, the single-process loss. Gradients
then come back through the gather (a sum over ranks) and DistributedDataParallel averages them over the ranks,
which together give the gradient of that one loss. Batch-norm layers that train compute their statistics over
the global batch too (`GlobalBatchNorm`). One rank alone is exactly the single-process loop.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.distributed.nn.functional import all_gather, all_reduce
from torch.utils.data import Sampler

from msl_core.errors import ConfigError

# The autograd collectives are public and documented; their successors (_functional_collectives) are private.
warnings.filterwarnings("ignore", "torch.distributed.nn.functional", FutureWarning)

# Outputs that already cover the whole global batch (the correspondence head scores the gathered pairs).
PAIRWISE = ("avc_logits",)


def check_gpus(gpus: int, batch_size: int) -> None:
    """Each of the `gpus` processes takes batch_size / gpus rows of every batch."""
    if gpus < 1:
        raise ConfigError("train.gpus", f"must be ≥ 1, got {gpus}")
    if batch_size % gpus:
        raise ConfigError("train.batch_size", f"{batch_size} does not split over train.gpus = {gpus} processes: "
                                              "use a multiple of train.gpus")


@dataclass(frozen=True)
class Ranks:
    """This process's place among the training processes: rank, world size and its device."""

    rank: int = 0
    world: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def main(self) -> bool:
        """Rank 0 alone writes checkpoints, the model file, metrics and logs."""
        return self.rank == 0

    @classmethod
    def from_env(cls, device: torch.device) -> Ranks:
        """The process group torchrun describes (RANK, WORLD_SIZE, LOCAL_RANK): NCCL on cuda:LOCAL_RANK, else gloo."""
        rank, world, local = (int(os.environ[k]) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
        if device.type == "cuda":
            device = torch.device("cuda", local)
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=rank, world_size=world,
                                device_id=device if device.type == "cuda" else None)
        return cls(rank, world, device)

    def close(self) -> None:
        if self.world > 1 and dist.is_initialized():
            dist.destroy_process_group()

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def shard(self, n: int) -> Shard:
        """The rows of the current global batch on every rank, this one holding `n` (one tiny all-gather)."""
        if self.world == 1:
            return Shard((n,), 0)
        sizes = [torch.zeros(1, dtype=torch.int64, device=self.device) for _ in range(self.world)]
        dist.all_gather(sizes, torch.tensor([n], device=self.device))
        return Shard(tuple(int(s) for s in sizes), self.rank)

    def wrap(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> nn.Module:
        """The module that runs training steps: `model` itself, or DistributedDataParallel over it.

        DDP synchronises the parameters the optimiser holds: the others (stage 1's projectors, frozen stages) get
        no gradient, and DDP would wait for one. Trainable batch-norm layers switch to global statistics.
        """
        if self.world == 1:
            return model
        held = {id(p) for group in optimizer.param_groups for p in group["params"]}
        for p in model.parameters():
            if id(p) not in held:
                p.requires_grad_(False)
        for m in model.modules():
            if type(m) is nn.BatchNorm2d:
                m.__class__ = GlobalBatchNorm  # same parameters and buffers, same state_dict
        ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids)


@dataclass(frozen=True)
class Shard:
    """One global batch split over the ranks: `sizes[r]` rows on rank r, in rank order."""

    sizes: tuple[int, ...]
    rank: int

    @property
    def total(self) -> int:
        return sum(self.sizes)

    @property
    def rows(self) -> slice:
        """This rank's rows within the global batch."""
        start = sum(self.sizes[: self.rank])
        return slice(start, start + self.sizes[self.rank])

    def local(self, x: Tensor) -> Tensor:
        """This rank's part of something drawn for the whole global batch (the flips)."""
        return x[self.rows]

    def gather(self, x: Tensor) -> Tensor:
        """The global batch of a per-sample tensor, with gradients to every rank's part."""
        if len(self.sizes) == 1:
            return x
        pad = max(self.sizes) - x.shape[0]  # collectives need equal shapes; a last batch may split unevenly
        if pad:
            x = torch.cat([x, x.new_zeros((pad, *x.shape[1:]))])
        parts = all_gather(x)
        return torch.cat([part[:n] for part, n in zip(parts, self.sizes)])

    def gather_outputs(self, out: dict[str, Tensor]) -> dict[str, Tensor]:
        return {k: v if k in PAIRWISE else self.gather(v) for k, v in out.items()}

    @contextmanager
    def pairs_across_ranks(self, model: nn.Module) -> Iterator[None]:
        """During one forward, the correspondence head scores the pairs of the global batch, not the local one."""
        if len(self.sizes) == 1:
            yield
            return
        hook = model.avc.register_forward_pre_hook(lambda _, args: tuple(self.gather(a) for a in args))
        try:
            yield
        finally:
            hook.remove()


class GlobalBatchNorm(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics cover the global batch of all ranks (any backend, gloo included).

    The same arithmetic as one process over the whole batch: two passes (mean, then the mean squared deviation),
    each one all-reduce with gradients; the running variance takes the unbiased estimate over all rows. torch's
    SyncBatchNorm would do the same on CUDA only, and is no BatchNorm2d for the frozen trunks that keep theirs.
    """

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or not dist.is_initialized() or dist.get_world_size() == 1:
            return super().forward(x)
        xf = x.to(torch.promote_types(x.dtype, torch.float32))  # bf16 under autocast: statistics in float32
        sums = all_reduce(torch.cat([xf.sum((0, 2, 3)), xf.new_tensor([xf.numel() / xf.shape[1]])]))
        mean, count = sums[:-1] / sums[-1], sums[-1]
        centred = xf - mean[None, :, None, None]
        var = all_reduce(centred.pow(2).sum((0, 2, 3))) / count
        if self.track_running_stats:
            self._update_running(mean.detach(), var.detach(), float(count.detach()))
        y = centred * torch.rsqrt(var + self.eps)[None, :, None, None]
        if self.affine:
            y = y * self.weight[None, :, None, None] + self.bias[None, :, None, None]
        return y.to(x.dtype)

    @torch.no_grad()
    def _update_running(self, mean: Tensor, var: Tensor, n: float) -> None:
        self.num_batches_tracked += 1
        factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        self.running_mean.lerp_(mean.to(self.running_mean.dtype), factor)
        self.running_var.lerp_((var * n / max(n - 1.0, 1.0)).to(self.running_var.dtype), factor)


class RankSlices(Sampler[list[int]]):
    """This rank's slice of every batch of a batch sampler: contiguous, the first ranks one row longer where a batch
    splits unevenly. Every rank draws the same global batches (the sampler is seeded by epoch alone)."""

    def __init__(self, batches, rank: int, world: int) -> None:
        self.batches, self.rank, self.world = batches, rank, world

    def set_epoch(self, epoch: int) -> None:
        self.batches.set_epoch(epoch)

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.batches:
            yield np.array_split(np.asarray(batch, dtype=np.int64), self.world)[self.rank].tolist()

    def __len__(self) -> int:
        return len(self.batches)
