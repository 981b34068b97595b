"""Tests of regression-tree-based active learning: leaf allocation, rounding, and selection on a hand case."""

from __future__ import annotations

import numpy as np
import pytest

from hmixal.rtal import allocate_leaves, leaf_shares, round_shares, rtal_select


def test_leaf_shares_follow_sqrt_p_v():
    # √(p v) = [√0.5, 1, 0] → n = 4·[0.7071, 1, 0]/1.7071 = [1.657, 2.343, 0]
    shares = leaf_shares(np.array([0.5, 0.25, 0.25]), np.array([1.0, 4.0, 0.0]), 4)
    np.testing.assert_allclose(shares, [4 * 0.5**0.5 / (1 + 0.5**0.5), 4 / (1 + 0.5**0.5), 0.0])
    assert shares.sum() == pytest.approx(4)
    # Pure leaves everywhere: proportional to the share of candidates.
    np.testing.assert_allclose(leaf_shares(np.array([0.75, 0.25]), np.zeros(2), 4), [3.0, 1.0])


def test_rounding_takes_integer_parts_then_largest_fractions():
    assert round_shares(np.array([1.657, 2.343, 0.0]), 4).tolist() == [2, 2, 0]
    assert round_shares(np.array([0.9, 0.8, 0.7, 0.6, 1.0]), 4).tolist() == [1, 1, 1, 0, 1]
    # Equal fractional parts: the lower leaf index wins.
    assert round_shares(np.array([0.5, 0.5, 1.0]), 2).tolist() == [1, 0, 1]
    assert round_shares(np.array([2.0, 2.0]), 4).tolist() == [2, 2]
    with pytest.raises(ValueError, match="more than the batch"):
        round_shares(np.array([3.0, 2.0]), 4)


def test_allocation_respects_leaf_capacity_and_reallocates():
    p, v = np.array([0.5, 0.25, 0.25]), np.array([1.0, 4.0, 0.0])
    assert allocate_leaves(p, v, 4, capacity=np.array([5, 5, 5])).tolist() == [2, 2, 0]
    # Leaf 0 holds one candidate: its second slot goes to leaf 1, the only other leaf with variance.
    assert allocate_leaves(p, v, 4, capacity=np.array([1, 5, 5])).tolist() == [1, 3, 0]
    # Leaves 0 and 1 full: the rest falls to the pure leaf (proportional fallback among open leaves).
    assert allocate_leaves(p, v, 4, capacity=np.array([1, 1, 5])).tolist() == [1, 1, 2]
    # More slots than candidates: every candidate.
    assert allocate_leaves(p, v, 9, capacity=np.array([1, 2, 3])).tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match="non-negative"):
        leaf_shares(np.array([0.5, -0.5]), np.ones(2), 2)
    with pytest.raises(ValueError, match="no leaf"):
        leaf_shares(np.zeros(2), np.ones(2), 2)
    with pytest.raises(ValueError, match="batch_size"):
        allocate_leaves(p, v, 0, capacity=np.array([1, 1, 1]))


@pytest.fixture()
def hand_case() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """1-D: two labelled groups of 4 (min_samples_leaf = 4 allows only the split between 3 and 10).

    Left leaf: y = 0, .2, 0, .2 (v = 0.0133); right leaf: y = 5, 9, 5, 9 (v = 5.333). Candidates: x = 4, 5
    (left, p = 0.25) and 14, 15, 16, 20, 21, 22 (right, p = 0.75). With B = 2: n = 2·[0.0577, 2]/2.0577 =
    [0.056, 1.944] → [0, 2]. k-means splits the right leaf into {14, 15, 16} and {20, 21, 22}; R = 1.5, 1,
    1.5 in each. From the centroid picks (15, 21), maximising δ − R (δ to labelled points and the other
    pick) in turn: {14, 15, 16} → 16 (δ = 3, score 1.5 against 1 for 15), {20, 21, 22} → 22 (δ = 6,
    score 4.5), then stable: {16, 22}. The representativity criterion pushes picks away from each other
    and from the labelled points while staying inside their cluster.
    """
    X_lab = np.array([0.0, 1, 2, 3, 10, 11, 12, 13])[:, None]
    y_lab = np.array([0, 0.2, 0, 0.2, 5, 9, 5, 9])
    X_cand = np.array([4.0, 5, 14, 15, 16, 20, 21, 22])[:, None]
    return X_lab, y_lab, X_cand


def test_rtal_hand_case(hand_case):
    X_lab, y_lab, X_cand = hand_case
    picks = rtal_select(X_lab, y_lab, X_cand, batch_size=2, seed=0, min_samples_leaf=4)
    assert sorted(X_cand[picks, 0].tolist()) == [16.0, 22.0]
    # A batch of 3: n = [0.084, 2.916] → [0, 3]; every pick in the high-variance leaf.
    picks3 = rtal_select(X_lab, y_lab, X_cand, batch_size=3, seed=0, min_samples_leaf=4)
    assert len(set(picks3.tolist())) == 3 and np.all(X_cand[picks3, 0] >= 14)
    # Same seed → same picks.
    assert rtal_select(X_lab, y_lab, X_cand, 3, seed=0, min_samples_leaf=4).tolist() == picks3.tolist()


def test_rtal_takes_a_whole_leaf_and_handles_repeated_points(hand_case):
    X_lab, y_lab, _ = hand_case
    # Only two candidates in the right leaf, three slots: both of them, the third slot goes left.
    X_cand = np.array([4.0, 5.0, 15.0, 15.0])[:, None]
    picks = rtal_select(X_lab, y_lab, X_cand, batch_size=3, seed=0, min_samples_leaf=4)
    assert sorted(picks.tolist()) == [0, 2, 3] or sorted(picks.tolist()) == [1, 2, 3]
    # Fewer distinct points than slots in a leaf: distinct rows first, no k-means warning (warnings are errors).
    X_cand = np.array([4.0, 14.0, 14.0, 14.0, 16.0])[:, None]
    picks = rtal_select(X_lab, y_lab, X_cand, batch_size=3, seed=0, min_samples_leaf=4)
    assert sorted(picks.tolist()) == [1, 2, 4]
    assert rtal_select(X_lab, y_lab, np.empty((0, 1)), 2, seed=0).size == 0


def test_rtal_rejects_bad_input(hand_case):
    X_lab, y_lab, X_cand = hand_case
    with pytest.raises(ValueError, match="min_samples_leaf"):
        rtal_select(X_lab, y_lab, X_cand, 2, seed=0, min_samples_leaf=1)
    with pytest.raises(ValueError, match="labels"):
        rtal_select(X_lab, y_lab[:-1], X_cand, 2, seed=0)
    with pytest.raises(ValueError, match="same number of columns"):
        rtal_select(X_lab, y_lab, np.ones((3, 2)), 2, seed=0)
    with pytest.raises(ValueError, match="at least 2"):
        rtal_select(X_lab[:1], y_lab[:1], X_cand, 2, seed=0)
