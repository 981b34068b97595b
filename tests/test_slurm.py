"""profiles/slurm: what Snakemake makes of it (dry runs), and runs through a real SLURM cluster.

The tests marked ``slurm`` run against the single-node cluster of ``tools/slurm/local_slurm.sh up`` when it is up, and
are skipped otherwise. ``HMIXAL_SLURM_TESTS=1`` asks for them: then a missing cluster fails them (as CI wants), and
any other cluster answering ``sinfo`` is used (they submit small jobs there, with ``HMIXAL_SLURM_ACCOUNT`` and
``HMIXAL_SLURM_PARTITION``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

import pytest
import yaml

from helpers import REPO, scratch_copy

SNAKEMAKE = [sys.executable, "-m", "snakemake"]
LOCAL_SLURM = REPO / "tools" / "slurm" / "local_slurm.sh"
PROFILE = yaml.safe_load((REPO / "profiles" / "slurm" / "profile.yaml").read_text())
WITH_PROFILE = ["--profile", "profiles/slurm"]
CLUSTER_KEYS = ("HMIXAL_SLURM_ACCOUNT", "HMIXAL_SLURM_PARTITION", "HMIXAL_SLURM_ACCOUNTING")
# The columns read for each job from sacct or squeue.
FIELDS = ("id", "state", "comment", "mem")


def snakemake(workdir: Path, *args: str, env: dict[str, str] | None = None, timeout: int = 900):
    """Run snakemake in ``workdir`` with threads capped as the rules expect; stdout and stderr together."""
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run(
        [*SNAKEMAKE, *args],
        cwd=workdir,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )


def dry_run_entries(output: str, key: str) -> list[tuple[str, dict[str, str]]]:
    """(rule, {name: value}) of every job's ``key:`` line (``resources``, ``wildcards``) in a dry-run printout."""
    jobs: list[tuple[str, dict[str, str]]] = []
    rule = None
    for line in output.splitlines():
        header = re.match(r"(?:local)?(?:rule|checkpoint) (\w+):$", line)
        if header:
            rule = header.group(1)
        elif rule and line.strip().startswith(f"{key}:"):
            items = line.split(":", 1)[1].split(", ")
            jobs.append((rule, dict(item.strip().split("=", 1) for item in items)))
    return jobs


def dry_run_jobs(output: str) -> list[tuple[str, dict[str, str]]]:
    """(rule, resources) of every job a ``snakemake -n`` printout lists."""
    return dry_run_entries(output, "resources")


