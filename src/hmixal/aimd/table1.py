"""An engine's ΔH_mix for the paper's Table 1 systems, side by side with the paper's AIMD, Miedema and the model.

The paper's AIMD campaign (Table 1: 29 values and 8 phase separations of equimolar Ir, Os, Re and W liquids,
``data/aimd_bizot2026.csv``) is the reference a cheaper engine is calibrated against (docs/aimd_mlip.md). This
module reads what the pipeline's ``aimd_hmix`` jobs wrote for those systems (``results/aimd/<engine>/binaries/``),
keeps the engine's ΔH_mix even where the alloy demixed (the paper gives no number there, but the sign says
something), and scores it: MAE, RMSE, bias and sign agreement overall and per refractory element, and the phase
separations found or missed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hmixal.aimd.enthalpy import mixing_enthalpy
from hmixal.dataset import read_dataset_csv
from hmixal.errors import InputError
from hmixal.metrics import REFRACTORY, containing, errors

NOT_RUN = "not_run"  # the status of a reference system the engine has not finished
COLUMNS: tuple[str, ...] = (
    "system", "A", "B", "T_K", "engine", "model", "n_atoms", "production_ps", "hmix_kJ_per_mol",
    "uncertainty_kJ_per_mol", "mean_pressure_kbar", "phase_separation", "status", "comment",
)  # fmt: skip


def reference_systems(path: str | Path) -> pd.DataFrame:
    """Table 1's computed systems (values and phase separations; N/A left out): A, B, T_K, status, AIMD value."""
    rows = read_dataset_csv(path, "aimd").rows
    rows = rows[rows["status"].isin(("value", "phase_separation"))]
    frame = rows[["A", "B", "T_K", "status", "hmix_kJ_per_mol"]].rename(
        columns={"status": "aimd_status", "hmix_kJ_per_mol": "aimd_kJ_per_mol"}
    )
    frame.insert(0, "system", frame["A"] + "-" + frame["B"])
    return frame.sort_values("system", kind="mergesort").reset_index(drop=True)


def _corrected_h(run: Mapping[str, Any]) -> tuple[float, float]:
    """A run's H at P = 0 (kJ/mol) and its SE, as aimd_hmix formed it (production H + zero-pressure move)."""
    h = run["enthalpy"]
    move = run.get("zero_pressure") or {}
    value = float(h["h_kJ_per_mol"]) + float(move.get("correction_kJ_per_mol", 0.0))
    sem = float(np.hypot(float(h["sem_kJ_per_mol"]), float(move.get("sem_kJ_per_mol", 0.0))))
    return value, sem


def _production_ps(outcome: Mapping[str, Any]) -> float:
    """The production's simulated time (ps) from the engine's stage record, NaN where it is not recorded."""
    inputs = (outcome.get("stages", {}).get("production") or {}).get("inputs") or {}
    return float(inputs["target_fs"]) / 1000.0 if "target_fs" in inputs else float("nan")


