"""ΔH_mix result row of one binary from its three ended runs (alloy, pure A, pure B), for any engine.

Each run directory holds outcome.json (``hmixal.aimd.protocol``); a finished run also its trace and frames.
The row is ``not_computed`` (with every reason) when a run did not finish or is not a homogeneous liquid;
otherwise each run's H is corrected to P = 0 from the volume loop's stages, the referee's checks are made,
and ΔH_mix = H_AB − x_A H_A − x_B H_B with its standard error (docs/aimd.md, "From runs to a row").
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from hmixal.aimd import analysis
from hmixal.aimd.checks import CheckSettings, RunChecks, run_checks
from hmixal.aimd.frames import read_frames
from hmixal.aimd.protocol import FINISHED, TRACE_FILE, TRAJECTORY_FILE, ProtocolSettings, read_outcome
from hmixal.aimd.systems import composition_label
from hmixal.aimd.trace import read_trace
from hmixal.aimd.vasp import rows as vasp_rows
from hmixal.aimd.volume import zero_pressure_correction
from hmixal.dataset import POTENTIAL_MD, engine_reference
from hmixal.errors import InputError

# Rows from a DFT engine are 'aimd' data; rows from any other engine (EMT, machine-learned potentials) are
# 'potential_md' rows, which enter a training set only when the config names their engine (docs/dataset.md).
DFT_SOURCE_TYPE = "aimd"
NON_DFT_SOURCE_TYPE = POTENTIAL_MD


@dataclass(frozen=True)
class BinaryResult:
    """The results row of one binary and the per-run details behind it (details JSON beside the row)."""

    row: dict[str, Any]
    details: dict[str, Any]

    def details_json(self) -> str:
        """Row and per-run details as sorted JSON."""
        return json.dumps({"row": self.row, **self.details}, sort_keys=True, indent=1, default=str) + "\n"


def enthalpy_method(engine: Mapping[str, Any]) -> str:
    """How H is formed for an engine: F + TS + E_kin with Fermi smearing at the ionic T, else F + E_kin."""
    smearing = engine.get("md_settings", {}).get("smearing", "gaussian")
    return "internal" if smearing == "fermi" else "etotal"


def source_type(engine: Mapping[str, Any]) -> str:
    """'aimd' for a DFT engine's rows, 'potential_md' for every other engine's."""
    return DFT_SOURCE_TYPE if engine.get("is_dft") else NON_DFT_SOURCE_TYPE


def reference_text(engine: Mapping[str, Any], outcomes: Sequence[Mapping[str, Any]]) -> str:
    """The ``reference`` of a row: the engine and the settings that made the numbers."""
    if engine.get("engine") == "vasp" or engine.get("imported"):
        text = vasp_rows.reference_text(engine, outcomes)
    else:
        model = engine.get("model") or {}
        # A named model (aimd.engine: mlip) is the engine a training set opts into (dataset.train_on_potential_md).
        calculator = str(model.get("name") or engine.get("calculator", engine.get("engine")))
        versions = engine.get("versions", {})
        shown = ", ".join(f"{k} {v}" for k, v in sorted(versions.items())) if isinstance(versions, dict) else versions
        if model.get("weights_sha256"):
            shown += f"; {model.get('label', calculator)} weights sha256 {str(model['weights_sha256'])[:16]}…"
        text = engine_reference(
            calculator,
            f"hmixal MD with {calculator} ({shown}), not DFT: NVT volume loop + production, H corrected to P = 0",
        )
    changed = vasp_rows.custodian_changes(outcomes)
    return f"{text}; custodian changed {changed}" if changed else text


def _label(outcome: Mapping[str, Any]) -> str:
    return str(outcome.get("run") or composition_label(outcome["composition"]))


def _species(alloy: Mapping[str, Any], source: Path) -> tuple[str, str, float]:
    counts = {str(k): int(v) for k, v in alloy["composition"].items()}
    if len(counts) != 2:
        raise InputError(source, None, f"the alloy run must hold two elements, got {counts}")
    a, b = sorted(counts)
    return a, b, counts[b] / sum(counts.values())


def _not_computed_row(
    a: str, b: str, x_b: float, temperature_K: float, reasons: Sequence[str], engine: Mapping[str, Any],
    outcomes: Sequence[Mapping[str, Any]], sources: Sequence[str],
) -> dict[str, Any]:  # fmt: skip
    return {
        "A": a, "B": b, "x_B": round(x_b, 12), "hmix_kJ_per_mol": None, "T_K": float(temperature_K),
        "source_type": source_type(engine), "source": ";".join(sources),
        "reference": reference_text(engine, outcomes), "uncertainty_kJ_per_mol": None,
        "status": "not_computed", "comment": "not computed: " + "; ".join(reasons),
    }  # fmt: skip


def corrected_run(
    run: analysis.RunAnalysis, correction_kJ_per_mol: float, sem_kJ_per_mol: float
) -> analysis.RunAnalysis:
    """The run's analysis with H moved to P = 0 and the correction's uncertainty added in quadrature."""
    h = run.enthalpy
    moved = replace(
        h,
        h_kJ_per_mol=h.h_kJ_per_mol + correction_kJ_per_mol,
        sem_kJ_per_mol=math.hypot(h.sem_kJ_per_mol, sem_kJ_per_mol),
    )
    return replace(run, enthalpy=moved)


def binary_result(
    alloy_dir: str | Path,
    pure_a_dir: str | Path,
    pure_b_dir: str | Path,
    checks: CheckSettings | None = None,
    protocol: ProtocolSettings | None = None,
) -> BinaryResult:
    """The results row of a binary from its three ended run directories, with the details behind it."""
    dirs = [Path(alloy_dir), Path(pure_a_dir), Path(pure_b_dir)]
    outcomes = [read_outcome(d) for d in dirs]
    sources = [str(d) for d in dirs]
    engine = outcomes[0].get("engine", {})
    engines = {json.dumps(o.get("engine", {}).get("engine")) for o in outcomes}
    if len(engines) != 1:
        raise InputError(dirs[0], None, f"the three runs of a binary must come from one engine, got {sorted(engines)}")
    a, b, x_b = _species(outcomes[0], dirs[0])
    temperatures = {float(o["temperature_K"]) for o in outcomes}
    if len(temperatures) != 1:
        raise InputError(dirs[0], None, f"the three runs must share one temperature, got {sorted(temperatures)}")
    temperature = temperatures.pop()
    reasons = [f"{_label(o)}: {o.get('reason')}" for o in outcomes if o["state"] != FINISHED]
    details: dict[str, Any] = {"runs": {_label(o): {"outcome": o} for o in outcomes}}
    if reasons:
        row = _not_computed_row(a, b, x_b, temperature, reasons, engine, outcomes, sources)
        return BinaryResult(row, details)
    settings = checks or CheckSettings()
    protocol = protocol or ProtocolSettings()
    method = enthalpy_method(engine)
    corrected, notes, unusable = [], [], []
    for directory, outcome in zip(dirs, outcomes, strict=True):
        label = _label(outcome)
        trace = read_trace(directory / TRACE_FILE)
        frames = read_frames(directory / TRAJECTORY_FILE)
        run = analysis.analyse_run(trace, frames, method, protocol.min_discard_fraction)
        stages = outcome.get("volume", {}).get("history", [])
        production = outcome.get("production")
        loop = protocol.volume.for_run(outcome["start_volume_A3"], outcome["bulk_modulus_guess_kbar"]) if (
            "start_volume_A3" in outcome) else protocol.volume  # fmt: skip
        correction = zero_pressure_correction(stages, production, loop) if production else None
        value, error = (correction.correction_kJ_per_mol, correction.sem_kJ_per_mol) if correction else (0.0, 0.0)
        corrected.append(corrected_run(run, value, error))
        found: RunChecks = run_checks(trace, frames, settings, run.enthalpy.start_time_fs, label)
        details["runs"][label].update(
            zero_pressure=asdict(correction) if correction else None,
            checks=found.as_dict(),
            enthalpy=asdict(run.enthalpy),
        )
        if correction is not None and not correction.usable:
            # V₀ too far from the production volume for a first-order move of H: no number rather than a biased one
            unusable.append(f"{label}: {correction.note}")
        if correction is not None and abs(value) > 0:
            notes.append(f"{label}: H to P = 0 {value:+.3f} ± {error:.3f} kJ/mol")
        if not outcome.get("pressure_accepted", True):
            notes.append(f"{label}: {outcome.get('reason')}")
        # Crystalline order anywhere, or a cavity in a pure liquid, means no homogeneous liquid at this state: the
        # binary is not_computed. Drift, SCF at NELM and a cavity in an alloy (possibly demixing) are flags.
        pure = len(outcome["composition"]) == 1
        blocking = [found.order.flag, found.cavity.flag if pure else None]
        unusable.extend(flag for flag in blocking if flag is not None)
        notes.extend(flag for flag in found.flags if flag not in blocking)
    if unusable:
        row = _not_computed_row(a, b, x_b, temperature, unusable, engine, outcomes, sources)
        return BinaryResult(row, details)
    row = analysis.binary_result(corrected[0], corrected[1], corrected[2], reference_text(engine, outcomes), sources)
    row["source_type"] = source_type(engine)
    if notes:
        row["comment"] = "; ".join([row["comment"], *notes])
    return BinaryResult(row, details)
