"""The workflow on a real Slurm cluster: a single-node slurmctld + slurmd on localhost (.ci/slurm_up.sh).

The tiny workflow runs through profiles/slurm (+ profiles/slurm-localhost for the test node) with its ingestion
split into 3 shard jobs (`ingest.shard_clips`); its jobs must really go through sbatch (each shard its own job, the
GPU rules to the `gpu` partition with one GPU) and its outputs must equal those of a local, unsharded run. Needs root and apt (Debian's slurm-wlm and munge); skips with the reason
otherwise. Run it alone: ``pytest -m slurm tests/test_slurm.py``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest
from test_reruns import TARGET

from support.workspace import REPO, SNAKEMAKE, snakemake_workspace

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

GPU_RULES = {"train_stage1", "train_stage2", "localize"}
SLURM_PROFILE = [
    "--profile",
    "profiles/slurm",
    "--profile",
    "profiles/slurm-localhost",
    "--workflow-profile",
    "none",
]
SHARDS = 3
# Outputs computed without randomness: equal bit for bit whoever runs them, sharded or not.
DETERMINISTIC_H5 = ["results/scenes/frames.h5", "results/scenes/logmel.h5"]


def _ci_script(name: str, state: Path, timeout: int) -> subprocess.CompletedProcess:
    """Run one of the .ci Slurm scripts on the cluster state folder; the caller reads its exit code and stderr."""
    return subprocess.run(["bash", str(REPO / ".ci" / name), str(state)], check=False, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Start the test cluster, yield the environment that reaches it, stop the daemons by PID."""
    pytest.importorskip(
        "snakemake_executor_plugin_slurm",
        reason="the Slurm executor plugin is not installed: pip install -e '.[slurm]'",
    )
    state = tmp_path_factory.mktemp("slurm")
    up = _ci_script("slurm_up.sh", state, timeout=900)
    if up.returncode != 0:
        reason = (up.stderr.strip().splitlines() or ["no output"])[-1]
        if up.returncode != 77:
            reason = f"the Slurm daemons did not start: {up.stderr[-3000:]}"
        print(f"test_slurm: skipped: {reason}")
        pytest.skip(reason)
    print(up.stderr)
    env = dict(os.environ, SLURM_CONF=str(state / "slurm.conf"), OMP_NUM_THREADS="1")
    try:
        yield env
    finally:
        down = _ci_script("slurm_down.sh", state, timeout=120)
        print(down.stderr)


def test_sbatch_runs_a_job_on_each_partition(cluster, tmp_path):
    for partition, extra in (("cpu", []), ("gpu", ["--gpus=1"])):
        out = tmp_path / f"{partition}.out"
        subprocess.run(
            [
                "sbatch",
                "--parsable",
                "--wait",
                "-p",
                partition,
                *extra,
                "--mem=100",
                "-o",
                str(out),
                "--wrap",
                "echo partition=$SLURM_JOB_PARTITION gpus=${SLURM_GPUS:-0}",
            ],
            env=cluster,
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.read_text().split() == [
            f"partition={partition}",
            f"gpus={1 if extra else 0}",
        ]


def run_workflow(workdir: Path, env: dict, *args: str) -> str:
    result = subprocess.run(
        [str(SNAKEMAKE), "--config", "preset=tiny", *args, "--", TARGET],
        cwd=workdir,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    log = result.stdout + result.stderr
    (workdir / "snakemake.log").write_text(log)
    assert result.returncode == 0, log[-8000:]
    return log


def read_h5(path: Path) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as h5:
        return {name: h5[name][()] for name in h5 if isinstance(h5[name], h5py.Dataset)}


def numbers(tree, prefix="") -> dict[str, float]:
    """Every number in a JSON tree, keyed by its path."""
    if isinstance(tree, dict):
        return {
            k: v
            for key, sub in tree.items()
            for k, v in numbers(sub, f"{prefix}/{key}").items()
        }
    if isinstance(tree, list):
        return {
            k: v
            for i, sub in enumerate(tree)
            for k, v in numbers(sub, f"{prefix}/{i}").items()
        }
    if isinstance(tree, (int, float)) and not isinstance(tree, bool):
        return {prefix: float(tree)}
    return {}


@pytest.fixture(scope="module")
def runs(cluster, tmp_path_factory):
    """The tiny workflow once locally and once through Slurm with sharded ingestion, in two copies of the workflow."""
    local = snakemake_workspace(tmp_path_factory.mktemp("local"), copy=True)
    env = dict(cluster)
    env.pop("SLURM_CONF")
    run_workflow(local, env, "--cores", "2")
    slurm = snakemake_workspace(tmp_path_factory.mktemp("slurm_run"), copy=True)
    log = run_workflow(slurm, cluster, f"ingest={{shard_clips: {SHARDS}}}", *SLURM_PROFILE, "--verbose")
    print(f"test_slurm: Slurm run log: {slurm / 'snakemake.log'}")
    return local, slurm, log


def test_every_job_went_through_sbatch(runs, cluster):
    _, _, log = runs
    submitted = dict(
        re.findall(
            r"Job \d+ has been submitted with SLURM jobid (\d+) "
            r"\(log: \S+/slurm_logs/rule_(\w+)/",
            log,
        )
    )
    calls = re.findall(r"sbatch call: (.+)", log)
    for line in calls[:3]:
        print(f"test_slurm: {line}")
    rules = set(submitted.values())
    assert {
        "ingest",
        "join_shards",
        "logmel",
        "train_stage1",
        "train_stage2",
        "localize",
        "evaluate",
    } <= rules
    assert len(calls) == len(submitted)
    assert list(submitted.values()).count("ingest") == SHARDS  # one sbatch job per shard
    # slurmctld itself saw every job complete (squeue keeps them for MinJobAge = 600 s).
    states = subprocess.run(
        ["squeue", "--states=all", "--noheader", "--format=%i|%T|%P"],
        env=cluster,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    seen = {
        job: (state, partition)
        for job, state, partition in (line.split("|") for line in states.split())
    }
    for job, rule in submitted.items():
        assert seen[job] == ("COMPLETED", "gpu" if rule in GPU_RULES else "cpu"), (
            rule,
            seen.get(job),
        )
    for call in calls:
        assert ("--gpus=1" in call) == (" -p gpu" in call), call


def test_deterministic_outputs_equal_the_local_run(runs):
    local, slurm, _ = runs
    for name in DETERMINISTIC_H5:
        expected, actual = read_h5(local / name), read_h5(slurm / name)
        assert expected.keys() == actual.keys(), name
        for key in expected:
            np.testing.assert_array_equal(
                actual[key], expected[key], err_msg=f"{name}:{key}"
            )
    with h5py.File(slurm / "results/scenes/frames.h5") as h5:
        assert h5["frames"].is_virtual  # the shards' rows, joined in place


def test_metrics_equal_the_local_run(runs):
    local, slurm, _ = runs
    expected = numbers(json.loads((local / "results/scenes/metrics.json").read_text()))
    actual = numbers(json.loads((slurm / "results/scenes/metrics.json").read_text()))
    assert expected, "metrics.json holds no numbers"
    assert actual.keys() == expected.keys()
    for key, value in expected.items():
        assert actual[key] == pytest.approx(value, rel=1e-5, abs=1e-6), key
    assert (slurm / TARGET).read_text() == (local / TARGET).read_text()
