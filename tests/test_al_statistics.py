"""Tests of the AL benchmark's fixed-budget endpoints (hmixal.al_statistics) and of the area without iteration 0."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hmixal.active_learning import summarise
from hmixal.al_statistics import (
    ENDPOINT_COLUMNS,
    SUMMARY_TEST_COLUMNS,
    bootstrap_interval,
    budget_iterations,
    endpoints,
    holdout_ratio,
    nadeau_bengio_se,
    naive_se,
    paired_differences,
    summary_with_tests,
    wilcoxon_p,
)
from hmixal.errors import InputError
from hmixal.splits import derive_seed

SEED = 20251125


def table(curves: dict[str, dict[int, list[float]]], batch: int = 4) -> pd.DataFrame:
    """Results rows (approach, split, iteration, n_acquired, n_binaries, rmse) from RMSE curves per approach and
    split (one point per binary)."""
    rows = [
        (a, s, i, batch * i, batch * i, r, "")
        for a, by_split in curves.items()
        for s, rmse in by_split.items()
        for i, r in enumerate(rmse)
    ]
    columns = ["approach", "split", "iteration", "n_acquired", "n_binaries", "rmse", "acquired_rows"]
    return pd.DataFrame(rows, columns=columns)


# Four splits, iterations 0–3, so the budgets are iterations 1, 2 and 3. Random: 10 − i + s on split s.
# gp_points = random + d, with d (per split 0..3) chosen exact in binary so the mean curves compare exactly:
D = {
    0: [0.0, 0.0, 0.0, 0.0],
    1: [0.25, -0.25, 0.25, -0.25],  # mean 0: gp's mean curve 10.5 = random's at iteration 1
    2: [-0.75, -1.25, -1.0, -1.0],  # mean −1: gp's mean 9.5 − 1 = 8.5, random's mean at iteration 3
    3: [-0.5, -0.75, -1.25, -1.5],  # mean −1: gp's mean 7.5, below random's whole curve
}


def hand_results() -> pd.DataFrame:
    random = {s: [10.0 - i + s for i in range(4)] for s in range(4)}
    gp = {s: [10.0 - i + s + D[i][s] for i in range(4)] for s in range(4)}
    return table({"random": random, "gp_points": gp})


def hand_splits() -> pd.DataFrame:
    """Each split: 2 test, 1 train and 3 pool binaries → n₂/n₁ = 2 / (1 + 3) = 0.5."""
    roles = ["test", "test", "train", "pool", "pool", "pool"]
    return pd.DataFrame(
        [(s, f"B{k}", role) for s in range(4) for k, role in enumerate(roles)], columns=["split", "binary", "role"]
    )


def test_budgets_are_thirds_of_the_run():
    assert budget_iterations(29) == {"third": 10, "two_thirds": 19, "end": 29}  # 9.67 → 10, 19.33 → 19
    assert budget_iterations(51) == {"third": 17, "two_thirds": 34, "end": 51}
    assert budget_iterations(5) == {"third": 2, "two_thirds": 3, "end": 5}  # 1.67 → 2, 3.33 → 3
    assert budget_iterations(1) == {"third": 1, "two_thirds": 1, "end": 1}  # never iteration 0
    with pytest.raises(ValueError, match="n_iterations"):
        budget_iterations(0)


def test_holdout_ratio_counts_train_and_pool_as_training():
    ratio = holdout_ratio(hand_splits())
    assert ratio.index.tolist() == [0, 1, 2, 3] and ratio.tolist() == [0.5] * 4
    with pytest.raises(InputError, match="lack test"):
        holdout_ratio(hand_splits().replace({"role": {"test": "pool"}}))


def test_hand_checked_end_budget():
    out = endpoints(hand_results(), holdout_ratio(hand_splits()), SEED).set_index("budget_label")
    assert out.columns.tolist() == [c for c in ENDPOINT_COLUMNS if c != "budget_label"]
    assert out.index.tolist() == ["third", "two_thirds", "end"]
    assert out["iteration"].tolist() == [1, 2, 3] and set(out["n_splits"]) == {4}
    end = out.loc["end"]
    assert end["approach"] == "gp_points" and end["approach_number"] == 4 and end["n_acquired_mean"] == 12
    assert end["test_train_ratio"] == 0.5
    # d = −0.5, −0.75, −1.25, −1.5: mean −4/4 = −1; deviations 0.5, 0.25, −0.25, −0.5;
    # s² = (0.25 + 0.0625 + 0.0625 + 0.25) / 3 = 0.625 / 3 = 5/24.
    assert end["mean_difference_kJ_per_mol"] == pytest.approx(-1.0)
    # Naive: √(s²/J) = √(5/96) = 0.228218.
    assert end["se_naive"] == pytest.approx((5 / 96) ** 0.5)
    # Nadeau–Bengio with n₂/n₁ = 0.5: (1/4 + 1/2) · 5/24 = 5/32 → SE √(5/32) = 0.395285.
    assert end["se_corrected"] == pytest.approx((5 / 32) ** 0.5)
    # t_{3, 0.975} = 3.182446; half-width 3.182446 · 0.395285 = 1.257973 → [−2.257973, 0.257973].
    assert end["ci95_corrected_low"] == pytest.approx(-1 - 3.182446 * (5 / 32) ** 0.5, abs=1e-6)
    assert end["ci95_corrected_high"] == pytest.approx(-1 + 3.182446 * (5 / 32) ** 0.5, abs=1e-6)
    # t = −1 / 0.395285 = −2.529822 (= −√6.4) with 3 degrees of freedom: two-sided p = 0.0854.
    assert end["p_corrected_t"] == pytest.approx(0.0854, abs=5e-4)
    # Four negative differences, no ties: exact two-sided p = 2 / 2⁴ = 0.125.
    assert end["p_wilcoxon"] == pytest.approx(0.125)
    # The corrected SE is √(1 + J·n₂/n₁) = √3 times the naive one here.
    assert end["se_corrected"] / end["se_naive"] == pytest.approx(3**0.5)
    # gp's mean RMSE at the end, 7.5, is below random's whole mean curve (11.5, 10.5, 9.5, 8.5): never matched.
    assert end["rmse_mean"] == 7.5 and end["rmse_reference_mean"] == 8.5
    assert np.isnan(end["random_iterations_to_match"]) and np.isnan(end["iterations_saved"])
    # At iteration 2 gp's mean is 8.5, which random reaches at iteration 3: one iteration saved.
    assert out.loc["two_thirds", "random_iterations_to_match"] == 3 and out.loc["two_thirds", "iterations_saved"] == 1
    # At iteration 1 both means are 10.5: random matches at once, nothing saved; the differences' mean is 0.
    assert out.loc["third", "iterations_saved"] == 0
    assert out.loc["third", "mean_difference_kJ_per_mol"] == pytest.approx(0, abs=1e-12)
    assert out.loc["third", "p_corrected_t"] == pytest.approx(1)


def test_summary_carries_each_budgets_test():
    results = hand_results()
    table = endpoints(results, holdout_ratio(hand_splits()), SEED)
    summary = summary_with_tests(summarise(results), table).set_index("approach")
    end = table.set_index("budget_label").loc["end"]
    for column in SUMMARY_TEST_COLUMNS:
        assert summary.loc["gp_points", f"{column}_end"] == end[column]
        assert np.isnan(summary.loc["random", f"{column}_end"])  # the reference is not tested against itself
    assert summary.loc["gp_points", "p_wilcoxon_end"] == pytest.approx(0.125)
    assert [c for c in summary.columns if c.endswith("_third")] == [f"{c}_third" for c in SUMMARY_TEST_COLUMNS]


def test_building_blocks_on_their_own():
    d = np.array([-0.5, -0.75, -1.25, -1.5])
    assert naive_se(d) == pytest.approx((5 / 96) ** 0.5)
    assert nadeau_bengio_se(d, 0) == pytest.approx(naive_se(d))  # no overlap correction: the naive SE
    assert nadeau_bengio_se(d, 0.5) == pytest.approx((5 / 32) ** 0.5)
    assert np.isnan(naive_se(d[:1])) and np.isnan(nadeau_bengio_se(d[:1], 0.5))
    with pytest.raises(ValueError, match="ratio"):
        nadeau_bengio_se(d, -1)
    # Six negative differences: exact two-sided p = 2 / 2⁶ = 0.03125.
    assert wilcoxon_p(np.array([-1.0, -2, -3, -4, -5, -6])) == pytest.approx(0.03125)
    assert wilcoxon_p(np.zeros(3)) == 1 and np.isnan(wilcoxon_p(np.array([])))
    diffs = paired_differences(hand_results(), "gp_points", 3)
    assert diffs.index.tolist() == [0, 1, 2, 3] and diffs.to_numpy() == pytest.approx(d)


def test_bootstrap_is_seeded_and_contains_the_mean():
    d = np.array([-0.5, -0.75, -1.25, -1.5, 0.3, -0.9, -0.2, -1.1])
    low, high = bootstrap_interval(d, SEED)
    assert (low, high) == bootstrap_interval(d, SEED)  # same seed, same interval
    assert (low, high) != bootstrap_interval(d, SEED + 1)
    assert d.min() < low < d.mean() < high < d.max()
    # Percentile interval of the resampled means: about mean ± 1.96 · s/√J · √((J−1)/J) for this sample.
    half = 1.96 * np.std(d, ddof=0) / np.sqrt(d.size)
    assert (high - low) / 2 == pytest.approx(half, rel=0.1)
    # endpoints() draws each row's bootstrap from its own seed, derived from the root seed, approach and budget.
    ratio = holdout_ratio(hand_splits())
    out = endpoints(hand_results(), ratio, SEED)
    pd.testing.assert_frame_equal(out, endpoints(hand_results(), ratio, SEED))
    own = bootstrap_interval(np.array(D[3]), derive_seed(SEED, "al-bootstrap", "gp_points", "end"))
    assert tuple(out.loc[2, ["ci95_bootstrap_low", "ci95_bootstrap_high"]]) == pytest.approx(own)
    assert own[0] < -1 < own[1]


def test_budgets_use_the_splits_that_reached_them_in_both_approaches():
    # Random runs 6 iterations on splits 0 and 2 but stops after 3 on split 1; gp stops after 5 on split 2.
    # Budgets (n = 6, random's last iteration): 2, 4, 6.
    random = {0: [9.0, 8, 7, 6, 5, 4, 3], 1: [9.0, 8, 7, 6], 2: [9.0, 8, 7, 6, 5, 4, 3]}
    gp = {0: [9.0, 7, 6, 5, 4, 3, 2], 1: [9.0, 8, 6, 5, 4, 3, 2], 2: [9.0, 8, 7, 6, 5, 4]}
    out = endpoints(table({"random": random, "gp_points": gp}), 0.5, SEED).set_index("budget_label")
    assert out["iteration"].tolist() == [2, 4, 6] and out["n_iterations"].tolist() == [6] * 3
    assert out["n_splits"].tolist() == [3, 2, 1]  # iteration 4: splits 0 and 2; iteration 6: split 0 only
    # Iteration 2: gp − random = −1, −1, 0 → mean −2/3; iteration 4: −1, 0 → −0.5; iteration 6: −1.
    assert out["mean_difference_kJ_per_mol"].tolist() == pytest.approx([-2 / 3, -0.5, -1])
    assert out.loc["two_thirds", "rmse_mean"] == 4.5 and out.loc["two_thirds", "rmse_reference_mean"] == 5
    # One split: no spread, so no SE, no t interval, no t-test; the bootstrap interval is the point itself.
    end = out.loc["end"]
    assert np.isnan(end["se_naive"]) and np.isnan(end["se_corrected"]) and np.isnan(end["ci95_corrected_low"])
    assert np.isnan(end["p_corrected_t"]) and end["ci95_bootstrap_low"] == end["ci95_bootstrap_high"] == -1
    # A longer run asked for explicitly: nobody reached iteration 9, so that row says so with n_splits 0.
    longer = endpoints(table({"random": random, "gp_points": gp}), 0.5, SEED, n_iterations=9)
    assert longer["iteration"].tolist() == [3, 6, 9] and longer["n_splits"].tolist() == [3, 1, 0]
    assert np.isnan(longer["mean_difference_kJ_per_mol"].iloc[2])


def test_bad_input_names_what_is_missing():
    results = hand_results()
    ratio = holdout_ratio(hand_splits())
    with pytest.raises(InputError, match="reference approach 'random' has no results"):
        endpoints(results[results["approach"] != "random"], ratio, SEED)
    with pytest.raises(InputError, match="no approach besides 'random'"):
        endpoints(results[results["approach"] == "random"], ratio, SEED)
    lacking = results[~((results["approach"] == "gp_points") & (results["split"] == 2))]
    with pytest.raises(InputError, match=r"gp_points has no results for split\(s\) \[2\] that random ran"):
        endpoints(lacking, ratio, SEED)
    lacking = results[~((results["approach"] == "random") & (results["split"] == 1))]
    with pytest.raises(InputError, match=r"random has no results for split\(s\) \[1\] that gp_points ran"):
        endpoints(lacking, ratio, SEED)
    with pytest.raises(InputError, match=r"splits table has no split\(s\) \[3\]"):
        endpoints(results, ratio.drop(3), SEED)
    with pytest.raises(InputError, match=r"lack column\(s\) \['rmse'\]"):
        endpoints(results.drop(columns="rmse"), ratio, SEED)
    with pytest.raises(InputError, match="unknown approach"):
        endpoints(results.replace({"approach": {"gp_points": "thompson"}}), ratio, SEED)
    with pytest.raises(InputError, match="random split 1 iteration 0 twice"):  # row 4: split 1, iteration 0
        endpoints(pd.concat([results, results.iloc[[4]]]), ratio, SEED)


def test_area_leaves_out_iteration_zero():
    # random 10, 6, 4 and gp 10, 5, 3. From iteration 1: areas (6 + 4)/2 = 5 and (5 + 3)/2 = 4 → ratio 0.8.
    # (With iteration 0 it was (8 + 5) = 13 and (7.5 + 4) = 11.5 → 0.885: the shared start diluted it.)
    results = table({"random": {0: [10.0, 6, 4]}, "gp_points": {0: [10.0, 5, 3]}})
    summary = summarise(results).set_index("approach")
    assert summary.loc["gp_points", "auc_ratio"] == pytest.approx(0.8)
    assert summary.loc["gp_points", "auc_ratio_split_mean"] == pytest.approx(0.8)
    # One iteration after the start: the area is that iteration's RMSE (5 / 6).
    short = table({"random": {0: [10.0, 6]}, "gp_points": {0: [10.0, 5]}})
    assert summarise(short).set_index("approach").loc["gp_points", "auc_ratio"] == pytest.approx(5 / 6)
