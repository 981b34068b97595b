"""Run VASP MD stages under custodian, in segments that continue from CONTCAR across batch jobs.

A *stage* is one NVT run of a fixed length at one volume (a volume-loop iteration or the production run).
Its directory holds the template inputs (INCAR with NSW for the whole stage, KPOINTS, POSCAR, POTCAR) and
one sub-directory per *segment*, ``seg_000``, ``seg_001``, …: one custodian-guarded VASP execution each.
A segment stops when VASP finishes, when custodian gives up, or when the WalltimeHandler asks VASP to stop
(STOPCAR) before the batch job's time runs out. The next segment — in the same job if time is left, else in
the next job — starts from the last segment's CONTCAR (positions and velocities) and INCAR (with the
corrections custodian made) and runs the remaining time. The state is read from the directory alone
(stage_status), so a job killed outright is continued too: its complete steps are kept and flagged.

Handlers are the MD set of atomate2 (METHOD §9); PotimErrorHandler and NonConvergingErrorHandler are left
out: the first rescales POTIM on relaxation symptoms, the second changes the algorithm on unconverged
relaxation steps, neither of which applies to MD.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import shlex
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
from custodian import Custodian
from custodian.custodian import CustodianError, ErrorHandler
from custodian.vasp.handlers import (
    FrozenJobErrorHandler,
    IncorrectSmearingHandler,
    LargeSigmaHandler,
    MeshSymmetryErrorHandler,
    PositiveEnergyErrorHandler,
    StdErrHandler,
    VaspErrorHandler,
    WalltimeHandler,
)
from custodian.vasp.jobs import VaspJob
from custodian.vasp.validators import VasprunXMLValidator
from pymatgen.io.vasp.inputs import Incar, Poscar

from hmixal.aimd import analysis
from hmixal.aimd.structure import random_liquid_cell, start_volume_A3
from hmixal.aimd.vasp_inputs import (
    POTCAR_SPEC,
    MDSettings,
    cell_structure,
    missing_potcar_message,
    rescaled_poscar,
    write_md_inputs,
)
from hmixal.aimd.vasp_parse import (
    MDSegment,
    concatenate_segments,
    parse_md_segment,
    read_xdatcar,
    segment_metadata,
)
from hmixal.aimd.volume import VolumeDecision, VolumePoint, VolumeSettings, next_volume
from hmixal.errors import InputError, reject_unknown_keys
from hmixal.io import atomic_path, write_text

log = logging.getLogger(__name__)

SEGMENT_PREFIX = "seg_"
SEGMENT_RECORD = "segment.json"
STAGE_RECORD = "stage.json"
_CARRIED_FILES = ("KPOINTS", "POTCAR")
# Tags that define the ensemble and the thermostat: a handler that changes one has left the protocol
PROTOCOL_TAGS = ("IBRION", "MDALGO", "ISIF", "SMASS", "TEBEG", "TEEND", "ISPIN")


class StageState(StrEnum):
    """Where a stage stands, read from its directory."""

    NOT_STARTED = "not_started"
    NEEDS_CONTINUATION = "needs_continuation"
    FINISHED = "finished"
    FAILED = "failed"


@dataclass(frozen=True)
class StageStatus:
    """A stage's state, how much of its simulated time is done, and why (for logs and reports)."""

    state: StageState
    time_done_fs: float
    target_fs: float
    n_segments: int
    reason: str


