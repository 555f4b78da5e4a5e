"""Checkpoints: the resumable per-epoch file and the final model file.

The resumable file (`checkpoint.pt`, beside the rule's outputs but not one of them, so Snakemake never deletes it)
holds model, optimiser, epoch, RNG states, loss history and a hash of everything that changes the result; a run
with a different hash starts afresh. Writes go to a temporary file renamed into place, so a job killed while
saving leaves the last good checkpoint intact.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from msl_core.errors import BadInput, MslError
from msl_core.models.coarse_to_fine import CoarseToFine, ModelConfig, build_model

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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def rng_state() -> dict:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
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
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - a checkpoint cut short by a kill: start over rather than fail
        log.warning("%s is unreadable (%s): starting from scratch", path, exc)
        return None
    if state.get("config_hash") != chash:
        log.warning("%s belongs to another configuration (hash %s, now %s): starting from scratch",
                    path, state.get("config_hash"), chash)
        return None
    return state


def save_model(path: str | Path, model: CoarseToFine, stage: int, chash: str, epochs: int) -> None:
    """The rule's output: weights + the model config needed to rebuild them."""
    assert_finite(model, "final model")
    atomic_save({"model_config": model.cfg.to_dict(), "state_dict": model.state_dict(), "stage": stage,
                 "config_hash": chash, "epochs": epochs}, path)


def read_model_file(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise BadInput(path, "model file not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise BadInput(path, f"cannot read model file ({type(exc).__name__}: {exc})") from exc
    if not isinstance(state, dict) or "model_config" not in state or "state_dict" not in state:
        raise BadInput(path, "not an msl model file (needs 'model_config' and 'state_dict')")
    return state


def load_model(path: str | Path, device: torch.device | str = "cpu") -> CoarseToFine:
    """Rebuild a trained model from its `model.pt`, in eval mode on `device`."""
    state = read_model_file(path)
    model = build_model(ModelConfig.from_dict(state["model_config"]), None, warn_random=False)
    model.load_state_dict(state["state_dict"])
    return model.to(device).eval()
