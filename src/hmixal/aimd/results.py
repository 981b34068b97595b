"""ΔH_mix result rows of one binary from three finished run directories, for either engine."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hmixal.aimd import analysis

TRACE_FILE = "trace.csv"
TRAJECTORY_FILE = "trajectory.extxyz"
# VASP runs are NVT at the volume where ⟨P⟩ ≈ 0 (seed §4.2): H per atom = ⟨E_total⟩ (see docs/aimd.md).
VASP_ENTHALPY_METHOD = "etotal"


def vasp_reference(incar: Mapping[str, Any], protocol: Mapping[str, Any]) -> str:
    """The ``reference`` text of VASP results: the protocol that made them."""
    production = protocol.get("production_ps", 10.0)
    encut = incar.get("encut", 400)
    return f"hmixal VASP AIMD (PAW-PBE, NVT Nosé–Hoover, ENCUT {encut} eV, Γ only, ≥ {production} ps production)"


def vasp_binary_row(alloy_dir: str | Path, pure_a_dir: str | Path, pure_b_dir: str | Path, reference: str) -> dict:
    """The results row of a binary whose three VASP runs wrote trace.csv and trajectory.extxyz."""
    runs = []
    for run_dir in (Path(alloy_dir), Path(pure_a_dir), Path(pure_b_dir)):
        trace = analysis.read_trace(run_dir / TRACE_FILE)
        frames = analysis.read_frames(run_dir / TRAJECTORY_FILE)
        runs.append(analysis.analyse_run(trace, frames, VASP_ENTHALPY_METHOD))
    sources = [str(alloy_dir), str(pure_a_dir), str(pure_b_dir)]
    return analysis.binary_result(runs[0], runs[1], runs[2], reference, sources)
