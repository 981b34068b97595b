"""A campaign of runs from the config: the engine it names, one batch job of one run, inputs and status.

Exit codes of a run's job (the pipeline's ``aimd_run`` rule): 0 the run ended (outcome.json written: finished,
or not_computed with the reason — the campaign goes on either way); 75 (EX_TEMPFAIL) the job's walltime ran
out and the next job continues (the rule's ``retries`` resubmits it); 1 an error that a new job would repeat
(bad settings, missing POTCAR, …): error.json in the run directory keeps it, and a resubmitted job stops at
once with the same message instead of holding a node (docs/aimd.md, "Failures").
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from hmixal.aimd.checks import conserved_drift
from hmixal.aimd.engine import Engine, StageState
from hmixal.aimd.protocol import (
    FINISHED,
    NOT_COMPUTED,
    OUTCOME_RECORD,
    PRODUCTION_DIR,
    RUN_RECORD,
    VOLUME_RECORD,
    ProtocolSettings,
    advance_run,
    prepare_run,
    volume_stages,
)
from hmixal.aimd.statistics import block_average
from hmixal.errors import InputError
from hmixal.splits import derive_seed

log = logging.getLogger(__name__)

ENGINES = ("vasp", "ase", "mlip")
EX_OK = 0
EX_FAILED = 1
EX_TEMPFAIL = 75
ERROR_RECORD = "error.json"


def make_engine(aimd: Mapping[str, Any], seed: int, walltime_s: float | None = None) -> Engine:
    """The engine the ``aimd`` config section names, with its settings (``walltime_s``: the batch job's limit)."""
    name = aimd.get("engine")
    if name == "vasp":
        from hmixal.aimd.vasp.engine import VaspEngine
        from hmixal.aimd.vasp.inputs import MDSettings
        from hmixal.aimd.vasp.run import RunnerSettings

        vasp = aimd.get("vasp", {})
        runner = dict(vasp.get("runner", {}))
        if walltime_s is not None and "walltime_s" not in runner:
            runner["walltime_s"] = float(walltime_s)
        return VaspEngine(MDSettings.from_mapping(vasp.get("incar", {})), RunnerSettings.from_mapping(runner))
    if name == "ase":
        from hmixal.aimd.ase_engine import AseEngine, AseEngineSettings

        return AseEngine(AseEngineSettings.from_mapping(aimd.get("ase", {})), seed)
    if name == "mlip":
        from hmixal.aimd import mlip

        return mlip.make_engine(aimd.get("mlip", {}), seed)
    raise InputError(None, None, f"aimd.engine must be one of {', '.join(ENGINES)}, got {name!r}")


def protocol_settings(aimd: Mapping[str, Any]) -> ProtocolSettings:
    """The protocol every engine runs, from ``aimd.protocol``."""
    return ProtocolSettings.from_mapping(aimd.get("protocol", {}))


def run_counts(row: Mapping[str, Any]) -> dict[str, int]:
    """Atom counts of a run from its row of the runs table (aimd_systems)."""
    counts = {str(row["A"]): int(row["n_A"])}
    if row["kind"] == "alloy":
        counts[str(row["B"])] = int(row["n_B"])
    return counts


def _fail_fast(run_dir: Path, attempt: int) -> None:
    record = run_dir / ERROR_RECORD
    if attempt > 1 and record.is_file():
        previous = json.loads(record.read_text(encoding="utf-8"))
        raise InputError(
            record, None,
            f"attempt {previous.get('attempt')} stopped with an error a new job would repeat: "
            f"{previous.get('message')} — fix the cause, delete {record.name} and rerun snakemake",
        )  # fmt: skip


def run_seed(root_seed: int, run_id: str) -> int:
    """The seed of one AIMD run (its engine's velocities and structures), derived from the root seed."""
    return derive_seed(int(root_seed), "aimd", run_id)


def run_job(
    run_dir: str | Path,
    row: Mapping[str, Any],
    aimd: Mapping[str, Any],
    seed: int,
    elements: pd.DataFrame,
    attempt: int = 1,
    job_start: dt.datetime | None = None,
    walltime_s: float | None = None,
) -> int:
    """One batch job of one run: prepare it if new, advance it, and return the job's exit code (module doc)."""
    run_dir = Path(run_dir)
    job_start = job_start or dt.datetime.now()
    _fail_fast(run_dir, attempt)
    try:
        engine = make_engine(aimd, seed, walltime_s)
        protocol = protocol_settings(aimd)
        if not (run_dir / RUN_RECORD).is_file():
            prepare_run(run_dir, engine, run_counts(row), float(row["T_K"]), protocol, seed, elements)
        progress = advance_run(run_dir, engine, protocol, job_start, bool(aimd.get("reset_failed", False)))
    except Exception as error:
        run_dir.mkdir(parents=True, exist_ok=True)
        payload = {"attempt": attempt, "message": str(error), "type": type(error).__name__,
                   "traceback": traceback.format_exc(limit=8)}  # fmt: skip
        (run_dir / ERROR_RECORD).write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
        raise
    (run_dir / ERROR_RECORD).unlink(missing_ok=True)
    log.info("%s: %s (%s)", run_dir.name, progress.state, progress.reason)
    if progress.state in (FINISHED, NOT_COMPUTED):
        return EX_OK
    if engine.name != "vasp":
        raise InputError(run_dir, None, f"{engine.name} stages run to the end in one job, but {progress.reason}")
    return EX_TEMPFAIL


def _json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except json.JSONDecodeError as exc:
        raise InputError(path, exc.lineno, f"not JSON: {exc.msg}") from None


def _stage_summary(engine: Engine | None, stage: Path, min_discard_fraction: float) -> dict[str, Any]:
    out: dict[str, Any] = {"stage": stage.name}
    if engine is None:
        return out
    status = engine.stage_status(stage)
    out.update(state=status.state.value, ps_done=status.time_done_fs / 1000.0, ps_target=status.target_fs / 1000.0)
    if status.time_done_fs > 0:
        try:
            trace = engine.stage_trace(stage)
            pressure = block_average(trace.table["pressure_kbar"].to_numpy())
            out.update(pressure_kbar=pressure.mean, pressure_sem_kbar=pressure.sem)
            if "conserved_eV" in trace.table and len(trace.table) > 2:
                table = trace.table
                drift = conserved_drift(table["time_fs"], table["conserved_eV"], trace.n_atoms, stage.name)
                out["drift_meV_per_atom_ps"] = drift.slope_meV_per_atom_ps
        except InputError as error:  # a stage with too few steps to average yet
            out["note"] = str(error)
    return out


def run_status(run_dir: str | Path, engine: Engine | None, min_discard_fraction: float) -> dict[str, Any]:
    """One run's state for people: stage, simulated ps, mean P ± SE, drift, outcome and what happens next."""
    run_dir = Path(run_dir)
    row: dict[str, Any] = {"run": run_dir.name}
    outcome = _json(run_dir / OUTCOME_RECORD)
    error = _json(run_dir / "error.json")
    if not (run_dir / RUN_RECORD).is_file():
        return {**row, "stage": "-", "state": "not prepared", "next": "the aimd_run job prepares and starts it"}
    stages = [*volume_stages(run_dir), *([run_dir / PRODUCTION_DIR] if (run_dir / PRODUCTION_DIR).is_dir() else [])]
    current = _stage_summary(engine, stages[-1], min_discard_fraction) if stages else {"stage": "-"}
    row.update(current)
    volume = _json(run_dir / VOLUME_RECORD)
    if volume is not None:
        row["volume_loop"] = f"{volume.get('state')} after {len(volume.get('history', []))} stage(s)"
    if outcome is not None:
        row["state"] = outcome["state"]
        row["next"] = (
            "done: enters the binary's row" if outcome["state"] == FINISHED
            else f"not computed ({outcome.get('reason')}); its binaries get a not_computed row"
        )  # fmt: skip
        return row
    if error is not None:
        row["state"] = "error"
        row["next"] = f"fix: {error.get('message')} — then delete error.json and rerun snakemake"
        return row
    state = row.get("state")
    if state == StageState.FAILED.value:
        row["next"] = "stage failed; the next job writes not_computed (set aimd.reset_failed: true to retry it)"
    elif state in (StageState.NEEDS_CONTINUATION.value, StageState.NOT_STARTED.value):
        row["next"] = "the next job continues this stage"
    else:
        row["next"] = "the next job decides the volume or starts production"
    return row


def campaign_status(root: str | Path, engine: Engine | None, min_discard_fraction: float) -> pd.DataFrame:
    """The status of every run under ``root`` (``results/aimd/<engine>/runs``), one row per run."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(root, None, "no runs here yet (the pipeline's aimd_run jobs create them)")
    rows = [run_status(d, engine, min_discard_fraction) for d in sorted(p for p in root.iterdir() if p.is_dir())]
    columns = ["run", "stage", "state", "ps_done", "ps_target", "pressure_kbar", "pressure_sem_kbar",
               "drift_meV_per_atom_ps", "volume_loop", "next"]  # fmt: skip
    return pd.DataFrame(rows).reindex(columns=columns)
