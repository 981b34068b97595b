"""Tests of the composition features and the binary grid."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hmixal.errors import InputError
from hmixal.features import binary_features, feature_frame, feature_names, mixture_features
from hmixal.systems import all_binaries, binary_grid, composition_grid, parse_binary

INDEX = {"Al": 0, "Ni": 1, "Cu": 2}
VALUES = np.array([[1.0, 10.0], [3.0, 10.0], [-2.0, 4.0]])
PROPS = ("P1", "P2")


def test_names_pair_each_property():
    assert feature_names(PROPS) == ["P1_mean", "P1_avgdev", "P2_mean", "P2_avgdev"]


def test_binary_features_by_hand():
    # Al-Ni at x_Ni = 0.25: mean 0.75·1 + 0.25·3 = 1.5; avgdev 0.75·|1−1.5| + 0.25·|3−1.5| = 0.75.
    f = binary_features(VALUES, INDEX, ["Al"], ["Ni"], [0.25], PROPS)
    np.testing.assert_allclose(f, [[1.5, 0.75, 10.0, 0.0]])


def test_binary_matches_general_mixture_formula():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, 50)
    a = rng.choice(list(INDEX), 50)
    b = rng.choice(list(INDEX), 50)
    fb = binary_features(VALUES, INDEX, a, b, x, PROPS)
    fractions = np.zeros((50, 3))
    np.add.at(fractions, (np.arange(50), [INDEX[s] for s in a]), 1 - x)
    np.add.at(fractions, (np.arange(50), [INDEX[s] for s in b]), x)
    np.testing.assert_allclose(fb, mixture_features(VALUES, fractions), atol=1e-12)


def test_symmetric_under_swap():
    f1 = binary_features(VALUES, INDEX, ["Al"], ["Cu"], [0.3], PROPS)
    f2 = binary_features(VALUES, INDEX, ["Cu"], ["Al"], [0.7], PROPS)
    np.testing.assert_allclose(f1, f2)


def test_feature_frame_keeps_index_and_rejects_bad_input():
    pts = pd.DataFrame({"A": ["Al", "Al"], "B": ["Ni", "Cu"], "x_B": [0.5, 0.5]}, index=[10, 20])
    frame = feature_frame(VALUES, INDEX, pts, PROPS)
    assert list(frame.index) == [10, 20]
    with pytest.raises(InputError, match="x_B"):
        binary_features(VALUES, INDEX, ["Al"], ["Ni"], [1.5], PROPS)
    with pytest.raises(InputError, match="Xx"):
        binary_features(VALUES, INDEX, ["Xx"], ["Ni"], [0.5], PROPS)
    with pytest.raises(InputError, match="x_B"):
        feature_frame(VALUES, INDEX, pts.drop(columns="x_B"), PROPS)
    with pytest.raises(InputError, match="sum to 1"):
        mixture_features(VALUES, np.array([[0.5, 0.6, 0.0]]))


def test_grid_and_pairs():
    pairs = all_binaries()
    assert len(pairs) == 2415 and all(a < b for a, b in pairs)
    x = composition_grid(0.01)
    assert x.size == 99 and x[0] == 0.01 and x[-1] == 0.99
    grid = binary_grid(pairs[:2], [0.2, 0.8])
    assert grid.shape == (4, 3) and list(grid["x_B"]) == [0.2, 0.8, 0.2, 0.8]
    with pytest.raises(ValueError):
        composition_grid(0.3)


def test_parse_binary():
    assert parse_binary("Ni-Al") == ("Al", "Ni")
    for bad in ("Al", "Al-Xx", "Al-Al", "Al-Ni-Cu"):
        with pytest.raises(InputError):
            parse_binary(bad)
