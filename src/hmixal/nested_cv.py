"""Nested cross-validation grouped by binary system (seed §4.1.1; docs/model.md).

Outer folds give the reported error. Inside each outer training set, an inner grouped CV selects features by
recursive elimination, tunes LightGBM with Optuna, and fits the per-Miedema-group weights of the correction on
its out-of-fold predictions; the inner folds' models, as an ensemble, are the fold's model (hmixal.model). The
same inner procedure on all data gives the final model.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import ClassVar

import lightgbm as lgb
import numpy as np
import optuna
import pandas as pd

from hmixal.domain import TrainingDomain, binaries_of
from hmixal.io import write_text
from hmixal.model import (
    LGBM_PARAMS,
    ModelData,
    TrainedModel,
    balanced_sample_weights,
    end_taper,
    group_weights,
    regressor,
)
from hmixal.settings import FromMapping
from hmixal.splits import derive_seed, grouped_folds

log = logging.getLogger(__name__)
SAMPLE_WEIGHTINGS = ("miedema_group", "none")


# LightGBM parameters every inner fit starts from (the fast fits', with more trees at a slower rate), and the
# space Optuna searches (config model.inner).
BASE_PARAMS: Mapping[str, object] = MappingProxyType({**LGBM_PARAMS, "n_estimators": 300, "learning_rate": 0.05})
SEARCH_SPACE: Mapping[str, Mapping[str, object]] = MappingProxyType(
    {
        "learning_rate": {"low": 0.02, "high": 0.2, "log": True},
        "num_leaves": {"low": 4, "high": 48, "type": "int", "log": True},
        "min_child_samples": {"low": 5, "high": 60, "type": "int", "log": True},
        "colsample_bytree": {"low": 0.3, "high": 1.0},
        "reg_lambda": {"low": 0.001, "high": 30.0, "log": True},
    }
)


@dataclass(frozen=True)
class InnerSettings(FromMapping):
    """Settings of the inner loop (config `model.inner`)."""

    SECTION: ClassVar[str] = "model.inner"

    n_folds: int = 11
    base_params: Mapping[str, object] = field(default_factory=lambda: dict(BASE_PARAMS))
    rfe_min_features: int = 5
    rfe_n_features: int | None = None  # fixed size of the selected set; None: the size with the lowest CV RMSE
    rfe_step_fraction: float = 0.1  # features dropped per step: max(1, floor(fraction × remaining))
    n_trials: int = 30
    search_space: Mapping[str, Mapping[str, object]] = field(default_factory=lambda: dict(SEARCH_SPACE))
    shrink_per_group: bool = True
    shrink_z: float = 1.0  # bootstrap standard errors subtracted from each group's weight (0: plain least squares)
    shrink_by_spread: bool = True  # scale the ensemble mean by m² / (m² + s²) (hmixal.model.spread_shrinkage)
    sample_weighting: str = "miedema_group"  # "miedema_group": each group the same total weight; "none": equal rows

    def __post_init__(self) -> None:
        if self.sample_weighting not in SAMPLE_WEIGHTINGS:
            raise ValueError(
                f"model.inner.sample_weighting must be one of {SAMPLE_WEIGHTINGS}, not {self.sample_weighting!r}"
            )


@dataclass
class InnerResult:
    """What the inner loop chose: features, hyper-parameters, group weights, the fold models and diagnostics."""

    features: list[str]
    params: dict[str, object]
    weights: dict[str, float]
    boosters: list[lgb.Booster]
    shrink_by_spread: bool
    rfe_curve: pd.DataFrame
    trials: pd.DataFrame
    cv_rmse: float

    def model(self, info: Mapping[str, object] | None = None) -> TrainedModel:
        """The inner folds' models as one ensemble correction model."""
        return TrainedModel(
            tuple(self.features),
            dict(self.params),
            dict(self.weights),
            list(self.boosters),
            self.shrink_by_spread,
            dict(info or {}),
        )

    def diagnostics(self, **extra: object) -> dict[str, object]:
        """What the inner loop chose, as JSON-ready data (features, hyper-parameters, group weights, inner CV RMSE,
        RFE curve), with ``extra`` entries."""
        return {
            "features": self.features,
            "params": self.params,
            "weights": self.weights,
            "inner_cv_rmse": self.cv_rmse,
            "rfe_curve": self.rfe_curve.to_dict(orient="records"),
            **extra,
        }


@dataclass
class FoldPredictions:
    """Out-of-fold corrections of some rows, with the models that made them (and their gain importances)."""

    oof: np.ndarray
    boosters: list[lgb.Booster]
    importances: np.ndarray


def _rmse(a: np.ndarray, b: np.ndarray, weights: np.ndarray | None = None) -> float:
    return float(np.sqrt(np.average((a - b) ** 2, weights=weights)))


