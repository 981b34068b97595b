"""The loop closed with a stand-in engine (hmixal.aimd.stand_in): variants, held-out AIMD, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hmixal.aimd.stand_in import VARIANTS, retrain_with_stand_in, scores
from hmixal.errors import InputError
from hmixal.features import FeatureSource
from hmixal.model import model_data
from hmixal.nested_cv import InnerSettings, refit

REPO = Path(__file__).resolve().parent.parent
SYSTEMS = ["Ir-Ti", "Al-Ir", "Os-Zr", "Re-Ti", "W-Zr"]
FEATURES = [
    "Column_avgdev",
    "MendeleevNumber_avgdev",
    "NValence_mean",
    "Electronegativity_mean",
    "Electronegativity_avgdev",
]
PARAMS = {"n_estimators": 20, "learning_rate": 0.1, "num_leaves": 7, "min_child_samples": 5, "max_bin": 63}
SETTINGS = InnerSettings(n_folds=3)


@pytest.fixture(scope="module")
def dataset() -> pd.DataFrame:
    """Calphad rows of 40 binaries and the paper's AIMD rows of five systems (both committed)."""
    calphad = pd.read_csv(REPO / "data" / "derived" / "calphad_hmix.csv")
    keep = sorted(set(calphad["A"] + "-" + calphad["B"]))[:40]
    calphad = calphad[(calphad["A"] + "-" + calphad["B"]).isin(keep)]
    aimd = pd.read_csv(REPO / "data" / "aimd_bizot2026.csv", comment="#")
    aimd = aimd[(aimd["A"] + "-" + aimd["B"]).isin(SYSTEMS) & (aimd["status"] == "value")]
    columns = ["A", "B", "x_B", "hmix_kJ_per_mol", "T_K", "source_type", "source"]
    return pd.concat([calphad[columns], aimd[columns]], ignore_index=True)


def stand_in_rows(dataset: pd.DataFrame, shift: float) -> pd.DataFrame:
    rows = dataset[dataset["source_type"] == "aimd"].copy()
    rows["hmix_kJ_per_mol"] += shift
    rows["source_type"] = "potential_md"
    rows["source"] = "stand-in"
    return rows


def test_a_perfect_stand_in_trains_as_aimd_does(dataset: pd.DataFrame) -> None:
    source = FeatureSource()
    table = retrain_with_stand_in(dataset, stand_in_rows(dataset, 0.0), source, FEATURES, PARAMS, SETTINGS, 7)
    assert sorted(table["system"]) == sorted(SYSTEMS)
    assert np.isfinite(table[list(VARIANTS)].to_numpy()).all()
    # stand-in values equal to AIMD's: the same rows, only the label differs → the model trained with all AIMD
    data = model_data(dataset, source)
    after = refit(data, np.arange(len(dataset)), FEATURES, PARAMS, SETTINGS, 7, 1)
    expected = after.predict_points(source, table["A"].to_numpy(), table["B"].to_numpy(), table["x_B"].to_numpy())
    np.testing.assert_allclose(table["stand_in"], expected, rtol=1e-10)
    np.testing.assert_allclose(table["aimd"], expected, rtol=1e-10)
    np.testing.assert_allclose(table["stand_in_loo"], table["aimd_loo"], rtol=1e-10)
    # the AIMD values never train a stand-in variant: shifting the stand-in by 10 kJ/mol moves its predictions
    shifted = retrain_with_stand_in(dataset, stand_in_rows(dataset, 10.0), source, FEATURES, PARAMS, SETTINGS, 7)
    assert (shifted["stand_in"] - table["stand_in"]).mean() > 0.0
    np.testing.assert_allclose(shifted["before"], table["before"])
    np.testing.assert_allclose(shifted["aimd_loo"], table["aimd_loo"])
    np.testing.assert_allclose(shifted["aimd"], table["aimd"])
    summary = scores(table)
    assert summary["n_systems"] == 5 and summary["stand_in_kJ_per_mol"]["mae"] == 0.0
    same = summary["paired"]["stand_in_minus_aimd"]  # identical predictions: no gain, a zero-width interval
    assert same["mean_abs_error_drop"] == pytest.approx(0.0, abs=1e-9)
    assert same["ci95"] == pytest.approx([0.0, 0.0], abs=1e-9)
    gain = summary["paired"]["before_minus_aimd"]
    assert gain["ci95"][0] <= gain["mean_abs_error_drop"] <= gain["ci95"][1]


def test_bad_stand_in_rows_are_refused(dataset: pd.DataFrame) -> None:
    source = FeatureSource()
    with pytest.raises(InputError, match="no stand-in rows"):
        retrain_with_stand_in(dataset, dataset.iloc[:0], source, FEATURES, PARAMS, SETTINGS, 7)
    with pytest.raises(InputError, match="must be potential_md"):
        retrain_with_stand_in(dataset, dataset[dataset["source_type"] == "aimd"], source, FEATURES, PARAMS, SETTINGS, 7)
    elsewhere = stand_in_rows(dataset, 0.0).assign(A="Ag", B="Cu")
    with pytest.raises(InputError, match="none of the AIMD systems"):
        retrain_with_stand_in(dataset, elsewhere, source, FEATURES, PARAMS, SETTINGS, 7)
