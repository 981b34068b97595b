"""Audit of bad inputs (issue "Trustworthy data in"): is each one reported, refused, or silently accepted?

Usage: ``.venv/bin/python benchmarks/bench_bad_inputs.py SCRATCH_DIR benchmarks/bad_inputs.json``

Every case feeds one bad input through the real path, in scratch copies of the *committed* repository (``git archive
HEAD``, so uncommitted edits in the working tree are not measured): a Snakemake rule (one core, the quick config
``.test/config/config.yaml``) or the ``hmixal`` command as a subprocess, with ``PYTHONPATH`` pointing at the copy's
``src``. One quick pipeline run (to ``results/model/redlich_kister.csv``) is shared by the cases that need a model;
the cases that damage its outputs work on copies of it. Each case records what was fed, the commands with their exit
codes, where the problem was reported (console, rejected.csv, summary.json, log), the first line of the message and
a verdict computed from the outputs: PASS (reported with file/line or a clear reason, or refused) or FAIL (silently
accepted). The record goes to a JSON file and a Markdown table to stdout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
REFDATA = Path(os.environ.get("HMIXAL_REFDATA", REPO.parent / "shared" / "refdata"))
PYTHON = sys.executable
SNAKEMAKE = [PYTHON, "-m", "snakemake"]
HMIXAL_SCRIPT = Path(PYTHON).with_name("hmixal")
HMIXAL = [str(HMIXAL_SCRIPT)] if HMIXAL_SCRIPT.is_file() else [PYTHON, "-m", "hmixal"]
QUICK = ".test/config/config.yaml"
BAD_CONFIG = "config/bad_input.yaml"
PIPELINE_TIMEOUT_S = 1200  # the shared quick run; ~3-6 min on 2 busy cores
RULE_TIMEOUT_S = 300
CLI_TIMEOUT_S = 120
N_BINARIES = 2415  # every pair of the 70 elements
# ``ERROR <rule>: <file>:<line>: <problem>``; the line is optional here so that its absence is recorded, not missed.
ERROR_LINE = re.compile(r"^ERROR (?P<rule>[\w\[\]=,]+): (?P<file>[^:\s]+)(?::(?P<line>\d+))?: (?P<problem>.+)$", re.M)
ONE_LINE_CONFIG = re.compile(r"^config: .+$", re.M)


@dataclass
class Command:
    """One subprocess: what ran, where, its exit code, time and output."""

    command: str
    cwd: str
    exit_code: int | None
    seconds: float
    timed_out: bool
    stdout: str = field(repr=False)
    stderr: str = field(repr=False)

    @property
    def console(self) -> str:
        """Everything the person running it saw (stderr, then stdout)."""
        return self.stderr + "\n" + self.stdout

    def record(self) -> dict[str, Any]:
        """The command without its output, for the JSON record."""
        return {
            "command": self.command,
            "cwd": self.cwd,
            "exit_code": self.exit_code,
            "seconds": round(self.seconds, 1),
            "timed_out": self.timed_out,
        }


@dataclass
class Case:
    """The record of one bad input."""

    id: str
    title: str
    fed: str
    before_fix: str  # what the issue found on main before the fixes ("" where the brief gave nothing)
    commands: list[dict[str, Any]] = field(default_factory=list)
    reported: bool = False
    where: list[str] = field(default_factory=list)
    message: str = ""
    verdict: str = "FAIL"
    checks: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------------ helpers


def run(args: Sequence[str], cwd: Path, timeout: int) -> Command:
    """Run a command in its own process group (killed whole on timeout) with hmixal imported from ``cwd``/src."""
    env = dict(os.environ, PYTHONPATH=str(cwd / "src"), PYTHONDONTWRITEBYTECODE="1")
    start = time.perf_counter()
    process = subprocess.Popen(
        list(args), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = process.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        timed_out = True
    shown = " ".join(str(a) for a in args).replace(PYTHON, "python").replace(str(HMIXAL_SCRIPT), "hmixal")
    return Command(shown, str(cwd), process.returncode, time.perf_counter() - start, timed_out, out, err)


def snakemake(
    workdir: Path, targets: Sequence[str], configs: Sequence[str] = (), timeout: int = RULE_TIMEOUT_S
) -> Command:
    """Snakemake on one core with the local profile, the quick config and ``configs``."""
    args = [*SNAKEMAKE, *targets, "--profile", "profiles/local", "--cores", "1", "--configfile", QUICK, *configs]
    return run(args, workdir, timeout)


def hmixal(workdir: Path, *args: str, timeout: int = CLI_TIMEOUT_S) -> Command:
    """The ``hmixal`` command, run in ``workdir`` with the committed code of ``workdir``."""
    return run([*HMIXAL, *args], workdir, timeout)


def scratch_copy(destination: Path) -> Path:
    """The committed repository (``git archive HEAD``) unpacked to ``destination``, refdata_dir made absolute."""
    if destination.exists():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=REPO, capture_output=True, check=True).stdout
    archive_path = destination.parent / f"{destination.name}.tar"
    archive_path.write_bytes(archive)
    with tarfile.open(archive_path) as tar:
        tar.extractall(destination, filter="data")
    archive_path.unlink()
    config = destination / "config" / "config.yaml"
    config.write_text(config.read_text().replace("refdata_dir: ../shared/refdata", f"refdata_dir: {REFDATA}"))
    return destination


def copy_run(source: Path, destination: Path) -> Path:
    """A copy of a finished run (files, results, Snakemake metadata) with its modification times."""
    if destination.exists():
        shutil.rmtree(destination)
    shutil.copytree(source, destination, symlinks=True)
    return destination


def first_line(text: str) -> str:
    """The first non-blank line of ``text``, stripped, skipping Snakemake's profile banner."""
    lines = (line.strip() for line in text.splitlines())
    return next((line for line in lines if line and not line.startswith("Using profile")), "")


