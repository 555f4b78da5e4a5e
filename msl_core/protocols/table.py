"""One table per run: every applicable protocol × method, each cell with the number of items behind it; with
several training seeds (`evaluate.seeds`), each metric's mean ± sample std over the seeds (msl_core.seeds)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from msl_core.protocols.data import MapSource, load_protocol_items
from msl_core.protocols.definitions import GRID, PROTOCOLS
from msl_core.seeds import mean_over_seeds

# Which count each metric rests on (the rest rest on the scored positives, `n_items`).
COUNT_OF = {"iiou": "n_groups", "iauc": "n_groups", "nsa": "n_silent", "pia": "n_negatives"}


def protocol_table(annotations: str | Path, maps: str | Path, baselines: Sequence[str] = (),
                   proposals: str | Path | None = None) -> dict:
    """{protocol: {definition, methods: {method: numbers}}} for every protocol these items allow; the others are
    listed under `not_applicable` with the reason."""
    source = MapSource(load_protocol_items(annotations, GRID), GRID, maps, baselines)
    if proposals is not None:
        source.add_object_prior(proposals)
    table, skipped = {}, {}
    for name, protocol in PROTOCOLS.items():
        reason = protocol.missing(source)
        if reason:
            skipped[name] = reason
            continue
        table[name] = {"definition": protocol.describe(), "headline": list(protocol.headline),
                       "methods": {m: {"not_scored": protocol.lacks(source, m)} if protocol.lacks(source, m)
                                   else protocol.score(source, m) for m in source.methods}}
    return {"protocols": table, "not_applicable": skipped, "methods": source.methods}


def seed_table(tables: Sequence[dict], seeds: Sequence[int]) -> dict:
    """One table from the tables of several training seeds (same items, same methods): each metric becomes its mean
    over the seeds, with its sample standard deviation (ddof 1) under `std` and `n_seeds` beside the counts, which
    the seeds share. One seed gives its table unchanged. The per-seed tables stay under `per_seed`."""
    if len(tables) != len(seeds):
        raise ValueError(f"{len(tables)} tables for {len(seeds)} seeds")
    first = tables[0]
    if len(tables) == 1:
        return {**first, "seeds": list(seeds)}
    protocols = {}
    for name, entry in first["protocols"].items():
        methods = {m: mean_over_seeds([t["protocols"][name]["methods"][m] for t in tables]) for m in entry["methods"]}
        protocols[name] = {**entry, "methods": methods}
    return {"protocols": protocols, "not_applicable": first["not_applicable"], "methods": first["methods"],
            "seeds": list(seeds), "per_seed": {str(s): t["protocols"] for s, t in zip(seeds, tables)}}


def cell(numbers: dict, metric: str) -> str:
    value = numbers.get(metric)
    if "not_scored" in numbers:
        return "n/a"
    count = numbers.get(COUNT_OF.get(metric, "n_items"), 0)
    if metric in ("ap", "max_f1"):
        count = numbers["n_items"] + numbers["n_negatives"]
    if value is None:
        return "n/a"
    if "n_seeds" in numbers:
        return f"{value:.3f} ± {numbers['std'][metric]:.3f} (n={count}, {numbers['n_seeds']} seeds)"
    return f"{value:.3f} (n={count})"


def to_markdown(table: dict) -> str:
    methods = table["methods"]
    lines = ["| protocol | metric | " + " | ".join(methods) + " |", "|---|---|" + "---|" * len(methods)]
    for name, entry in table["protocols"].items():
        for metric in entry["headline"]:
            row = [cell(entry["methods"][m], metric) for m in methods]
            lines.append(f"| {name} | {metric} | " + " | ".join(row) + " |")
    seeds = table.get("seeds", [])
    if len(seeds) > 1:
        listed = ", ".join(map(str, seeds))
        note = (f"Mean ± sample std over {len(seeds)} training seeds ({listed}); n = items per seed. The map-free "
                "baselines do not depend on the seed.")
        lines += ["", note]
    notes = [f"- `{name}`: {entry['definition']['threshold_rule']}" for name, entry in table["protocols"].items()]
    notes += [f"- `{name}` not applicable: {reason}" for name, reason in table["not_applicable"].items()]
    return "\n".join(lines + ["", *notes]) + "\n"


def write_table(table: dict, markdown: str | Path, numbers: str | Path) -> None:
    Path(markdown).write_text(to_markdown(table))
    Path(numbers).write_text(json.dumps(table, indent=1))
