"""Tests of the calibrated intervals (hmixal.calibration) and the domain of applicability (hmixal.domain)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from hmixal.calibration import (
    ALL,
    Calibration,
    conformal_quantile,
    cross_fitted_coverage,
    fit_calibration,
    fit_tau,
    raw_coverage,
    scale,
)
from hmixal.domain import (
    COVERAGE_COVERED,
    COVERAGE_NONE,
    COVERAGE_SCARCE,
    SCARCE_MAX_BINARIES,
    TrainingDomain,
    coverage_class,
    element_counts,
)
from hmixal.errors import InputError, MissingArtifactError


def test_conformal_quantile_by_hand() -> None:
    scores = np.arange(1.0, 11.0)  # 1 … 10
    assert conformal_quantile(scores, 0.5) == 6.0  # ⌈11 · 0.5⌉ = 6th smallest
    assert conformal_quantile(scores, 0.9) == 10.0  # ⌈9.9⌉ = 10th
    assert math.isinf(conformal_quantile(scores, 0.95))  # ⌈10.45⌉ = 11 > n: no finite bound


def test_tau_recovers_the_floor_of_heteroscedastic_noise() -> None:
    rng = np.random.default_rng(1)
    spread = rng.uniform(0.0, 5.0, 20000)
    residual = rng.normal(0.0, 1.0, spread.size) * scale(spread, 2.0) * 1.5  # c = 1.5, τ = 2
    assert fit_tau(residual, spread) == pytest.approx(2.0, rel=0.1)


def synthetic_oof(n_binaries: int = 120, seed: int = 0) -> pd.DataFrame:
    """Out-of-fold rows whose residuals are Gaussian with σ = 1.3·sqrt(s² + 1), twice as large for scarce ones."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n_binaries):
        cls = (COVERAGE_COVERED, COVERAGE_SCARCE, COVERAGE_NONE)[k % 3]
        factor = {COVERAGE_COVERED: 1.0, COVERAGE_SCARCE: 2.0, COVERAGE_NONE: 3.0}[cls]
        for x in (0.1, 0.3, 0.5, 0.7, 0.9):
            s = rng.uniform(0.2, 4.0)
            r = rng.normal(0.0, 1.3 * factor * math.hypot(s, 1.0))
            rows.append((f"E{k}", "Zz", x, 0.0, r, s, cls, k % 6))
    columns = ["A", "B", "x_B", "hmix_kJ_per_mol", "predicted_kJ_per_mol", "member_spread_kJ_per_mol"]
    return pd.DataFrame(rows, columns=[*columns, "coverage", "fold"])


def test_cross_fitted_coverage_is_nominal_per_class() -> None:
    oof = synthetic_oof(300)
    curve = cross_fitted_coverage(oof, levels=(0.68, 0.95))
    for row in curve.itertuples():
        assert abs(row.observed - row.expected) < 0.04, row
    # Read as a Gaussian σ, the raw spread covers far less than nominal: the reason to calibrate.
    raw = raw_coverage(oof, "member_spread_kJ_per_mol")
    assert raw["0.68"] < 0.5


def test_scarce_points_get_wider_intervals_and_the_record_round_trips(tmp_path) -> None:
    oof = synthetic_oof(150)
    fitted = fit_calibration(
        oof["predicted_kJ_per_mol"],
        oof["member_spread_kJ_per_mol"],
        oof["coverage"],
        oof["A"] + "-" + oof["B"],
    )
    spread = np.array([1.0, 1.0, 1.0])
    widths = fitted.half_width(spread, np.array([COVERAGE_COVERED, COVERAGE_SCARCE, COVERAGE_NONE]), 0.95)
    assert widths[0] < widths[1] < widths[2]
    assert fitted.n_binaries[ALL] == 150
    path = tmp_path / "calibration.json"
    fitted.save(path)
    assert Calibration.load(path) == fitted