# The columns the cases filter on: an absent table reads as an empty frame that has them, so a filter needs no
# guard and an absent file simply matches nothing.
_TABLE_COLUMNS = (
    "A", "B", "x_B", "hmix_kJ_per_mol", "source_type", "source", "file", "line", "location", "reason", "raw",
    "status", "error_line", "error",
)  # fmt: skip


def read_csv(path: Path) -> pd.DataFrame:
    """A CSV as strings (empty cells stay empty); an empty frame with the filtered columns when absent."""
    if not path.is_file():
        return pd.DataFrame(columns=_TABLE_COLUMNS)
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def read_text(path: Path) -> str:
    """A text file, or '' when absent."""
    return path.read_text(errors="replace") if path.is_file() else ""


def traceback_in(text: str) -> bool:
    """True when a Python traceback was printed."""
    return "Traceback (most recent call last)" in text


def error_lines(console: str, name: str) -> list[re.Match[str]]:
    """The ``ERROR <rule>: <file>[:<line>]: <problem>`` lines of the console that name ``name``."""
    return [m for m in ERROR_LINE.finditer(console) if name in m.group("file")]


def logs_mentioning(workdir: Path, text: str) -> list[str]:
    """The job logs under results/logs that contain ``text`` (relative paths)."""
    logs = sorted((workdir / "results" / "logs").rglob("*.log")) if (workdir / "results" / "logs").is_dir() else []
    return [str(p.relative_to(workdir)) for p in logs if text in read_text(p)]


def write_config(workdir: Path, text: str) -> str:
    """Write the case's extra config file into the copy; its path relative to the copy."""
    (workdir / BAD_CONFIG).write_text(text)
    return BAD_CONFIG


def finish(case: Case, reported: bool, where: list[str], message: str) -> Case:
    """Set the outcome: PASS exactly when the problem was reported or the input refused."""
    case.reported, case.where, case.message = bool(reported), where, message
    case.verdict = "PASS" if reported else "FAIL"
    return case


# ------------------------------------------------------------------------------------------------ the cases


def case_user_table_j_per_mol(scratch: Path) -> Case:
    """1. A user table in J/mol: every row must be rejected with a unit hint, none may enter dataset_final."""
    case = Case(
        "01",
        "user table in J/mol",
        "data/lab_j_per_mol.csv: Al-Ni and Cu-Zr rows in J/mol (-38200, -45000, -22100)",
        "entered dataset_final silently",
    )
    work = scratch_copy(scratch / "c01_user_j_per_mol")
    name = "lab_j_per_mol.csv"
    (work / "data" / name).write_text(
        "A,B,x_B,hmix_kJ_per_mol,T_K,reference\n"
        "Al,Ni,0.25,-38200,1923,doi:10.0000/example.1\n"
        "Al,Ni,0.5,-45000,1923,doi:10.0000/example.1\n"
        "Cu,Zr,0.5,-22100,,\n"
    )
    config = write_config(work, f"sources:\n  user_tables: [data/{name}]\n")
    done = snakemake(work, ["results/data/dataset_final.csv"], [config])
    case.commands.append(done.record())
    dataset = read_csv(work / "results/data/dataset_final.csv")
    rejected = read_csv(work / "results/data/rejected.csv")
    mine = rejected[rejected["file"].str.endswith(name)]
    entered = dataset[dataset["source"] == name]
    log = read_text(work / "results/logs/dataset_final.log")
    unit_hint = len(mine) == 3 and mine["reason"].str.contains("J/mol").all() and mine["line"].ne("").all()
    case.checks = {
        "rows_fed": 3,
        "rows_in_dataset_final": len(entered),
        "rejected_rows": mine[["file", "line", "reason"]].to_dict("records"),
        "log_names_file": name in log,
        "dataset_written": (work / "results/data/dataset_final.csv").is_file(),
    }
    where = [w for w, ok in (("rejected.csv", len(mine) > 0), ("log", name in log and "implausible" in log)) if ok]
    where += ["console"] if name in done.console and "implausible" in done.console else []
    message = f"{name}:{mine['line'].iloc[0]}: {mine['reason'].iloc[0]}" if len(mine) else first_line(done.stderr)
    if done.exit_code == 0:
        case.notes.append("rows rejected, run continues (exit 0): the rejects are in rejected.csv and the log")
    refused = done.exit_code != 0 and bool(error_lines(done.console, name))
    return finish(case, (unit_hint and len(entered) == 0) or refused, where, message)


