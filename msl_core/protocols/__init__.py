"""Every localisation protocol the field reports, on any COCO annotations and any maps.h5 (`msl evaluate --protocol`).

`PROTOCOLS` holds the registered protocol objects (definitions.py); `evaluate_protocol` scores each method of a
maps file (and the map-free baselines) under one of them; `protocol_table` runs every applicable one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from msl_core.errors import BadInput, ConfigError
from msl_core.protocols.data import MapSource, load_protocol_items
from msl_core.protocols.definitions import GRID, PROTOCOLS, Protocol

__all__ = ["PROTOCOLS", "Protocol", "evaluate_protocol", "get_protocol", "write_protocol_metrics"]


def get_protocol(name: str) -> Protocol:
    if name not in PROTOCOLS:
        raise ConfigError("evaluate.protocol", f"'{name}' is not one of {', '.join(PROTOCOLS)}")
    return PROTOCOLS[name]


def open_source(annotations: str | Path, maps: str | Path | None, baselines: Sequence[str],
                allow_missing: bool = False) -> tuple[MapSource, dict]:
    """Items and maps on the protocols' grid, plus the bookkeeping every metrics.json carries."""
    itemset = load_protocol_items(annotations, GRID)
    source = MapSource(itemset, GRID, maps, baselines, allow_missing)
    book = {"missing": itemset.missing, "n_missing": len(itemset.missing),
            "excluded": itemset.excluded + source.excluded, "not_scored": {"no_boxes": itemset.not_scored}}
    return source, book


def evaluate_protocol(name: str, annotations: str | Path, maps: str | Path | None = None,
                      baselines: Sequence[str] = (), allow_missing: bool = False) -> dict:
    """metrics.json content of one protocol: every method's numbers, the primary method's at top level."""
    protocol = get_protocol(name)
    source, book = open_source(annotations, maps, baselines, allow_missing)
    if not source.methods:
        raise ConfigError("evaluate", "nothing to evaluate: give a maps file or at least one baseline")
    reason = protocol.missing(source)
    if reason:
        raise BadInput(annotations, f"the {name} protocol cannot score these items: {reason}")
    methods = {m: protocol.score(source, m) for m in source.methods}
    primary = source.methods[0]
    return {"protocol": name, "definition": protocol.describe(), "primary": primary, **book,
            **methods[primary], "methods": methods}


def write_protocol_metrics(numbers: dict, out: str | Path) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(numbers, indent=1))
    return out