def test_a_thin_class_is_never_narrower_than_a_better_covered_one() -> None:
    oof = synthetic_oof(60)
    oof.loc[oof["coverage"] == COVERAGE_NONE, "coverage"] = COVERAGE_SCARCE
    oof.loc[oof["A"] == "E0", "coverage"] = COVERAGE_NONE  # one binary with no element data, small residuals
    oof.loc[oof["A"] == "E0", "predicted_kJ_per_mol"] = 0.01
    fitted = fit_calibration(
        oof["predicted_kJ_per_mol"], oof["member_spread_kJ_per_mol"], oof["coverage"], oof["A"] + "-" + oof["B"]
    )
    assert fitted.n_binaries[COVERAGE_NONE] == 1
    for level in ("0.68", "0.95"):
        q = fitted.quantiles
        assert q[COVERAGE_NONE][level] >= q[COVERAGE_SCARCE][level] >= q[COVERAGE_COVERED][level]


def test_too_few_points_for_a_level_still_give_a_finite_interval_and_plain_json(tmp_path) -> None:
    oof = synthetic_oof(30)
    oof.loc[oof["coverage"] == COVERAGE_NONE, "coverage"] = COVERAGE_SCARCE
    oof.loc[oof.index[:2], "coverage"] = COVERAGE_NONE  # two points: no conformal 95 % quantile exists
    fitted = fit_calibration(
        oof["predicted_kJ_per_mol"], oof["member_spread_kJ_per_mol"], oof["coverage"], oof["A"] + "-" + oof["B"]
    )
    assert all(math.isfinite(q) for levels in fitted.quantiles.values() for q in levels.values())
    path = tmp_path / "calibration.json"
    fitted.save(path)

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in calibration.json")

    json.loads(path.read_text(), parse_constant=refuse)


def test_a_missing_or_broken_calibration_is_refused(tmp_path) -> None:
    with pytest.raises(MissingArtifactError, match="snakemake"):
        Calibration.load(tmp_path / "nothing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"tau_kJ_per_mol": 1.0, "quantiles": {"all": {"0.68": 1.0}}, "n_points": {}, "n_binaries": {}}')
    with pytest.raises(InputError, match=r"broken.json: calibration lacks the 0.95 quantile"):
        Calibration.load(broken)


def test_coverage_class_and_element_counts() -> None:
    counts = element_counts([("Al", "Ni"), ("Ni", "Al"), ("Al", "Cu")])
    assert counts == {"Al": 2, "Ni": 1, "Cu": 1}
    classes = coverage_class(np.array([0, 3, SCARCE_MAX_BINARIES + 1]), np.array([9, 9, 40]))
    assert list(classes) == [COVERAGE_NONE, COVERAGE_SCARCE, COVERAGE_COVERED]


def test_training_domain_flags_unseen_elements_and_far_binaries() -> None:
    # Features: a 2-D embedding; training binaries sit on a unit grid, one query far away, one unseen element.
    position = {"Al": 0.0, "Cu": 1.0, "Ni": 2.0, "Zr": 3.0, "Ti": 4.0, "C": 50.0}

    def features(a, b, x):
        return np.column_stack([[position[e] for e in a], [position[e] for e in b]])

    training = [("Al", "Cu"), ("Al", "Ni"), ("Cu", "Ni"), ("Cu", "Zr"), ("Ni", "Zr"), ("Al", "Zr"), ("Ni", "Ti")]
    domain = TrainingDomain.build(training, features)
    out = domain.describe(np.array(["Al", "Cu", "C"]), np.array(["Cu", "Ti", "Ni"]), features)
    assert list(out["n_train_binaries_A"]) == [3, 3, 0] and list(out["n_train_binaries_B"]) == [3, 1, 4]
    assert out.loc[0, "nn_distance"] == 0.0 and out.loc[0, "nn_binary"] == "Al-Cu"
    assert not out.loc[0, "extrapolation"]
    assert out.loc[2, "coverage"] == COVERAGE_NONE and out.loc[2, "extrapolation"]
    assert out.loc[2, "nn_distance"] > domain.distance_limit


def test_an_edited_calibration_is_refused(tmp_path) -> None:
    oof = synthetic_oof(60)
    fitted = fit_calibration(
        oof["predicted_kJ_per_mol"], oof["member_spread_kJ_per_mol"], oof["coverage"], oof["A"] + "-" + oof["B"]
    )
    path = tmp_path / "results" / "model" / "calibration.json"
    fitted.save(path)
    assert Calibration.load(path) == fitted
    path.write_text(path.read_text().replace('"tau_kJ_per_mol": ', '"tau_kJ_per_mol": 1'))
    with pytest.raises(InputError, match=r"calibration.json: .*edited or replaced after the rule wrote it"):
        Calibration.load(path)
