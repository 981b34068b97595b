"""Shared fixtures: paths to the repository, its embedded data, and the public reference data beside it."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from helpers import REFDATA, REPO, run_rule_script


@pytest.fixture(scope="session")
def repo_dir() -> Path:
    """The repository root."""
    return REPO


@pytest.fixture(scope="session")
def refdata_dir() -> Path:
    """``../shared/refdata``; tests that need it are skipped when it is absent."""
    if not REFDATA.is_dir():
        pytest.skip(f"reference data not found at {REFDATA}")
    return REFDATA


@pytest.fixture(scope="session")
def run_script() -> Callable[[str, dict], subprocess.CompletedProcess]:
    """Run ``scripts/<name>`` in a fresh interpreter with input/output/params/log from a spec dict."""
    return run_rule_script


@pytest.fixture
def aimd_jobs(tmp_path: Path, run_script) -> SimpleNamespace:
    """The AIMD rule scripts as Snakemake calls them, in ``tmp_path``: ``run(script, spec, name)`` → exit code,
    stderr and log as one text; ``runs(binary, n_atoms, aimd)`` → the plan and the outcome.json of each of its
    aimd_run jobs (seed 7), every job having exited 0."""
    from hmixal.aimd.systems import melting_points, plan_runs
    from hmixal.elements import default_table_path, load_element_table
    from hmixal.io import write_csv

    def run(script: str, spec: dict, name: str) -> str:
        log = tmp_path / f"{name}.log"
        done = run_script(script, {**spec, "log": str(log)})
        return f"{done.returncode}\n{done.stderr}\n{log.read_text() if log.exists() else ''}"

    def runs(binary: dict, n_atoms: int, aimd: dict) -> tuple:
        plan = plan_runs({"binaries": [binary], "n_atoms": n_atoms}, melting_points(load_element_table()))
        runs_csv = tmp_path / "runs.csv"
        write_csv(plan.runs, runs_csv)
        outcomes = {}
        for run_id in plan.runs["run_id"]:
            outcome = tmp_path / "runs" / run_id / "outcome.json"
            spec = {"input": {"runs": str(runs_csv), "elements": str(default_table_path())},
                    "output": {"outcome": str(outcome)}, "params": {"aimd": aimd, "seed": 7},
                    "wildcards": {"run_id": run_id}, "resources": {}}  # fmt: skip
            report = run("aimd_run.py", spec, run_id)
            assert report.startswith("0\n"), report
            outcomes[run_id] = str(outcome)
        return plan, outcomes

    return SimpleNamespace(run=run, runs=runs)
