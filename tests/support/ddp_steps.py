"""A few float64 SGD steps of a small network with msl's losses, in one process or spread over gloo processes
(`training/distributed.py`), for tests/test_distributed.py: in float64 the two must agree to rounding, so any
difference in the arithmetic (a wrong gather, a local batch norm, a gradient scaled by N) shows."""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from msl_core.models.coarse_to_fine import CorrespondenceHead
from msl_core.models.losses import classification_loss, correspondence_loss
from msl_core.training.distributed import Ranks

BATCHES = (7, 7, 2)  # over three ranks: 3 + 2 + 2 rows, then 1 + 1 + 0 (a last short batch)


class Small(nn.Module):
    """conv → trainable batch norm → GAP → class head and the correspondence head (the loop's model calls)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.bn = nn.Conv2d(3, 6, 3), nn.BatchNorm2d(6)
        self.head, self.avc, self.unused = nn.Linear(6, 2), CorrespondenceHead(6, 6, 5), nn.Linear(2, 2)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        f = torch.relu(self.bn(self.conv(x))).mean((2, 3))
        return {"logits": self.head(f), "avc_logits": self.avc(f, f.flip(1))}


def train_steps(ranks: Ranks) -> dict[str, torch.Tensor]:
    """A step on each of the seeded global BATCHES; this rank takes its contiguous slice of each."""
    torch.manual_seed(0)
    model = Small().double()
    optimizer = torch.optim.SGD([p for n, p in model.named_parameters() if not n.startswith("unused")], lr=0.5,
                                momentum=0.9, weight_decay=1e-3)
    net = ranks.wrap(model, optimizer)
    data = torch.Generator().manual_seed(1)
    for rows in BATCHES:
        x, y = torch.randn(rows, 3, 6, 6, generator=data, dtype=torch.float64), torch.rand(rows, 2, generator=data)
        part = torch.tensor_split(torch.arange(rows), ranks.world)[ranks.rank]
        shard = ranks.shard(len(part))
        with shard.pairs_across_ranks(model):
            out = shard.gather_outputs(net(x[part]))
        loss = classification_loss(out["logits"], shard.gather(y[part].double())) + correspondence_loss(out["avc_logits"])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def rank_main(rank: int, world: int, folder: str, port: int) -> None:
    """torch.multiprocessing.spawn's entry: join a gloo group, train, rank 0 saves the weights."""
    os.environ |= {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        state = train_steps(Ranks(rank, world))
        if rank == 0:
            torch.save(state, Path(folder) / "weights.pt")
    finally:
        dist.destroy_process_group()