def espei_kj_file(folder: Path) -> Path:
    """An ESPEI HM_MIX dataset of liquid Al-Ni written in kJ/mol (ESPEI's unit is J/mol)."""
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "components": ["AL", "NI"],
        "phases": ["LIQUID"],
        "solver": {
            "mode": "manual",
            "sublattice_site_ratios": [1],
            "sublattice_configurations": [[["AL", "NI"]]] * 5,
            "sublattice_occupancies": [[[0.8, 0.2]], [[0.7, 0.3]], [[0.6, 0.4]], [[0.5, 0.5]], [[0.4, 0.6]]],
        },
        "conditions": {"P": 101325, "T": 1923},
        "output": "HM_MIX",
        "values": [[[-30.1, -38.2, -43.0, -45.0, -42.4]]],
        "reference": "bad-input audit: kJ/mol written where ESPEI expects J/mol",
        "comment": "HM_MIX in kJ/mol by mistake",
    }
    path = folder / "AL-NI-HM_MIX-LIQUID-kjmol.json"
    path.write_text(json.dumps(data, indent=1))
    return path


def broken_tdb(folder: Path) -> tuple[Path, int]:
    """A good Ag-Cu TDB and a copy with one unreadable PARAMETER; the broken file and the line of the break."""
    folder.mkdir(parents=True, exist_ok=True)
    good = (REFDATA / "opencalphad_examples" / "agcu.TDB").read_text()
    (folder / "agcu.TDB").write_text(good)
    lines = good.splitlines(keepends=True)
    line = next(i for i, text in enumerate(lines) if "G(LIQUID,AG,CU;0)" in text)
    lines[line] = lines[line].replace("-4.45479*T;", "-4.45479*T)*(;")
    path = folder / "broken_agcu.TDB"
    path.write_text("".join(lines))
    return path, line + 1


@dataclass
class RebuildRun:
    """One run of the derive rules (elements, CALPHAD, calorimetry) and the merge on a small reference folder."""

    work: Path
    done: Command
    espei: Path
    tdb: Path
    tdb_line: int


def rebuild_run(scratch: Path) -> RebuildRun:
    """derive_* + dataset_final with rebuild_derived on a folder: 1 good + 1 broken TDB and the kJ/mol ESPEI file."""
    work = scratch_copy(scratch / "c02_c12_rebuild")
    refdata = work / "refdata_small"
    tdb, tdb_line = broken_tdb(refdata / "calphad")
    espei = espei_kj_file(refdata / "espei_kj")
    config = write_config(
        work,
        f"refdata_dir: {refdata}\n"
        "sources:\n"
        "  rebuild_derived: true\n"
        f"  sgte_tdb: {REFDATA / 'sgte_unary' / 'unary50.tdb'}\n"
        "  calorimetry_dir: espei_kj\n",
    )
    done = snakemake(work, ["results/data/dataset_final.csv"], [config])
    return RebuildRun(work, done, espei, tdb, tdb_line)


def derived_cases(scratch: Path) -> list[Case]:
    """Cases 2 and 12, judged from one run of the derive rules."""
    rebuild = rebuild_run(scratch)
    return [case_espei_kj(rebuild), case_calphad_not_loaded(rebuild)]


def case_espei_kj(rebuild: RebuildRun) -> Case:
    """2. An ESPEI file in kJ/mol through derive_calorimetry and the merge: rejected, not entered as -0.045."""
    case = Case(
        "02",
        "ESPEI JSON in kJ/mol",
        f"{rebuild.espei.name}: HM_MIX values -30.1 … -45 (kJ/mol written as J/mol), sources.calorimetry_dir",
        "became -0.045 kJ/mol silently",
    )
    case.commands.append(rebuild.done.record())
    work = rebuild.work
    stage = read_csv(work / "results/derived/calorimetry.csv")
    stage_rejects = read_csv(work / "results/derived/calorimetry_rejects.csv")
    rejected = read_csv(work / "results/data/rejected.csv")
    dataset = read_csv(work / "results/data/dataset_final.csv")
    name = rebuild.espei.name
    entered = stage[stage["source"].str.endswith(name)]
    in_dataset = dataset[dataset["source"].str.endswith(name)]
    unit = stage_rejects[stage_rejects["reason"].str.startswith("wrong unit")]
    merged = rejected[rejected["reason"].str.startswith("wrong unit")]
    log = read_text(work / "results/logs/derive_calorimetry.log")
    case.checks = {
        "points_fed": 5,
        "rows_in_calorimetry_stage": len(entered),
        "rows_in_dataset_final": len(in_dataset),
        "stage_rejects_wrong_unit": len(unit),
        "rejected_csv_wrong_unit": len(merged),
        "rejected_locations": list(merged["location"]),
        "values_entered_kJ_per_mol": list(entered["hmix_kJ_per_mol"]),
        "exit_code": rebuild.done.exit_code,
    }
    where = [
        w
        for w, ok in (
            ("calorimetry_rejects.csv", len(unit) > 0),
            ("rejected.csv", len(merged) > 0),
            ("log", "wrong unit" in log),
        )
        if ok
    ]
    message = f"{name} {merged['location'].iloc[0]}: {merged['reason'].iloc[0]}" if len(merged) else ""
    message = message or first_line(rebuild.done.stderr)
    return finish(case, len(unit) == 5 and len(entered) == 0 and len(in_dataset) == 0, where, message)


