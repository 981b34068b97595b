"""Controlled before/after-AIMD comparison: what adding other binaries' AIMD rows does to the AIMD points alone.

In the nested CV the 'before' and 'after' fold models also differ in their inner choices (RFE, Optuna, group
weights), which are re-made with or without the AIMD rows. Here one LightGBM with fixed features and
hyper-parameters (the final model's, from final_after_inner.json) and no shrinkage is trained on the outer
folds twice, with and without the AIMD rows, so only the training rows differ. Repeated over outer-fold
seeds × LightGBM seeds; RMSE on the AIMD points per Miedema group.

Run: .venv/bin/python benchmarks/bench_aimd_before_after.py RESULTS_DIR [ELEMENTS_CSV]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from hmixal.dataset import read_table
from hmixal.model import FeatureSource, end_taper, model_data, regressor
from hmixal.splits import derive_seed, grouped_folds

FOLD_SEEDS = (20251125, 1, 2)
LGBM_SEEDS = (0, 1, 2)
OUTER_FOLDS = 12


def rmse(e: np.ndarray) -> float:
    """Root mean square of ``e``."""
    return float(np.sqrt(np.mean(e**2)))


def main(results: str, elements: str | None = None) -> None:
    """Print RMSE (mean ± std over the seed pairs) of Miedema, 'before' and 'after' on the AIMD points."""
    inner = json.loads((Path(results) / "model" / "final_after_inner.json").read_text())
    data = model_data(read_table(Path(results) / "data" / "dataset_final.csv"), FeatureSource(elements))
    X, y = data.columns(inner["features"]), data.y
    taper = end_taper(data.frame["x_B"].to_numpy(dtype=float))
    aimd = (data.frame["source_type"] == "aimd").to_numpy()
    subsets = {"all": aimd, **{g: aimd & (data.miedema_group == g) for g in np.unique(data.miedema_group[aimd])}}
    rows = []
    for fold_seed in FOLD_SEEDS:
        folds = grouped_folds(data.groups, OUTER_FOLDS, derive_seed(fold_seed, "outer-folds"))
        for lgbm_seed in LGBM_SEEDS:
            predicted = {"before": np.zeros(y.size), "after": np.zeros(y.size)}
            for k in range(OUTER_FOLDS):
                test = (folds == k) & aimd
                if not test.any():
                    continue
                for variant, excluded in (("before", aimd), ("after", np.zeros_like(aimd))):
                    train = (folds != k) & ~excluded
                    est = regressor(inner["params"], lgbm_seed, 2).fit(X[train], y[train])
                    predicted[variant][test] = est.predict(X[test]) * taper[test]
            for name, mask in subsets.items():
                rows.append(
                    {
                        "subset": name,
                        "n": int(mask.sum()),
                        "miedema": rmse(y[mask]),
                        "before": rmse(y[mask] - predicted["before"][mask]),
                        "after": rmse(y[mask] - predicted["after"][mask]),
                    }
                )
    table = pd.DataFrame(rows).groupby("subset", sort=False).agg(["mean", "std"]).round(2)
    print(f"{len(FOLD_SEEDS)} fold seeds × {len(LGBM_SEEDS)} LightGBM seeds; RMSE on AIMD points (kJ/mol)")
    print(table.to_string())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
