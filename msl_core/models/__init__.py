"""Backbones, the coarse-to-fine model, its losses and localisation (docs/method.md §3.1).

The names below load on first use, so that the backbone registry (`msl_core.models.backbones`, plain data) can be
read without importing torch, as the workflow does while it plans.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "CoarseToFine": "coarse_to_fine",
    "ModelConfig": "coarse_to_fine",
    "build_model": "coarse_to_fine",
    "LocalizationConfig": "localization",
    "class_weights": "localization",
    "combine_class_maps": "localization",
    "localize_batch": "localization",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
