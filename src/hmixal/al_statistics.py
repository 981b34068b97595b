"""How sure the active-learning comparison is: paired fixed-budget endpoints against random sampling.

For every approach other than the reference (``random``) and three fixed budgets — iteration round(n/3),
round(2n/3) and n, where n is the last iteration random reached (the run's length) — :func:`endpoints`
compares the test RMSE of the approach with random's on the same split (paired difference, approach − random,
kJ/mol; < 0: the approach is better) and reports

- the mean paired difference, its naive standard error s/√J and the Nadeau–Bengio corrected one
  √((1/J + n₂/n₁) s²) (C. Nadeau, Y. Bengio, Machine Learning 52 (2003) 239–281): the J splits are drawn
  from the same binaries, so their differences are positively correlated and s/√J is too small;
- a percentile bootstrap interval (95 %, resampling splits, seeded) and the corrected t interval
  mean ± t_{J−1, 0.975} · SE_corrected — the conclusion uses the corrected one: the bootstrap treats the
  splits as independent, so it is too narrow for the same reason as the naive SE;
- the two-sided Wilcoxon signed-rank p-value and the corrected t-test p-value;
- how many iterations random's mean curve needs to reach the approach's mean RMSE at the budget.

n₂/n₁ is the split's test-to-training size ratio in binaries, where "training" is everything the AL procedure
may learn from: the train and the pool binaries (:func:`holdout_ratio`).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from hmixal.active_learning import APPROACHES, REFERENCE
from hmixal.errors import InputError
from hmixal.splits import derive_seed

BUDGET_LABELS: tuple[str, ...] = ("third", "two_thirds", "end")
N_BOOTSTRAP = 10_000  # bootstrap draws: the 2.5 % / 97.5 % quantiles of the mean move by < 1 % of the SE
LEVEL = 0.95  # every interval is a 95 % one (the column names say ci95)
ENDPOINT_COLUMNS: tuple[str, ...] = (
    "approach",
    "approach_number",
    "budget_label",
    "iteration",
    "n_iterations",
    "n_acquired_mean",
    "n_binaries_mean",
    "n_splits",
    "test_train_ratio",
    "rmse_mean",
    "rmse_reference_mean",
    "mean_difference_kJ_per_mol",
    "se_naive",
    "se_corrected",
    "ci95_bootstrap_low",
    "ci95_bootstrap_high",
    "ci95_corrected_low",
    "ci95_corrected_high",
    "p_wilcoxon",
    "p_corrected_t",
    "random_iterations_to_match",
    "iterations_saved",
)
_NEEDED = ("approach", "split", "iteration", "n_acquired", "n_binaries", "rmse")


def budget_iterations(n_iterations: int) -> dict[str, int]:
    """The fixed budgets in iterations: round(n/3), round(2n/3) (each at least 1) and n."""
    if n_iterations < 1:
        raise ValueError(f"n_iterations must be ≥ 1, got {n_iterations}")
    # n/3 and 2n/3 never end in .5, so Python's half-to-even rounding never decides.
    third, two_thirds = (max(1, round(k * n_iterations / 3)) for k in (1, 2))
    return dict(zip(BUDGET_LABELS, (third, two_thirds, n_iterations), strict=True))


def holdout_ratio(splits: pd.DataFrame) -> pd.Series:
    """Per split (index): test binaries / (train + pool binaries), the n₂/n₁ of the Nadeau–Bengio correction.

    The AL procedure learns from the train binaries and acquires from the pool binaries; only the test binaries
    are held out. So the training set of Nadeau and Bengio's setting is train + pool, the test set the test.
    """
    missing = {"split", "role"} - set(splits.columns)
    if missing:
        raise InputError(None, None, f"the splits table lacks column(s) {sorted(missing)}")
    counts = splits.groupby(["split", "role"]).size().unstack("role", fill_value=0)
    n_test = counts["test"] if "test" in counts else pd.Series(0, index=counts.index)
    n_rest = counts.sum(axis=1) - n_test
    bad = counts.index[(n_test < 1) | (n_rest < 1)].tolist()
    if bad:
        raise InputError(None, None, f"split(s) {bad[:5]} lack test or train/pool binaries: rebuild the splits table")
    return (n_test / n_rest).rename("test_train_ratio")


def paired_differences(results: pd.DataFrame, approach: str, iteration: int, reference: str = REFERENCE) -> pd.Series:
    """Test RMSE of ``approach`` − ``reference`` at ``iteration`` (index: split), on the splits both reached."""
    at = results[results["iteration"] == iteration]
    mine = at[at["approach"] == approach].set_index("split")["rmse"]
    ref = at[at["approach"] == reference].set_index("split")["rmse"]
    both = mine.index.intersection(ref.index).sort_values()
    return (mine.loc[both] - ref.loc[both]).astype(float).rename("difference")


def naive_se(differences: np.ndarray) -> float:
    """Standard error s/√J of the mean of J differences (ddof 1); NaN below two."""
    d = np.asarray(differences, dtype=float)
    return float(np.std(d, ddof=1) / np.sqrt(d.size)) if d.size > 1 else float("nan")


def nadeau_bengio_se(differences: np.ndarray, ratio: float) -> float:
    """Corrected standard error √((1/J + n₂/n₁) s²) of the mean of J split-wise differences; NaN below two."""
    d = np.asarray(differences, dtype=float)
    if ratio < 0:
        raise ValueError(f"the test/train ratio must be ≥ 0, got {ratio}")
    if d.size < 2:
        return float("nan")
    return float(np.sqrt((1 / d.size + ratio) * np.var(d, ddof=1)))


def t_interval(mean: float, se: float, n: int) -> tuple[float, float]:
    """Two-sided 95 % interval mean ± t_{n−1, 0.975} · se; NaN below two observations."""
    if n < 2 or not np.isfinite(se):
        return float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + LEVEL / 2, n - 1)) * se
    return mean - half, mean + half


def t_test_p(differences: np.ndarray, se: float) -> float:
    """Two-sided p-value of mean/se against Student's t with J − 1 degrees of freedom (1 if all differences are 0)."""
    d = np.asarray(differences, dtype=float)
    if d.size < 2 or not np.isfinite(se):
        return float("nan")
    if not d.any():
        return 1.0  # identical curves: no evidence of a difference (t would be 0/0)
    if se == 0:
        return 0.0  # one nonzero difference repeated on every split
    return float(2 * stats.t.sf(abs(d.mean()) / se, d.size - 1))