def case_calphad_not_loaded(rebuild: RebuildRun) -> Case:
    """12. A CALPHAD TDB that fails to load: in the load report, and in rejected.csv with file and line."""
    case = Case(
        "12",
        "CALPHAD TDB that fails to load",
        f"refdata_small/calphad/{rebuild.tdb.name}: unmatched ')' in PARAMETER G(LIQUID,AG,CU;0) at line "
        f"{rebuild.tdb_line} (rule derive_calphad, rebuild_derived: true)",
        "",
    )
    case.commands.append(rebuild.done.record())
    work = rebuild.work
    report = read_csv(work / "results/derived/calphad_load_report.csv")
    rejected = read_csv(work / "results/data/rejected.csv")
    summary = json.loads(read_text(work / "results/data/summary.json") or "{}")
    name = rebuild.tdb.name
    failed = report[(report["file"].str.endswith(name)) & (report["status"] == "failed")]
    listed = rejected[rejected["file"].str.endswith(name)]
    not_loaded = [s for s in summary.get("sources_not_loaded", []) if name in json.dumps(s)]
    log = read_text(work / "results/logs/derive_calphad.log")
    line_ok = len(listed) == 1 and listed["line"].iloc[0] == str(rebuild.tdb_line)
    case.checks = {
        "load_report": failed[["file", "status", "error_line", "error"]].to_dict("records"),
        "rejected_rows": listed[["file", "line", "reason"]].to_dict("records"),
        "summary_sources_not_loaded": not_loaded,
        "line_expected": rebuild.tdb_line,
        "exit_code": rebuild.done.exit_code,
    }
    where = [
        w
        for w, ok in (
            ("calphad_load_report.csv", len(failed) > 0),
            ("rejected.csv", len(listed) > 0),
            ("summary.json", bool(not_loaded)),
            ("log", name in log and "not loaded" in log),
        )
        if ok
    ]
    message = f"{listed['file'].iloc[0]}:{listed['line'].iloc[0]}: {listed['reason'].iloc[0]}" if len(listed) else ""
    return finish(case, bool(line_ok and "source not loaded" in message), where, message or first_line(log))


def case_truncated_dataset(run_dir: Path, scratch: Path) -> Case:
    """3. dataset_final.csv cut at a line boundary, rerun to predictions.csv: refused, or retrained on all rows."""
    case = Case(
        "03",
        "dataset_final.csv cut at a line boundary",
        "results/data/dataset_final.csv cut to 43 % of its lines after the quick run",
        "model retrained on 43 % of rows, exit 0",
    )
    work = copy_run(run_dir, scratch / "c03_cut_dataset")
    path = work / "results/data/dataset_final.csv"
    lines = path.read_bytes().splitlines(keepends=True)
    n_rows = len(lines) - 1
    kept = round(0.43 * len(lines))
    path.write_bytes(b"".join(lines[:kept]))
    meta_path = work / "results/model/final_after/meta.json"
    before = json.loads(meta_path.read_text())["info"]["n_train_rows"]
    done = snakemake(work, ["results/model/predictions.csv"], timeout=PIPELINE_TIMEOUT_S)
    case.commands.append(done.record())
    after = json.loads(meta_path.read_text())["info"]["n_train_rows"] if meta_path.is_file() else None
    named = [line for line in done.console.splitlines() if line.startswith("ERROR") and "dataset_final" in line]
    retrained_on_cut = done.exit_code == 0 and after is not None and after < n_rows
    case.checks = {
        "rows_before_cut": n_rows,
        "rows_after_cut": kept - 1,
        "final_model_rows_before": before,
        "final_model_rows_after_rerun": after,
        "error_lines": named[:3],
        "traceback_on_console": traceback_in(done.console),
    }
    logs = logs_mentioning(work, "dataset_final.csv: has")
    case.checks["logs_naming_the_file"] = logs
    reported = (done.exit_code != 0 and bool(named)) or (done.exit_code == 0 and after == n_rows)
    message = named[0] if named else first_line(done.stderr)
    where = (["console"] if named else []) + [f"log ({log})" for log in logs[:1]]
    return finish(case, reported and not retrained_on_cut, where, message)


def case_truncated_predictions(run_dir: Path, scratch: Path) -> Case:
    """4. predictions.csv cut mid-file, rerun to the RK table and TDB: refused, or complete tables."""
    case = Case(
        "04",
        "predictions.csv cut mid-file",
        "results/model/predictions.csv cut at half its bytes (mid-line) after the quick run",
        "RK and TDB missing binaries, exit 0",
    )
    work = copy_run(run_dir, scratch / "c04_cut_predictions")
    path = work / "results/model/predictions.csv"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    done = snakemake(work, ["results/model/redlich_kister.csv", "results/model/hmixal_liquid.tdb"])
    case.commands.append(done.record())
    rk = read_csv(work / "results/model/redlich_kister.csv")
    n_rk = len(rk[["A", "B"]].drop_duplicates()) if len(rk) else 0
    named = [line for line in done.console.splitlines() if line.startswith("ERROR") and "predictions.csv" in line]
    case.checks = {
        "bytes_before_cut": len(data),
        "bytes_after_cut": len(data) // 2,
        "rk_binaries_after_rerun": n_rk,
        "rk_binaries_expected": N_BINARIES,
        "error_lines": named[:3],
        "traceback_on_console": traceback_in(done.console),
    }
    logs = logs_mentioning(work, "predictions.csv: has")
    case.checks["logs_naming_the_file"] = logs
    case.checks["rk_table_exists"] = (work / "results/model/redlich_kister.csv").is_file()
    reported = (done.exit_code != 0 and bool(named)) or (done.exit_code == 0 and n_rk == N_BINARIES)
    message = named[0] if named else first_line(done.stderr)
    where = (["console"] if named else []) + [f"log ({log})" for log in logs[:1]]
    return finish(case, reported, where, message)


