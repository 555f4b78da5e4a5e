"""The package stays in layers: every import (lazy ones too) of msl_core and the workflow scripts points down or
sideways within its layer, and no two modules import each other, directly or round a loop (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

from support.workspace import REPO

# Top to bottom; a module belongs to the layer of its longest matching prefix.
LAYERS = {
    "entry": ["workflow.scripts", "msl_core.cli"],
    "pipelines": ["msl_core.locate", "msl_core.protocols"],
    # config.settings builds every typed settings object, asking the registries of the stages and models
    "stages": ["msl_core.training", "msl_core.evaluation", "msl_core.events", "msl_core.teachers", "msl_core.scenes",
               "msl_core.ingest", "msl_core.adapters", "msl_core.config.settings"],
    "stores": ["msl_core.stores"],  # logmel.h5 describes itself with the front end's parameters (spectrogram)
    # the networks and their input front ends; EfficientAT is both a teacher and an audio backbone
    "models": ["msl_core.models", "msl_core.spectrogram", "msl_core.teachers.efficientat"],
    "data": ["msl_core.readers", "msl_core.manifest", "msl_core.splits", "msl_core.annotations", "msl_core.field_sets", "msl_core.coco",
             "msl_core.metrics", "msl_core.seeds", "msl_core.plots", "msl_core.media", "msl_core.weights",
             "msl_core.device", "msl_core.runlog", "msl_core.config", "msl_core.dataset_protocols",
             "msl_core.registry"],
    "errors": ["msl_core.errors", "msl_core"],
}


def modules() -> dict[str, Path]:
    files = list((REPO / "msl_core").rglob("*.py")) + list((REPO / "workflow" / "scripts").glob("*.py"))
    out = {}
    for path in files:
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of `known` that `name` imports anywhere in its file (`from pkg import module` names the module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + [base]).strip(".")
            submodules = {f"{base}.{a.name}" for a in node.names} & known.keys()
            found |= submodules or {base}
    return (found & known.keys()) - {name}


def layer(name: str) -> int:
    matches = [(len(prefix), rank) for rank, prefixes in enumerate(LAYERS.values()) for prefix in prefixes
               if name == prefix or name.startswith(prefix + ".")]
    assert matches, f"{name} is in no layer: place it in LAYERS (and in docs/architecture.md)"
    return max(matches)[1]


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def test_every_import_points_down():
    names = list(LAYERS)
    upward = [f"{a} ({names[layer(a)]}) imports {b} ({names[layer(b)]})"
              for a, targets in graph().items() for b in sorted(targets) if layer(b) < layer(a)]
    assert not upward, "\n".join(upward)


def test_no_import_loops():
    edges = graph()
    loops, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for target in sorted(edges[node]):
            if state.get(target) == "open":
                loop = stack[stack.index(target):] + [node] if target in stack else [node, target]
                loops.append(" -> ".join(loop + [target]))
            elif target not in state:
                visit(target, stack + [node])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [])
    assert not loops, "\n".join(loops)


def test_the_layers_see_every_module():
    edges = graph()
    assert "msl_core.evaluation" in edges and "workflow.scripts.train_stage" in edges
