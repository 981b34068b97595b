"""Error metrics of out-of-fold predictions: overall, per Miedema group, per source, and on AIMD points."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

REFRACTORY: tuple[str, ...] = ("Ir", "Os", "Re", "W")  # the seed's AIMD elements (Table 1)


def errors(observed: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """RMSE, MAE and count of a prediction (kJ/mol)."""
    diff = np.asarray(predicted, float) - np.asarray(observed, float)
    if diff.size == 0:
        return {"rmse": float("nan"), "mae": float("nan"), "n": 0}
    return {"rmse": float(np.sqrt(np.mean(diff**2))), "mae": float(np.mean(np.abs(diff))), "n": int(diff.size)}


def model_vs_miedema(oof: pd.DataFrame) -> dict[str, object]:
    """Errors of the model and of Miedema on the same rows, with their ratio and the number of binaries."""
    model = errors(oof["hmix_kJ_per_mol"], oof["predicted_kJ_per_mol"])
    base = errors(oof["hmix_kJ_per_mol"], oof["miedema_kJ_per_mol"])
    ratio = model["rmse"] / base["rmse"] if base["n"] and base["rmse"] > 0 else float("nan")
    return {
        "model": model,
        "miedema": base,
        "rmse_ratio": ratio,
        "n_binaries": int((oof["A"] + "-" + oof["B"]).nunique()),
    }


def _by(oof: pd.DataFrame, column: str) -> dict[str, object]:
    return {str(k): model_vs_miedema(part) for k, part in oof.groupby(column, sort=True)}


def containing(oof: pd.DataFrame, element: str) -> pd.DataFrame:
    """Rows of binaries that contain ``element``."""
    return oof[(oof["A"] == element) | (oof["B"] == element)]


def aimd_comparison(before: pd.DataFrame, after: pd.DataFrame, elements: Sequence[str] = REFRACTORY) -> dict:
    """Errors on AIMD rows of the reference model (never trained on AIMD) and the final one: overall, per Miedema
    group (when the rows carry ``miedema_group``) and per element."""
    b = before[before["source_type"] == "aimd"]
    a = after[after["source_type"] == "aimd"]

    def compare(bb: pd.DataFrame, aa: pd.DataFrame) -> dict[str, object]:
        return {
            "before": errors(bb["hmix_kJ_per_mol"], bb["predicted_kJ_per_mol"]),
            "after": errors(aa["hmix_kJ_per_mol"], aa["predicted_kJ_per_mol"]),
            "miedema": errors(aa["hmix_kJ_per_mol"], aa["miedema_kJ_per_mol"]),
        }

    groups = {}
    if "miedema_group" in a.columns:
        groups = {
            str(g): compare(b[b["miedema_group"] == g], part) for g, part in a.groupby("miedema_group", sort=True)
        }
    return {
        "overall": compare(b, a),
        **groups,
        **{el: compare(containing(b, el), containing(a, el)) for el in elements},
    }


def cv_metrics(after: pd.DataFrame, before: pd.DataFrame) -> dict[str, object]:
    """The metrics.json document: overall, per Miedema group, per source type, and the AIMD before/after."""
    return {
        "overall": model_vs_miedema(after),
        "per_miedema_group": _by(after, "miedema_group"),
        "per_source_type": _by(after, "source_type"),
        "aimd": aimd_comparison(before, after),
        "units": "kJ/mol",
    }
