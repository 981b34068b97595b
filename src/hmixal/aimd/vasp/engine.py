"""The VASP engine of the AIMD protocol (hmixal.aimd.engine.Engine): stages as custodian-run VASP segments,
with cell states read from and written to POSCAR."""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
from pymatgen.core import Lattice, Structure
from pymatgen.io.vasp.inputs import Incar, Poscar

from hmixal.aimd.engine import CellState, StageState, StageStatus
from hmixal.aimd.frames import Frames
from hmixal.aimd.trace import Trace
from hmixal.aimd.vasp.inputs import (
    MDSettings,
    check_encut,
    check_potcar_matches,
    effective_incar,
    potcar_provenance,
)
from hmixal.aimd.vasp.run import (
    SEGMENT_RECORD,
    RunnerSettings,
    final_poscar,
    prepare_stage,
    read_json_record,
    run_stage,
    segment_dirs,
    stage_frames,
    stage_status,
    stage_target,
    stage_trace,
)
from hmixal.io import write_text


def poscar_from_state(state: CellState, comment: str) -> Poscar:
    """A POSCAR (with velocities when the state has them) from an engine-neutral cell state."""
    structure = Structure(Lattice(state.cell_A), list(state.symbols), state.positions_A, coords_are_cartesian=True)
    velocities = None if state.velocities_A_per_fs is None else state.velocities_A_per_fs.tolist()
    return Poscar(structure, comment=comment, velocities=velocities)


def state_from_poscar(poscar: Poscar) -> CellState:
    """The cell state of a POSCAR/CONTCAR (VASP writes velocities in Å/fs)."""
    structure = poscar.structure
    velocities = None if poscar.velocities is None else np.asarray(poscar.velocities, dtype=float)
    return CellState(
        tuple(site.specie.symbol for site in structure),
        np.asarray(structure.cart_coords, dtype=float),
        np.asarray(structure.lattice.matrix, dtype=float),
        velocities,
    )


class VaspEngine:
    """NVT stages as custodian-guarded VASP segments (this module), for the engine-neutral protocol."""

    name = "vasp"

    def __init__(self, md: MDSettings, runner: RunnerSettings) -> None:
        self.md = md
        self.runner = runner

    def provenance(self) -> dict[str, Any]:
        """VASP, PAW-PBE with the POTCAR set and every INCAR setting (POTCAR hashes are in each stage's record)."""
        settings = json.loads(json.dumps({f.name: getattr(self.md, f.name) for f in fields(self.md)}, default=dict))
        return {"engine": self.name, "is_dft": True, "functional": "PBE", "md_settings": settings}

    def prepare_stage(
        self, stage_dir: Path, state: CellState, temperature_K: float, duration_fs: float, label: str
    ) -> None:
        """Template inputs of a stage (INCAR NSW for the whole stage, KPOINTS, POSCAR, POTCAR or POTCAR.spec)."""
        prepare_stage(stage_dir, poscar_from_state(state, label), temperature_K, duration_fs, self.md, label)

    def run_stage(self, stage_dir: Path, job_start: dt.datetime, reset_failed: bool = False) -> StageStatus:
        """Segments until the stage is done, fails, or this job's walltime is nearly used.

        A POTCAR present (written by hmixal or copied in by hand) is checked first: the symbols and their order
        against the POSCAR's species, ENCUT against factor × the largest ENMAX."""
        potcar = Path(stage_dir) / "POTCAR"
        if potcar.is_file():
            species = Poscar.from_file(Path(stage_dir) / "POSCAR", check_for_potcar=False).site_symbols
            check_potcar_matches(potcar, species, self.md)
            check_encut(potcar, Incar.from_file(Path(stage_dir) / "INCAR"), self.md.encut_enmax_factor)
        return run_stage(stage_dir, self.runner, job_start, reset_failed)

    def stage_status(self, stage_dir: Path) -> StageStatus:
        """The stage's state from its directory (NOT_STARTED when it has no inputs yet)."""
        if not (Path(stage_dir) / "INCAR").is_file():
            return StageStatus(StageState.NOT_STARTED, 0.0, 0.0, 0, "no inputs yet")
        return stage_status(stage_dir)

    def stage_trace(self, stage_dir: Path) -> Trace:
        """The stage's per-step table, segments joined."""
        return stage_trace(stage_dir)

    def stage_frames(self, stage_dir: Path) -> Frames:
        """The stage's XDATCAR frames, segments joined."""
        return stage_frames(stage_dir)

    def final_state(self, stage_dir: Path) -> CellState:
        """The last CONTCAR of the stage (positions and velocities)."""
        return state_from_poscar(final_poscar(stage_dir))

    def stage_record(self, stage_dir: Path) -> dict[str, Any]:
        """POTCARs used (symbols, TITEL, ENMAX, hashes), custodian's corrections and INCAR changes per segment."""
        stage_dir = Path(stage_dir)
        segments = []
        for seg in segment_dirs(stage_dir):
            record = read_json_record(seg / SEGMENT_RECORD) or {"outcome": "interrupted"}
            segments.append(
                {
                    "segment": seg.name,
                    "outcome": record.get("outcome"),
                    "corrections": record.get("corrections", []),
                    "incar_changes": record.get("incar_changes", {}),
                }
            )
        last = segment_dirs(stage_dir)
        potcar = stage_dir / "POTCAR"
        return {
            "potcars": potcar_provenance(potcar) if potcar.is_file() else [],
            "potcar_functional": self.md.potcar_functional,
            "segments": segments,
            "effective_incar": effective_incar(last[-1] / "INCAR") if last else effective_incar(stage_dir / "INCAR"),
        }

    def extend_stage(self, stage_dir: Path, duration_fs: float) -> None:
        """Raise the stage's NSW to cover ``duration_fs``; the next segment runs the extra time."""
        target, potim = stage_target(Path(stage_dir))
        if duration_fs > target + 1e-6:
            incar = Incar.from_file(Path(stage_dir) / "INCAR")
            incar["NSW"] = math.ceil(duration_fs / potim - 1e-9)
            write_text(str(incar), Path(stage_dir) / "INCAR")
