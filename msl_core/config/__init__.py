"""Configuration: the schema (package data), its one loader, and the typed settings every rule and command reads."""

from msl_core.config.load import SCHEMA_PATH, default, load_config, resolve, schema, validated

__all__ = ["SCHEMA_PATH", "default", "load_config", "resolve", "schema", "validated"]
