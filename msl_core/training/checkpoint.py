"""Checkpoints: the resumable per-epoch file (the final model file is `model_file`).

The resumable file (`checkpoint.pt`, beside the rule's outputs but not one of them, so Snakemake never deletes it)
holds model, optimiser, epoch, RNG states, loss history and a hash of everything that changes the result; a run
with a different hash starts afresh. Writes go to `checkpoint.pt.partial`, renamed into place (`stores.atomic`), so
a job killed while saving leaves the last good checkpoint intact. It holds only tensors and plain values and loads
weights-only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from msl_core.errors import MslError
from msl_core.models.coarse_to_fine import CoarseToFine
from msl_core.stores.atomic import atomic_write

log = logging.getLogger(__name__)


def config_hash(*parts: Any) -> str:
    """sha256 of the JSON of `parts` (dataclass dicts, file fingerprints…), first 16 hex digits."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_fingerprint(path: str | Path) -> dict:
    """Cheap identity of an input file (a rewritten input must not resume an old run)."""
    st = Path(path).stat()
    return {"path": str(Path(path).resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def atomic_save(obj: Any, path: str | Path) -> None:
    with atomic_write(path) as partial:
        torch.save(obj, partial)


def rng_state() -> dict:
    """Every generator's state as tensors and plain values (a weights-only load must be able to read it)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {"torch": torch.get_rng_state(), "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss,
                                                       gauss], "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def assert_finite(model: torch.nn.Module, where: str) -> None:
    bad = [n for n, p in model.state_dict().items() if p.is_floating_point() and not torch.isfinite(p).all()]
    if bad:
        raise MslError(f"{where}: non-finite weights in {bad[:3]}; the last good checkpoint is kept")


def save_checkpoint(path: str | Path, model: CoarseToFine, optimizer: torch.optim.Optimizer, epoch: int,
                    history: list[dict], chash: str) -> None:
    """State after `epoch` completed epochs (refuses to write non-finite weights)."""
    assert_finite(model, f"epoch {epoch}")
    atomic_save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "epoch": epoch,
            "rng": rng_state(),
            "history": history,
            "config_hash": chash,
            "model_config": model.cfg.to_dict(),
        },
        path,
    )


def load_resumable(path: str | Path, chash: str) -> dict | None:
    """The resumable state when it exists and matches `chash`; else None (and why, in the log)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - a checkpoint cut short by a kill (or not ours): start over
        log.warning("%s is unreadable (%s): starting from scratch", path, exc)
        return None
    if state.get("config_hash") != chash:
        log.warning("%s belongs to another configuration (hash %s, now %s): starting from scratch",
                    path, state.get("config_hash"), chash)
        return None
    return state
