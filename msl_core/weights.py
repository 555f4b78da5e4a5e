"""Loading pretrained state dicts: never silently, never partially, always naming the file and what was expected."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from msl_core.errors import BadInput


def load_state_dict_file(path: str | Path) -> dict[str, Tensor]:
    """torch.load a state dict with a clear error when the file is missing, truncated or not a dict."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(path, "weights file not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for truncated/corrupt files
        raise BadInput(path, f"cannot read as a PyTorch state dict ({type(exc).__name__}: {exc})") from exc
    if not isinstance(state, dict):
        raise BadInput(path, f"holds a {type(state).__name__}, expected a state dict")
    return state


def load_strict(model: nn.Module, state: dict[str, Tensor], path: str | Path, *, what: str) -> None:
    """load_state_dict(strict=True), with the key and shape differences spelled out on failure."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise BadInput(path, f"state dict has {len(state)} keys, {what} expects {len(expected)} "
                             f"(missing e.g. {missing[:3]}, unexpected e.g. {unexpected[:3]})")
    for key, value in state.items():
        if value.shape != expected[key].shape:
            raise BadInput(path, f"'{key}' has shape {tuple(value.shape)}, {what} expects {tuple(expected[key].shape)}")
    model.load_state_dict(state, strict=True)