def engine_row(row_csv: str | Path, details_json: str | Path) -> dict[str, Any]:
    """One system's calibration row from its aimd_hmix outputs (the binary's row and its details)."""
    row = pd.read_csv(row_csv, keep_default_na=False, na_values=[""]).iloc[0]
    try:
        details = json.loads(Path(details_json).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise InputError(details_json, error.lineno, f"not JSON: {error.msg}") from None
    runs = details["runs"]
    alloy_label = next(label for label, run in runs.items() if len(run["outcome"]["composition"]) == 2)
    alloy = runs[alloy_label]["outcome"]
    engine = alloy.get("engine", {})
    model = engine.get("model") or {}
    production = alloy.get("production") or {}
    out: dict[str, Any] = {
        "system": f"{row['A']}-{row['B']}",
        "A": row["A"],
        "B": row["B"],
        "T_K": float(row["T_K"]),
        "engine": engine.get("engine"),
        "model": f"{model.get('label', model.get('name'))} ({model.get('name')} {model.get('version')})"
        if model
        else engine.get("calculator"),
        "n_atoms": int(sum(alloy["composition"].values())),
        "production_ps": _production_ps(alloy),
        "hmix_kJ_per_mol": np.nan,
        "uncertainty_kJ_per_mol": np.nan,
        "mean_pressure_kbar": float(production["pressure_kbar"]) if "pressure_kbar" in production else np.nan,
        "phase_separation": row["status"] == "phase_separation",
        "status": row["status"],
        "comment": row["comment"],
    }
    if all("enthalpy" in run for run in runs.values()):
        # the value is kept for a demixed alloy too: the paper has none there, but its sign is a second signal
        h = {label: _corrected_h(run) for label, run in runs.items()}
        pures = {
            next(iter(run["outcome"]["composition"])): h[label] for label, run in runs.items() if label != alloy_label
        }
        counts = alloy["composition"]
        x_b = counts[row["B"]] / sum(counts.values())
        value, sem = mixing_enthalpy(*h[alloy_label], *pures[row["A"]], *pures[row["B"]], x_b)
        out.update(hmix_kJ_per_mol=round(value, 4), uncertainty_kJ_per_mol=round(sem, 4))
    return out


def engine_table(binaries_dir: str | Path, systems: pd.DataFrame) -> pd.DataFrame:
    """Calibration rows for every reference system the engine has finished (others are left out, and counted)."""
    binaries_dir = Path(binaries_dir)
    rows = []
    for system in systems["system"]:
        row_csv, details = binaries_dir / f"{system}.csv", binaries_dir / f"{system}.json"
        if row_csv.is_file() and details.is_file():
            rows.append(engine_row(row_csv, details))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def calibration_table(reference: pd.DataFrame, engine: pd.DataFrame) -> pd.DataFrame:
    """Every reference system with the engine's columns beside it (status ``not_run`` where it has none)."""
    table = reference.merge(engine.drop(columns=["A", "B", "T_K"]), on="system", how="left")
    table["status"] = table["status"].fillna(NOT_RUN)
    return table


def _scores(observed: np.ndarray, predicted: np.ndarray) -> dict[str, float | int]:
    """metrics.errors (RMSE, MAE, n) with the bias and the share of signs that agree."""
    if len(observed) == 0:
        return {"n": 0}
    diff = np.asarray(predicted, float) - np.asarray(observed, float)
    return {
        **errors(observed, predicted),
        "bias": float(np.mean(diff)),
        "sign_agreement": float(np.mean(np.sign(predicted) == np.sign(observed))),
    }


def compare(table: pd.DataFrame, predictors: Sequence[str]) -> dict[str, Any]:
    """Scores of each predictor column against ``aimd_kJ_per_mol`` on the systems where every one has a value,
    overall and per refractory element, and the phase separations: flagged by the S_cc check, with ΔH > 0, not
    computed (a run was not a homogeneous liquid) or missed (a value row with ΔH ≤ 0)."""
    # scored where the engine made a value row: a not_computed row's number (a run not liquid, a volume too far
    # from P = 0) is kept in the table but is no calibration point, as it would be no training point
    values = table[(table["aimd_status"] == "value") & (table["status"] == "value")]
    values = values.dropna(subset=["aimd_kJ_per_mol", *predictors])
    out: dict[str, Any] = {"n_reference_values": int((table["aimd_status"] == "value").sum()), "overall": {}}
    reference_values = table[table["aimd_status"] == "value"]
    out["values_not_computed"] = sorted(reference_values.loc[reference_values["status"] == "not_computed", "system"])
    for name in predictors:
        out["overall"][name] = _scores(values["aimd_kJ_per_mol"], values[name])
    for element in REFRACTORY:
        part = containing(values, element)
        out[element] = {name: _scores(part["aimd_kJ_per_mol"], part[name]) for name in predictors}
    separated = table[(table["aimd_status"] == "phase_separation") & (table["status"] != NOT_RUN)]
    flagged = separated["phase_separation"] == True  # noqa: E712 - a column with NaN for systems not run
    positive = separated["hmix_kJ_per_mol"] > 0
    out["phase_separations"] = {
        "n_reference": int((table["aimd_status"] == "phase_separation").sum()),
        "n_computed": len(separated),
        "flagged": sorted(separated.loc[flagged, "system"]),
        "positive_hmix": sorted(separated.loc[positive, "system"]),
        # the engine made no row (a run not liquid, e.g. a pure liquid above its boiling point with a cavity)
        "not_computed": sorted(separated.loc[separated["status"] == "not_computed", "system"]),
        "missed": sorted(separated.loc[(separated["status"] == "value") & ~positive, "system"]),
    }
    false = table[(table["aimd_status"] == "value") & (table["phase_separation"] == True)]  # noqa: E712
    out["phase_separations"]["false_alarms"] = sorted(false["system"])
    return out
