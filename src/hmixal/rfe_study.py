"""The RFE study (seed supplementary note 1): recursive feature elimination with averaged LightGBM importances,
repeated on held-out splits, which picks the active-learning feature set and the final model's reference set.

(The model's own elimination, inside each inner fold of the nested CV, is :func:`hmixal.nested_cv.inner_rfe`.)

One *repeat* holds out a random set of binaries, then, until ``min_features`` remain: fits LightGBM
``fits_per_step`` times (different seeds, with bagging so the fits differ), scores the mean test RMSE, and removes
the feature with the lowest mean gain importance. Repeats on different splits are independent (scattered
over jobs); :func:`feature_frequencies` and :func:`choose_features` aggregate them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, cast

import numpy as np
import pandas as pd

from hmixal.model import LGBM_PARAMS, REPRODUCIBLE_PARAMS, ModelData
from hmixal.settings import FromMapping
from hmixal.splits import derive_seed, grouped_holdout

log = logging.getLogger(__name__)
PATH_COLUMNS = ("repeat", "n_features", "rmse_mean", "rmse_std", "removed", "kept")
# LightGBM's defaults (scikit-learn wrapper and native API alike) for the number of trees and of the rows it
# samples to find the bin edges.
_DEFAULT_TREES = 100
_DEFAULT_BIN_SAMPLE = 200_000


@dataclass(frozen=True)
class RfeSettings(FromMapping):
    """What one repeat of the study needs (config ``selection``: the keys that shape a path, not the job layout)."""

    SECTION: ClassVar[str] = "selection"

    lgbm: Mapping[str, object] = field(default_factory=lambda: dict(LGBM_PARAMS))  # config selection.lgbm
    fits_per_step: int = 25  # seed supplementary note 1: 25 fits per elimination
    test_fraction: float = 0.25  # share of binaries held out in each repeat
    min_features: int = 1


def _native_params(params: Mapping[str, object], threads: int) -> tuple[dict[str, object], int]:
    """LightGBM native parameters and number of trees equal to what ``hmixal.model.regressor(params, seed,
    threads).fit`` passes to ``lightgbm.train`` (the seed is added per fit)."""
    native = {k: v for k, v in params.items() if k not in ("n_estimators", "importance_type", "objective")}
    # The scikit-learn regressor's objective is 'regression' unless one is given.
    native.update(REPRODUCIBLE_PARAMS, objective=params.get("objective") or "regression", num_threads=threads)
    return native, int(cast(int, params.get("n_estimators", _DEFAULT_TREES)))


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
    import lightgbm as lgb  # imports scikit-learn (≈ 1.5 s): only where models are trained

    native, trees = _native_params(params, threads)
    # The binned Dataset is built once for all seeds: binning depends on the seed only through the rows sampled
    # for the bin edges, and LightGBM takes every row when there are no more than bin_construct_sample_cnt.
    sample = min(
        int(cast(int, params.get(k, _DEFAULT_BIN_SAMPLE))) for k in ("subsample_for_bin", "bin_construct_sample_cnt")
    )
    shared = lgb.Dataset(X_train, label=y_train, params=native) if len(y_train) <= sample else None
    importances = np.empty((len(seeds), X_train.shape[1]))
    rmse = np.empty(len(seeds))
    for i, seed in enumerate(seeds):
        fit_params = {**native, "random_state": seed}
        train_set = shared if shared is not None else lgb.Dataset(X_train, label=y_train, params=fit_params)
        # keep_training_booster stays False: the model then goes through its text form, which rounds the split
        # gains, as the scikit-learn wrapper does; the gain importances (hence the path) depend on that rounding.
        booster = lgb.train(fit_params, train_set, num_boost_round=trees)
        importances[i] = booster.feature_importance("gain")
        rmse[i] = float(np.sqrt(np.mean((booster.predict(X_test, num_threads=threads) - y_test) ** 2)))
    return importances, rmse


def rfe_repeat(
    data: ModelData,
    repeat: int,
    settings: RfeSettings,
    root_seed: int,
    threads: int = 1,
    train_mask: np.ndarray | None = None,
) -> pd.DataFrame:
    """One elimination path on one grouped split: a row per number of features (RMSE, removed, kept)."""
    params, n_fits, min_features = settings.lgbm, settings.fits_per_step, settings.min_features
    eligible = np.ones(len(data.y), bool) if train_mask is None else train_mask
    test = grouped_holdout(data.groups[eligible], settings.test_fraction, derive_seed(root_seed, "rfe-split", repeat))
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