@dataclass(frozen=True)
class RunnerSettings:
    """How VASP is launched and watched (from config/profile; times in seconds)."""

    vasp_cmd: tuple[str, ...]
    gamma_vasp_cmd: tuple[str, ...] | None = None
    max_errors: int = 10
    polling_time_step_s: float = 10.0
    monitor_freq: int = 30
    walltime_s: float | None = None
    walltime_buffer_s: float = 900.0
    frozen_timeout_s: float = 3600.0
    max_segments: int = 50

    def __post_init__(self) -> None:
        if not self.vasp_cmd:
            raise InputError(None, None, "vasp_cmd is empty: set aimd.vasp.runner.vasp_cmd, e.g. 'srun vasp_gam'")
        for name in ("polling_time_step_s", "walltime_buffer_s", "frozen_timeout_s"):
            if not getattr(self, name) > 0:
                raise InputError(None, None, f"runner setting {name} must be positive, got {getattr(self, name)!r}")
        for name in ("max_errors", "monitor_freq", "max_segments"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(None, None, f"runner setting {name} must be a positive integer, got {value!r}")
        if self.walltime_s is not None and not self.walltime_s > 0:
            raise InputError(None, None, f"walltime_s must be positive, got {self.walltime_s!r}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> RunnerSettings:
        """Settings from config: commands as strings (shell-split) or lists; unknown keys are an error."""
        reject_unknown_keys(values, (f.name for f in fields(cls)), "aimd runner settings")
        out = dict(values)
        for key in ("vasp_cmd", "gamma_vasp_cmd"):
            if isinstance(out.get(key), str):
                out[key] = tuple(shlex.split(out[key]))
            elif out.get(key) is not None:
                out[key] = tuple(str(x) for x in out[key])
        return cls(**out)


def md_handlers(settings: RunnerSettings, job_start: dt.datetime | None = None) -> list[ErrorHandler]:
    """custodian's MD handler set (atomate2's, METHOD §9) plus a WalltimeHandler when a walltime is known."""
    handlers: list[ErrorHandler] = [
        VaspErrorHandler(),
        MeshSymmetryErrorHandler(),
        PositiveEnergyErrorHandler(),
        FrozenJobErrorHandler(timeout=settings.frozen_timeout_s),
        StdErrHandler(),
        LargeSigmaHandler(),
        IncorrectSmearingHandler(),
    ]
    if settings.walltime_s is not None:
        # WalltimeHandler reads and sets CUSTODIAN_WALLTIME_START in os.environ; we give it the job's start
        # time explicitly and leave the environment as it was, so that runs in one process do not interact.
        saved = os.environ.get("CUSTODIAN_WALLTIME_START")
        try:
            handler = WalltimeHandler(wall_time=settings.walltime_s, buffer_time=settings.walltime_buffer_s)
        finally:
            if saved is None:
                os.environ.pop("CUSTODIAN_WALLTIME_START", None)
            else:
                os.environ["CUSTODIAN_WALLTIME_START"] = saved
        start = job_start or dt.datetime.now()
        handler.start_time = start
        handler.prev_check_time = start
        handlers.append(handler)
    return handlers


def prepare_stage(
    stage_dir: str | Path,
    poscar: Poscar,
    temperature_K: float,
    duration_fs: float,
    md_settings: MDSettings,
    system: str,
) -> Path:
    """Write a stage's template inputs: NSW covers ``duration_fs`` at the configured POTIM."""
    stage_dir = Path(stage_dir)
    if stage_dir.exists() and any(stage_dir.glob(f"{SEGMENT_PREFIX}*")):
        raise InputError(stage_dir, None, "stage has already run; refusing to overwrite its inputs")
    nsw = math.ceil(duration_fs / md_settings.potim_fs - 1e-9)
    report = write_md_inputs(stage_dir, poscar, temperature_K, nsw, md_settings, system)
    if not report.potcar_written:
        log.warning(report.message)
    return stage_dir


def _segment_dirs(stage_dir: Path) -> list[Path]:
    return sorted(p for p in stage_dir.glob(f"{SEGMENT_PREFIX}[0-9][0-9][0-9]") if p.is_dir())


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(path, exc.lineno, f"not JSON: {exc.msg}") from None


def _stage_target(stage_dir: Path) -> tuple[float, float]:
    incar_path = stage_dir / "INCAR"
    if not incar_path.is_file():
        raise InputError(incar_path, None, "stage INCAR not found: prepare the stage first")
    incar = Incar.from_file(incar_path)
    potim = float(incar["POTIM"])
    return int(incar["NSW"]) * potim, potim


def _valid_contcar(directory: Path, n_atoms: int) -> Poscar | None:
    path = directory / "CONTCAR"
    if not path.is_file() or path.stat().st_size == 0:
        return None
    try:
        poscar = Poscar.from_file(path, check_for_potcar=False)
    except Exception:  # a half-written CONTCAR fails in many ways inside pymatgen; all mean "not usable"
        return None
    return poscar if len(poscar.structure) == n_atoms else None


def _usable_segments(stage_dir: Path) -> list[MDSegment]:
    """Parsed segments whose steps count: complete ones, and cut-off ones with a readable CONTCAR."""
    out = []
    for seg_dir in _segment_dirs(stage_dir):
        try:
            seg = parse_md_segment(seg_dir, allow_truncated=True)
        except InputError:
            record = _read_json(seg_dir / SEGMENT_RECORD)
            if record is not None and record.get("outcome") == "completed":
                raise  # custodian said it finished, so unreadable output is an error, not a killed job
            continue  # killed before its first step was written
        if seg.n_steps == 0:
            continue
        if seg.truncated and _valid_contcar(seg_dir, seg.n_atoms) is None:
            continue  # cut off and no state to continue from: its steps cannot be joined to what follows
        out.append(seg)
    return out


def stage_status(stage_dir: str | Path) -> StageStatus:
    """Read a stage's state from its directory: finished, needs continuation, failed or not started."""
    stage_dir = Path(stage_dir)
    target, _ = _stage_target(stage_dir)
    seg_dirs = _segment_dirs(stage_dir)
    usable = _usable_segments(stage_dir)
    done = sum(s.n_steps * s.potim_fs for s in usable)
    if done >= target - 1e-6:
        return StageStatus(StageState.FINISHED, done, target, len(seg_dirs), "target time reached")
    if not seg_dirs:
        return StageStatus(StageState.NOT_STARTED, 0.0, target, 0, "no segment yet")
    last = seg_dirs[-1]
    record = _read_json(last / SEGMENT_RECORD)
    if record is not None and record.get("outcome") == "error":
        return StageStatus(StageState.FAILED, done, target, len(seg_dirs), f"{last.name}: {record.get('message')}")
    if record is None:
        reason = f"{last.name} was interrupted (no {SEGMENT_RECORD})"
    else:
        reason = f"{last.name} ended: {record.get('outcome')}"
    return StageStatus(StageState.NEEDS_CONTINUATION, done, target, len(seg_dirs), reason)


def _next_segment(stage_dir: Path) -> Path:
    """Create the next segment directory with inputs continuing from the last usable segment."""
    target, _ = _stage_target(stage_dir)
    if not (stage_dir / "POTCAR").is_file():
        symbols = (stage_dir / POTCAR_SPEC).read_text().split() if (stage_dir / POTCAR_SPEC).is_file() else []
        raise InputError(stage_dir / "POTCAR", None, missing_potcar_message(stage_dir, symbols))
    seg_dirs = _segment_dirs(stage_dir)
    usable = _usable_segments(stage_dir)
    done = sum(s.n_steps * s.potim_fs for s in usable)
    source = usable[-1].directory if usable else stage_dir
    # the latest INCAR carries custodian's corrections (e.g. LREAL, ALGO); take it from the last segment run
    incar_source = seg_dirs[-1] if seg_dirs else stage_dir
    incar = Incar.from_file(incar_source / "INCAR")
    remaining_steps = math.ceil((target - done) / float(incar["POTIM"]) - 1e-9)
    index = int(seg_dirs[-1].name[len(SEGMENT_PREFIX) :]) + 1 if seg_dirs else 0
    seg = stage_dir / f"{SEGMENT_PREFIX}{index:03d}"
    seg.mkdir()
    incar["NSW"] = remaining_steps
    incar.pop("ISTART", None)  # no WAVECAR is kept (LWAVE = .FALSE.): a fresh start is what VASP will do
    write_text(str(incar), seg / "INCAR")
    if source is stage_dir:
        shutil.copyfile(stage_dir / "POSCAR", seg / "POSCAR")
    else:
        shutil.copyfile(source / "CONTCAR", seg / "POSCAR")  # positions and velocities
    for name in _CARRIED_FILES:
        origin = incar_source / name if (incar_source / name).is_file() else stage_dir / name
        shutil.copyfile(origin, seg / name)
    return seg


def _summarise(run_log: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for job in run_log:
        for corr in job.get("corrections", []):
            handler = corr.get("handler")
            out.append(
                {
                    "handler": type(handler).__name__ if handler is not None else None,
                    "errors": [str(e) for e in corr.get("errors", [])],
                    "actions": corr.get("actions"),
                }
            )
    return out


def _protocol_changes(template: Path, segment: Path) -> str:
    """Protocol tags that differ between a stage's template INCAR and a segment's INCAR after custodian."""
    before, after = Incar.from_file(template), Incar.from_file(segment)
    changed = [tag for tag in PROTOCOL_TAGS if before.get(tag) != after.get(tag)]
    return ", ".join(f"{tag} {before.get(tag)!r} → {after.get(tag)!r}" for tag in changed)


def run_segment(stage_dir: str | Path, settings: RunnerSettings, job_start: dt.datetime | None = None) -> Path:
    """Run one custodian-guarded VASP segment of a stage and record how it ended in segment.json."""
    stage_dir = Path(stage_dir)
    seg = _next_segment(stage_dir)
    handlers = md_handlers(settings, job_start)
    job = VaspJob(
        list(settings.vasp_cmd),
        auto_npar=False,  # NPAR tuning belongs to the user's INCAR/profile, not to a core count guess
        auto_gamma=settings.gamma_vasp_cmd is not None,
        gamma_vasp_cmd=list(settings.gamma_vasp_cmd) if settings.gamma_vasp_cmd else None,
    )
    custodian = Custodian(
        handlers,
        [job],
        validators=[VasprunXMLValidator()],
        max_errors=settings.max_errors,
        polling_time_step=settings.polling_time_step_s,
        monitor_freq=settings.monitor_freq,
        directory=str(seg),
    )
    record: dict[str, Any]
    try:
        run_log = custodian.run()
    except CustodianError as exc:
        record = {"outcome": "error", "message": str(exc), "corrections": _summarise(custodian.run_log)}
    else:
        corrections = _summarise(run_log)
        walltime = any(c["handler"] == "WalltimeHandler" for c in corrections)
        record = {"outcome": "walltime" if walltime else "completed", "message": "", "corrections": corrections}
    changed = _protocol_changes(stage_dir / "INCAR", seg / "INCAR")
    if changed:
        # e.g. a second ZBRENT makes VaspErrorHandler switch to IBRION = 1: a relaxation, no longer our MD
        record["outcome"] = "error"
        record["message"] = (
            f"custodian changed {changed}: the segment no longer follows the NVT protocol; its output is not used"
        )
    write_text(json.dumps(record, indent=1, sort_keys=True, default=str) + "\n", seg / SEGMENT_RECORD)
    log.info("%s: %s (%d corrections)", seg, record["outcome"], len(record["corrections"]))
    return seg


def run_stage(
    stage_dir: str | Path, settings: RunnerSettings, job_start: dt.datetime | None = None, reset_failed: bool = False
) -> StageStatus:
    """Run segments until the stage is finished, fails, or the job's walltime leaves no room for another."""
    stage_dir = Path(stage_dir)
    job_start = job_start or dt.datetime.now()
    status = stage_status(stage_dir)
    if status.state is StageState.FAILED and reset_failed:
        last = _segment_dirs(stage_dir)[-1]
        target = last.with_name(last.name + ".failed")
        n = 1
        while target.exists():  # the same segment number may fail again after a reset
            n += 1
            target = last.with_name(f"{last.name}.failed{n}")
        last.rename(target)  # kept for inspection, no longer counted
        status = stage_status(stage_dir)
    while status.state in (StageState.NOT_STARTED, StageState.NEEDS_CONTINUATION):
        if status.n_segments >= settings.max_segments:
            return StageStatus(
                StageState.FAILED, status.time_done_fs, status.target_fs, status.n_segments,
                f"{settings.max_segments} segments without reaching the target time",
            )  # fmt: skip
        if settings.walltime_s is not None:
            elapsed = (dt.datetime.now() - job_start).total_seconds()
            if settings.walltime_s - elapsed < 2 * settings.walltime_buffer_s:
                return status  # not enough time left for a useful segment: the next job continues
        seg = run_segment(stage_dir, settings, job_start)
        status = stage_status(stage_dir)
        record = _read_json(seg / SEGMENT_RECORD) or {}
        if record.get("outcome") == "walltime":
            return status
    write_text(
        json.dumps(
            {"state": status.state.value, "time_done_fs": status.time_done_fs, "target_fs": status.target_fs,
             "n_segments": status.n_segments, "reason": status.reason},
            indent=1, sort_keys=True,
        ) + "\n",
        stage_dir / STAGE_RECORD,
    )  # fmt: skip
    return status


def stage_segments(stage_dir: str | Path) -> list[MDSegment]:
    """The segments whose steps make up the stage's trajectory, in order."""
    return _usable_segments(Path(stage_dir))


def stage_trace(stage_dir: str | Path) -> analysis.Trace:
    """The stage's per-step table (segments joined) as an analysis.Trace (NVT, engine 'vasp')."""
    stage_dir = Path(stage_dir)
    segments = stage_segments(stage_dir)
    if not segments:
        raise InputError(stage_dir, None, "no MD steps in this stage yet")
    meta = segment_metadata(segments)
    table = concatenate_segments(segments)
    return analysis.make_trace(
        table,
        meta["composition"],
        meta["temperature_K"],
        "NVT",
        "vasp",
        str(stage_dir),
        {k: v for k, v in meta.items() if k not in ("composition", "temperature_K", "n_atoms", "engine")},
    )


def stage_frames(stage_dir: str | Path) -> analysis.Frames:
    """The stage's XDATCAR frames (segments joined, times continuous) as analysis.Frames."""
    stage_dir = Path(stage_dir)
    segments = stage_segments(stage_dir)
    if not segments:
        raise InputError(stage_dir, None, "no frames in this stage yet")
    return joined_frames(segments, allow_truncated=True)


def joined_frames(segments: Sequence[MDSegment], allow_truncated: bool) -> analysis.Frames:
    """XDATCAR frames of consecutive segments with continuous times; no frame past a segment's kept steps."""
    positions, cells, times = [], [], []
    offset = 0.0
    for seg in segments:
        nblock = int(Incar.from_file(seg.directory / "INCAR").get("NBLOCK", 1))
        frames, _ = read_xdatcar(seg.directory / "XDATCAR", seg.potim_fs, nblock, offset, allow_truncated)
        offset += seg.n_steps * seg.potim_fs
        keep = frames.time_fs <= offset + 1e-9  # a cut-off segment may hold a frame past its last kept step
        positions.append(frames.positions[keep])
        cells.append(frames.cells[keep])
        times.append(frames.time_fs[keep])
    return analysis.make_frames(
        segments[0].symbols,
        np.concatenate(positions),
        np.concatenate(cells),
        np.concatenate(times),
        str(segments[0].directory.parent),
    )


def final_poscar(stage_dir: str | Path) -> Poscar:
    """The last state of a stage (CONTCAR of its last usable segment, with velocities)."""
    stage_dir = Path(stage_dir)
    segments = stage_segments(stage_dir)
    if not segments:
        raise InputError(stage_dir, None, "stage has no completed steps")
    poscar = _valid_contcar(segments[-1].directory, segments[-1].n_atoms)
    if poscar is None:
        raise InputError(segments[-1].directory / "CONTCAR", None, "missing or unreadable")
    return poscar


# ---------------------------------------------------------------------------------------------------------
# The protocol of one run: volume loop, then production (seed §4.2)

RUN_RECORD = "run.json"
VOLUME_RECORD = "volume.json"
VOLUME_STAGE_PREFIX = "vol_"
PRODUCTION_DIR = "production"
TRACE_FILE = "trace.csv"  # the same names as the EMT engine's run directories
TRAJECTORY_FILE = "trajectory.extxyz"


@dataclass(frozen=True)
class ProtocolSettings:
    """Lengths and tolerances of the volume loop and the production run (times in ps, pressures in kbar)."""

    volume_run_ps: float = 2.0
    production_ps: float = 10.0  # seed §4.2: "the simulation time is at least 10 ps"
    min_discard_fraction: float = analysis.DEFAULT_MIN_DISCARD_FRACTION
    start_volume_factor: float = 1.10  # hot liquid vs room-temperature solid molar volume (docs/aimd.md)
    min_distance_A: float = 2.0
    pressure_tolerance_kbar: float = 2.0  # seed §4.2
    max_pressure_sem_kbar: float = 2.0
    bulk_modulus_guess_kbar: float = 1000.0
    max_step_fraction: float = 0.08
    volume_bounds: tuple[float, float] = (0.7, 1.4)
    max_volume_iterations: int = 8

    def __post_init__(self) -> None:
        for name in ("volume_run_ps", "production_ps", "start_volume_factor"):
            if not getattr(self, name) > 0:
                raise InputError(None, None, f"aimd protocol {name} must be positive, got {getattr(self, name)!r}")
        if not self.min_distance_A >= 0:
            raise InputError(None, None, f"aimd protocol min_distance_A must be ≥ 0, got {self.min_distance_A!r}")
        lower, upper = self.volume_bounds
        if not 0 < lower < 1 < upper:
            raise InputError(None, None, f"volume_bounds must satisfy 0 < lower < 1 < upper, got {self.volume_bounds}")
        self.volume_settings(1.0)  # validates the remaining fields

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> ProtocolSettings:
        """Settings from config (field names as keys; unknown keys are an error)."""
        reject_unknown_keys(values, (f.name for f in fields(cls)), "aimd protocol settings")
        out = dict(values)
        if "volume_bounds" in out:
            out["volume_bounds"] = tuple(float(x) for x in out["volume_bounds"])
        return cls(**out)

    def volume_settings(self, start_volume_A3: float) -> VolumeSettings:
        """The volume loop's settings, with bounds relative to the run's start volume."""
        return VolumeSettings.around(
            start_volume_A3,
            lower=self.volume_bounds[0],
            upper=self.volume_bounds[1],
            tolerance_kbar=self.pressure_tolerance_kbar,
            max_sem_kbar=self.max_pressure_sem_kbar,
            bulk_modulus_guess_kbar=self.bulk_modulus_guess_kbar,
            max_step_fraction=self.max_step_fraction,
            max_iterations=self.max_volume_iterations,
        )


def prepare_run(
    run_dir: str | Path,
    counts: Mapping[str, int],
    temperature_K: float,
    md_settings: MDSettings,
    protocol: ProtocolSettings,
    seed: int,
    molar_volumes_cm3: Mapping[str, float],
) -> Path:
    """Start a run: random liquid cell at the start volume, run.json, and the first volume stage's inputs."""
    run_dir = Path(run_dir)
    if (run_dir / RUN_RECORD).is_file():
        raise InputError(run_dir / RUN_RECORD, None, "run already prepared; delete the directory to start over")
    counts = {k: int(v) for k, v in counts.items() if v > 0}
    volume = protocol.start_volume_factor * start_volume_A3(counts, molar_volumes_cm3)
    cell = random_liquid_cell(counts, volume, protocol.min_distance_A, seed)
    label = "".join(f"{k}{v}" for k, v in counts.items()) + f" {temperature_K:g} K"
    poscar = Poscar(cell_structure(cell), comment=label)
    prepare_stage(run_dir / f"{VOLUME_STAGE_PREFIX}00", poscar, temperature_K,
                  protocol.volume_run_ps * 1000.0, md_settings, label)  # fmt: skip
    record = {
        "composition": counts,
        "temperature_K": float(temperature_K),
        "seed": int(seed),
        "start_volume_A3": volume,
        "md_settings": {f.name: getattr(md_settings, f.name) for f in fields(md_settings)},
        "label": label,
    }
    write_text(json.dumps(record, indent=1, sort_keys=True, default=dict) + "\n", run_dir / RUN_RECORD)
    return run_dir


def _run_record(run_dir: Path, md_settings: MDSettings) -> dict[str, Any]:
    record = _read_json(run_dir / RUN_RECORD)
    if record is None:
        raise InputError(run_dir / RUN_RECORD, None, "run not prepared (write its inputs first)")
    now = json.loads(json.dumps({f.name: getattr(md_settings, f.name) for f in fields(md_settings)}, default=dict))
    if record["md_settings"] != now:
        changed = sorted(k for k in now if record["md_settings"].get(k) != now[k])
        raise InputError(
            run_dir / RUN_RECORD, None,
            f"VASP settings changed since this run started ({', '.join(changed)}): mixing them would mix "
            "ensembles; restore them or delete the run directory to start over",
        )  # fmt: skip
    return record


def volume_point(trace: analysis.Trace, min_discard_fraction: float) -> VolumePoint:
    """Mean pressure and its standard error after equilibration (analysis' detection and blocking)."""
    pressure = trace.table["pressure_kbar"].to_numpy()
    start = analysis.detect_equilibration(pressure, min_discard_fraction).start
    block = analysis.block_average(pressure[start:])
    volume = float(trace.table["volume_A3"].iloc[0])
    return VolumePoint(volume, block.mean, block.sem)


@dataclass(frozen=True)
class VolumeLoopResult:
    """Where the volume loop stands: 'converged', 'needs_continuation', 'failed' or 'exhausted'."""

    state: str
    stage_dir: Path
    history: tuple[VolumePoint, ...]
    reason: str


def _volume_stages(run_dir: Path) -> list[Path]:
    return sorted(p for p in run_dir.glob(f"{VOLUME_STAGE_PREFIX}[0-9][0-9]") if p.is_dir())


def advance_volume_loop(
    run_dir: str | Path,
    md_settings: MDSettings,
    runner: RunnerSettings,
    protocol: ProtocolSettings,
    job_start: dt.datetime | None = None,
    reset_failed: bool = False,
) -> VolumeLoopResult:
    """Run volume stages until the mean pressure is in the window (or the loop gives up); writes volume.json."""
    run_dir = Path(run_dir)
    record = _run_record(run_dir, md_settings)
    settings = protocol.volume_settings(record["start_volume_A3"])
    job_start = job_start or dt.datetime.now()
    history: list[VolumePoint] = []
    stages = _volume_stages(run_dir)
    if not stages:
        raise InputError(run_dir, None, f"no {VOLUME_STAGE_PREFIX}00 stage: prepare the run first")
    while True:
        stage = stages[-1]
        status = run_stage(stage, runner, job_start, reset_failed)
        if status.state is not StageState.FINISHED:
            state = "failed" if status.state is StageState.FAILED else "needs_continuation"
            return VolumeLoopResult(state, stage, tuple(history), f"{stage.name}: {status.reason}")
        history = [volume_point(stage_trace(s), protocol.min_discard_fraction) for s in stages]
        decision = next_volume(history, settings)
        log.info("%s: %s → %s (%s)", stage, decision.reason, decision.action, decision.rule)
        if decision.action != "run":
            result = VolumeLoopResult(decision.action, stage, tuple(history), decision.reason)
            _write_volume_record(run_dir, result, decision)
            return result
        next_stage = run_dir / f"{VOLUME_STAGE_PREFIX}{len(stages):02d}"
        poscar = rescaled_poscar(final_poscar(stage), decision.volume_A3)
        poscar.comment = record["label"]
        prepare_stage(next_stage, poscar, record["temperature_K"], protocol.volume_run_ps * 1000.0,
                      md_settings, record["label"])  # fmt: skip
        stages.append(next_stage)


def _write_volume_record(run_dir: Path, result: VolumeLoopResult, decision: VolumeDecision) -> None:
    payload = {
        "state": result.state,
        "stage": result.stage_dir.name,
        "volume_A3": decision.volume_A3,
        "rule": decision.rule,
        "reason": decision.reason,
        "history": [
            {"volume_A3": p.volume_A3, "pressure_kbar": p.pressure_kbar, "pressure_sem_kbar": p.pressure_sem_kbar}
            for p in result.history
        ],
    }
    write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n", run_dir / VOLUME_RECORD)


def run_production(
    run_dir: str | Path,
    md_settings: MDSettings,
    runner: RunnerSettings,
    protocol: ProtocolSettings,
    job_start: dt.datetime | None = None,
    reset_failed: bool = False,
) -> StageStatus:
    """Production at the converged volume, from the last volume stage's state; extended if production_ps grew."""
    run_dir = Path(run_dir)
    record = _run_record(run_dir, md_settings)
    volume = _read_json(run_dir / VOLUME_RECORD)
    if volume is None or volume.get("state") != "converged":
        state = "missing" if volume is None else volume.get("state")
        raise InputError(run_dir / VOLUME_RECORD, None, f"volume loop not converged ({state}): no production")
    stage = run_dir / PRODUCTION_DIR
    duration = protocol.production_ps * 1000.0
    if not (stage / "INCAR").is_file():
        poscar = final_poscar(run_dir / volume["stage"])
        poscar.comment = record["label"]
        prepare_stage(stage, poscar, record["temperature_K"], duration, md_settings, record["label"])
    else:
        target, potim = _stage_target(stage)
        if duration > target + 1e-6:  # "longer if not converged" (seed §4.2): raise production_ps and rerun
            incar = Incar.from_file(stage / "INCAR")
            incar["NSW"] = math.ceil(duration / potim - 1e-9)
            write_text(str(incar), stage / "INCAR")
    return run_stage(stage, runner, job_start, reset_failed)


def write_run_outputs(run_dir: str | Path, stage: str = PRODUCTION_DIR) -> tuple[Path, Path]:
    """Write a finished stage's trace.csv and trajectory.extxyz in the run directory (the EMT engine's format)."""
    run_dir = Path(run_dir)
    stage_dir = run_dir / stage
    status = stage_status(stage_dir)
    if status.state is not StageState.FINISHED:
        raise InputError(stage_dir, None, f"stage not finished ({status.state.value}: {status.reason})")
    return _write_outputs(stage_trace(stage_dir), stage_frames(stage_dir), run_dir)


def import_run(
    directories: Sequence[str | Path], out_dir: str | Path, allow_truncated: bool = False
) -> tuple[Path, Path]:
    """Import an NVT run made outside the pipeline: VASP directories given in order are joined as segments.

    Each directory needs INCAR, POSCAR, OSZICAR, OUTCAR and XDATCAR. A cut-off directory raises
    TruncatedRunError unless ``allow_truncated`` (then its complete steps are used and flagged in the trace).
    """
    if not directories:
        raise InputError(None, None, "no run directories to import")
    segments = [parse_md_segment(d, allow_truncated) for d in directories]
    meta = segment_metadata(segments)
    trace = analysis.make_trace(
        concatenate_segments(segments), meta["composition"], meta["temperature_K"], "NVT", "vasp",
        str(Path(directories[0])),
        {k: v for k, v in meta.items() if k not in ("composition", "temperature_K", "n_atoms", "engine")},
    )  # fmt: skip
    frames = joined_frames(segments, allow_truncated)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return _write_outputs(trace, frames, out_dir)


def _write_outputs(trace: analysis.Trace, frames: analysis.Frames, out_dir: Path) -> tuple[Path, Path]:
    analysis.write_trace(trace, out_dir / TRACE_FILE)
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
