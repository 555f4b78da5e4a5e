"""Backbones, the coarse-to-fine model, its losses and localisation (docs/method.md §3.1)."""

from msl_core.models.coarse_to_fine import CoarseToFine, ModelConfig, build_model
from msl_core.models.localization import (
    LocalizationConfig,
    class_weights,
    combine_class_maps,
    localize_batch,
)

__all__ = [
    "CoarseToFine",
    "LocalizationConfig",
    "ModelConfig",
    "build_model",
    "class_weights",
    "combine_class_maps",
    "localize_batch",
]