def sample_weights(data: ModelData, rows: np.ndarray, scheme: str) -> np.ndarray | None:
    """Training weights of ``rows`` under ``scheme`` (None: all rows count the same)."""
    if scheme == "none":
        return None
    # Miedema groups are unequal in size (nonTM–nonTM ≈ 10 % of the rows): balanced weights keep the largest
    # group from deciding the trees alone (benchmarks/RESULTS.md, sample weighting).
    return balanced_sample_weights(data.miedema_group[rows])


def cv_predict(
    data: ModelData,
    rows: np.ndarray,
    folds: np.ndarray,
    features: Sequence[str],
    params: Mapping[str, object],
    seed: int,
    threads: int,
    weights: np.ndarray | None = None,
) -> FoldPredictions:
    """Out-of-fold corrections for ``rows`` (folds and ``weights`` aligned with rows), the fold models and gain
    importances."""
    X = data.columns(features)[rows]
    y = data.y[rows]
    taper = end_taper(data.frame["x_B"].to_numpy(dtype=float)[rows])  # as the fitted model will predict
    oof = np.empty(len(rows))
    imp = np.zeros(len(features))
    boosters = []
    for k in np.unique(folds):
        test = folds == k
        fit_weights = None if weights is None else weights[~test]
        est = regressor({**params, "importance_type": "gain"}, seed, threads).fit(
            X[~test], y[~test], sample_weight=fit_weights
        )
        oof[test] = est.predict(X[test]) * taper[test]
        imp += est.feature_importances_
        boosters.append(est.booster_)
    return FoldPredictions(oof, boosters, imp)


def inner_rfe(
    data: ModelData,
    rows: np.ndarray,
    folds: np.ndarray,
    settings: InnerSettings,
    seed: int,
    threads: int,
    weights: np.ndarray | None = None,
) -> tuple[list[str], pd.DataFrame]:
    """Drop the least important feature (gain over the inner folds) down to the minimum; pick a set."""
    kept = list(data.feature_names)
    records = []
    sets: dict[int, list[str]] = {}
    floor = settings.rfe_n_features or settings.rfe_min_features
    while True:
        fit = cv_predict(data, rows, folds, kept, settings.base_params, seed, threads, weights)
        records.append({"n_features": len(kept), "cv_rmse": _rmse(fit.oof, data.y[rows], weights)})
        sets[len(kept)] = list(kept)
        if len(kept) <= floor:
            break
        n_drop = min(max(1, int(settings.rfe_step_fraction * len(kept))), len(kept) - floor)
        for i in sorted(np.argsort(fit.importances, kind="stable")[:n_drop], reverse=True):
            kept.pop(int(i))
    curve = pd.DataFrame.from_records(records)
    if settings.rfe_n_features is not None:
        chosen = settings.rfe_n_features
    else:
        chosen = int(curve.loc[curve["cv_rmse"].idxmin(), "n_features"])
    return sets[chosen], curve


def _suggest(trial: optuna.Trial, space: Mapping[str, Mapping[str, object]]) -> dict[str, object]:
    params: dict[str, object] = {}
    for name, spec in space.items():
        low, high, log_scale = spec["low"], spec["high"], bool(spec.get("log", False))
        if spec.get("type", "float") == "int":
            params[name] = trial.suggest_int(name, int(low), int(high), log=log_scale)
        else:
            params[name] = trial.suggest_float(name, float(low), float(high), log=log_scale)
    return params


