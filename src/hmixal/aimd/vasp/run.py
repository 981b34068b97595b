"""Run VASP MD stages under custodian, in segments that continue from CONTCAR across batch jobs.

A *stage* is one NVT run of a fixed length at one volume (a volume-loop iteration or the production run).
Its directory holds the template inputs (INCAR with NSW for the whole stage, KPOINTS, POSCAR, POTCAR) and
one sub-directory per *segment*, ``seg_000``, ``seg_001``, …: one custodian-guarded VASP execution each.
A segment stops when VASP finishes, when custodian gives up, or when the WalltimeHandler asks VASP to stop
(STOPCAR) before the batch job's time runs out. The next segment — in the same job if time is left, else in
the next job — starts from the last segment's CONTCAR (positions and velocities) and INCAR (with the
corrections custodian made) and runs the remaining time. The state is read from the directory alone
(stage_status), so a job killed outright is continued too: its complete steps are kept and flagged.

Handlers are the MD set of atomate2's VASP molecular-dynamics job; PotimErrorHandler and
NonConvergingErrorHandler are left out: the first rescales POTIM on relaxation symptoms, the second changes
the algorithm on unconverged relaxation steps, neither of which applies to MD.

``VaspEngine`` (end of this module) offers these stages to the engine-neutral protocol (hmixal.aimd.protocol).
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

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

from hmixal.aimd.engine import StageState, StageStatus
from hmixal.aimd.frames import Frames, make_frames
from hmixal.aimd.protocol import write_run_files
from hmixal.aimd.trace import Trace, make_trace
from hmixal.aimd.vasp.inputs import (
    POTCAR_SPEC,
    MDSettings,
    effective_incar,
    missing_potcar_message,
    write_md_inputs,
)
from hmixal.aimd.vasp.parse import (
    MDSegment,
    concatenate_segments,
    parse_md_segment,
    read_xdatcar,
    segment_metadata,
)
from hmixal.errors import InputError
from hmixal.io import write_text
from hmixal.settings import FromMapping, settings_from_mapping

log = logging.getLogger(__name__)

SEGMENT_PREFIX = "seg_"
SEGMENT_RECORD = "segment.json"
STAGE_RECORD = "stage.json"
_CARRIED_FILES = ("KPOINTS", "POTCAR")
# Tags that define the ensemble and the thermostat: a handler that changes one has left the protocol
PROTOCOL_TAGS = ("IBRION", "MDALGO", "ISIF", "SMASS", "TEBEG", "TEEND", "ISPIN")


@dataclass(frozen=True)
class RunnerSettings(FromMapping):
    """How VASP is launched and watched (from config/profile; times in seconds)."""

    SECTION: ClassVar[str] = "aimd runner settings"

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
    def from_mapping(cls, values: Mapping[str, Any] | None) -> RunnerSettings:
        """Settings from config: commands as strings (shell-split) or lists; unknown keys are an error."""
        commands = {}
        for key in ("vasp_cmd", "gamma_vasp_cmd"):
            value = (values or {}).get(key)
            if isinstance(value, str):
                commands[key] = tuple(shlex.split(value))
            elif value is not None:
                commands[key] = tuple(str(x) for x in value)
        return settings_from_mapping(cls, values, cls.SECTION, **commands)


def md_handlers(
    settings: RunnerSettings, job_start: dt.datetime | None = None, physical_sigma: bool = False
) -> list[ErrorHandler]:
    """custodian's MD handler set (atomate2's) plus a WalltimeHandler when a walltime is known.

    ``physical_sigma``: SIGMA is the electrons' temperature (Fermi smearing at the ionic T), so
    LargeSigmaHandler, which lowers SIGMA when the smearing entropy is large, is left out: that entropy is
    physics there, not a numerical artefact."""
    handlers: list[ErrorHandler] = [
        VaspErrorHandler(),
        MeshSymmetryErrorHandler(),
        PositiveEnergyErrorHandler(),
        FrozenJobErrorHandler(timeout=settings.frozen_timeout_s),
        StdErrHandler(),
        *([] if physical_sigma else [LargeSigmaHandler()]),
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


def segment_dirs(stage_dir: Path) -> list[Path]:
    """A stage's segment folders (seg_000, seg_001, …), in order."""
    return sorted(p for p in stage_dir.glob(f"{SEGMENT_PREFIX}[0-9][0-9][0-9]") if p.is_dir())


def read_json_record(path: Path) -> dict[str, Any] | None:
    """A JSON record of a stage or segment, or None when it is not there; an InputError when it is not JSON."""
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(path, exc.lineno, f"not JSON: {exc.msg}") from None


