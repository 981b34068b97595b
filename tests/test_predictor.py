"""Tests of predictions with calibrated intervals, domain flags and the binary's own data (hmixal.predictor)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hmixal.domain import COVERAGE_NONE
from hmixal.errors import MissingArtifactError
from hmixal.features import FeatureSource
from hmixal.model import excluded_before_aimd, model_data
from hmixal.nested_cv import InnerSettings, outer_fold
from hmixal.predictor import PREDICTION_COLUMNS, Predictor, predict_alloys, warnings_for
from hmixal.splits import grouped_folds
from trained_results import FAST, build_results, small_dataset


@pytest.fixture(scope="module")
def dataset() -> pd.DataFrame:
    return small_dataset()


@pytest.fixture(scope="module")
def predictor(tmp_path_factory) -> Predictor:
    """A model trained on the small dataset, saved and loaded the way the pipeline does."""
    root = build_results(tmp_path_factory.mktemp("results"))
    return Predictor.load(root / "model" / "final_after", root / "model" / "calibration.json")


def test_prediction_columns_and_intervals(predictor) -> None:
    out = predictor.predict(np.array(["Al", "Al"]), np.array(["Ni", "Ni"]), np.array([0.25, 0.5]))
    assert list(out.columns) == list(PREDICTION_COLUMNS)
    assert (out["lower_95_kJ_per_mol"] < out["hmix_kJ_per_mol"]).all()
    assert (out["upper_95_kJ_per_mol"] > out["hmix_kJ_per_mol"]).all()
    assert (out["n_data_points"] == 4).all() and not out["extrapolation"].any()
    assert (out["nn_binary"] == "Al-Ni").all() and (out["nn_distance"] == 0).all()
    # The model follows Al-Ni's four points within its stated uncertainty: no flag.
    assert not out["contradicts_data"].any()


def test_an_element_without_data_is_flagged_and_gets_the_wide_interval(predictor) -> None:
    out = predictor.predict(np.array(["C", "Al"]), np.array(["Ni", "Ni"]), np.array([0.5, 0.5]))
    unseen, seen = out.iloc[0], out.iloc[1]
    assert unseen["n_train_binaries_A"] == 0 and unseen["coverage"] == COVERAGE_NONE and unseen["extrapolation"]
    # Same spread floor, three times the calibrated quantile: the interval says the element has no data.
    assert unseen["uncertainty_kJ_per_mol"] >= 3.0
    assert seen["uncertainty_kJ_per_mol"] < np.hypot(
        seen["data_rms_residual_kJ_per_mol"], unseen["uncertainty_kJ_per_mol"]
    )
    lines = warnings_for(out)
    assert lines == [
        "C-Ni: extrapolation, no training binary contains C; the interval is calibrated on elements and binaries "
        "the data hold and may understate the error here"
    ]


def test_a_binary_whose_only_point_the_model_misses_says_so(predictor) -> None:
    out = predictor.predict(np.array(["Ir"]), np.array(["Ti"]), np.array([0.5])).iloc[0]
    data = predictor.data_for("Ir", "Ti")
    assert len(data) == 1 and data.loc[0, "source_type"] == "aimd"
    residual = abs(out["hmix_kJ_per_mol"] - data.loc[0, "hmix_kJ_per_mol"])
    assert out["n_data_points"] == 1 and out["data_rms_residual_kJ_per_mol"] == pytest.approx(residual)
    # The stated 68 % half-width is at least the miss, so the data point is never far outside it.
    assert out["uncertainty_kJ_per_mol"] >= residual
    assert out["lower_95_kJ_per_mol"] <= data.loc[0, "hmix_kJ_per_mol"]
    assert out["contradicts_data"]
    lines = warnings_for(predictor.predict(np.array(["Ir"]), np.array(["Ti"]), np.array([0.5])))
    assert any(line.startswith("Ir-Ti: the model departs from its own training data") for line in lines)


def test_alloys_carry_intervals_and_the_extrapolated_binaries(predictor) -> None:
    out = predict_alloys(predictor, ["AlCoCrFeNi", "AlCNi"])
    assert (out["lower_95_kJ_per_mol"] < out["hmix_kJ_per_mol"]).all()
    assert (out["hmix_kJ_per_mol"] < out["upper_95_kJ_per_mol"]).all()
    assert out.loc[0, "extrapolated_binaries"] == ""
    assert out.loc[1, "extrapolated_binaries"] == "Al-C C-Ni"


def test_a_model_folder_without_its_training_data_is_refused(predictor, tmp_path) -> None:
    directory = tmp_path / "old"
    predictor.model.save(directory)
    with pytest.raises(MissingArtifactError, match=r"has no training_data.csv.*rebuild"):
        Predictor.load(directory, tmp_path / "calibration.json")


def test_before_aimd_is_one_mask(dataset) -> None:
    mask = excluded_before_aimd(dataset, ["aimd"])
    assert mask.sum() == 1 and dataset.loc[mask, "A"].item() == "Ir"
    assert not excluded_before_aimd(dataset, []).any()


def test_outer_fold_rows_carry_spread_and_the_folds_own_coverage(dataset) -> None:
    data = model_data(dataset, FeatureSource())
    folds = grouped_folds(data.groups, 3, seed=1)
    settings = InnerSettings(n_folds=3, base_params=FAST, rfe_n_features=8, n_trials=0)
    out = outer_fold(data, folds, 0, settings, seed=0, threads=1)[0]
    assert (out["member_spread_kJ_per_mol"] >= 0).all() and out["member_spread_kJ_per_mol"].gt(0).any()
    train = dataset[folds != 0]
    for row in out.drop_duplicates(["A", "B"]).itertuples():
        expected = ((train["A"] == row.A) | (train["B"] == row.A)).groupby([train["A"], train["B"]]).any().sum()
        assert row.n_train_binaries_A == expected
        assert row.nn_distance > 0  # a held-out binary is never its own neighbour


def test_element_holdout_predicts_each_elements_rows_without_it(dataset, predictor) -> None:
    from hmixal.calibration import fit_calibration, holdout_coverage
    from hmixal.element_holdout import HOLDOUT_COLUMNS, element_holdout

    data = model_data(dataset, FeatureSource())
    table = element_holdout(data, predictor.model, n_folds=3, sample_weighting="miedema_group", seed=0, threads=1)
    assert list(table.columns) == list(HOLDOUT_COLUMNS)
    # Every row appears once for each of its two elements.
    assert len(table) == 2 * len(dataset)
    for element, part in table.groupby("held_out_element"):
        assert ((part["A"] == element) | (part["B"] == element)).all()
    # Ir-Ti lies 35 kJ/mol off its family: with Ir held out the model cannot know that.
    ir = table[(table["held_out_element"] == "Ir") & (table["B"] == "Ti")].iloc[0]
    assert abs(ir["predicted_kJ_per_mol"] - ir["hmix_kJ_per_mol"]) > 20
    again = element_holdout(data, predictor.model, n_folds=3, sample_weighting="miedema_group", seed=0, threads=1)
    pd.testing.assert_frame_equal(table, again)
    # The holdout rows calibrate the no-data class, never below the scarce class, and are checked element-wise.
    residual = np.zeros(len(dataset))
    classes = np.full(len(dataset), "covered")
    binaries = (dataset["A"] + "-" + dataset["B"]).to_numpy()
    fitted = fit_calibration(residual + 1.0, np.ones(len(dataset)), classes, binaries, holdout=table)
    assert fitted.n_points[COVERAGE_NONE] == len(table)
    assert fitted.quantiles[COVERAGE_NONE]["0.95"] >= fitted.quantiles["scarce"]["0.95"]
    coverage = holdout_coverage(table, fitted.tau, {"0.95": 0.0}, levels=(0.95,))
    assert coverage.loc[0, "n_points"] == len(table) and 0.8 <= coverage.loc[0, "observed"] <= 1.0
