"""One run, one binary, the results table: a run's enthalpy and structure checks, ΔH_mix rows and their CSV.

Engine-agnostic: a run is its trace (``hmixal.aimd.trace``) and frames (``hmixal.aimd.frames``); its H comes
from ``hmixal.aimd.enthalpy``. A binary's row joins an alloy run and its two pure-liquid runs. Choices,
thresholds and sources: docs/aimd_emt.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from hmixal.aimd.enthalpy import EnthalpyEstimate, enthalpy, mixing_enthalpy
from hmixal.aimd.frames import DEFAULT_BIN_WIDTH_A, Frames, StructureCheck, structure_check
from hmixal.aimd.statistics import DEFAULT_MIN_BLOCKS, DEFAULT_MIN_DISCARD_FRACTION, DRIFT_SIGMA_LIMIT
from hmixal.aimd.systems import composition_label
from hmixal.aimd.trace import Trace
from hmixal.dataset import TABLE_COLUMNS
from hmixal.errors import InputError
from hmixal.io import write_csv

DEFAULT_PRESSURE_TOLERANCE_KBAR = 2.0  # the paper's volume criterion (seed §4.2)


@dataclass(frozen=True)
class RunAnalysis:
    """Everything the ΔH_mix step needs from one run: who it is, its enthalpy and its structure checks."""

    source: str
    composition: dict[str, int]
    target_temperature_K: float
    ensemble: str
    engine: str
    enthalpy: EnthalpyEstimate
    structure: StructureCheck

    def to_json(self) -> str:
        """The analysis as sorted JSON (for the run's analysis file)."""
        return json.dumps(asdict(self), sort_keys=True, indent=1) + "\n"


def analyse_run(
    trace: Trace,
    frames: Frames,
    method: str,
    min_discard_fraction: float = DEFAULT_MIN_DISCARD_FRACTION,
    min_blocks: int = DEFAULT_MIN_BLOCKS,
    bin_width: float = DEFAULT_BIN_WIDTH_A,
) -> RunAnalysis:
    """Enthalpy from the trace and structure checks from the frames of its production window."""
    if frames.counts() != trace.composition:
        raise InputError(
            frames.source or None,
            None,
            f"trajectory atoms {frames.counts()} do not match the trace composition {trace.composition}",
        )
    h = enthalpy(trace, method, min_discard_fraction, min_blocks)
    production = frames.after(h.start_time_fs)
    return RunAnalysis(
        trace.source,
        trace.composition,
        trace.target_temperature_K,
        trace.ensemble,
        trace.engine,
        h,
        structure_check(production, bin_width),
    )


def _fmt(value: float, digits: int = 3) -> str:
    return f"{value:.{digits}g}"


def _warnings(run: RunAnalysis, pressure_tolerance_kbar: float) -> list[str]:
    h = run.enthalpy
    label = composition_label(run.composition)
    notes = []
    if not h.sem_converged:
        notes.append(f"{label}: blocking SE did not reach a plateau (error bar is a lower bound)")
    if h.drift_sigma > DRIFT_SIGMA_LIMIT:
        notes.append(f"{label}: H drifts by {h.drift_kJ_per_mol:+.3f} kJ/mol ({h.drift_sigma:.1f} sigma)")
    if abs(h.mean_pressure_kbar) > max(pressure_tolerance_kbar, 3.0 * h.pressure_sem_kbar):
        notes.append(f"{label}: mean pressure {h.mean_pressure_kbar:+.2f} kbar outside ±{pressure_tolerance_kbar:g}")
    if abs(h.mean_temperature_K - run.target_temperature_K) > max(
        3.0 * h.temperature_sem_K, 0.01 * run.target_temperature_K
    ):
        notes.append(f"{label}: mean T {h.mean_temperature_K:.1f} K vs target {run.target_temperature_K:g} K")
    return notes


def binary_result(
    alloy: RunAnalysis,
    pure_a: RunAnalysis,
    pure_b: RunAnalysis,
    reference: str,
    sources: Sequence[str],
    pressure_tolerance_kbar: float = DEFAULT_PRESSURE_TOLERANCE_KBAR,
) -> dict[str, Any]:
    """One results row (dataset contract + status, comment) from an alloy run and the two pure-liquid runs.

    status: ``value``; ``phase_separation`` when the alloy demixed (the paper's X; no value); ``not_computed``
    when any of the three runs is not liquid (the comment says which and why).
    """
    species = sorted(alloy.composition)
    if len(species) != 2:
        raise InputError(alloy.source or None, None, f"the alloy run must hold two elements, got {alloy.composition}")
    a, b = species
    pures = {}
    for run in (pure_a, pure_b):
        if len(run.composition) != 1 or next(iter(run.composition)) not in species:
            raise InputError(run.source or None, None, f"expected a pure {a} or {b} run, got {run.composition}")
        pures[next(iter(run.composition))] = run
    if set(pures) != {a, b}:
        raise InputError(None, None, f"need one pure run of each of {a} and {b}, got {sorted(pures)}")
    runs = (alloy, pures[a], pures[b])
    temperatures = {run.target_temperature_K for run in runs}
    if len(temperatures) != 1:
        raise InputError(None, None, f"the three runs must share one temperature, got {sorted(temperatures)}")
    methods = {run.enthalpy.method for run in runs}
    if len(methods) != 1:
        raise InputError(None, None, f"the three runs must use one enthalpy method, got {sorted(methods)}")
    x_b = alloy.composition[b] / sum(alloy.composition.values())
    value, sem = mixing_enthalpy(
        alloy.enthalpy.h_kJ_per_mol,
        alloy.enthalpy.sem_kJ_per_mol,
        pures[a].enthalpy.h_kJ_per_mol,
        pures[a].enthalpy.sem_kJ_per_mol,
        pures[b].enthalpy.h_kJ_per_mol,
        pures[b].enthalpy.sem_kJ_per_mol,
        x_b,
    )
    s = alloy.structure
    comment = [
        f"dH {value:+.3f} ± {sem:.3f} kJ/mol",
        f"S_cc(q_min)/xAxB {_fmt(s.scc_ratio or 0.0)} (separated above {_fmt(s.scc_threshold or 0.0)})",
        f"Warren-Cowley alpha {s.warren_cowley_alpha:+.3f}",
    ]
    not_liquid = []
    for run in runs:
        label = composition_label(run.composition)
        st = run.structure
        comment.append(f"{label}: D {st.diffusion_m2_per_s:.2e} m2/s, g_min/g_max {st.wendt_abraham_ratio:.2f}")
        if not st.liquid:
            not_liquid.append(label)
    for run in runs:
        comment.extend(_warnings(run, pressure_tolerance_kbar))
    if not_liquid:
        status = "not_computed"
        comment.insert(0, "not liquid: " + ", ".join(not_liquid))
    elif s.phase_separated:
        status = "phase_separation"
        comment.insert(0, "phase separation")
    else:
        status = "value"
    keep = status == "value"
    return {
        "A": a,
        "B": b,
        "x_B": round(x_b, 12),
        "hmix_kJ_per_mol": round(value, 6) if keep else None,
        "T_K": alloy.target_temperature_K,
        "source_type": "aimd",
        "source": ";".join(sources),
        "reference": reference,
        "uncertainty_kJ_per_mol": round(sem, 6) if keep else None,
        "status": status,
        "comment": "; ".join(comment),
    }


def results_table(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows in the column order of the dataset stage tables (TABLE_COLUMNS), sorted reproducibly."""
    frame = pd.DataFrame(list(rows), columns=list(TABLE_COLUMNS))
    return frame.sort_values(["A", "B", "x_B", "T_K", "source"], kind="mergesort").reset_index(drop=True)


def write_results(rows: Sequence[Mapping[str, Any]], path: str | Path) -> pd.DataFrame:
    """Write the results table (e.g. ``results/aimd/aimd_results.csv``) atomically and return it."""
    frame = results_table(rows)
    write_csv(frame, path)
    return frame


def collect_results(paths: Sequence[str | Path]) -> pd.DataFrame:
    """Concatenate per-binary result tables (each written by :func:`write_results`) into one sorted table."""
    frames = []
    for path in paths:
        table = pd.read_csv(path, keep_default_na=False, na_values=[""], dtype={"comment": str})
        missing = [c for c in TABLE_COLUMNS if c not in table.columns]
        if missing:
            raise InputError(path, 1, f"missing column(s): {', '.join(missing)}")
        frames.append(table[list(TABLE_COLUMNS)])
    rows = pd.concat(frames, ignore_index=True).to_dict("records") if frames else []
    return results_table(rows)
