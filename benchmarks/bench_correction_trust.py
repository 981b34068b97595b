"""How far to trust the LightGBM correction, and how to weight the training rows: schemes compared.

Fixed hyper-parameters (config `model.inner.base_params`) and all 44 features, so no choice is made on test
data; outer grouped 12-fold CV for three fold seeds, inner grouped 11-fold CV in each outer training set (its
out-of-fold corrections fit the per-group weights, its 11 models are the ensemble). For each sample weighting
(`none`: every row the same; `miedema_group`: each Miedema group the same total weight) the schemes are:
  single           one LightGBM on the outer training set, correction used as is
  single+groups    the same, times the per-group least-squares weight (shrink_z 0)
  ensemble+groups  mean of the 11 inner models, times the group weight
  spread+groups    ensemble mean scaled by m² / (m² + s²), times the group weight
  spread+groups_z1 the same with each group weight lowered by one bootstrap SE (the pipeline's default model)
Each scheme is also trained without the AIMD rows ('before') to score the AIMD points as in seed §2.3.
Prints the RMSE ratio (model / Miedema) overall and per Miedema group (mean and worst over the fold seeds)
and the AIMD RMSE before/after (mean over the fold seeds).

Run: .venv/bin/python benchmarks/bench_correction_trust.py RESULTS_DIR [CONFIG]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from hmixal.dataset import read_table
from hmixal.model import (
    MIEDEMA_GROUPS,
    FeatureSource,
    ModelData,
    end_taper,
    group_weights,
    model_data,
    regressor,
    spread_shrinkage,
)
from hmixal.nested_cv import SAMPLE_WEIGHTINGS, cv_predict, outer_folds, sample_weights
from hmixal.splits import derive_seed, grouped_folds

FOLD_SEEDS = (20251125, 1, 2)
OUTER, INNER = 12, 11
SCHEMES = ("single", "single+groups", "ensemble+groups", "spread+groups", "spread+groups_z1")


def outer_predictions(
    data: ModelData, params: dict, weighting: str, root: int, excluded: np.ndarray
) -> dict[str, np.ndarray]:
    """Out-of-fold corrections of every scheme for one fold seed (rows in ``excluded`` never trained on)."""
    y, group, binaries = data.y, data.miedema_group, data.groups
    taper = end_taper(data.frame["x_B"].to_numpy(dtype=float))
    outer = outer_folds(binaries, OUTER, root)
    predicted = {name: np.zeros(y.size) for name in SCHEMES}
    for k in range(OUTER):
        test = np.flatnonzero(outer == k)
        train = np.flatnonzero((outer != k) & ~excluded)
        w = sample_weights(data, train, weighting)
        folds = grouped_folds(binaries[train], INNER, derive_seed(root, "inner", k))
        inner = cv_predict(data, train, folds, data.feature_names, params, 0, 1, w)
        weights = group_weights(inner.oof, y[train], group[train])
        factor = np.array([weights[g] for g in group[test]])
        lowered = group_weights(inner.oof, y[train], group[train], binaries[train], z=1.0, seed=root)
        factor_z1 = np.array([lowered[g] for g in group[test]])
        single = regressor(params, 0, 1).fit(data.X[train], y[train], sample_weight=w).predict(data.X[test])
        stack = np.array([booster.predict(data.X[test]) for booster in inner.boosters]) * taper[test]
        predicted["single"][test] = single * taper[test]
        predicted["single+groups"][test] = single * taper[test] * factor
        predicted["ensemble+groups"][test] = stack.mean(axis=0) * factor
        predicted["spread+groups"][test] = spread_shrinkage(stack)[0] * factor
        predicted["spread+groups_z1"][test] = spread_shrinkage(stack)[0] * factor_z1
    return predicted


def main(results: str, config: str = "config/config.yaml") -> None:
    """Print the table of every weighting × scheme."""
    params = yaml.safe_load(Path(config).read_text())["model"]["inner"]["base_params"]
    data = model_data(read_table(Path(results) / "data" / "dataset_final.csv"), FeatureSource())
    y, group = data.y, data.miedema_group
    aimd = (data.frame["source_type"] == "aimd").to_numpy()
    rows = []
    for weighting in SAMPLE_WEIGHTINGS[::-1]:
        for root in FOLD_SEEDS:
            after = outer_predictions(data, params, weighting, root, np.zeros(y.size, bool))
            before = outer_predictions(data, params, weighting, root, aimd)
            for name in SCHEMES:
                error = y - after[name]
                row = {"weighting": weighting, "scheme": name, "seed": root}
                row["overall"] = np.sqrt(np.mean(error**2) / np.mean(y**2))
                for g in MIEDEMA_GROUPS:
                    m = group == g
                    row[g] = np.sqrt(np.mean(error[m] ** 2) / np.mean(y[m] ** 2))
                row["aimd_before"] = np.sqrt(np.mean((y - before[name])[aimd] ** 2))
                row["aimd_after"] = np.sqrt(np.mean(error[aimd] ** 2))
                rows.append(row)
            print(f"done: {weighting}, fold seed {root}", flush=True)
    table = pd.DataFrame(rows).drop(columns="seed").groupby(["weighting", "scheme"], sort=False)
    ratios = table[["overall", *MIEDEMA_GROUPS]].agg(["mean", "max"])
    aimd_rmse = table[["aimd_before", "aimd_after"]].agg(["mean"])
    print(f"RMSE ratio model / Miedema over fold seeds {FOLD_SEEDS} (mean, worst); AIMD RMSE (kJ/mol, mean)")
    print(pd.concat([ratios, aimd_rmse], axis=1).round(3).to_string())


if __name__ == "__main__":
    main(*sys.argv[1:])
