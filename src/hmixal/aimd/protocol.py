"""The AIMD protocol of one run, on any engine: random liquid cell → NVT volume loop → NVT production → outcome.

The paper ran NVT and "adjusted the volume so that the pressure oscillated around a mean value of between −2
and 2 kbar" before at least 10 ps of production (seed §4.2). Here a run is a directory:

    run.json          composition, T, seed, start volume, bulk-modulus guess, the engine and its settings
    vol_00/ vol_01/   volume-loop stages (the engine's own files inside)
    volume.json       the loop's points and decision (converged / exhausted / no_liquid)
    production/       the production stage
    outcome.json      how the run ended: 'finished' (trace and frames written) or 'not_computed' (reason)
    trace.csv, trajectory.extxyz   the production's per-step table and frames (finished runs only)

The protocol decides volumes, lengths and when a run is done or cannot be done; the engine
(``hmixal.aimd.engine``) only runs stages. A run that cannot finish — a stage the engine gave up on, a volume
loop that ran out of iterations, a liquid with no state near P = 0 — ends as ``not_computed`` with the reason,
so that its binaries get a ``not_computed`` row and the campaign goes on (docs/aimd.md, "Failures").
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from hmixal.aimd.engine import CellState, Engine, StageState, StageStatus
from hmixal.aimd.enthalpy import enthalpy
from hmixal.aimd.frames import Frames
from hmixal.aimd.statistics import DEFAULT_MAX_DISCARD_FRACTION, DEFAULT_MIN_DISCARD_FRACTION
from hmixal.aimd.structure import bulk_modulus_guess_kbar, liquid_start_volume_A3, random_liquid_cell
from hmixal.aimd.systems import run_label
from hmixal.aimd.trace import Trace, write_trace
from hmixal.aimd.volume import (
    ProductionDecision,
    VolumeDecision,
    VolumePoint,
    VolumeSettings,
    accept_production,
    next_volume,
    thermal_pressure_kbar,
)
from hmixal.errors import InputError
from hmixal.io import atomic_path, write_text
from hmixal.settings import FromMapping, settings_from_mapping

log = logging.getLogger(__name__)

RUN_RECORD = "run.json"
VOLUME_RECORD = "volume.json"
OUTCOME_RECORD = "outcome.json"
VOLUME_STAGE_PREFIX = "vol_"
PRODUCTION_DIR = "production"
TRACE_FILE = "trace.csv"
TRAJECTORY_FILE = "trajectory.extxyz"
FINISHED = "finished"
NOT_COMPUTED = "not_computed"
OUTCOMES = (FINISHED, NOT_COMPUTED)


@dataclass(frozen=True)
class ProtocolSettings(FromMapping):
    """Stage lengths, equilibration floor and start-cell spacing of a run; the volume loop's own settings nested."""

    SECTION: ClassVar[str] = "aimd protocol settings"

    volume_run_ps: float = 2.0
    production_ps: float = 10.0  # seed §4.2: "the simulation time is at least 10 ps"
    max_production_ps: float = 20.0  # a production whose mean pressure is too uncertain is lengthened up to this
    min_discard_fraction: float = DEFAULT_MIN_DISCARD_FRACTION
    min_distance_A: float = 2.0
    volume: VolumeSettings = field(default_factory=VolumeSettings)

    def __post_init__(self) -> None:
        for name in ("volume_run_ps", "production_ps", "max_production_ps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise InputError(None, None, f"aimd protocol {name} must be a positive number, got {value!r}")
        if not 0.0 <= self.min_discard_fraction <= DEFAULT_MAX_DISCARD_FRACTION:
            raise InputError(
                None, None,
                f"aimd protocol min_discard_fraction must lie in [0, {DEFAULT_MAX_DISCARD_FRACTION}], "
                f"got {self.min_discard_fraction!r}",
            )  # fmt: skip
        if not self.min_distance_A >= 0:
            raise InputError(None, None, f"aimd protocol min_distance_A must be ≥ 0, got {self.min_distance_A!r}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> ProtocolSettings:
        """Settings from config (field names as keys, ``volume`` a mapping of VolumeSettings; unknown keys fail)."""
        volume = VolumeSettings.from_mapping((values or {}).get("volume"))
        return settings_from_mapping(cls, values, cls.SECTION, volume=volume)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (recorded in run.json: a later change of the protocol is refused)."""
        return json.loads(json.dumps(asdict(self), default=list))


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(path, exc.lineno, f"not JSON: {exc.msg}") from None


def _write_json(payload: Mapping[str, Any], path: Path) -> None:
    write_text(json.dumps(payload, indent=1, sort_keys=True, default=str) + "\n", path)


def start_state(
    counts: Mapping[str, int], temperature_K: float, protocol: ProtocolSettings, seed: int, elements: pd.DataFrame
) -> tuple[CellState, float, float]:
    """Random liquid cell at the run's start volume, with that volume and the bulk-modulus guess (kbar)."""
    missing = sorted(set(counts) - set(elements.index))
    if missing:
        raise InputError(None, None, f"element(s) {', '.join(missing)} not in the element table")
    volume = liquid_start_volume_A3(
        counts,
        {s: float(elements.loc[s, "MolarVolume"]) for s in counts},
        {s: float(elements.loc[s, "Tm_sgte_K"]) for s in counts},
        temperature_K,
    )
    cell = random_liquid_cell(dict(counts), volume, protocol.min_distance_A, seed)
    length = cell.cell_length_A
    state = CellState(tuple(cell.symbols), np.asarray(cell.positions, dtype=float), np.eye(3) * length)
    return state, volume, bulk_modulus_guess_kbar(counts, temperature_K, elements)


def prepare_run(
    run_dir: str | Path,
    engine: Engine,
    counts: Mapping[str, int],
    temperature_K: float,
    protocol: ProtocolSettings,
    seed: int,
    elements: pd.DataFrame,
) -> Path:
    """Start a run: random liquid cell at the start volume, run.json, and the first volume stage's inputs."""
    run_dir = Path(run_dir)
    if (run_dir / RUN_RECORD).is_file():
        raise InputError(run_dir / RUN_RECORD, None, "run already prepared; delete the directory to start over")
    counts = {k: int(v) for k, v in counts.items() if v > 0}
    state, volume, modulus = start_state(counts, temperature_K, protocol, seed, elements)
    label = run_label(counts, temperature_K)
    engine.prepare_stage(run_dir / f"{VOLUME_STAGE_PREFIX}00", state, temperature_K, protocol.volume_run_ps * 1000.0,
                         label)  # fmt: skip
    record = {
        "composition": counts,
        "temperature_K": float(temperature_K),
        "seed": int(seed),
        "start_volume_A3": volume,
        "bulk_modulus_guess_kbar": modulus,
        "label": label,
        "engine": engine.provenance(),
        "protocol": protocol.as_dict(),
    }
    _write_json(record, run_dir / RUN_RECORD)
    return run_dir


def read_run_record(run_dir: str | Path, engine: Engine, protocol: ProtocolSettings) -> dict[str, Any]:
    """run.json, refusing a run whose engine settings or protocol changed since it started (mixed ensembles)."""
    run_dir = Path(run_dir)
    record = _read_json(run_dir / RUN_RECORD)
    if record is None:
        raise InputError(run_dir / RUN_RECORD, None, "run not prepared (write its inputs first)")
    now = {"engine": json.loads(json.dumps(engine.provenance(), default=str)), "protocol": protocol.as_dict()}
    # Production may be lengthened ("a longer time is taken", seed §4.2): that is not a change of ensemble.
    lengths = ("production_ps", "max_production_ps")
    for part in ("engine", "protocol"):
        before = {k: v for k, v in record.get(part, {}).items() if k not in lengths}
        after = {k: v for k, v in now[part].items() if k not in lengths}
        if before != after:
            changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            raise InputError(
                run_dir / RUN_RECORD, None,
                f"{part} settings changed since this run started ({', '.join(changed)}): mixing them would mix "
                "ensembles; restore them or delete the run directory to start over",
            )  # fmt: skip
    return record


def stage_point(trace: Trace, min_discard_fraction: float) -> dict[str, float]:
    """A stage's volume, mean pressure, mean H per atom (kJ/mol) and T(∂P/∂T)_V, with SEs, after equilibration."""
    h = enthalpy(trace, "etotal", min_discard_fraction)
    volume = float(trace.table["volume_A3"].iloc[0]) if "volume_A3" in trace.table else float("nan")
    window = trace.table.iloc[h.start_index :]
    thermal, thermal_sem = thermal_pressure_kbar(
        window["pressure_kbar"].to_numpy(), window["etotal_eV"].to_numpy(), trace.target_temperature_K
    )
    return {
        "thermal_pressure_kbar": thermal,
        "thermal_pressure_sem_kbar": thermal_sem,
        "volume_A3": volume,
        "pressure_kbar": h.mean_pressure_kbar,
        "pressure_sem_kbar": h.pressure_sem_kbar,
        "h_kJ_per_mol": h.h_kJ_per_mol,
        "h_sem_kJ_per_mol": h.sem_kJ_per_mol,
        "n_atoms": trace.n_atoms,
    }


def _volume_point(point: Mapping[str, float]) -> VolumePoint:
    return VolumePoint(
        point["volume_A3"], point["pressure_kbar"], point["pressure_sem_kbar"], point["h_kJ_per_mol"],
        point["h_sem_kJ_per_mol"], int(point["n_atoms"]), point.get("thermal_pressure_kbar"),
        point.get("thermal_pressure_sem_kbar"),
    )  # fmt: skip


def volume_stages(run_dir: Path) -> list[Path]:
    """The run's volume-loop stage directories in order."""
    return sorted(p for p in run_dir.glob(f"{VOLUME_STAGE_PREFIX}[0-9][0-9]") if p.is_dir())


@dataclass(frozen=True)
class RunProgress:
    """Where a run stands after a job: 'finished', 'not_computed', or 'needs_continuation' (walltime)."""

    state: str
    reason: str
    stage: str


def _stage_failed(status: StageStatus) -> bool:
    return status.state is StageState.FAILED


def advance_volume_loop(
    run_dir: Path,
    engine: Engine,
    protocol: ProtocolSettings,
    record: Mapping[str, Any],
    job_start: dt.datetime,
    reset_failed: bool,
) -> tuple[RunProgress | None, dict[str, Any]]:
    """Run volume stages until the loop decides; (None, volume record) when converged, else the run's progress.

    ``record``: the run's run.json as ``read_run_record`` checked it."""
    done = _read_json(run_dir / VOLUME_RECORD)
    if done is not None and done.get("state") == "converged":
        return None, done
    settings = protocol.volume
    stages = volume_stages(run_dir)
    if not stages:
        raise InputError(run_dir, None, f"no {VOLUME_STAGE_PREFIX}00 stage: prepare the run first")
    points: list[dict[str, float]] = []  # one per finished stage; a finished stage never changes, so read once
    while True:
        stage = stages[-1]
        status = engine.run_stage(stage, job_start, reset_failed)
        if _stage_failed(status):
            return RunProgress(NOT_COMPUTED, f"{stage.name}: {status.reason}", stage.name), {}
        if status.state is not StageState.FINISHED:
            return RunProgress("needs_continuation", f"{stage.name}: {status.reason}", stage.name), {}
        points += [stage_point(engine.stage_trace(s), protocol.min_discard_fraction) for s in stages[len(points) :]]
        history = [_volume_point(p) for p in points]
        decision = next_volume(history, settings.for_run(record["start_volume_A3"], record["bulk_modulus_guess_kbar"]))
        log.info("%s: %s → %s (%s)", stage, decision.reason, decision.action, decision.rule)
        if decision.action != "run":
            payload = _volume_payload(stage, decision, points)
            _write_json(payload, run_dir / VOLUME_RECORD)
            if decision.action == "converged":
                return None, payload
            return RunProgress(NOT_COMPUTED, f"volume loop {decision.action}: {decision.reason}", stage.name), payload
        next_stage = run_dir / f"{VOLUME_STAGE_PREFIX}{len(stages):02d}"
        state = engine.final_state(stage).scaled_to(decision.volume_A3)
        engine.prepare_stage(next_stage, state, record["temperature_K"], protocol.volume_run_ps * 1000.0,
                             record["label"])  # fmt: skip
        stages.append(next_stage)


def _volume_payload(stage: Path, decision: VolumeDecision, points: list[dict[str, float]]) -> dict[str, Any]:
    return {
        "state": decision.action,
        "stage": stage.name,
        "volume_A3": decision.volume_A3,
        "rule": decision.rule,
        "reason": decision.reason,
        "history": points,
    }


def _production(
    run_dir: Path, engine: Engine, protocol: ProtocolSettings, length_ps: float, volume: Mapping[str, Any],
    record: Mapping[str, Any], job_start: dt.datetime, reset_failed: bool,
) -> StageStatus:  # fmt: skip
    stage = run_dir / PRODUCTION_DIR
    duration = length_ps * 1000.0
    if engine.stage_status(stage).state is StageState.NOT_STARTED and not any(stage.glob("*")):
        state = engine.final_state(run_dir / volume["stage"])
        if abs(state.volume_A3 / volume["volume_A3"] - 1.0) > 1e-9:  # the loop chose the fitted volume (cap)
            state = state.scaled_to(volume["volume_A3"])
        engine.prepare_stage(stage, state, record["temperature_K"], duration, record["label"])
    else:
        engine.extend_stage(stage, duration)  # "a longer time is taken" (seed §4.2): raise production_ps, rerun
    return engine.run_stage(stage, job_start, reset_failed)


def _judge(
    engine: Engine, stage: Path, protocol: ProtocolSettings
) -> tuple[Trace, dict[str, float], ProductionDecision]:
    """A finished production's trace, its summary point and the verdict on its mean pressure (read once)."""
    trace = engine.stage_trace(stage)
    point = stage_point(trace, protocol.min_discard_fraction)
    return trace, point, accept_production(_volume_point(point), protocol.volume)


def write_outcome(run_dir: Path, payload: Mapping[str, Any]) -> None:
    """Write outcome.json (the rule's output, so last of all files of a run)."""
    if payload.get("state") not in OUTCOMES:
        raise InputError(run_dir / OUTCOME_RECORD, None, f"outcome state must be one of {OUTCOMES}")
    _write_json(payload, run_dir / OUTCOME_RECORD)


def read_outcome(run_dir: str | Path) -> dict[str, Any]:
    """A run's outcome.json (finished or not_computed with the reason)."""
    path = Path(run_dir) / OUTCOME_RECORD
    payload = _read_json(path)
    if payload is None:
        raise InputError(path, None, "no outcome: the run has not ended (run the pipeline's aimd_run job)")
    if payload.get("state") not in OUTCOMES:
        raise InputError(path, None, f"state must be one of {', '.join(OUTCOMES)}, got {payload.get('state')!r}")
    return payload


def advance_run(
    run_dir: str | Path,
    engine: Engine,
    protocol: ProtocolSettings,
    job_start: dt.datetime | None = None,
    reset_failed: bool = False,
) -> RunProgress:
    """Take a prepared run as far as this job allows: volume loop, production, files, outcome.json."""
    run_dir = Path(run_dir)
    job_start = job_start or dt.datetime.now()
    record = read_run_record(run_dir, engine, protocol)
    base = {"run": run_dir.name, "composition": record["composition"], "temperature_K": record["temperature_K"],
            "engine": record["engine"], "start_volume_A3": record["start_volume_A3"],
            "bulk_modulus_guess_kbar": record["bulk_modulus_guess_kbar"]}  # fmt: skip
    progress, volume = advance_volume_loop(run_dir, engine, protocol, record, job_start, reset_failed)
    if progress is not None:
        if progress.state == NOT_COMPUTED:
            write_outcome(run_dir, {**base, "state": NOT_COMPUTED, "reason": progress.reason, "stage": progress.stage,
                                    "volume": volume})  # fmt: skip
        return progress
    stage = run_dir / PRODUCTION_DIR
    status = _production(run_dir, engine, protocol, protocol.production_ps, volume, record, job_start, reset_failed)
    judged = _judge(engine, stage, protocol) if status.state is StageState.FINISHED else None
    if judged is not None and judged[2].action == "extend" and protocol.max_production_ps > protocol.production_ps:
        # A production whose mean pressure is too uncertain to judge is lengthened once, up to max_production_ps
        # ("in cases where the system is not sufficiently converged, a longer time is taken", seed §4.2).
        status = _production(run_dir, engine, protocol, protocol.max_production_ps, volume, record, job_start,
                             reset_failed)  # fmt: skip
        judged = None
    if _stage_failed(status):
        reason = f"{PRODUCTION_DIR}: {status.reason}"
        write_outcome(run_dir, {**base, "state": NOT_COMPUTED, "reason": reason, "stage": PRODUCTION_DIR,
                                "volume": volume})  # fmt: skip
        return RunProgress(NOT_COMPUTED, reason, PRODUCTION_DIR)
    if status.state is not StageState.FINISHED:
        return RunProgress("needs_continuation", f"{PRODUCTION_DIR}: {status.reason}", PRODUCTION_DIR)
    trace, production, verdict = judged or _judge(engine, stage, protocol)
    stages = {s.name: engine.stage_record(s) for s in [*volume_stages(run_dir), stage]}
    summary = {**base, "volume": volume, "production": production, "stages": stages,
               "pressure_verdict": verdict.action, "pressure_accepted": verdict.accepted}  # fmt: skip
    # Every verdict keeps the run: H is moved to P = 0 through the fitted P(V) of all stages and the production
    # (its uncertainty grows with the distance), and a production outside the window is flagged in the row.
    write_run_files(trace, engine.stage_frames(stage), run_dir)
    write_outcome(run_dir, {**summary, "state": FINISHED, "reason": verdict.reason})
    return RunProgress(FINISHED, verdict.reason, PRODUCTION_DIR)


def write_run_files(trace: Trace, frames: Frames, out_dir: Path) -> tuple[Path, Path]:
    """Write a run's trace.csv and trajectory.extxyz (the format the analysis reads)."""
    write_trace(trace, out_dir / TRACE_FILE)
    from ase import Atoms  # ASE only for writing the extxyz file the analysis reads
    from ase.io import write

    images = []
    for k in range(len(frames.time_fs)):
        image = Atoms(frames.symbols, positions=frames.positions[k], cell=frames.cells[k], pbc=True)
        image.info["time_fs"] = float(frames.time_fs[k])
        images.append(image)
    with atomic_path(out_dir / TRAJECTORY_FILE) as tmp:
        write(tmp, images, format="extxyz", columns=["symbols", "positions"], write_results=False)
    return out_dir / TRACE_FILE, out_dir / TRAJECTORY_FILE