def predict_csv(command: Command) -> pd.DataFrame:
    """The table ``hmixal predict --format csv`` printed (empty when it failed)."""
    if command.exit_code != 0 or not command.stdout.strip():
        return pd.DataFrame()
    from io import StringIO

    return pd.read_csv(StringIO(command.stdout), keep_default_na=False)


def case_no_data_element(run_dir: Path) -> Case:
    """5. ``hmixal predict C-Li``: carbon has no training binary, so a warning and coverage none/extrapolation."""
    case = Case(
        "05",
        "predict C-Li (element without data)",
        "hmixal predict C-Li --results <quick run>/results",
        "answered with no warning",
    )
    done = hmixal(run_dir, "predict", "C-Li", "--results", str(run_dir / "results"), "--format", "csv")
    case.commands.append(done.record())
    table = predict_csv(done)
    row = table.iloc[0].to_dict() if len(table) else {}
    warning = [line for line in done.stderr.splitlines() if "C-Li" in line]
    flagged = row.get("coverage") == "none" and str(row.get("extrapolation")) == "True"
    case.checks = {"row": row, "stderr_lines": done.stderr.splitlines()[:5]}
    if row and not math.isfinite(float(row.get("uncertainty_kJ_per_mol", 0))):
        case.notes.append(
            f"the interval is infinite (uncertainty {row['uncertainty_kJ_per_mol']}, 95 % "
            f"[{row['lower_95_kJ_per_mol']}, {row['upper_95_kJ_per_mol']}]) with the quick config's calibration"
        )
    where = (["stderr"] if warning else []) + (["stdout: coverage/extrapolation"] if flagged else [])
    return finish(case, bool(warning) and flagged, where, warning[0] if warning else first_line(done.stderr))


def case_binary_with_data(run_dir: Path) -> Case:
    """6. ``hmixal predict Ir-Ti``: the training data note beside the value and its interval."""
    case = Case(
        "06",
        "predict Ir-Ti (binary with data)",
        "hmixal predict Ir-Ti (in the quick run's folder)",
        "no word that data exist",
    )
    done = hmixal(run_dir, "predict", "Ir-Ti", "--format", "csv")
    data = hmixal(run_dir, "predict", "Ir-Ti", "--data", "--format", "csv")
    case.commands += [done.record(), data.record()]
    table, points = predict_csv(done), predict_csv(data)
    row = table.iloc[0].to_dict() if len(table) else {}
    note = [line for line in done.stderr.splitlines() if ": training data " in line]
    case.checks = {
        "stderr_lines": done.stderr.splitlines(),
        "hmix_kJ_per_mol": row.get("hmix_kJ_per_mol"),
        "uncertainty_kJ_per_mol": row.get("uncertainty_kJ_per_mol"),
        "interval_95": [row.get("lower_95_kJ_per_mol"), row.get("upper_95_kJ_per_mol")],
        "n_data_points": row.get("n_data_points"),
        "coverage": row.get("coverage"),
        "data": points[["x_B", "hmix_kJ_per_mol", "source_type"]].to_dict("records") if len(points) else [],
    }
    reported = bool(note) and len(points) > 0 and str(row.get("n_data_points")) not in ("", "0", "None")
    where = (["stderr"] if note else []) + (["stdout: n_data_points, --data"] if len(points) else [])
    return finish(case, reported, where, note[0] if note else first_line(done.stderr))


def case_written_order(run_dir: Path, scratch: Path) -> Case:
    """7. ``predict Ni-Al --x 0.25`` and a user row ``Ni,Al,0.25`` both mean x_Al = 0.25."""
    case = Case(
        "07",
        "Ni-Al x=0.25: CLI and user table agree",
        "hmixal predict Ni-Al --x 0.25 vs Al-Ni --x 0.75; user row Ni,Al,0.25,-31.5",
        "",
    )
    ni_al = hmixal(run_dir, "predict", "Ni-Al", "--x", "0.25", "--format", "csv")
    al_ni = hmixal(run_dir, "predict", "Al-Ni", "--x", "0.75", "--format", "csv")
    work = scratch_copy(scratch / "c07_user_order")
    (work / "data" / "order.csv").write_text("A,B,x_B,hmix_kJ_per_mol\nNi,Al,0.25,-31.5\n")
    config = write_config(work, "sources:\n  user_tables: [data/order.csv]\n")
    merge = snakemake(work, ["results/data/dataset_initial.csv"], [config])
    case.commands += [ni_al.record(), al_ni.record(), merge.record()]
    first, second = predict_csv(ni_al), predict_csv(al_ni)
    grid = read_csv(run_dir / "results/model/predictions.csv")
    grid_row = grid[(grid["A"] == "Al") & (grid["B"] == "Ni") & (grid["x_B"].astype(float).round(6) == 0.75)]
    dataset = read_csv(work / "results/data/dataset_initial.csv")
    user = dataset[dataset["source"] == "order.csv"]
    cli_value = float(first["hmix_kJ_per_mol"].iloc[0]) if len(first) else None
    other = float(second["hmix_kJ_per_mol"].iloc[0]) if len(second) else None
    grid_value = float(grid_row["hmix_kJ_per_mol"].iloc[0]) if len(grid_row) else None
    as_written = len(first) == 1 and list(first[["A", "B"]].iloc[0]) == ["Ni", "Al"] and first["x_B"].iloc[0] == 0.25
    user_rows = user[["A", "B", "x_B", "hmix_kJ_per_mol"]].to_dict("records")
    user_ok = user_rows == [{"A": "Al", "B": "Ni", "x_B": "0.75", "hmix_kJ_per_mol": "-31.5"}]
    same = None not in (cli_value, other, grid_value) and abs(cli_value - other) < 1e-9
    same = same and abs(cli_value - grid_value) < 1e-3  # type: ignore[operator]
    case.checks = {
        "predict Ni-Al --x 0.25": first.to_dict("records"),
        "predict Al-Ni --x 0.75 value": other,
        "predictions.csv Al-Ni x_B=0.75": grid_value,
        "user row stored as": user_rows,
    }
    message = (
        f"Ni-Al x_B=0.25 → {cli_value:.3f} = Al-Ni x_B=0.75 → {other:.3f}; user row stored as Al,Ni,0.75"
        if same and user_ok
        else "conventions differ"
    )
    # Here "reported" means: the two conventions agree (the input is read as written, not silently flipped).
    return finish(case, bool(as_written and user_ok and same), ["stdout", "dataset_initial.csv"], message)


