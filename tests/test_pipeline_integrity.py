"""Intact intermediates through the real pipeline: a table cut after its rule wrote it stops the run, naming it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from helpers import scratch_copy
from hmixal.dataset import read_table
from hmixal.redlich_kister import read_predictions, read_redlich_kister, tdb_binaries

pytestmark = pytest.mark.slow
DATASET = "results/data/dataset_final.csv"
PREDICTIONS = "results/model/predictions.csv"
RK_TABLE = "results/model/redlich_kister.csv"
TDB = "results/model/hmixal_liquid.tdb"


def run_snakemake(workdir: Path, *targets: str) -> subprocess.CompletedProcess:
    """Snakemake on one core with the default profile and the quick configuration."""
    command = [sys.executable, "-m", "snakemake", *targets, "--profile", "profiles/local", "--cores", "1"]
    command += ["--configfile", ".test/config/config.yaml"]
    return subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=900)


def failed_job_logs(workdir: Path, done: subprocess.CompletedProcess) -> str:
    """The log files Snakemake names for its failed jobs, concatenated."""
    names = re.findall(r"log: (\S+) \(check log file", done.stderr)
    assert names, done.stderr[-3000:]
    return "\n".join((workdir / name).read_text() for name in names if (workdir / name).is_file())


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A scratch repository where the quick run has built everything up to the Redlich–Kister outputs."""
    workdir = scratch_copy(tmp_path_factory.mktemp("integrity"))
    done = run_snakemake(workdir, RK_TABLE)
    assert done.returncode == 0, done.stderr[-4000:]
    return workdir


def copy_of(built: Path, destination: Path) -> Path:
    """A copy of the built scratch repository, file times kept (Snakemake decides what to rerun from them)."""
    return Path(shutil.copytree(built, destination, symlinks=True))


def test_redlich_kister_outputs_cover_every_binary_and_carry_its_flags(built):
    predictions = read_predictions(built / PREDICTIONS)
    table = read_redlich_kister(built / RK_TABLE)
    binaries = set(predictions["A"] + "-" + predictions["B"])
    assert set(table["A"] + "-" + table["B"]) == binaries and len(table) == len(binaries)
    tdb = (built / TDB).read_text()
    assert set(tdb_binaries(tdb)) == binaries
    # Whatever the predictions say about a binary as a whole (constant over x_B) reaches the fit table.
    pairs = predictions["A"] + "-" + predictions["B"]
    per_binary = [
        c for c in predictions.columns if c not in ("A", "B") and predictions.groupby(pairs)[c].nunique().le(1).all()
    ]
    assert set(per_binary) <= set(table.columns)
    if "extrapolation" in table.columns:
        flagged = table.loc[table["extrapolation"].astype(bool), ["A", "B"]]
        header = " ".join(line[2:].strip() for line in tdb.splitlines() if line.startswith("$ "))
        assert f"flags {len(flagged)} of these {len(table)} binaries" in header
        assert all(f"{a}-{b}" in header for a, b in flagged.itertuples(index=False))


def test_dataset_cut_at_a_line_boundary_stops_the_run_naming_it(built, tmp_path):
    workdir = copy_of(built, tmp_path / "cut_dataset")
    table = workdir / DATASET
    lines = table.read_text().splitlines(keepends=True)
    rows = len(lines) - 1
    assert rows > 2000
    table.write_text("".join(lines[:999]))  # a clean cut: every line whole, the header intact

    done = run_snakemake(workdir, RK_TABLE)
    assert done.returncode != 0
    logs = failed_job_logs(workdir, done)
    assert f"{DATASET}: has 998 data rows but its writer recorded {rows} (content hash differs)" in logs
    assert "the file was cut or edited after the rule wrote it; delete it and rerun snakemake" in logs

    # Doing what the message says rebuilds the dataset and what was made from it. (Asked for explicitly here:
    # Snakemake rebuilds a deleted intermediate only for a target that needs it, e.g. the default `all`.)
    table.unlink()
    done = run_snakemake(workdir, DATASET, RK_TABLE)
    assert done.returncode == 0, done.stderr[-4000:]
    assert len(read_table(table)) == rows


def test_predictions_cut_mid_file_stop_the_redlich_kister_rule(built, tmp_path):
    workdir = copy_of(built, tmp_path / "cut_predictions")
    path = workdir / PREDICTIONS
    data = path.read_bytes()
    rows = len(pd.read_csv(path, keep_default_na=False))
    path.write_bytes(data[: data.index(b"\n", len(data) * 2 // 3) + 10])  # ten characters into a line
    path.touch()  # newer than the fit, as an edit would be

    done = run_snakemake(workdir, RK_TABLE)
    assert done.returncode != 0
    assert "Error in rule redlich_kister" in done.stderr
    logs = failed_job_logs(workdir, done)
    assert f"{PREDICTIONS}: has " in logs
    assert f"the last one cut mid-line, where its writer recorded {rows} (content hash differs)" in logs
    # No fit of the surviving two thirds is left behind as if it were complete.
    assert not (workdir / RK_TABLE).exists() and not (workdir / TDB).exists()
