"""Device choice: `auto` takes CUDA when present, so every GPU path also runs on CPU."""

from __future__ import annotations

import torch

from msl_core.errors import ConfigError


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("device", f"'{name}' requested but no CUDA device is available; use 'auto' or 'cpu'")
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise ConfigError("device", f"'{name}' is not a device ({exc})") from exc