def case_case_and_module(run_dir: Path) -> Case:
    """8. Lower-case symbols (``al-ni``) and ``python -m hmixal --help``."""
    case = Case(
        "08",
        "predict al-ni; python -m hmixal --help",
        "hmixal predict al-ni; python -m hmixal --help",
        "",
    )
    lower = hmixal(run_dir, "predict", "al-ni", "--format", "csv")
    module = run([PYTHON, "-m", "hmixal", "--help"], run_dir, CLI_TIMEOUT_S)
    case.commands += [lower.record(), module.record()]
    table = predict_csv(lower)
    read = len(table) == 1 and list(table[["A", "B"]].iloc[0]) == ["Al", "Ni"]
    helped = module.exit_code == 0 and "usage" in module.stdout.lower()
    case.checks = {
        "al-ni read as": table[["A", "B", "x_B"]].to_dict("records") if len(table) else [],
        "help_first_line": first_line(module.stdout),
    }
    message = f"al-ni → {'Al-Ni' if read else first_line(lower.stderr)}; --help: {first_line(module.stdout)[:60]}"
    return finish(case, read and helped, ["stdout"], message)


def case_failed_import(run_dir: Path, scratch: Path) -> Case:
    """9. ``hmixal aimd import`` of an empty directory fails and leaves nothing under results/aimd/imported."""
    case = Case(
        "09",
        "failed aimd import leaves nothing",
        "hmixal aimd import <empty directory>",
        "",
    )
    empty = scratch / "c09_empty_run"
    if empty.exists():
        shutil.rmtree(empty)
    empty.mkdir(parents=True)
    imported = run_dir / "results/aimd/imported"
    before = sorted(p.name for p in imported.iterdir()) if imported.is_dir() else None
    done = hmixal(run_dir, "aimd", "import", str(empty), "--results", str(run_dir / "results"))
    case.commands.append(done.record())
    after = sorted(p.name for p in imported.iterdir()) if imported.is_dir() else None
    left = sorted(set(after or []) - set(before or []))
    case.checks = {
        "imported_dir_before": before,
        "imported_dir_after": after,
        "left_behind": left,
        "stderr_lines": len(done.stderr.strip().splitlines()),
        "traceback": traceback_in(done.stderr),
    }
    ok = done.exit_code not in (0, None) and not left and bool(done.stderr.strip()) and not traceback_in(done.stderr)
    return finish(case, ok, ["stderr"] if done.stderr.strip() else [], first_line(done.stderr))


USER_TABLES: dict[str, tuple[str, str]] = {
    "10a": ("empty.csv", ""),
    "10b": ("missing_column.csv", "A,B,x_B\nAl,Ni,0.5\n"),
    "10c": ("semicolon.csv", "A;B;x_B;hmix_kJ_per_mol\nAl;Ni;0.5;-20\n"),
    "10d": ("header_only.csv", "A,B,x_B,hmix_kJ_per_mol\n"),
}


def cases_bad_user_tables(scratch: Path) -> list[Case]:
    """10. Empty, missing-column, semicolon-separated and header-only user tables through dataset_initial."""
    work = scratch_copy(scratch / "c10_user_tables")
    cases = []
    for case_id, (name, text) in USER_TABLES.items():
        shown = repr(text[:40]) if text else "0 bytes"
        case = Case(case_id, f"user table: {name.removesuffix('.csv').replace('_', ' ')}", f"{name}: {shown}", "")
        (work / "data" / name).write_text(text)
        config = write_config(work, f"sources:\n  user_tables: [data/{name}]\n")
        for stale in (work / "results/data").glob("*") if (work / "results/data").is_dir() else ():
            stale.unlink()
        done = snakemake(work, ["results/data/dataset_initial.csv"], [config])
        case.commands.append(done.record())
        lines = error_lines(done.console, name)
        log = read_text(work / "results/logs/dataset_initial.log")
        summary = json.loads(read_text(work / "results/data/summary_initial.json") or "{}")
        warnings = [w for w in summary.get("warnings", []) if name in json.dumps(w)]
        case.checks = {
            "console_error_lines": [m.group(0) for m in lines],
            "n_console_error_lines": len(lines),
            "line_number_given": [m.group("line") for m in lines],
            "traceback_on_console": traceback_in(done.console),
            "summary_warnings": warnings,
            "dataset_written": (work / "results/data/dataset_initial.csv").is_file(),
        }
        if name == "header_only.csv":
            warned_log = [line for line in log.splitlines() if "WARNING" in line and name in line]
            where = (["summary.json"] if warnings else []) + (["log"] if warned_log else [])
            where += ["console"] if name in done.console and "WARNING" in done.console else []
            message = warned_log[0].split(": ", 1)[-1] if warned_log else (json.dumps(warnings[0]) if warnings else "")
            finish(case, done.exit_code == 0 and bool(warnings) and bool(warned_log), where, message)
        else:
            where = ["console"] if lines else []
            where += ["log"] if name in log and "ERROR" in log else []
            ok = done.exit_code != 0 and bool(lines) and not traceback_in(done.console)
            if lines and lines[0].group("line") is None:
                case.notes.append(
                    "the console line names the file but no line number (<file>: …, not <file>:<line>: …)"
                )
            if len(lines) > 1:
                case.notes.append(f"{len(lines)} ERROR lines on the console, not one")
            finish(case, ok, where, lines[0].group(0) if lines else first_line(done.stderr))
        cases.append(case)
    return cases


