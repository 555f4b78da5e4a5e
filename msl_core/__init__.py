"""msl: multi-source visual sound localisation, coarse to fine (Qian et al., ECCV 2020)."""

__version__ = "0.1.0"
