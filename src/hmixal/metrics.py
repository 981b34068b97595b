"""Error metrics of out-of-fold predictions: overall, per Miedema group, per source, and on AIMD points."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from hmixal.splits import derive_seed

REFRACTORY: tuple[str, ...] = ("Ir", "Os", "Re", "W")  # the seed's AIMD elements (Table 1)
BOOTSTRAP_DRAWS = 2000
INTERVAL_LEVEL = 0.95
WORST_BINARIES = 10


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


def _binary_sums(oof: pd.DataFrame) -> pd.DataFrame:
    squared = pd.DataFrame(
        {
            "binary": (oof["A"] + "-" + oof["B"]).to_numpy(),
            "model": (oof["predicted_kJ_per_mol"] - oof["hmix_kJ_per_mol"]).to_numpy(dtype=float) ** 2,
            "miedema": (oof["miedema_kJ_per_mol"] - oof["hmix_kJ_per_mol"]).to_numpy(dtype=float) ** 2,
            "n": 1,
        }
    )
    return squared.groupby("binary", sort=True).sum()


def _ratios(model: np.ndarray, miedema: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RMSE ratios per point (pooled sums) and per binary (each binary's MSE counted once), along the last axis."""
    with np.errstate(invalid="ignore", divide="ignore"):
        per_point = np.sqrt(model.sum(axis=-1) / miedema.sum(axis=-1))
        per_binary = np.sqrt((model / n).sum(axis=-1) / (miedema / n).sum(axis=-1))
    return per_point, per_binary


def headline_ratios(oof: pd.DataFrame, seed: int, draws: int = BOOTSTRAP_DRAWS) -> dict[str, object]:
    """RMSE ratio model/Miedema per point and per binary, each with a bootstrap interval over binaries, and the
    share of the model's squared error carried by its worst binaries."""
    sums = _binary_sums(oof)
    model, miedema, n = (sums[c].to_numpy(dtype=float) for c in ("model", "miedema", "n"))
    point, binary = _ratios(model, miedema, n)
    rng = np.random.default_rng(seed)
    draw = rng.integers(0, len(sums), size=(draws, len(sums)))
    boot_point, boot_binary = _ratios(model[draw], miedema[draw], n[draw])
    tail = (1.0 - INTERVAL_LEVEL) / 2.0
    worst = sums["model"].sort_values(ascending=False)

    def interval(values: np.ndarray) -> list[float]:
        return [float(np.nanquantile(values, tail)), float(np.nanquantile(values, 1.0 - tail))]

    return {
        "per_point": {"ratio": float(point), "interval": interval(boot_point)},
        "per_binary": {"ratio": float(binary), "interval": interval(boot_binary)},
        "interval_level": INTERVAL_LEVEL,
        "bootstrap": {"unit": "binary", "draws": draws, "seed": seed},
        "n_binaries": len(sums),
        "n_points": int(n.sum()),
        "worst_binaries": {
            "binaries": [str(b) for b in worst.index[:WORST_BINARIES]],
            "share_of_squared_error": float(worst.iloc[:WORST_BINARIES].sum() / worst.sum()) if worst.sum() else 0.0,
        },
    }


def bootstrap_seed(root_seed: int) -> int:
    """The seed of the metrics' bootstrap over binaries (:func:`cv_metrics`), derived from the run's root seed."""
    return derive_seed(root_seed, "bootstrap")


def cv_metrics(after: pd.DataFrame, before: pd.DataFrame, seed: int = 0) -> dict[str, object]:
    """The metrics.json document: overall, per Miedema group, per source type, the AIMD before/after, and the
    headline ratios with bootstrap intervals over binaries (overall and per Miedema group)."""
    return {
        "overall": model_vs_miedema(after),
        "per_miedema_group": _by(after, "miedema_group"),
        "per_source_type": _by(after, "source_type"),
        "aimd": aimd_comparison(before, after),
        "headline": {
            "overall": headline_ratios(after, seed),
            **{str(g): headline_ratios(part, seed) for g, part in after.groupby("miedema_group", sort=True)},
        },
        "units": "kJ/mol",
    }