CONFIGS: dict[str, tuple[str, str, str]] = {
    "11a": ("unknown top-level key", "foo: 1\n", "foo"),
    "11b": ("selection.n_features_al: 500", "selection:\n  n_features_al: 500\n", "n_features_al"),
    "11c": ("YAML syntax error", "selection:\n  repeats: 2\n  n_features_al: [10\nmodel:\n  outer_folds: 3\n", ""),
}


def cases_bad_configs(scratch: Path) -> list[Case]:
    """11. An unknown key, an impossible size and a YAML syntax error: the run refuses, check-config names them."""
    work = scratch_copy(scratch / "c11_configs")
    cases = []
    for case_id, (title, text, key) in CONFIGS.items():
        case = Case(case_id, f"config: {title}", f"{BAD_CONFIG}: {text.strip()!r}", "")
        config = write_config(work, text)
        done = snakemake(work, ["results/data/dataset_initial.csv"], [config])
        check = hmixal(work, "check-config", QUICK, config)
        case.commands += [done.record(), check.record()]
        ran = (work / "results/data/dataset_initial.csv").is_file()
        config_lines = ONE_LINE_CONFIG.findall(done.console)
        check_line = first_line(check.stderr)
        case.checks = {
            "snakemake_config_lines": config_lines[:3],
            "snakemake_first_stderr_line": first_line(done.stderr),
            "a_job_ran": ran,
            "check_config": check_line,
        }
        if key:
            named = [line for line in config_lines if key in line]
            ok = done.exit_code != 0 and not ran and bool(named) and key in check_line and check.exit_code == 2
            finish(case, ok, (["console"] if named else []) + ["check-config"], named[0] if named else check_line)
        else:
            located = re.match(rf"^hmixal check-config: {re.escape(config)}:\d+: YAML syntax", check_line)
            said = [line for line in done.console.splitlines() if "not valid JSON or YAML" in line]
            case.checks["snakemake_message"] = said[0] if said else first_line(done.stderr)
            if said:
                case.notes.append("Snakemake refuses without file or line (documented); check-config gives both")
            ok = done.exit_code != 0 and not ran and check.exit_code == 2 and located is not None
            finish(case, ok, ["console (Snakemake: no file, no line)", "check-config (file:line)"], check_line)
        cases.append(case)
    return cases


PLACEHOLDERS = (("Dy", "Ga"), ("Ga", "Nd"))


def case_placeholder_curves(run_dir: Path) -> Case:
    """13. Dy-Ga and Ga-Nd placeholder curves: absent from calphad_hmix.csv, excluded in calphad_candidates.csv."""
    case = Case(
        "13",
        "placeholder CALPHAD curves Dy-Ga, Ga-Nd",
        "committed data/derived/calphad_hmix.csv and calphad_candidates.csv (HEAD)",
        "",
    )
    chosen = read_csv(run_dir / "data/derived/calphad_hmix.csv")
    candidates = read_csv(run_dir / "data/derived/calphad_candidates.csv")
    dataset = read_csv(run_dir / "results/data/dataset_final.csv")
    found: dict[str, Any] = {}
    ok = True
    for a, b in PLACEHOLDERS:
        pick = (candidates["A"] == a) & (candidates["B"] == b)
        reasons = sorted(set(candidates.loc[pick, "reason"]))
        n_chosen = int(((chosen["A"] == a) & (chosen["B"] == b)).sum())
        n_data = int(((dataset["A"] == a) & (dataset["B"] == b) & (dataset["source_type"] == "calphad")).sum())
        excluded = bool(pick.any()) and all(r.startswith("excluded") for r in reasons)
        excluded = excluded and (candidates.loc[pick, "chosen"] == "False").all()
        found[f"{a}-{b}"] = {
            "rows_in_calphad_hmix": n_chosen,
            "calphad_rows_in_dataset_final": n_data,
            "candidate_rows": int(pick.sum()),
            "reasons": reasons,
        }
        ok = ok and n_chosen == 0 and n_data == 0 and excluded
    case.checks = found
    reasons = found["Dy-Ga"]["reasons"]
    message = f"Dy-Ga: {reasons[0]}" if reasons else "not in calphad_candidates.csv"
    return finish(case, ok, ["calphad_candidates.csv (reason)"], message)