def stage_target(stage_dir: Path) -> tuple[float, float]:
    """A prepared stage's length and time step (fs) from its INCAR: NSW × POTIM, POTIM."""
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
    for seg_dir in segment_dirs(stage_dir):
        try:
            seg = parse_md_segment(seg_dir, allow_truncated=True)
        except InputError:
            record = read_json_record(seg_dir / SEGMENT_RECORD)
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
    target, _ = stage_target(stage_dir)
    seg_dirs = segment_dirs(stage_dir)
    usable = _usable_segments(stage_dir)
    done = sum(s.n_steps * s.potim_fs for s in usable)
    if done >= target - 1e-6:
        return StageStatus(StageState.FINISHED, done, target, len(seg_dirs), "target time reached")
    if not seg_dirs:
        return StageStatus(StageState.NOT_STARTED, 0.0, target, 0, "no segment yet")
    last = seg_dirs[-1]
    record = read_json_record(last / SEGMENT_RECORD)
    if record is not None and record.get("outcome") == "error":
        return StageStatus(StageState.FAILED, done, target, len(seg_dirs), f"{last.name}: {record.get('message')}")
    if record is None:
        reason = f"{last.name} was interrupted (no {SEGMENT_RECORD})"
    else:
        reason = f"{last.name} ended: {record.get('outcome')}"
    return StageStatus(StageState.NEEDS_CONTINUATION, done, target, len(seg_dirs), reason)


def _next_segment(stage_dir: Path) -> Path:
    """Create the next segment directory with inputs continuing from the last usable segment."""
    target, _ = stage_target(stage_dir)
    if not (stage_dir / "POTCAR").is_file():
        symbols = (stage_dir / POTCAR_SPEC).read_text().split() if (stage_dir / POTCAR_SPEC).is_file() else []
        raise InputError(stage_dir / "POTCAR", None, missing_potcar_message(stage_dir, symbols))
    seg_dirs = segment_dirs(stage_dir)
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


def fermi_smearing(incar: Mapping[str, Any]) -> bool:
    """Whether an INCAR smears with Fermi–Dirac (ISMEAR = −1): SIGMA is then the electrons' temperature."""
    return int(incar.get("ISMEAR", 1)) == -1


def incar_changes(template: Path, segment: Path) -> dict[str, list[Any]]:
    """Every tag that differs between a stage's template INCAR and a segment's INCAR after custodian."""
    before, after = Incar.from_file(template), Incar.from_file(segment)
    ignored = {"NSW", "ISTART"}  # the runner sets these per segment (remaining steps, fresh start)
    tags = sorted((set(before) | set(after)) - ignored)
    return {tag: [before.get(tag), after.get(tag)] for tag in tags if before.get(tag) != after.get(tag)}


def _protocol_changes(template: Path, changes: Mapping[str, list[Any]]) -> str:
    """The changes among the tags that define the ensemble (SIGMA too when it is the electron temperature)."""
    tags = (*PROTOCOL_TAGS, "ISMEAR", "SIGMA") if fermi_smearing(Incar.from_file(template)) else PROTOCOL_TAGS
    return ", ".join(f"{tag} {changes[tag][0]!r} → {changes[tag][1]!r}" for tag in tags if tag in changes)


def run_segment(stage_dir: str | Path, settings: RunnerSettings, job_start: dt.datetime | None = None) -> Path:
    """Run one custodian-guarded VASP segment of a stage and record how it ended in segment.json."""
    stage_dir = Path(stage_dir)
    seg = _next_segment(stage_dir)
    handlers = md_handlers(settings, job_start, fermi_smearing(Incar.from_file(stage_dir / "INCAR")))
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
    # Every change custodian made is kept with the segment (and reaches the run's outcome and result row).
    record["incar_changes"] = incar_changes(stage_dir / "INCAR", seg / "INCAR")
    record["effective_incar"] = effective_incar(seg / "INCAR")
    changed = _protocol_changes(stage_dir / "INCAR", record["incar_changes"])
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
        last = segment_dirs(stage_dir)[-1]
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
        record = read_json_record(seg / SEGMENT_RECORD) or {}
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


def stage_trace(stage_dir: str | Path) -> Trace:
    """The stage's per-step table (segments joined) as a Trace (NVT, engine 'vasp')."""
    stage_dir = Path(stage_dir)
    segments = stage_segments(stage_dir)
    if not segments:
        raise InputError(stage_dir, None, "no MD steps in this stage yet")
    meta = segment_metadata(segments)
    table = concatenate_segments(segments)
    return make_trace(
        table,
        meta["composition"],
        meta["temperature_K"],
        "NVT",
        "vasp",
        str(stage_dir),
        {k: v for k, v in meta.items() if k not in ("composition", "temperature_K", "n_atoms", "engine")},
    )


def stage_frames(stage_dir: str | Path) -> Frames:
    """The stage's XDATCAR frames (segments joined, times continuous) as Frames."""
    stage_dir = Path(stage_dir)
    segments = stage_segments(stage_dir)
    if not segments:
        raise InputError(stage_dir, None, "no frames in this stage yet")
    return joined_frames(segments, allow_truncated=True)


def joined_frames(segments: Sequence[MDSegment], allow_truncated: bool) -> Frames:
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
    return make_frames(
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
    trace = make_trace(
        concatenate_segments(segments), meta["composition"], meta["temperature_K"], "NVT", "vasp",
        str(Path(directories[0])),
        {k: v for k, v in meta.items() if k not in ("composition", "temperature_K", "n_atoms", "engine")},
    )  # fmt: skip
    frames = joined_frames(segments, allow_truncated)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return write_run_files(trace, frames, out_dir)