def evaluate(expression: object, attempt: int) -> float:
    """A profile resource at a given attempt (the expressions use only arithmetic and ``attempt``)."""
    return eval(str(expression), {"__builtins__": {}}, {"attempt": attempt})


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A scratch copy of the repository for dry runs (nothing is written into the checkout)."""
    return scratch_copy(tmp_path_factory.mktemp("slurm_dry"))


# --- the profile, without a cluster ------------------------------------------------------------------------------
@pytest.mark.slow
def test_dry_run_gives_vasp_jobs_the_configured_mpi_resources(workdir):
    env = {"HMIXAL_SLURM_ACCOUNT": "chem123", "HMIXAL_SLURM_PARTITION": "all"}
    done = snakemake(
        workdir, "results/aimd/aimd_results.csv", *WITH_PROFILE, "-n", "--configfile", "config/aimd_paper.yaml", env=env
    )
    assert done.returncode == 0, done.stdout[-4000:]
    jobs = dry_run_jobs(done.stdout)
    counts = {rule: sum(1 for r, _ in jobs if r == rule) for rule in {r for r, _ in jobs}}
    binaries = yaml.safe_load((workdir / "config" / "aimd_paper.yaml").read_text())["aimd"]["systems"]["binaries"]
    assert counts["aimd_hmix"] == len(binaries) == 37
    # One job per run: one per alloy plus one per distinct pure liquid (shared by the binaries at its temperature).
    assert counts["aimd_run"] > 37
    vasp = yaml.safe_load((workdir / "config" / "config.yaml").read_text())["aimd"]["vasp"]["resources"]
    for rule, resources in jobs:
        # The account and the partition (even one named like a Python builtin) reach every job as plain strings.
        assert resources["slurm_account"] == "chem123" and resources["slurm_partition"] == "all", rule
        if rule == "aimd_run":
            assert {key: resources[key] for key in vasp} == {key: str(value) for key, value in vasp.items()}
            assert resources["vasp_jobs"] == "1"  # the token the profile's vasp_jobs limit counts
    # The paper's campaign exactly: every run at its refractory element's temperature (seed §4.2), no other.
    paper = {"Ir": 2750, "Os": 3300, "Re": 3500, "W": 3700}
    run_ids = [
        wildcards["run_id"] for rule, wildcards in dry_run_entries(done.stdout, "wildcards") if rule == "aimd_run"
    ]
    assert len(run_ids) == counts["aimd_run"]
    for run_id in run_ids:
        symbols, temperature = run_id.rsplit("_", 1)
        refractory = [el for el in paper if el in re.findall(r"[A-Z][a-z]?", symbols)]
        allowed = {paper[el] for el in refractory} if refractory else set(paper.values())
        assert float(temperature.rstrip("K")) in allowed, run_id


@pytest.mark.slow
def test_plain_slurm_profile_keeps_the_cluster_settings(workdir):
    # No profiles/default exists, so Snakemake loads no workflow profile over profiles/slurm.
    assert not (workdir / "profiles" / "default").exists()
    env = {"HMIXAL_SLURM_ACCOUNT": "chem123", "HMIXAL_SLURM_PARTITION": "short"}
    done = snakemake(
        workdir, "results/data/dataset_initial.csv", "--profile", "profiles/slurm", "-n", "--configfile",
        ".test/config/config.yaml", env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:]
    jobs = dry_run_jobs(done.stdout)
    assert jobs and all(resources["slurm_account"] == "chem123" for _, resources in jobs)


@pytest.mark.slow
def test_set_resources_never_ask_for_less_than_the_rules(workdir):
    # The rules' own resources: a dry run of the default configuration without any profile.
    done = snakemake(workdir, "--workflow-profile", "none", "-n")
    assert done.returncode == 0, done.stdout[-4000:]
    declared = dry_run_jobs(done.stdout)
    # Snakemake silently ignores set-resources of a rule that does not exist (e.g. after a rename).
    assert set(PROFILE["set-resources"]) <= {rule for rule, _ in declared}
    for rule, resources in declared:
        for key, expression in PROFILE["set-resources"].get(rule, {}).items():
            assert evaluate(expression, 1) >= float(resources[key]), (rule, key)


def test_retries_ask_for_more_memory_and_time():
    assert PROFILE["retries"] >= 1
    assert {"mem_mb", "runtime"} <= set(PROFILE["default-resources"])
    for block in [PROFILE["default-resources"], *PROFILE["set-resources"].values()]:
        for key in {"mem_mb", "runtime"} & set(block):
            values = [evaluate(block[key], attempt) for attempt in range(1, PROFILE["retries"] + 2)]
            assert all(a < b for a, b in pairwise(values)), (key, values)


# --- the bring-up script's own checks ----------------------------------------------------------------------------
def local_slurm(*args: str, state: Path, **env: str) -> subprocess.CompletedProcess:
    """Run tools/slurm/local_slurm.sh with its state in ``state``."""
    full_env = {**os.environ, "HMIXAL_SLURM_DIR": str(state), **env}
    return subprocess.run(["bash", str(LOCAL_SLURM), *args], env=full_env, capture_output=True, text=True, timeout=60)


def test_local_slurm_rejects_bad_commands_and_settings(tmp_path):
    usage = local_slurm(state=tmp_path)
    assert usage.returncode == 2 and "up" in usage.stderr and "down" in usage.stderr
    bad = local_slurm("up", state=tmp_path, HMIXAL_SLURM_ACCOUNTING="slurmdbd")
    assert bad.returncode == 1
    assert "error: HMIXAL_SLURM_ACCOUNTING must be dbd or none, not 'slurmdbd'" in bad.stderr
    nothing = local_slurm("env", state=tmp_path / "never")
    assert nothing.returncode == 1 and "run 'local_slurm.sh up' first" in nothing.stderr
    assert not (tmp_path / "never").exists()


# --- against a running cluster -----------------------------------------------------------------------------------
def _sinfo_answers() -> bool:
    if shutil.which("sinfo") is None:
        return False
    try:
        return subprocess.run(["sinfo", "-h"], capture_output=True, timeout=20).returncode == 0
    except subprocess.TimeoutExpired:
        return False


@pytest.fixture(scope="module")
def cluster() -> dict[str, str]:
    """Account, partition and accounting mode of the running cluster (the environment's, else local_slurm.sh's).

    Runs against the cluster of tools/slurm/local_slurm.sh when it is up; against any other (a real one, where
    these tests submit jobs) only with HMIXAL_SLURM_TESTS=1, which also turns a missing cluster into a failure.
    """
    asked = os.environ.get("HMIXAL_SLURM_TESTS") == "1"
    if not _sinfo_answers():
        if asked:
            pytest.fail("HMIXAL_SLURM_TESTS=1 but no SLURM cluster answers `sinfo` (tools/slurm/local_slurm.sh up)")
        pytest.skip("no SLURM cluster: start one with tools/slurm/local_slurm.sh up")
    local = subprocess.run(["bash", str(LOCAL_SLURM), "env"], capture_output=True, text=True, timeout=60)
    if local.returncode != 0 and not asked:
        pytest.skip("a SLURM cluster answers, but not local_slurm.sh's: HMIXAL_SLURM_TESTS=1 submits test jobs to it")
    settings = {key: os.environ[key] for key in CLUSTER_KEYS if key in os.environ}
    if "HMIXAL_SLURM_PARTITION" not in settings and local.returncode == 0:
        for line in local.stdout.splitlines():
            key, _, value = line.removeprefix("export ").partition("=")
            settings.setdefault(key, value)
    return {key: settings.get(key, "") for key in CLUSTER_KEYS}


def job_table(cluster: dict[str, str], name: str) -> list[dict[str, str]]:
    """The cluster's jobs of this name: from sacct, or from squeue when the cluster keeps no accounting."""
    if cluster["HMIXAL_SLURM_ACCOUNTING"] == "none":
        command = ["squeue", "-h", "-t", "all", "--name", name, "-o", "%i|%T|%k|%m"]
    else:
        start = time.strftime("%Y-%m-%dT%H:%M", time.localtime(time.time() - 86400))
        command = ["sacct", "-X", "-P", "-n", "-S", start, "--name", name, "-o", "JobIDRaw,State,Comment%300,ReqMem"]
    out = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True).stdout
    return [dict(zip(FIELDS, line.split("|"), strict=True)) for line in out.splitlines() if line.strip()]


