"""The engine interface: what the AIMD protocol (volume loop, production, analysis) asks of an MD engine.

One protocol runs on every engine (docs/aimd.md, "One protocol, every engine"): the protocol decides volumes,
stage lengths and when a run is done or cannot be done; an engine only runs one NVT *stage* — a fixed length
of MD at one volume and temperature — and hands back its per-step table, its frames and its final state.
Two engines exist: VASP under custodian on a cluster (``hmixal.aimd.vasp.run``) and any ASE calculator in
process (``hmixal.aimd.ase_engine``: EMT today, a universal machine-learned potential as an optional extra).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from hmixal.aimd.frames import Frames
from hmixal.aimd.trace import Trace
from hmixal.errors import InputError


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
class CellState:
    """An MD configuration: symbols, Cartesian positions (Å), cell rows (Å) and velocities (Å/fs) or None."""

    symbols: tuple[str, ...]
    positions_A: np.ndarray
    cell_A: np.ndarray
    velocities_A_per_fs: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.symbols)
        if np.shape(self.positions_A) != (n, 3):
            raise InputError(None, None, f"positions must be {n}×3, got {np.shape(self.positions_A)}")
        if np.shape(self.cell_A) != (3, 3):
            raise InputError(None, None, f"cell must be 3×3, got {np.shape(self.cell_A)}")
        if self.velocities_A_per_fs is not None and np.shape(self.velocities_A_per_fs) != (n, 3):
            raise InputError(None, None, f"velocities must be {n}×3, got {np.shape(self.velocities_A_per_fs)}")

    @property
    def volume_A3(self) -> float:
        """Cell volume (Å³)."""
        return float(abs(np.linalg.det(self.cell_A)))

    def scaled_to(self, volume_A3: float) -> CellState:
        """The same configuration (fractional coordinates and velocities kept) in a cell scaled to ``volume_A3``."""
        if not np.isfinite(volume_A3) or volume_A3 <= 0.0:
            raise InputError(None, None, f"volume must be positive, got {volume_A3!r}")
        factor = (volume_A3 / self.volume_A3) ** (1.0 / 3.0)
        return CellState(self.symbols, self.positions_A * factor, self.cell_A * factor, self.velocities_A_per_fs)


class Engine(Protocol):
    """An MD engine that runs NVT stages for the protocol (see the module docstring)."""

    name: str  # the engine column of result rows: 'vasp' or 'ase'

    def provenance(self) -> dict[str, Any]:
        """What makes this engine's numbers what they are (code, versions, potentials/functional, is_dft)."""
        ...

    def prepare_stage(
        self, stage_dir: Path, state: CellState, temperature_K: float, duration_fs: float, label: str
    ) -> None:
        """Write a stage's inputs: ``duration_fs`` of NVT MD at ``temperature_K`` from ``state``."""
        ...

    def run_stage(self, stage_dir: Path, job_start: dt.datetime, reset_failed: bool = False) -> StageStatus:
        """Run (or continue) a prepared stage as far as this job allows; FINISHED when its time is done."""
        ...

    def stage_status(self, stage_dir: Path) -> StageStatus:
        """The stage's state, read from its directory only."""
        ...

    def stage_trace(self, stage_dir: Path) -> Trace:
        """The stage's per-step table (NVT)."""
        ...

    def stage_frames(self, stage_dir: Path) -> Frames:
        """The stage's trajectory frames."""
        ...

    def final_state(self, stage_dir: Path) -> CellState:
        """The stage's last configuration with velocities, to start the next stage from."""
        ...

    def stage_record(self, stage_dir: Path) -> dict[str, Any]:
        """What the stage ran with, for the run's outcome: corrections, effective inputs, timings (JSON-able)."""
        ...

    def extend_stage(self, stage_dir: Path, duration_fs: float) -> None:
        """Lengthen a prepared stage to ``duration_fs`` (production "longer if not converged", seed §4.2)."""
        ...