def wilcoxon_p(differences: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p-value (scipy's default method); 1 if all differences are 0, NaN if none."""
    d = np.asarray(differences, dtype=float)
    if d.size == 0:
        return float("nan")
    if not d.any():
        return 1.0  # scipy returns 1 too, but with a 0/0 warning from its normal approximation
    return float(stats.wilcoxon(d, alternative="two-sided").pvalue)


def bootstrap_interval(differences: np.ndarray, seed: int, n_draws: int = N_BOOTSTRAP) -> tuple[float, float]:
    """Percentile 95 % interval of the mean, resampling the splits with replacement (``n_draws`` seeded draws)."""
    d = np.asarray(differences, dtype=float)
    if n_draws < 1:
        raise ValueError(f"n_draws must be ≥ 1, got {n_draws}")
    if d.size == 0:
        return float("nan"), float("nan")
    picks = np.random.default_rng(seed).integers(0, d.size, size=(n_draws, d.size))
    means = d[picks].mean(axis=1)
    low, high = np.quantile(means, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    return float(low), float(high)


def iterations_to_match(reference_curve: pd.Series, target: float) -> float:
    """First iteration (index) at which the reference's mean RMSE is at or below ``target``; NaN if never."""
    reached = reference_curve.index[reference_curve.to_numpy() <= target]
    return float(reached.min()) if reached.size else float("nan")


def _check(results: pd.DataFrame, reference: str) -> list[str]:
    """The approaches to compare, in approach order, after checking columns, names, duplicates and split sets."""
    missing = set(_NEEDED) - set(results.columns)
    if missing:
        raise InputError(None, None, f"the results lack column(s) {sorted(missing)}")
    present = set(results["approach"])
    unknown = sorted(present - set(APPROACHES))
    if unknown:
        raise InputError(None, None, f"unknown approach(es) {unknown}; known: {list(APPROACHES)}")
    if reference not in present:
        raise InputError(None, None, f"the reference approach {reference!r} has no results: gather its block tables")
    others = [a for a in APPROACHES if a in present and a != reference]
    if not others:
        raise InputError(None, None, f"no approach besides {reference!r} to compare: gather their block tables")
    dup = results.duplicated(["approach", "split", "iteration"])
    if dup.any():
        row = results[dup].iloc[0]
        raise InputError(None, None, f"{row['approach']} split {row['split']} iteration {row['iteration']} twice")
    splits = results.groupby("approach")["split"].agg(lambda s: set(s.tolist()))
    for approach in others:
        lacking = sorted(splits[reference] - splits[approach])
        if lacking:
            raise InputError(
                None, None, f"{approach} has no results for split(s) {lacking[:10]} that {reference} ran: "
                "rerun or gather its block tables",
            )  # fmt: skip
        extra = sorted(splits[approach] - splits[reference])
        if extra:
            raise InputError(
                None, None, f"{reference} has no results for split(s) {extra[:10]} that {approach} ran: "
                "rerun or gather its block tables",
            )  # fmt: skip
    return others


def _per_split_ratio(ratio: float | pd.Series | Mapping[int, float], splits: set[int]) -> pd.Series | float:
    """The n₂/n₁ given: a number as is, or a per-split table checked to cover every split of the results."""
    if isinstance(ratio, numbers.Real):
        return float(ratio)
    per_split = pd.Series(ratio, dtype=float)
    lacking = sorted(int(s) for s in splits - set(per_split.index))
    if lacking:
        raise InputError(None, None, f"the splits table has no split(s) {lacking[:10]} of the results")
    return per_split


def _ratio_for(ratio: pd.Series | float, used: pd.Index) -> float:
    """One n₂/n₁ for the splits used at a budget: the number given, or the mean of their per-split ratios."""
    if isinstance(ratio, float):
        return ratio
    return float(ratio.loc[list(used)].mean()) if len(used) else float("nan")


def endpoints(
    results: pd.DataFrame,
    ratio: float | pd.Series | Mapping[int, float],
    seed: int,
    reference: str = REFERENCE,
    n_iterations: int | None = None,
    n_bootstrap: int = N_BOOTSTRAP,
) -> pd.DataFrame:
    """One row per approach ≠ ``reference`` and budget: paired RMSE difference with naive and corrected
    uncertainty, bootstrap and corrected 95 % intervals, Wilcoxon and corrected t p-values, and the iterations
    random needs to match (columns :data:`ENDPOINT_COLUMNS`).

    ``ratio`` is n₂/n₁ (one number, or per split as from :func:`holdout_ratio`); ``n_iterations`` defaults
    to the last iteration the reference reached. Only splits that reached a budget in both approaches enter
    its row (``n_splits``). The bootstrap of each row draws from ``derive_seed(seed, "al-bootstrap", approach,
    budget_label)``.
    """
    others = _check(results, reference)
    per_split = _per_split_ratio(ratio, set(results["split"].tolist()))
    if n_iterations is None:
        n_iterations = int(results.loc[results["approach"] == reference, "iteration"].max())
    budgets = budget_iterations(n_iterations)
    curves = results.groupby(["approach", "iteration"])["rmse"].mean()
    ref_curve = curves.loc[reference]
    records = []
    for approach in others:
        mine = results[results["approach"] == approach]
        for label, iteration in budgets.items():
            d = paired_differences(results, approach, iteration, reference)
            used = d.index
            values = d.to_numpy()
            r = _ratio_for(per_split, used)
            mean = float(values.mean()) if values.size else float("nan")
            se_c = nadeau_bengio_se(values, r) if np.isfinite(r) else float("nan")
            low_b, high_b = bootstrap_interval(values, derive_seed(seed, "al-bootstrap", approach, label), n_bootstrap)
            low_c, high_c = t_interval(mean, se_c, values.size)
            at = mine[(mine["iteration"] == iteration) & mine["split"].isin(used)]
            ref_at = results[
                (results["approach"] == reference) & (results["iteration"] == iteration) & results["split"].isin(used)
            ]
            target = curves.get((approach, iteration), float("nan"))
            match = iterations_to_match(ref_curve, target) if np.isfinite(target) else float("nan")
            records.append(
                {
                    "approach": approach,
                    "approach_number": APPROACHES.index(approach) + 1,
                    "budget_label": label,
                    "iteration": iteration,
                    "n_iterations": n_iterations,
                    "n_acquired_mean": float(at["n_acquired"].mean()) if len(at) else float("nan"),
                    "n_binaries_mean": float(at["n_binaries"].mean()) if len(at) else float("nan"),
                    "n_splits": int(values.size),
                    "test_train_ratio": r,
                    "rmse_mean": float(at["rmse"].mean()) if len(at) else float("nan"),
                    "rmse_reference_mean": float(ref_at["rmse"].mean()) if len(ref_at) else float("nan"),
                    "mean_difference_kJ_per_mol": mean,
                    "se_naive": naive_se(values),
                    "se_corrected": se_c,
                    "ci95_bootstrap_low": low_b,
                    "ci95_bootstrap_high": high_b,
                    "ci95_corrected_low": low_c,
                    "ci95_corrected_high": high_c,
                    "p_wilcoxon": wilcoxon_p(values),
                    "p_corrected_t": t_test_p(values, se_c),
                    "random_iterations_to_match": match,
                    "iterations_saved": match - iteration,
                }
            )
    return pd.DataFrame.from_records(records, columns=list(ENDPOINT_COLUMNS))


# The endpoint columns the summary carries per budget (one row per approach there, so one column per budget).
SUMMARY_TEST_COLUMNS: tuple[str, ...] = (
    "mean_difference_kJ_per_mol", "ci95_corrected_low", "ci95_corrected_high", "p_corrected_t", "p_wilcoxon"
)  # fmt: skip


def summary_with_tests(summary: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """The per-approach summary with each budget's paired test against the reference from :func:`endpoints`
    (columns ``<endpoint column>_<budget label>``; empty for the reference itself)."""
    wide = table.pivot(index="approach", columns="budget_label", values=list(SUMMARY_TEST_COLUMNS))
    columns = [(c, b) for b in BUDGET_LABELS for c in SUMMARY_TEST_COLUMNS]
    wide = wide.reindex(columns=pd.MultiIndex.from_tuples(columns))
    wide.columns = [f"{c}_{b}" for c, b in columns]
    return summary.merge(wide, left_on="approach", right_index=True, how="left")
