"""Shared fixtures: paths to the repository, its embedded data, and the public reference data beside it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REFDATA = Path(os.environ.get("HMIXAL_REFDATA", REPO.parent / "shared" / "refdata"))


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


# Runs a rule script the way Snakemake's `script:` directive does, with a stand-in `snakemake` object.
_SCRIPT_RUNNER = """
import json, runpy, sys, types
spec = json.loads(sys.argv[1])
def ns(d):
    return types.SimpleNamespace(**d)
snakemake = ns({
    "input": ns(spec["input"]), "output": ns(spec["output"]), "params": ns(spec.get("params", {})),
    "log": [spec["log"]], "threads": spec.get("threads", 1), "wildcards": ns(spec.get("wildcards", {})),
})
runpy.run_path(spec["script"], init_globals={"snakemake": snakemake}, run_name="__main__")
"""


@pytest.fixture(scope="session")
def run_script() -> Callable[[str, dict], subprocess.CompletedProcess]:
    """Run ``scripts/<name>`` in a fresh interpreter with input/output/params/log from a spec dict."""

    def run(script: str, spec: dict) -> subprocess.CompletedProcess:
        spec = {**spec, "script": str(REPO / "scripts" / script)}
        command = [sys.executable, "-c", _SCRIPT_RUNNER, json.dumps(spec)]
        return subprocess.run(command, capture_output=True, text=True, timeout=600)

    return run
