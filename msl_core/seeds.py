"""Training seeds: one run of both stages per seed, on the same data, so a table can give mean ± std over seeds.

`seed` seeds the data (scene composition, probes, the val carve) and, by default, training; `evaluate.seeds` lists
the training seeds when there are several. The first seed's run is the dataset's run at today's paths
(`results/<ds>/stage1/`, `stage2/`, `maps.h5`: metrics.json, pictures and overlays read it); every other seed
trains and localises under `results/<ds>/seed<k>/`.
"""

from __future__ import annotations

import numpy as np

from msl_core.errors import ConfigError


def training_seeds(config: dict) -> list[int]:
    """`evaluate.seeds`, or `[seed]` when it is null: the seeds both stages train with, the first one at top level."""
    seeds = (config.get("evaluate") or {}).get("seeds")
    seeds = [int(config.get("seed", 0))] if seeds is None else [int(s) for s in seeds]
    if not seeds:
        raise ConfigError("evaluate.seeds", "lists no seed: give at least one, or null for [seed]")
    if len(set(seeds)) != len(seeds):
        raise ConfigError("evaluate.seeds", f"{seeds} repeats a seed (each seed trains once)")
    return seeds


def run_folder(dataset: str, seed: int, seeds: list[int]) -> str:
    """Where the run of `seed` lives: the dataset's folder for the first seed, `seed<k>/` inside it for the others."""
    base = f"results/{dataset}"
    return base if seed == seeds[0] else f"{base}/seed{seed}"


def mean_over_seeds(cells: list[dict]) -> dict:
    """The same numbers from several seeds' runs → their mean, with the sample standard deviation (ddof 1) of each
    under `std` and `n_seeds`. Counts (`n_*`) are the first seed's (the seeds score the same items); nested dicts
    are averaged alike; a value missing (None) in any seed stays None; a cell one seed could not score (`not_scored`)
    stays unscored."""
    if any("not_scored" in c for c in cells):
        return next(c for c in cells if "not_scored" in c)
    out, std = {}, {}
    for key, value in cells[0].items():
        values = [c.get(key) for c in cells]
        if key.startswith("n_"):
            out[key] = value
        elif isinstance(value, dict):
            out[key] = mean_over_seeds(values)
        elif any(v is None for v in values):
            out[key] = None
        else:
            out[key], std[key] = float(np.mean(values)), float(np.std(values, ddof=1))
    return out | {"std": std, "n_seeds": len(cells)}
