"""Tests of the active-learning benchmark's evaluator (hmixal.al_evaluator)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hmixal.al_evaluator import EvaluatorSettings, fit, fit_predict, member_seeds, rmse
from hmixal.errors import InputError
from hmixal.model import ModelData, group_weights, regressor
from hmixal.nested_cv import cv_predict, sample_weights
from hmixal.splits import derive_seed, grouped_folds

FAST = {
    "n_estimators": 30,
    "learning_rate": 0.1,
    "num_leaves": 7,
    "min_child_samples": 5,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
}
GROUPS = ("TM-TM", "TM-nonTM", "nonTM-nonTM")


@pytest.fixture(scope="module")
def data() -> ModelData:
    """36 synthetic binaries × 5 compositions, 6 features; y a smooth function of two of them plus noise."""
    rng = np.random.default_rng(1)
    n_binaries, xs = 36, (0.1, 0.3, 0.5, 0.7, 0.9)
    names = [f"E{i}-F{i}" for i in range(n_binaries)]
    binary_features = rng.normal(size=(n_binaries, 5))
    rows = [(b, x) for b in range(n_binaries) for x in xs]
    index = np.array([b for b, _ in rows])
    x_b = np.array([x for _, x in rows])
    X = np.column_stack([binary_features[index], x_b])
    y = 3 * X[:, 0] - 2 * X[:, 1] * x_b + rng.normal(0, 0.3, len(rows))
    miedema = rng.normal(0, 5, len(rows))
    frame = pd.DataFrame(
        {
            "A": [names[b].split("-")[0] for b in index],
            "B": [names[b].split("-")[1] for b in index],
            "x_B": x_b,
            "hmix_kJ_per_mol": miedema + y,
            "source_type": "calphad",
        }
    )
    return ModelData(
        frame=frame,
        X=X,
        feature_names=("f0", "f1", "f2", "f3", "f4", "x"),
        miedema=miedema,
        y=y,
        groups=np.array(names)[index],
        miedema_group=np.array([GROUPS[b % 3] for b in index]),
    )


@pytest.fixture(scope="module")
def rows(data) -> tuple[np.ndarray, np.ndarray]:
    """Train rows (binaries 0–23) and test rows (24–35)."""
    binary = np.repeat(np.arange(36), 5)
    return np.flatnonzero(binary < 24), np.flatnonzero(binary >= 24)


def test_defaults_are_one_lightgbm_seed_as_the_original_evaluator(data, rows):
    train, test = rows
    settings = EvaluatorSettings()
    assert (settings.kind, settings.n_seeds) == ("lightgbm", 1)
    original = regressor(FAST, 11, 1).fit(data.X[train], data.y[train]).predict(data.X[test])
    np.testing.assert_array_equal(fit_predict(settings, FAST, data, None, train, test, 11, 1), original)
    residual = original - data.y[test]
    assert rmse(settings, FAST, data, None, train, test, 11, 1) == pytest.approx(np.sqrt(np.mean(residual**2)))


@pytest.mark.parametrize("settings", [EvaluatorSettings(n_seeds=3), EvaluatorSettings(kind="model", n_folds=4)])
def test_an_evaluation_is_reproducible_and_depends_on_the_seed(data, rows, settings):
    train, test = rows
    first = fit_predict(settings, FAST, data, None, train, test, 5, 1)
    np.testing.assert_array_equal(first, fit_predict(settings, FAST, data, None, train, test, 5, 1))
    assert not np.array_equal(first, fit_predict(settings, FAST, data, None, train, test, 6, 1))


def test_several_seeds_average_the_single_seed_predictions(data, rows):
    train, test = rows
    seeds = member_seeds(7, 4)
    assert seeds[0] == 7 and len(set(seeds)) == 4
    singles = [fit_predict(EvaluatorSettings(), FAST, data, None, train, test, s, 1) for s in seeds]
    averaged = fit_predict(EvaluatorSettings(n_seeds=4), FAST, data, None, train, test, 7, 1)
    np.testing.assert_allclose(averaged, np.mean(singles, axis=0), rtol=1e-12, atol=1e-12)
    # One ensemble, not a mean of RMSEs: the ensemble's RMSE is at most the members' mean RMSE (convexity).
    member_rmse = [np.sqrt(np.mean((p - data.y[test]) ** 2)) for p in singles]
    assert np.sqrt(np.mean((averaged - data.y[test]) ** 2)) <= np.mean(member_rmse) + 1e-12


def test_features_restrict_the_columns(data, rows):
    train, test = rows
    chosen = ("f0", "x")
    restricted = fit_predict(EvaluatorSettings(), FAST, data, chosen, train, test, 3, 1)
    direct = regressor(FAST, 3, 1).fit(data.columns(chosen)[train], data.y[train]).predict(data.columns(chosen)[test])
    np.testing.assert_array_equal(restricted, direct)


def test_model_kind_is_the_pipelines_fold_ensemble_with_group_weights(data, rows):
    train, test = rows
    settings = EvaluatorSettings(kind="model", n_folds=4, shrink_z=0.0)
    fitted = fit(settings, FAST, data, None, train, 9, 1)
    assert fitted.model is not None and len(fitted.model.boosters) == 4
    # The same folds, weights and members as nested_cv would build with these fixed choices.
    folds = grouped_folds(data.groups[train], 4, derive_seed(9, "inner-folds"))
    weights = sample_weights(data, train, "miedema_group")
    oof = cv_predict(data, train, folds, data.feature_names, FAST, 9, 1, weights).oof
    expected = group_weights(oof, data.y[train], data.miedema_group[train], data.groups[train], 0.0, seed=9)
    assert fitted.model.weights == pytest.approx(expected)
    # The smooth synthetic correction is learnt: the model beats the zero correction (Miedema) on test.
    assert fitted.rmse(test) < np.sqrt(np.mean(data.y[test] ** 2))
    # The prediction is the trained model's shrunk, group-weighted, end-tapered correction.
    x_b = data.frame["x_B"].to_numpy()[test]
    np.testing.assert_array_equal(
        fitted.predict(test), fitted.model.correction(data.X[test], data.miedema_group[test], x_b)
    )


def test_model_kind_without_group_weights_keeps_every_group(data, rows):
    train, _ = rows
    settings = EvaluatorSettings(kind="model", n_folds=3, shrink_per_group=False)
    fitted = fit(settings, FAST, data, None, train, 2, 1)
    assert fitted.model is not None and fitted.model.weights == dict.fromkeys(GROUPS, 1.0)


def test_from_mapping_reads_settings_and_rejects_unknown_keys():
    assert EvaluatorSettings.from_mapping(None) == EvaluatorSettings()
    assert EvaluatorSettings.from_mapping({"n_seeds": 5}) == EvaluatorSettings(n_seeds=5)
    read = EvaluatorSettings.from_mapping({"kind": "model", "n_folds": 5, "shrink_z": 0})
    assert (read.kind, read.n_folds, read.shrink_z) == ("model", 5, 0)
    with pytest.raises(InputError, match="n_seed"):
        EvaluatorSettings.from_mapping({"n_seed": 5})


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"kind": "gp"}, "kind"),
        ({"n_seeds": 0}, "n_seeds"),
        ({"kind": "model", "n_folds": 1}, "n_folds"),
        ({"kind": "model", "sample_weighting": "per_binary"}, "sample_weighting"),
        ({"kind": "model", "shrink_z": -1.0}, "shrink_z"),
        ({"kind": "model", "n_seeds": 3}, "n_seeds"),
        ({"n_folds": 5}, "kind 'model' only"),
        ({"shrink_by_spread": False}, "kind 'model' only"),
    ],
)
def test_invalid_settings_are_rejected(values, message):
    with pytest.raises(ValueError, match=message):
        EvaluatorSettings(**values)


def test_empty_rows_are_rejected(data, rows):
    train, _ = rows
    with pytest.raises(ValueError, match="no rows to train"):
        fit(EvaluatorSettings(), FAST, data, None, np.array([], dtype=int), 1, 1)
    with pytest.raises(ValueError, match="no rows to score"):
        fit(EvaluatorSettings(), FAST, data, None, train, 1, 1).rmse(np.array([], dtype=int))


def test_labels_name_the_candidate():
    assert EvaluatorSettings(n_seeds=5).label() == "lightgbm×5"
    assert EvaluatorSettings(kind="model", n_folds=5).label() == "model(5 folds)"
