"""Command-line config values as the schema types them. Snakemake's `--config key=true` arrives as the string
"true" (only Python's `True` parses), and a value inside a mapping (`--config 'train={stage2: {lr: 3e-4}}'`) arrives
as the string "3e-4": boolean, integer and number keys take their strings before validation."""

from __future__ import annotations

_WORDS = {"true": True, "false": False, "yes": True, "no": False}


def coerce(config: dict, schema: dict) -> dict:
    """Turn strings into booleans, integers or numbers wherever the schema types the key so (in place)."""
    _walk(config, schema, schema.get("$defs", {}))
    return config


def _walk(value: dict, schema: dict, defs: dict) -> None:
    for key, child in list(value.items()):
        spec = _resolve(schema.get("properties", {}).get(key) or schema.get("additionalProperties") or {}, defs)
        if isinstance(child, str):
            value[key] = _typed(child, spec)
        elif isinstance(child, list):  # `--config 'evaluate={seeds: [0, 1]}'` gives ["0", "1"]
            items = _resolve(spec.get("items") or {}, defs)
            value[key] = [_typed(item, items) if isinstance(item, str) else item for item in child]
        elif isinstance(child, dict):
            _walk(child, spec, defs)


def _typed(text: str, spec: dict):
    types = spec.get("type", [])
    types = [types] if isinstance(types, str) else types
    if "boolean" in types and text.lower() in _WORDS:
        return _WORDS[text.lower()]
    if "integer" in types and text.strip().lstrip("-").isdigit():
        return int(text)
    if "number" in types:
        try:
            return float(text)
        except ValueError:
            pass
    if "null" in types and text.lower() in ("null", "none", "~"):
        return None
    return text


def _resolve(spec: dict | bool, defs: dict) -> dict:
    if not isinstance(spec, dict):
        return {}
    ref = spec.get("$ref", "")
    return defs.get(ref.rsplit("/", 1)[-1], {}) if ref.startswith("#/$defs/") else spec
