"""Command-line config values as the schema types them: Snakemake's `--config key=true` arrives as the string
"true" (only Python's `True` parses), so boolean keys take "true"/"false" in any case before validation; a value
inside a mapping (`--config ingest={shard_clips: 3}`) arrives as the string "3", so integer keys take digits."""

from __future__ import annotations

from pathlib import Path

import yaml

_WORDS = {"true": True, "false": False, "yes": True, "no": False}


def coerce_booleans(config: dict, schema_path: str | Path) -> dict:
    """Turn "true"/"false" strings into booleans wherever the schema says boolean, and digit strings into integers
    wherever it says integer (in place; returns config)."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    _walk(config, schema, schema.get("$defs", {}))
    return config


def _walk(value: dict, schema: dict, defs: dict) -> None:
    for key, child in list(value.items()):
        spec = _resolve(schema.get("properties", {}).get(key) or schema.get("additionalProperties") or {}, defs)
        if spec.get("type") == "boolean" and isinstance(child, str) and child.lower() in _WORDS:
            value[key] = _WORDS[child.lower()]
        elif spec.get("type") == "integer" and isinstance(child, str) and child.strip().lstrip("-").isdigit():
            value[key] = int(child)
        elif isinstance(child, dict):
            _walk(child, spec, defs)


def _resolve(spec: dict | bool, defs: dict) -> dict:
    if not isinstance(spec, dict):
        return {}
    ref = spec.get("$ref", "")
    return defs.get(ref.rsplit("/", 1)[-1], {}) if ref.startswith("#/$defs/") else spec