def settled_jobs(cluster: dict[str, str], name: str, count: int) -> list[dict[str, str]]:
    """Wait (at most 30 s) until ``count`` jobs of this name have finished: accounting lags the job by a moment."""
    rows: list[dict[str, str]] = []
    for _ in range(60):
        rows = job_table(cluster, name)
        if len(rows) >= count and all(row["state"] not in ("PENDING", "RUNNING", "COMPLETING") for row in rows):
            break
        time.sleep(0.5)
    return rows


def result_files(root: Path) -> dict[str, bytes]:
    """Contents of every file under ``root/results`` but logs and benchmarks (they hold hosts and times)."""
    files = {str(path.relative_to(root)): path for path in (root / "results").rglob("*") if path.is_file()}
    skip = ("results/logs/", "results/benchmarks/")
    return {name: path.read_bytes() for name, path in files.items() if not name.startswith(skip)}


def profile_args(cluster: dict[str, str]) -> list[str]:
    """The slurm profile plus this cluster's needs; status checks start after 2 s instead of 40 s (short jobs)."""
    args = [*WITH_PROFILE, "--slurm-init-seconds-before-status-checks", "2"]
    if cluster["HMIXAL_SLURM_ACCOUNTING"] == "none":
        args += ["--slurm-status-command", "squeue"]  # without slurmdbd sacct knows no job
    return args


