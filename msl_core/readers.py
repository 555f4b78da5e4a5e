"""Small input files users hand us (pickles, JSON): read with errors that name the file and the problem.

Pickles are untrusted data: they are read with an unpickler that only rebuilds plain containers, numbers, strings
and NumPy arrays, so a crafted file cannot run code (the reference distributes its annotations as pickles).
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

from msl_core.errors import BadInput

# What the reference's pickles (gtdata.pkl, the tag pickles) need, and nothing that can call arbitrary code.
_ALLOWED = {
    ("builtins", name) for name in ("dict", "list", "tuple", "set", "frozenset", "str", "bytes", "int", "float",
                                     "complex", "bool", "slice")
} | {
    ("collections", "OrderedDict"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
}


class _DataUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only plain data and NumPy arrays are read")
        return super().find_class(module, name)


def read_pickle(path: str | Path, what: str) -> Any:
    path = Path(path)
    if not path.is_file():
        raise BadInput(path, f"{what} not found")
    try:
        with path.open("rb") as fh:
            return _DataUnpickler(fh).load()
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