def tune(
    data: ModelData,
    rows: np.ndarray,
    folds: np.ndarray,
    features: Sequence[str],
    settings: InnerSettings,
    seed: int,
    threads: int,
    weights: np.ndarray | None = None,
) -> tuple[dict[str, object], pd.DataFrame]:
    """Optuna (seeded TPE) scored by inner-CV RMSE; the base parameters are the first trial."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    base = dict(settings.base_params)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    start = {k: base[k] for k in settings.search_space if k in base}
    if start:
        study.enqueue_trial(start)

    def objective(trial: optuna.Trial) -> float:
        params = {**base, **_suggest(trial, settings.search_space)}
        oof = cv_predict(data, rows, folds, features, params, seed, threads, weights).oof
        return _rmse(oof, data.y[rows], weights)

    if settings.search_space and settings.n_trials > 0:
        study.optimize(objective, n_trials=settings.n_trials)
        best = {**base, **study.best_params}
        trials = study.trials_dataframe(attrs=("number", "value", "params"))
    else:
        best, trials = base, pd.DataFrame()
    return best, trials


def fold_group_weights(
    fit: FoldPredictions, data: ModelData, rows: np.ndarray, shrink_per_group: bool, shrink_z: float, seed: int
) -> dict[str, float]:
    """Per-Miedema-group weights of the correction from the out-of-fold corrections of ``rows`` (1 for every group
    when ``shrink_per_group`` is off)."""
    if not shrink_per_group:
        return {g: 1.0 for g in np.unique(data.miedema_group)}
    return group_weights(fit.oof, data.y[rows], data.miedema_group[rows], data.groups[rows], shrink_z, seed=seed)


def _final_fit(
    data: ModelData,
    rows: np.ndarray,
    folds: np.ndarray,
    features: Sequence[str],
    params: Mapping[str, object],
    settings: InnerSettings,
    seed: int,
    threads: int,
    weights: np.ndarray | None,
) -> tuple[FoldPredictions, dict[str, float]]:
    fit = cv_predict(data, rows, folds, features, params, seed, threads, weights)
    return fit, fold_group_weights(fit, data, rows, settings.shrink_per_group, settings.shrink_z, seed)


def refit(
    data: ModelData,
    rows: np.ndarray,
    features: Sequence[str],
    params: Mapping[str, object],
    settings: InnerSettings,
    seed: int,
    threads: int,
) -> TrainedModel:
    """The inner procedure's last step on other ``rows`` with the features and hyper-parameters kept: fold models
    and group weights, so that a change of the training data is measured apart from a change of the model."""
    folds = grouped_folds(data.groups[rows], settings.n_folds, derive_seed(seed, "inner-folds"))
    weights = sample_weights(data, rows, settings.sample_weighting)
    fit, group_weight = _final_fit(data, rows, folds, features, params, settings, seed, threads, weights)
    return TrainedModel(tuple(features), dict(params), group_weight, list(fit.boosters), settings.shrink_by_spread)


def fit_inner(data: ModelData, rows: np.ndarray, settings: InnerSettings, seed: int, threads: int) -> InnerResult:
    """The whole inner procedure on ``rows``: grouped folds, RFE, tuning, the fold models, per-group weights."""
    folds = grouped_folds(data.groups[rows], settings.n_folds, derive_seed(seed, "inner-folds"))
    weights = sample_weights(data, rows, settings.sample_weighting)
    features, curve = inner_rfe(data, rows, folds, settings, seed, threads, weights)
    params, trials = tune(data, rows, folds, features, settings, derive_seed(seed, "optuna"), threads, weights)
    fit, group_weight = _final_fit(data, rows, folds, features, params, settings, seed, threads, weights)
    return InnerResult(
        features,
        params,
        group_weight,
        fit.boosters,
        settings.shrink_by_spread,
        curve,
        trials,
        _rmse(fit.oof, data.y[rows], weights),
    )


def outer_folds(groups: Sequence[str] | np.ndarray, n_folds: int, root_seed: int) -> np.ndarray:
    """The outer fold id per row: ``n_folds`` folds grouped by ``groups`` (binaries), seeded from the root seed."""
    return grouped_folds(groups, n_folds, derive_seed(root_seed, "outer-folds"))


def outer_fold(
    data: ModelData,
    fold_ids: np.ndarray,
    fold: int,
    settings: InnerSettings,
    seed: int,
    threads: int,
    train_excluded: np.ndarray | None = None,
) -> tuple[pd.DataFrame, TrainedModel, InnerResult]:
    """Train on the other folds (minus ``train_excluded`` rows) and predict this fold's rows."""
    test = fold_ids == fold
    train = ~test if train_excluded is None else ~test & ~train_excluded
    rows = np.flatnonzero(train)
    inner = fit_inner(data, rows, settings, derive_seed(seed, "outer", fold), threads)
    model = inner.model({"fold": fold, "n_train_rows": int(rows.size), "inner_cv_rmse": inner.cv_rmse})
    test_rows = np.flatnonzero(test)
    x_test = data.frame["x_B"].to_numpy(dtype=float)[test_rows]
    correction, spread = model.correction_and_spread(
        data.columns(inner.features)[test_rows], data.miedema_group[test_rows], x_test
    )
    out = data.frame.loc[test_rows, ["A", "B", "x_B", "hmix_kJ_per_mol", "source_type", "source"]].copy()
    out["fold"] = fold
    out["miedema_group"] = data.miedema_group[test_rows]
    out["miedema_kJ_per_mol"] = data.miedema[test_rows]
    out["predicted_kJ_per_mol"] = data.miedema[test_rows] + correction
    out["member_spread_kJ_per_mol"] = spread
    if data.source is not None:
        # The held-out binaries seen from this fold's training set, as a user's query is seen from the final model.
        features = data.source.subset(inner.features)
        domain = TrainingDomain.build(binaries_of(data.frame.loc[rows]), features)
        described = domain.describe(out["A"].to_numpy(), out["B"].to_numpy(), features)
        for column in described.columns:
            out[column] = described[column].to_numpy()
    log.info(
        "outer fold %d: %d train rows, %d features, inner CV RMSE %.3f",
        fold,
        rows.size,
        len(inner.features),
        inner.cv_rmse,
    )
    return out, model, inner


def write_inner_diagnostics(path: str | Path, inner: InnerResult, **extra: object) -> None:
    """Write :meth:`InnerResult.diagnostics` (with ``extra`` entries: an outer fold's number, variant, trials) as
    JSON: a fold's ``inner.json``, the final model's ``final_*_inner.json``."""
    write_text(json.dumps(inner.diagnostics(**extra), indent=2, sort_keys=True) + "\n", path)


def read_inner_diagnostics(path: str | Path) -> dict[str, object]:
    """The inner loop's choices as :func:`write_inner_diagnostics` wrote them (``features``, ``params``, …)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