@pytest.mark.slurm
@pytest.mark.slow
def test_batch_job_runs_and_is_listed(cluster, tmp_path):
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/sh\necho ran as job $SLURM_JOB_ID\n")
    name = f"hmixal-test-{os.getpid()}"
    command = ["sbatch", "--wait", "--parsable", "-J", name, "-o", str(tmp_path / "job.out"), "-t", "2", "--mem", "100"]
    if cluster["HMIXAL_SLURM_ACCOUNT"]:
        command += ["-A", cluster["HMIXAL_SLURM_ACCOUNT"]]
    if cluster["HMIXAL_SLURM_PARTITION"]:
        command += ["-p", cluster["HMIXAL_SLURM_PARTITION"]]
    done = subprocess.run([*command, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    job_id = done.stdout.strip().split(";")[0]
    assert (tmp_path / "job.out").read_text().strip() == f"ran as job {job_id}"
    rows = settled_jobs(cluster, name, 1)
    assert [(row["id"], row["state"]) for row in rows] == [(job_id, "COMPLETED")]


@pytest.mark.slurm
@pytest.mark.slow
def test_unknown_account_stops_the_run_naming_the_valid_ones(cluster, tmp_path):
    if cluster["HMIXAL_SLURM_ACCOUNTING"] == "none" or not cluster["HMIXAL_SLURM_ACCOUNT"]:
        pytest.skip("this cluster keeps no accounts")
    workdir = scratch_copy(tmp_path / "repo")
    env = {"HMIXAL_SLURM_ACCOUNT": "no-such-account", "HMIXAL_SLURM_PARTITION": cluster["HMIXAL_SLURM_PARTITION"]}
    done = snakemake(
        workdir, "results/data/dataset_initial.csv", *profile_args(cluster), "--configfile", ".test/config/config.yaml",
        env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode != 0
    assert "The given account no-such-account appears to be invalid" in done.stdout
    assert cluster["HMIXAL_SLURM_ACCOUNT"] in done.stdout  # the message lists the accounts that would work
    assert not (workdir / "results/data/dataset_initial.csv").exists()


@pytest.mark.slurm
@pytest.mark.slow
def test_quick_pipeline_through_slurm_equals_the_local_run(cluster, tmp_path):
    local = scratch_copy(tmp_path / "local")
    # The local run as a user makes it: Snakemake picks up the workflow's own local profile, if there is one.
    done = snakemake(local, "--cores", "2", "--configfile", ".test/config/config.yaml")
    assert done.returncode == 0, done.stdout[-4000:]

    remote = scratch_copy(tmp_path / "slurm")
    env = {key: cluster[key] for key in ("HMIXAL_SLURM_ACCOUNT", "HMIXAL_SLURM_PARTITION")}
    done = snakemake(remote, *profile_args(cluster), "--configfile", ".test/config/config.yaml", env=env)
    assert done.returncode == 0, done.stdout[-4000:]

    # Every result, byte for byte.
    expected, got = result_files(local), result_files(remote)
    assert sorted(got) == sorted(expected)
    assert [name for name in expected if got[name] != expected[name]] == []
    assert "results/model/metrics.json" in got and "results/model/predictions.csv" in got

    # Each submitted job is in SLURM's own records under the run's name, finished, with the profile's memory.
    run_id = re.search(r"SLURM run ID: (\S+)", done.stdout).group(1)
    submitted = re.findall(r"submitted with SLURM jobid (\d+)", done.stdout)
    assert len(submitted) >= 10
    rows = settled_jobs(cluster, run_id, len(submitted))
    assert sorted(row["id"] for row in rows) == sorted(submitted)
    assert {row["state"] for row in rows} == {"COMPLETED"}
    folds = [row for row in rows if row["comment"].startswith("rule_nested_cv_fold_")]
    assert folds, rows
    memory = evaluate(PROFILE["set-resources"]["nested_cv_fold"]["mem_mb"], 1)
    assert {row["mem"] for row in folds} == {f"{memory:.0f}M"}
