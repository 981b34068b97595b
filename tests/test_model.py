"""Tests of the correction model, recursive feature elimination and the nested grouped CV."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from hmixal.miedema_model import hmix
from hmixal.model import (
    FeatureSource,
    TrainedModel,
    apply_weights,
    balanced_sample_weights,
    end_taper,
    group_weights,
    model_data,
    spread_shrinkage,
)
from hmixal.nested_cv import InnerSettings, cv_predict, fit_inner, outer_fold, sample_weights
from hmixal.rfe_study import RfeSettings, choose_features, feature_frequencies, rfe_curve, rfe_repeat
from hmixal.splits import grouped_folds
from hmixal.systems import all_binaries

FAST = {
    "n_estimators": 40,
    "learning_rate": 0.1,
    "num_leaves": 7,
    "min_child_samples": 5,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
}


def small_inner_settings() -> InnerSettings:
    """A quick inner procedure: 3 folds, elimination down to 42 features, 2 Optuna trials."""
    return InnerSettings(
        n_folds=3,
        base_params=FAST,
        rfe_min_features=42,
        n_trials=2,
        search_space={"num_leaves": {"low": 3, "high": 15, "type": "int"}},
    )


@pytest.fixture(scope="module")
def source() -> FeatureSource:
    return FeatureSource()


@pytest.fixture(scope="module")
def synthetic(source):
    """60 binaries × 5 compositions whose 'data' = Miedema + a smooth function of two features + noise."""
    rng = np.random.default_rng(0)
    pairs = [all_binaries()[i] for i in rng.choice(2415, 60, replace=False)]
    rows = [(a, b, x) for a, b in pairs for x in (0.1, 0.3, 0.5, 0.7, 0.9)]
    frame = pd.DataFrame(rows, columns=["A", "B", "x_B"])
    feats = source.features(frame["A"].to_numpy(), frame["B"].to_numpy(), frame["x_B"].to_numpy())
    names = list(source.names)
    signal = 0.004 * feats[:, names.index("Hfus_avgdev")] * 100 - 0.5 * feats[:, names.index("Column_avgdev")]
    frame["hmix_kJ_per_mol"] = hmix(frame["A"], frame["B"], frame["x_B"]) + signal + rng.normal(0, 0.3, len(frame))
    frame["source_type"] = np.where(np.arange(len(frame)) % 17 == 0, "aimd", "calphad")
    frame["source"] = "synthetic"
    return model_data(frame, source)


def test_model_data_target_is_data_minus_miedema(synthetic):
    np.testing.assert_allclose(synthetic.y + synthetic.miedema, synthetic.frame["hmix_kJ_per_mol"])
    assert synthetic.X.shape == (300, 44)
    assert set(synthetic.miedema_group) <= {"TM-TM", "TM-nonTM", "nonTM-nonTM"}


def test_group_weights_are_least_squares_clipped():
    group = np.array(["TM-TM"] * 3 + ["TM-nonTM"] * 3 + ["nonTM-nonTM"] * 3)
    correction = np.array([1.0, 2.0, 3.0, 1.0, 1.0, 1.0, 1.0, -1.0, 2.0])
    target = np.array([0.5, 1.0, 1.5, -1.0, -1.0, -1.0, 5.0, -5.0, 10.0])
    w = group_weights(correction, target, group)
    assert w == {"TM-TM": 0.5, "TM-nonTM": 0.0, "nonTM-nonTM": 1.0}
    np.testing.assert_allclose(apply_weights(correction, group, w), [0.5, 1, 1.5, 0, 0, 0, 1, -1, 2])


def test_bootstrap_lowers_weights_of_noisy_groups_only():
    rng = np.random.default_rng(1)
    binaries = np.repeat([f"B{i}" for i in range(40)], 5)
    correction = rng.normal(0, 1, 200)
    clean = 0.8 * correction + rng.normal(0, 0.05, 200)
    noisy = 0.8 * correction + rng.normal(0, 5.0, 200)
    group = np.array(["TM-TM"] * 200)
    plain = group_weights(correction, noisy, group)["TM-TM"]
    careful = group_weights(correction, noisy, group, binaries, z=1.0)["TM-TM"]
    assert careful < plain
    assert group_weights(correction, clean, group, binaries, z=1.0)["TM-TM"] == pytest.approx(0.8, abs=0.05)


def test_balanced_sample_weights_give_each_label_the_same_total():
    labels = np.array(["TM-TM", "TM-TM", "TM-TM", "nonTM-nonTM", "TM-nonTM", "TM-nonTM"])
    w = balanced_sample_weights(labels)
    np.testing.assert_allclose(w, [2 / 3, 2 / 3, 2 / 3, 2.0, 1.0, 1.0])
    assert w.mean() == pytest.approx(1.0)
    np.testing.assert_array_equal(balanced_sample_weights(np.array(["a", "a"])), [1.0, 1.0])


def test_unknown_sample_weighting_is_refused():
    with pytest.raises(ValueError, match="sample_weighting"):
        InnerSettings(sample_weighting="per_binary")


def test_group_weighting_fits_the_small_group_better(synthetic):
    # A minority group whose residual is shifted: balanced weights make the trees fit it instead of averaging it
    # away under the majority.
    rows = np.arange(len(synthetic.y))
    small = synthetic.miedema_group == min(set(synthetic.miedema_group), key=list(synthetic.miedema_group).count)
    shifted = dataclasses.replace(synthetic, y=synthetic.y + np.where(small, 6.0, 0.0))
    folds = grouped_folds(shifted.groups, 3, seed=1)
    errors = {}
    for scheme in ("none", "miedema_group"):
        w = sample_weights(shifted, rows, scheme)
        fit = cv_predict(shifted, rows, folds, shifted.feature_names, {**FAST, "n_estimators": 10}, 0, 1, w)
        train = np.mean([np.mean((b.predict(shifted.X[small]) - shifted.y[small]) ** 2) for b in fit.boosters])
        errors[scheme] = train
    assert sample_weights(shifted, rows, "none") is None
    assert errors["miedema_group"] < errors["none"]


def test_nested_fold_identical_at_one_and_two_threads(synthetic):
    settings = small_inner_settings()
    folds = grouped_folds(synthetic.groups, 4, seed=3)
    one = outer_fold(synthetic, folds, 0, settings, seed=7, threads=1)[0]
    two = outer_fold(synthetic, folds, 0, settings, seed=7, threads=2)[0]
    pd.testing.assert_frame_equal(one, two, check_exact=True)


def test_end_taper_vanishes_at_pure_elements_only():
    np.testing.assert_allclose(
        end_taper(np.array([0.0, 0.05, 0.1, 0.5, 0.9, 0.95, 1.0])),
        [0.0, 0.0475 / 0.09, 1.0, 1.0, 1.0, 0.0475 / 0.09, 0.0],
    )


def test_rfe_path_eliminates_one_feature_per_step_and_is_reproducible(synthetic):
    path = rfe_repeat(synthetic, 0, RfeSettings(FAST, fits_per_step=2, min_features=40), root_seed=1)
    assert list(path["n_features"]) == [44, 43, 42, 41, 40]
    assert path["removed"].iloc[-1] == "" and path["removed"].iloc[:-1].is_unique
    again = rfe_repeat(synthetic, 0, RfeSettings(FAST, fits_per_step=2, min_features=40), root_seed=1)
    pd.testing.assert_frame_equal(path, again)


def test_feature_choice_counts_survivors():
    paths = pd.DataFrame(
        {
            "repeat": [0, 0, 1, 1],
            "n_features": [3, 2, 3, 2],
            "rmse_mean": [1.0, 2.0, 3.0, 4.0],
            "rmse_std": 0.0,
            "removed": ["c", "", "b", ""],
            "kept": ["a;b;c", "a;b", "a;b;c", "a;c"],
        }
    )
    assert feature_frequencies(paths, 2).to_dict() == {"a": 2, "b": 1, "c": 1}
    # b and c survive once each and are removed at the same depth: the name breaks the tie.
    assert choose_features(paths, 2) == ["a", "b"]
    # When c is removed later (with fewer features left) than b, c wins the tie.
    deeper = paths.assign(n_features=[4, 2, 3, 2], removed=["b", "", "c", ""], kept=["a;b;c", "a;c", "a;b;c", "a;b"])
    assert choose_features(deeper, 2) == ["a", "c"]
    curve = rfe_curve(paths)
    assert list(curve["n_features"]) == [3, 2] and curve["rmse_mean"].tolist() == [2.0, 3.0]


def test_outer_fold_never_trains_on_its_test_binaries(synthetic, tmp_path):
    settings = small_inner_settings()
    folds = grouped_folds(synthetic.groups, 4, seed=5)
    excluded = synthetic.frame["source_type"].to_numpy() == "aimd"
    pred, model, inner = outer_fold(synthetic, folds, 1, settings, seed=2, threads=1, train_excluded=excluded)
    test_groups = set(synthetic.groups[folds == 1])
    assert set(pred["A"] + "-" + pred["B"]) == test_groups
    assert model.info["n_train_rows"] == int(((folds != 1) & ~excluded).sum())
    assert len(inner.features) >= 42 and set(inner.weights) == {"TM-TM", "TM-nonTM", "nonTM-nonTM"}
    # The saved model reproduces the fold's predictions exactly.
    model.save(tmp_path / "m")
    again = TrainedModel.load(tmp_path / "m").predict_points(
        FeatureSource(), pred["A"].to_numpy(), pred["B"].to_numpy(), pred["x_B"].to_numpy()
    )
    np.testing.assert_allclose(again, pred["predicted_kJ_per_mol"], atol=1e-9)


def test_correction_beats_miedema_on_learnable_signal(synthetic):
    settings = InnerSettings(n_folds=3, base_params={**FAST, "n_estimators": 150}, rfe_n_features=10, n_trials=0)
    rows = np.arange(len(synthetic.y))
    inner = fit_inner(synthetic, rows, settings, seed=0, threads=1)
    assert inner.cv_rmse < float(np.sqrt(np.mean(synthetic.y**2)))
    model = inner.model()
    assert model.features == tuple(inner.features) and len(model.boosters) == 3
    # The ensemble's prediction on the training points is Miedema + a correction that tracks the signal.
    a, b, x = (synthetic.frame[c].to_numpy() for c in ("A", "B", "x_B"))
    fitted = model.predict_points(FeatureSource(), a, b, x) - synthetic.miedema
    assert np.sqrt(np.mean((fitted - synthetic.y) ** 2)) < 0.5 * np.sqrt(np.mean(synthetic.y**2))


def test_spread_shrinkage_trusts_agreeing_members_only():
    members = np.array([[2.0, 1.0, 0.0, 3.0], [2.0, -1.0, 0.0, 1.0]])
    shrunk, spread = spread_shrinkage(members)
    # Agreement: kept; sign disagreement: mean 0; all zero: 0; mean 2, s = √2: 2 · 4 / (4 + 2).
    np.testing.assert_allclose(spread, [0.0, np.sqrt(2), 0.0, np.sqrt(2)])
    np.testing.assert_allclose(shrunk, [2.0, 0.0, 0.0, 2.0 * 4 / 6])
    one, zero_spread = spread_shrinkage(members[:1])
    np.testing.assert_array_equal(one, members[0])
    np.testing.assert_array_equal(zero_spread, 0.0)


def test_incomplete_saved_model_is_refused(synthetic, tmp_path):
    settings = InnerSettings(n_folds=3, base_params=FAST, rfe_n_features=40, n_trials=0)
    model = fit_inner(synthetic, np.arange(len(synthetic.y)), settings, seed=0, threads=1).model()
    model.save(tmp_path)
    (tmp_path / "member_01.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"member_01\.txt missing"):
        TrainedModel.load(tmp_path)
    (tmp_path / "meta.json").write_text('{"features": [], "params": {}, "weights": {}}')
    with pytest.raises(FileNotFoundError, match="older hmixal"):
        TrainedModel.load(tmp_path)


def test_missing_model_names_the_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="snakemake"):
        TrainedModel.load(tmp_path)
