"""Recursive feature elimination with averaged LightGBM importances (seed, supplementary note 1).

One *repeat* holds out a random set of binaries, then, until ``min_features`` remain: fits LightGBM
``n_fits`` times (different seeds, with bagging so the fits differ), scores the mean test RMSE, and removes
the feature with the lowest mean gain importance. Repeats on different splits are independent (scattered
over jobs); :func:`feature_frequencies` and :func:`choose_features` aggregate them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from hmixal.model import ModelData, regressor
from hmixal.splits import derive_seed, grouped_holdout

log = logging.getLogger(__name__)
PATH_COLUMNS = ("repeat", "n_features", "rmse_mean", "rmse_std", "removed", "kept")


def elimination_step_importance(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    params: Mapping[str, object],
    seeds: Sequence[int],
    threads: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Gain importances (fits × features) and test RMSEs of one fit per seed."""
    importances = np.empty((len(seeds), X_train.shape[1]))
    rmse = np.empty(len(seeds))
    for i, seed in enumerate(seeds):
        est = regressor({**params, "importance_type": "gain"}, seed, threads).fit(X_train, y_train)
        importances[i] = est.feature_importances_
        rmse[i] = float(np.sqrt(np.mean((est.predict(X_test) - y_test) ** 2)))
    return importances, rmse


def rfe_repeat(
    data: ModelData,
    repeat: int,
    params: Mapping[str, object],
    n_fits: int,
    test_fraction: float,
    root_seed: int,
    threads: int = 1,
    min_features: int = 1,
    train_mask: np.ndarray | None = None,
) -> pd.DataFrame:
    """One elimination path on one grouped split: a row per number of features (RMSE, removed, kept)."""
    eligible = np.ones(len(data.y), bool) if train_mask is None else train_mask
    test = grouped_holdout(data.groups[eligible], test_fraction, derive_seed(root_seed, "rfe-split", repeat))
    rows = np.flatnonzero(eligible)
    train_rows, test_rows = rows[~test], rows[test]
    kept = list(data.feature_names)
    seeds = [derive_seed(root_seed, "rfe-fit", repeat, i) for i in range(n_fits)]
    records = []
    while True:
        X = data.columns(kept)
        imp, rmse = elimination_step_importance(
            X[train_rows], data.y[train_rows], X[test_rows], data.y[test_rows], params, seeds, threads
        )
        # Stable tie-break on the column order keeps the path reproducible when importances tie (e.g. all 0).
        weakest = int(np.argmin(imp.mean(axis=0))) if len(kept) > min_features else -1
        records.append(
            {
                "repeat": repeat,
                "n_features": len(kept),
                "rmse_mean": float(rmse.mean()),
                "rmse_std": float(rmse.std(ddof=1)) if n_fits > 1 else 0.0,
                "removed": kept[weakest] if weakest >= 0 else "",
                "kept": ";".join(kept),
            }
        )
        log.info("repeat %d: %d features, RMSE %.3f kJ/mol", repeat, len(kept), rmse.mean())
        if weakest < 0:
            break
        kept.pop(weakest)
    return pd.DataFrame.from_records(records, columns=PATH_COLUMNS)


def rfe_curve(paths: pd.DataFrame) -> pd.DataFrame:
    """RMSE versus number of features over repeats: mean and standard deviation of the repeats' RMSE."""
    grouped = paths.groupby("n_features")["rmse_mean"]
    curve = pd.DataFrame(
        {
            "rmse_mean": grouped.mean(),
            "rmse_std": grouped.std(ddof=1).fillna(0.0),
            "n_repeats": grouped.size(),
        }
    )
    return curve.reset_index().sort_values("n_features", ascending=False, ignore_index=True)


def feature_frequencies(paths: pd.DataFrame, n_features: int) -> pd.Series:
    """How often each feature survives to the ``n_features``-feature set, over the repeats."""
    sets = paths.loc[paths["n_features"] == n_features, "kept"]
    if sets.empty:
        raise ValueError(f"no elimination path reaches {n_features} features")
    counts = pd.Series([f for s in sets for f in s.split(";")]).value_counts()
    return counts.rename("count")


def choose_features(paths: pd.DataFrame, n_features: int) -> list[str]:
    """The ``n_features`` features chosen most often; ties go to the feature removed later on average."""
    counts = feature_frequencies(paths, n_features)
    # Mean number of features left when the feature was removed (0 if it never was): smaller = removed later.
    removal = paths.groupby("removed")["n_features"].mean().reindex(counts.index).fillna(0.0)
    ranking = pd.DataFrame({"count": counts, "removal": removal, "name": counts.index})
    ranking = ranking.sort_values(["count", "removal", "name"], ascending=[False, True, True])
    return list(ranking["name"].iloc[:n_features])
