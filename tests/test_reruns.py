"""Partial reruns: which rules a changed setting reruns, after one complete run on the default preset.

Values that change results reach the rules through ``params:``, so Snakemake's ``params`` rerun trigger
reruns exactly the rules that use them and everything downstream of their outputs; throughput settings
(device, workers) are not params and rerun nothing. Each case gives its change on the command line
(``--config``, which wins over the preset: msl_core.config) and asks a dry run which jobs it would run.

The run uses the default preset, whose own learning rates win over config.yaml's ``train.stage*.lr`` (so a
README example like ``train.stage2.lr`` is checked where a preset sets it), shrunk to the tiny sizes on the
command line so that it takes about a minute.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from support.workspace import SNAKEMAKE, snakemake_workspace

TARGET = "results/scenes/ciou.txt"
TINY_SIZES = {"n_clips": 9, "duration_s": 3, "epochs_stage1": 1, "epochs_stage2": 1, "probe_scenes": 1}
DEFAULT_PRESET_AT_TINY_SIZE = ["preset=default", "scenes=" + json.dumps({"presets": {"default": TINY_SIZES}})]

# One complete tiny run (~70 s on 2 cores) plus a few-second dry run per case: ~80 s in all.


def snakemake(
    workdir: Path, *args: str, timeout: float = 1800
) -> subprocess.CompletedProcess:
    """Run the copied workflow in ``workdir`` on the local profile (profiles/default) with the tiny preset."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    # Without this a slurm.conf left in /etc/slurm would make the Slurm plugin's probe wait ~10 s per call.
    env.pop("SLURM_CONF", None)
    cmd = [
        str(SNAKEMAKE),
        "--directory",
        str(workdir),
        "--snakefile",
        str(workdir / "Snakefile"),
        "--config",
        *DEFAULT_PRESET_AT_TINY_SIZE,
        *args,
    ]
    return subprocess.run(
        cmd,
        cwd=workdir,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def jobs_to_run(result: subprocess.CompletedProcess) -> dict[str, int]:
    """Rule -> job count from a dry run's "Job stats" table; empty when nothing is to be done."""
    assert result.returncode == 0, result.stdout + result.stderr
    text = result.stdout + result.stderr
    if "Nothing to be done" in text:
        return {}
    table = text.split("Job stats:", 1)[1]
    counts = {}
    for line in table.splitlines()[3:]:
        match = re.fullmatch(r"\s*(\w+)\s+(\d+)\s*", line)
        if match is None or match.group(1) == "total":
            break
        counts[match.group(1)] = int(match.group(2))
    assert counts, text
    return counts


def rules_after(workdir: Path, override: dict) -> set[str]:
    """The rules a dry run would execute for TARGET with ``override`` given on the command line."""
    entries = [f"{key}={json.dumps(value)}" for key, value in override.items()]
    result = snakemake(workdir, *entries, "--dry-run", "--", TARGET)  # entries extend --config
    return set(jobs_to_run(result))


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """One complete tiny run of the workflow, shared by every case below (they only dry-run)."""
    workdir = snakemake_workspace(tmp_path_factory.mktemp("reruns"), copy=True)
    result = snakemake(workdir, "--cores", "2", "--", TARGET)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    assert (workdir / TARGET).is_file()
    return workdir


# (what changes, override merged over config.yaml, the rules a dry run must then execute)
TRAINING = {"train_stage1", "train_stage2", "localize", "evaluate"}
CASES = [
    (
        "stage-2 margin",
        {"train": {"stage2": {"margin": 1.0}}},
        {"train_stage2", "localize", "evaluate"},
    ),
    (
        "stage-2 learning rate",
        {"train": {"stage2": {"lr": 3.0e-4}}},
        {"train_stage2", "localize", "evaluate"},
    ),
    (
        "stage 2's visual embedding (stage 1 is not handed it)",
        {"model": {"visual_embedding": "pooled"}},
        {"train_stage2", "localize", "evaluate"},
    ),
    (
        "stage-2 alignment negatives",
        {"train": {"stage2": {"pairs": "instance"}}},
        {"train_stage2", "localize", "evaluate"},
    ),
    ("stage-2 map gate", {"evaluate": {"gate": "cam"}}, {"localize", "evaluate"}),
    ("maps snapped to proposals or not", {"evaluate": {"snap": "none"}}, {"localize", "evaluate"}),
    ("heard categories contrasted or not", {"evaluate": {"contrast_heard": 0.0}}, {"localize", "evaluate"}),
    ("teacher-score quantile", {"labels": {"normalise_quantile": 0.9}}, {"pseudo_labels"} | TRAINING),
    ("a global teacher setting", {"labels": {"sharpen_threshold": 0.5}}, {"pseudo_labels"} | TRAINING),
    ("a dataset's own label source", {"datasets": {"scenes": {"labels": {"visual_source": "image_classifier"}}}},
     {"pseudo_labels"} | TRAINING),
    ("stage-1 learning rate", {"train": {"stage1": {"lr": 3.0e-3}}}, TRAINING),
    ("training batch size", {"train": {"batch_size": 8}}, TRAINING),
    ("log-mel floor", {"audio": {"log_floor": 1.0e-10}}, {"logmel"} | TRAINING),
    ("log-mel bands", {"audio": {"n_mels": 128}}, {"logmel"} | TRAINING),
    ("the decode rate", {"audio": {"sample_rate": 16000}}, {"ingest", "logmel", "pseudo_labels", "proposals"} | TRAINING),
    ("evaluation cIoU threshold", {"evaluate": {"ciou_threshold": 0.4}}, {"evaluate"}),
    ("evaluation success cIoU", {"evaluate": {"success_ciou": 0.3}}, {"evaluate"}),
    (
        "localisation class threshold",
        {"evaluate": {"class_threshold": 0.5}},
        {"localize", "evaluate"},
    ),
    (
        "a second training seed (the first seed's run stays)",
        {"evaluate": {"seeds": [0, 1]}},
        {"train_stage1_seed", "train_stage2_seed", "localize_seed", "evaluate"},
    ),
    ("the global seed listed as the only training seed", {"evaluate": {"seeds": [0]}}, set()),
    # auto leaves the cache off at the tiny sizes (1 + 1 epochs); switched on, the training rules' inputs change
    ("the frozen-trunk cache", {"train": {"cache_trunk": True}}, {"trunk_features"} | TRAINING),
    (
        "throughput: device and loader workers",
        {"device": "cpu", "train": {"workers": 0}},
        set(),
    ),
]


def test_complete_run_is_up_to_date(finished_run):
    assert rules_after(finished_run, {}) == set()


@pytest.mark.parametrize(
    ("change", "override", "expected"), CASES, ids=[case[0] for case in CASES]
)
def test_changed_setting_reruns_exactly(finished_run, change, override, expected):
    assert rules_after(finished_run, override) == expected, change


def test_more_mel_bands_rerun_from_logmel_and_train_and_evaluate(finished_run, tmp_path):
    """`audio.n_mels` reaches training through logmel.h5's shape and attributes (nothing assumes 64): 128 bands
    rerun the log-mels and everything after them, to ciou.txt. On a copy, so the cases above keep their run."""
    from msl_core.stores.logmel import LogmelStore
    from msl_core.training.model_file import read_model_file

    workdir = shutil.copytree(finished_run.parent, tmp_path / "copy", symlinks=True) / finished_run.name
    result = snakemake(workdir, 'audio={"n_mels": 128}', "--cores", "2", "--", TARGET)  # extends --config
    assert set(jobs_to_run(result)) == {"logmel"} | TRAINING, result.stdout[-3000:] + result.stderr[-3000:]
    results = workdir / "results" / "scenes"
    assert LogmelStore(results / "logmel.h5").params().n_mels == 128
    assert read_model_file(results / "stage2" / "model.pt")["inference"]["logmel"]["n_mels"] == 128
    assert 0.0 <= float((workdir / TARGET).read_text()) <= 1.0
