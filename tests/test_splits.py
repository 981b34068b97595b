"""Tests of the grouped splits: no binary ever leaks across folds."""

from __future__ import annotations

import numpy as np
import pytest

from hmixal.splits import derive_seed, grouped_folds, grouped_holdout


def make_groups(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.repeat([f"G{i}" for i in range(40)], rng.integers(1, 12, 40))


def test_no_group_spans_two_folds_and_folds_are_balanced():
    groups = make_groups()
    folds = grouped_folds(groups, 12, seed=3)
    for g in np.unique(groups):
        assert np.unique(folds[groups == g]).size == 1
    sizes = np.bincount(folds, minlength=12)
    assert sizes.min() > 0 and sizes.max() - sizes.min() <= 11  # at most one largest group apart


def test_folds_reproducible_and_seed_dependent():
    groups = make_groups()
    assert np.array_equal(grouped_folds(groups, 5, 1), grouped_folds(groups, 5, 1))
    assert not np.array_equal(grouped_folds(groups, 5, 1), grouped_folds(groups, 5, 2))


def test_too_many_folds_is_an_error():
    with pytest.raises(ValueError, match="n_folds"):
        grouped_folds(np.array(["a", "a", "b"]), 3, 0)


def test_holdout_keeps_groups_whole():
    groups = make_groups(1)
    test = grouped_holdout(groups, 0.25, seed=7)
    assert not set(groups[test]) & set(groups[~test])
    assert len(set(groups[test])) == 10


def test_derived_seeds_are_stable_and_distinct():
    assert derive_seed(1, "rfe", 0) == derive_seed(1, "rfe", 0)
    assert len({derive_seed(1, "rfe", i) for i in range(100)}) == 100
