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
    """First line of every rule script: `log = from_snakemake(snakemake)`. A problem the user can fix (`MslError`)
    ends the job with its message on the console and in the log, without a traceback, as the CLI does."""
    log = setup_logging(smk.log[0] if len(smk.log) else None)
    sys.excepthook = _user_errors_without_traceback(sys.excepthook, log, f"rule {smk.rule}")
    return log


def _user_errors_without_traceback(default, log: logging.Logger, where: str):
    from msl_core.errors import MslError

    def hook(kind, error, trace):
        if not issubclass(kind, MslError):
            return default(kind, error, trace)
        log.error("%s", error)
        print(f"msl: {where}: {error}", file=sys.__stderr__, flush=True)
        raise SystemExit(1)

    return hook
