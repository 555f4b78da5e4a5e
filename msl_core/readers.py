"""Small input files users hand us (pickles, JSON): read with errors that name the file and the problem."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

from msl_core.errors import BadInput


def read_pickle(path: str | Path, what: str) -> Any:
    path = Path(path)
    if not path.is_file():
        raise BadInput(path, f"{what} not found")
    try:
        with path.open("rb") as fh:
            return pickle.load(fh)
    except Exception as exc:  # pickle raises many types on foreign or truncated files
        raise BadInput(path, f"cannot unpickle {what}: {exc}") from exc


def read_json(path: str | Path, what: str) -> Any:
    path = Path(path)
    if not path.is_file():
        raise BadInput(path, f"{what} not found")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise BadInput(path, f"{what} is not valid JSON ({exc})") from exc
