"""Logging for rule scripts and the CLI: one format, stderr sent to the rule's log file."""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(log_path: str | None = None, level: int = logging.INFO) -> logging.Logger:
    """Route `logging` (and stderr, for tracebacks and tqdm) to `log_path` when given."""
    if log_path:
        stream = open(log_path, "a", buffering=1)  # noqa: SIM115 - lives as long as the process
        sys.stderr = stream
    logging.basicConfig(level=level, format=FORMAT, stream=sys.stderr, force=True)
    return logging.getLogger("msl")


def from_snakemake(smk) -> logging.Logger:
    """First line of every rule script: `log = from_snakemake(snakemake)`."""
    return setup_logging(smk.log[0] if len(smk.log) else None)