# ------------------------------------------------------------------------------------------------ report


def machine() -> dict[str, Any]:
    """Where and when the audit ran, and which commit it measured."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True).stdout
    return {
        "uname": " ".join(platform.uname()),
        "uname_a": subprocess.run(["uname", "-a"], capture_output=True, text=True).stdout.strip(),
        "nproc": os.cpu_count(),
        "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
        "python": platform.python_version(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": head,
        "working_tree_had_uncommitted_changes": bool(dirty.strip()),
        "measured": "git archive HEAD (the committed tree), not the working tree",
        "refdata": str(REFDATA),
    }


def plain(value: Any) -> Any:
    """``value`` with numpy scalars made Python ones and non-finite floats written as text (valid JSON)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def markdown(cases: Sequence[Case]) -> str:
    """The cases as a Markdown table."""

    def cell(text: Any, width: int = 110) -> str:
        text = str(text).replace("|", "\\|").replace("\n", " ")
        return text if len(text) <= width else text[: width - 1] + "…"

    rows = [
        "| # | case | fed | exit | reported where | message / reason (first line) | verdict |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for case in cases:
        exits = ", ".join(str(c["exit_code"]) for c in case.commands) or "— (file check)"
        where = ", ".join(case.where) or "nowhere"
        rows.append(
            f"| {case.id} | {cell(case.title, 45)} | {cell(case.fed, 70)} | {exits} | {cell(where, 60)} | "
            f"{cell(case.message, 160)} | **{case.verdict}** |"
        )
    notes = [f"- {case.id}: {note}" for case in cases for note in case.notes]
    return "\n".join(rows + (["", "Notes:", *notes] if notes else []))


def main(argv: Sequence[str] | None = None) -> int:
    """Run every case, write the JSON record, print the Markdown table; exit 1 when a case fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scratch", type=Path, help="scratch folder for the repository copies (created)")
    parser.add_argument("output", type=Path, help="the JSON record, e.g. benchmarks/bad_inputs.json")
    args = parser.parse_args(argv)
    scratch = args.scratch.resolve()
    scratch.mkdir(parents=True, exist_ok=True)
    info = machine()
    start = time.perf_counter()

    def progress(text: str) -> None:
        print(f"[{time.perf_counter() - start:6.0f} s] {text}", file=sys.stderr, flush=True)

    progress("quick pipeline run (shared by cases 3-9, 13)")
    run_dir = scratch_copy(scratch / "run")
    quick = snakemake(
        run_dir, ["results/model/redlich_kister.csv", "results/model/hmixal_liquid.tdb"], timeout=PIPELINE_TIMEOUT_S
    )
    if quick.exit_code != 0:
        print(quick.stderr[-4000:], file=sys.stderr)
        raise SystemExit(f"the quick run failed (exit {quick.exit_code}); no case can use it")
    info["shared_run"] = quick.record()
    cases: list[Case] = []
    steps: list[tuple[str, Callable[[], list[Case]]]] = [
        ("1 user table in J/mol", lambda: [case_user_table_j_per_mol(scratch)]),
        ("5 C-Li", lambda: [case_no_data_element(run_dir)]),
        ("6 Ir-Ti", lambda: [case_binary_with_data(run_dir)]),
        ("7 Ni-Al order", lambda: [case_written_order(run_dir, scratch)]),
        ("8 al-ni, -m hmixal", lambda: [case_case_and_module(run_dir)]),
        ("9 aimd import", lambda: [case_failed_import(run_dir, scratch)]),
        ("13 placeholders", lambda: [case_placeholder_curves(run_dir)]),
        ("3 cut dataset_final", lambda: [case_truncated_dataset(run_dir, scratch)]),
        ("4 cut predictions", lambda: [case_truncated_predictions(run_dir, scratch)]),
        ("10 user tables", lambda: cases_bad_user_tables(scratch)),
        ("11 configs", lambda: cases_bad_configs(scratch)),
        ("2 (and 12) derive rules on a small reference folder", lambda: derived_cases(scratch)),
    ]
    for label, step in steps:
        progress(label)
        try:
            cases += step()
        except Exception as error:  # an audit that cannot judge a case says so instead of stopping
            ids = label.split(" ", 1)[0]
            case = Case(ids.zfill(2), label, "", "", message=f"audit error: {type(error).__name__}: {error}")
            case.verdict = "ERROR"
            cases.append(case)
    cases.sort(key=lambda c: c.id)
    info["wall_seconds"] = round(time.perf_counter() - start, 1)
    record = {
        "what": "bad inputs fed through the real path (Snakemake rules, hmixal CLI) of the committed tree",
        "script": "benchmarks/bench_bad_inputs.py",
        "machine": info,
        "n_pass": sum(c.verdict == "PASS" for c in cases),
        "n_fail": sum(c.verdict == "FAIL" for c in cases),
        "n_error": sum(c.verdict == "ERROR" for c in cases),
        "cases": [asdict(c) for c in cases],
    }
    args.output.write_text(json.dumps(plain(record), indent=1, ensure_ascii=False, allow_nan=False) + "\n")
    print(markdown(cases))
    counts = f"{record['n_pass']} PASS, {record['n_fail']} FAIL, {record['n_error']} audit errors"
    print(f"\n{counts}; {info['wall_seconds']} s on {info['uname_a']}")
    return 0 if record["n_fail"] == record["n_error"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
