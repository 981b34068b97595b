"""Tests of the out-of-fold error metrics (metrics.json) on hand-computable tables."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from hmixal.metrics import aimd_comparison, cv_metrics, errors, model_vs_miedema


def oof_table(predicted: list[float]) -> pd.DataFrame:
    """Four rows: two CALPHAD (TM-TM), two AIMD (Ir–Ti TM-TM, Al–Ir TM-nonTM); Miedema errs by −2 everywhere."""
    return pd.DataFrame(
        {
            "A": ["Cu", "Cu", "Ir", "Al"],
            "B": ["Ni", "Ni", "Ti", "Ir"],
            "x_B": [0.3, 0.7, 0.5, 0.5],
            "hmix_kJ_per_mol": [1.0, 2.0, -80.0, -70.0],
            "source_type": ["calphad", "calphad", "aimd", "aimd"],
            "miedema_group": ["TM-TM", "TM-TM", "TM-TM", "TM-nonTM"],
            "miedema_kJ_per_mol": [-1.0, 0.0, -82.0, -72.0],
            "predicted_kJ_per_mol": predicted,
        }
    )


def test_errors_by_hand() -> None:
    assert errors([0.0, 0.0], [3.0, -4.0]) == {"rmse": math.sqrt(12.5), "mae": 3.5, "n": 2}
    empty = errors([], [])
    assert empty["n"] == 0 and math.isnan(empty["rmse"])


def test_model_vs_miedema_ratio_and_binaries() -> None:
    block = model_vs_miedema(oof_table([2.0, 3.0, -79.0, -69.0]))  # the model errs by +1 everywhere
    assert block["model"]["rmse"] == pytest.approx(1.0) and block["miedema"]["rmse"] == pytest.approx(2.0)
    assert block["rmse_ratio"] == pytest.approx(0.5) and block["n_binaries"] == 3


def test_aimd_comparison_overall_per_group_and_element() -> None:
    before = oof_table([0.0, 0.0, -84.0, -70.0])  # AIMD errors −4 and 0
    after = oof_table([0.0, 0.0, -81.0, -73.0])  # AIMD errors −1 and −3
    result = aimd_comparison(before, after, elements=("Ir", "Ti"))
    assert set(result) == {"overall", "TM-TM", "TM-nonTM", "Ir", "Ti"}
    assert result["overall"]["before"]["rmse"] == pytest.approx(math.sqrt(8.0))
    assert result["overall"]["after"]["rmse"] == pytest.approx(math.sqrt(5.0))
    assert result["TM-TM"]["before"]["rmse"] == pytest.approx(4.0) and result["TM-TM"]["after"]["n"] == 1
    assert result["TM-nonTM"]["after"]["mae"] == pytest.approx(3.0)
    assert result["Ti"]["miedema"] == {"rmse": 2.0, "mae": 2.0, "n": 1}
    assert result["Ir"]["after"]["n"] == 2


def test_cv_metrics_sections() -> None:
    table = oof_table([2.0, 3.0, -79.0, -69.0])
    document = cv_metrics(table, table)
    assert set(document) == {"overall", "per_miedema_group", "per_source_type", "aimd", "headline", "units"}
    assert set(document["per_miedema_group"]) == {"TM-TM", "TM-nonTM"}
    assert set(document["headline"]) == {"overall", "TM-TM", "TM-nonTM"}
    assert document["headline"]["overall"]["per_point"]["ratio"] == pytest.approx(0.5)
    assert document["per_source_type"]["aimd"]["n_binaries"] == 2


def test_headline_ratios_per_point_and_per_binary_by_hand() -> None:
    from hmixal.metrics import headline_ratios

    # Binary Cu-Ni: 2 points, model errs 1, Miedema 2; Ir-Ti: 1 point, model 3, Miedema 1.
    oof = pd.DataFrame(
        {
            "A": ["Cu", "Cu", "Ir"],
            "B": ["Ni", "Ni", "Ti"],
            "hmix_kJ_per_mol": [0.0, 0.0, 0.0],
            "predicted_kJ_per_mol": [1.0, -1.0, 3.0],
            "miedema_kJ_per_mol": [2.0, 2.0, 1.0],
        }
    )
    out = headline_ratios(oof, seed=3, draws=400)
    assert out["per_point"]["ratio"] == pytest.approx(math.sqrt(11 / 9))
    assert out["per_binary"]["ratio"] == pytest.approx(math.sqrt((1 + 9) / (4 + 1)))
    low, high = out["per_point"]["interval"]
    assert low <= out["per_point"]["ratio"] <= high
    # Resampling two binaries can give only Cu-Ni (0.5), only Ir-Ti (3) or both.
    assert low == pytest.approx(0.5) and high == pytest.approx(3.0)
    assert out["worst_binaries"]["binaries"] == ["Ir-Ti", "Cu-Ni"]
    assert out["worst_binaries"]["share_of_squared_error"] == pytest.approx(1.0)
    assert out["bootstrap"] == {"unit": "binary", "draws": 400, "seed": 3}
    assert headline_ratios(oof, seed=3, draws=400) == out  # seeded: identical on rerun
