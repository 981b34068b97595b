"""The active-learning benchmark's evaluator: the model trained on train + acquired rows and scored on the test rows.

Two kinds (docs/active_learning.md, "The evaluator"; choice measured by benchmarks/bench_al_evaluator_choice.py):

- ``lightgbm``: LightGBM regressors (``hmixal.model.regressor``) on the target y = data − Miedema, one per
  evaluator seed; with ``n_seeds`` > 1 their predictions are averaged (one ensemble, not a mean of RMSEs), which
  lowers the seed noise of a single fit. ``n_seeds = 1`` is the benchmark's original evaluator.
- ``model``: the pipeline's own correction model with fixed, pre-chosen settings — the inner procedure of
  ``hmixal.nested_cv.fit_inner`` without its feature elimination and tuning (the features and LightGBM
  parameters are given): one member per grouped inner fold, Miedema-group sample weights, per-group weights
  fitted on the out-of-fold corrections, spread shrinkage and end taper (``hmixal.model.TrainedModel``).

Every random step derives from the ``seed`` argument, so an evaluation is reproducible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np

from hmixal.model import ModelData, TrainedModel, regressor
from hmixal.nested_cv import SAMPLE_WEIGHTINGS, cv_predict, fold_group_weights, sample_weights
from hmixal.settings import FromMapping
from hmixal.splits import derive_seed, grouped_folds

KINDS: tuple[str, ...] = ("lightgbm", "model")
# Fields read only by kind "model": setting one for kind "lightgbm" is an error, not silently ignored.
_MODEL_FIELDS: tuple[str, ...] = ("n_folds", "sample_weighting", "shrink_per_group", "shrink_z", "shrink_by_spread")


@dataclass(frozen=True)
class EvaluatorSettings(FromMapping):
    """Which evaluator the benchmark trains; the defaults are the original one (one LightGBM seed)."""

    SECTION: ClassVar[str] = "active_learning.evaluator"

    kind: str = "lightgbm"  # "lightgbm" | "model" (module docstring)
    n_seeds: int = 1  # lightgbm: regressors with different seeds, predictions averaged
    n_folds: int = 11  # model: inner grouped folds = ensemble members (config model.inner.n_folds)
    sample_weighting: str = "miedema_group"  # model: as config model.inner.sample_weighting
    shrink_per_group: bool = True  # model: per-Miedema-group weights of the correction
    shrink_z: float = 1.0  # model: bootstrap standard errors taken off each group weight
    shrink_by_spread: bool = True  # model: scale the members' mean by m² / (m² + s²)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"evaluator kind must be one of {list(KINDS)}, not {self.kind!r}")
        if self.n_seeds < 1:
            raise ValueError(f"evaluator n_seeds must be ≥ 1, got {self.n_seeds}")
        if self.n_folds < 2:
            raise ValueError(f"evaluator n_folds must be ≥ 2, got {self.n_folds}")
        if self.sample_weighting not in SAMPLE_WEIGHTINGS:
            raise ValueError(
                f"evaluator sample_weighting must be one of {list(SAMPLE_WEIGHTINGS)}, not {self.sample_weighting!r}"
            )
        if self.shrink_z < 0:
            raise ValueError(f"evaluator shrink_z must be ≥ 0, got {self.shrink_z}")
        if self.kind == "model" and self.n_seeds != 1:
            raise ValueError("evaluator n_seeds applies to kind 'lightgbm'; kind 'model' averages its n_folds members")
        if self.kind == "lightgbm":
            default = {f.name: f.default for f in fields(self)}
            changed = [name for name in _MODEL_FIELDS if getattr(self, name) != default[name]]
            if changed:
                raise ValueError(f"evaluator setting(s) {changed} apply to kind 'model' only; set kind: model")

    def label(self) -> str:
        """A short name for tables and logs, e.g. ``lightgbm×5`` or ``model(11 folds)``."""
        if self.kind == "lightgbm":
            return f"lightgbm×{self.n_seeds}"
        return f"model({self.n_folds} folds)"


def member_seeds(seed: int, n_seeds: int) -> list[int]:
    """The LightGBM seeds of a ``lightgbm`` evaluator: ``seed`` itself first (so one seed is the original
    evaluator), then seeds derived from it."""
    return [seed] + [derive_seed(seed, "al-eval-member", i) for i in range(1, n_seeds)]


@dataclass
class FittedEvaluator:
    """An evaluator trained on some rows of a dataset; predicts the target y (data − Miedema) of any of its rows."""

    data: ModelData
    features: tuple[str, ...]
    regressors: list[Any]  # kind lightgbm: the fitted LGBMRegressor per seed
    model: TrainedModel | None  # kind model: the ensemble correction model

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Predicted y of dataset ``rows`` (kJ/mol): the members' mean, or the model's shrunk correction."""
        rows = np.asarray(rows, dtype=np.int64)
        X = self.data.columns(self.features)[rows]
        if self.model is not None:
            x_b = self.data.frame["x_B"].to_numpy(dtype=float)[rows]
            return self.model.correction(X, self.data.miedema_group[rows], x_b)
        return np.mean([est.predict(X) for est in self.regressors], axis=0)

    def rmse(self, rows: np.ndarray) -> float:
        """RMSE (kJ/mol) of the predicted y against the data's y on ``rows``."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            raise ValueError("no rows to score the evaluator on")
        residual = self.predict(rows) - self.data.y[rows]
        return float(np.sqrt(np.mean(residual**2)))


def fit(
    settings: EvaluatorSettings,
    params: Mapping[str, object],
    data: ModelData,
    features: Sequence[str] | None,
    train_rows: np.ndarray,
    seed: int,
    threads: int,
) -> FittedEvaluator:
    """Train the evaluator on ``train_rows`` with LightGBM ``params`` on ``features`` (None: all 44)."""
    names = tuple(data.feature_names if features is None else features)
    rows = np.asarray(train_rows, dtype=np.int64)
    if rows.size == 0:
        raise ValueError("no rows to train the evaluator on")
    if settings.kind == "lightgbm":
        X, y = data.columns(names)[rows], data.y[rows]
        ests = [regressor(params, s, threads).fit(X, y) for s in member_seeds(seed, settings.n_seeds)]
        return FittedEvaluator(data, names, ests, None)
    return FittedEvaluator(data, names, [], _fit_model(settings, params, data, names, rows, seed, threads))


def _fit_model(
    settings: EvaluatorSettings,
    params: Mapping[str, object],
    data: ModelData,
    features: tuple[str, ...],
    rows: np.ndarray,
    seed: int,
    threads: int,
) -> TrainedModel:
    """fit_inner's last steps (fold models, per-group weights) with the features and parameters fixed."""
    folds = grouped_folds(data.groups[rows], settings.n_folds, derive_seed(seed, "inner-folds"))
    weights = sample_weights(data, rows, settings.sample_weighting)
    fold_fit = cv_predict(data, rows, folds, features, params, seed, threads, weights)
    group_weight = fold_group_weights(fold_fit, data, rows, settings.shrink_per_group, settings.shrink_z, seed)
    return TrainedModel(features, dict(params), group_weight, list(fold_fit.boosters), settings.shrink_by_spread)


def fit_predict(
    settings: EvaluatorSettings,
    params: Mapping[str, object],
    data: ModelData,
    features: Sequence[str] | None,
    train_rows: np.ndarray,
    predict_rows: np.ndarray,
    seed: int,
    threads: int,
) -> np.ndarray:
    """Predicted y of ``predict_rows`` by the evaluator trained on ``train_rows`` (see :func:`fit`)."""
    return fit(settings, params, data, features, train_rows, seed, threads).predict(predict_rows)


def rmse(
    settings: EvaluatorSettings,
    params: Mapping[str, object],
    data: ModelData,
    features: Sequence[str] | None,
    train_rows: np.ndarray,
    test_rows: np.ndarray,
    seed: int,
    threads: int,
) -> float:
    """Test RMSE (kJ/mol) of the evaluator trained on ``train_rows`` (see :func:`fit`)."""
    return fit(settings, params, data, features, train_rows, seed, threads).rmse(test_rows)
