"""Tests of the active-learning test designs: held-out-cluster and held-out-element splits, per-binary RMSE."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hmixal.active_learning import make_splits
from hmixal.al_designs import (
    CLUSTER_TABLE_COLUMNS,
    TEST_DESIGNS,
    BinaryClusters,
    ClusterOptions,
    ElementOptions,
    binary_weighted_rmse,
    cluster_binaries,
    cluster_splits,
    cluster_table_for_design,
    common_iterations,
    design_splits,
    element_splits,
    eligible_clusters,
    held_out_elements,
    scarce_elements,
    weighs_binaries,
)
from hmixal.elements import ELEMENTS
from hmixal.errors import InputError
from hmixal.features import PAPER_AL_FEATURES, FeatureSource
from hmixal.systems import all_binaries

ROLES = {"train", "test", "pool"}


@pytest.fixture(scope="module")
def clusters() -> dict[str, int]:
    """66 binaries of 12 elements in four clusters of 30, 18, 12 and 6 binaries (assigned in a shuffled order)."""
    names = ["-".join(p) for p in all_binaries(ELEMENTS[:12])]
    labels = np.repeat([1, 2, 3, 4], [30, 18, 12, 6])
    order = np.random.default_rng(0).permutation(len(names))
    return {names[i]: int(labels[j]) for j, i in enumerate(order)}


@pytest.fixture(scope="module")
def source() -> FeatureSource:
    return FeatureSource()


def _held_out(table: pd.DataFrame, clusters: dict[str, int], split: int) -> int:
    test = table[(table["split"] == split) & (table["role"] == "test")]
    return int(test["binary"].map(clusters).iloc[0])


# --- per-binary RMSE ---


def test_binary_weighted_rmse_by_hand() -> None:
    # Binary A: residuals 1 and 3 (mean square 5); binary B: residual 2 (mean square 4) → sqrt((5 + 4) / 2).
    residual = np.array([1.0, -2.0, 3.0])
    groups = np.array(["A", "B", "A"])
    assert binary_weighted_rmse(residual, groups) == pytest.approx(np.sqrt(4.5))
    # The per-point RMSE differs: sqrt((1 + 4 + 9) / 3).
    assert np.sqrt(np.mean(residual**2)) == pytest.approx(np.sqrt(14 / 3))


def test_binary_weighted_rmse_equals_rmse_with_equal_counts() -> None:
    rng = np.random.default_rng(1)
    residual = rng.normal(size=12)
    groups = np.repeat(["A", "B", "C", "D"], 3)
    assert binary_weighted_rmse(residual, groups) == pytest.approx(np.sqrt(np.mean(residual**2)))


@pytest.mark.parametrize(
    ("residual", "groups", "message"),
    [
        (np.array([1.0, 2.0]), np.array(["A"]), "one binary per residual"),
        (np.array([]), np.array([], dtype=str), "empty"),
        (np.array([1.0, np.nan]), np.array(["A", "B"]), "non-finite"),
    ],
)
def test_binary_weighted_rmse_rejects_bad_input(residual: np.ndarray, groups: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        binary_weighted_rmse(residual, groups)


def test_weighs_binaries() -> None:
    assert TEST_DESIGNS[:2] == ("random", "cluster")
    assert not weighs_binaries("random")
    assert weighs_binaries("cluster") and weighs_binaries("element")
    with pytest.raises(InputError, match="unknown test design 'nearby'"):
        weighs_binaries("nearby")


# --- cluster design ---


def test_cluster_splits_partition_and_roles(clusters: dict[str, int]) -> None:
    table = cluster_splits(clusters, n_splits=8, train_fraction=0.25, root_seed=3)
    assert list(table.columns) == ["split", "binary", "role"]
    assert table.equals(table.sort_values(["split", "binary"], ignore_index=True))
    for split, part in table.groupby("split"):
        assert sorted(part["binary"]) == sorted(clusters)  # every binary exactly once per split
        assert set(part["role"]) == ROLES
        held = _held_out(table, clusters, int(split))
        cluster = part["binary"].map(clusters)
        assert not ((part["role"] == "train") & (cluster == held)).any()  # the held-out cluster never in train
        assert (cluster[part["role"] == "test"] == held).all()  # the test set all from it
        assert ((part["role"] == "pool") & (cluster == held)).any()  # and some of it left in the pool
        m = int((cluster == held).sum())
        assert (part["role"] == "train").sum() == round(0.25 * len(clusters))
        assert (part["role"] == "test").sum() == round(0.5 * m)


def test_cluster_splits_cycle_through_eligible_clusters(clusters: dict[str, int]) -> None:
    # Cluster 4 (6 binaries) is below min_size = 8: the splits cycle through 1, 2, 3.
    table = cluster_splits(clusters, n_splits=7, train_fraction=0.25, root_seed=3, min_size=8)
    assert [_held_out(table, clusters, s) for s in range(7)] == [1, 2, 3, 1, 2, 3, 1]


def test_cluster_too_large_to_fill_train_is_skipped() -> None:
    names = ["-".join(p) for p in all_binaries(ELEMENTS[:10])]  # 45 binaries
    labels = {b: (1 if i < 36 else 2) for i, b in enumerate(names)}
    # Train needs round(0.25 · 45) = 11 binaries: holding out cluster 1 leaves 9, so only cluster 2 is held out.
    assert eligible_clusters(np.array(list(labels.values())), 11, 4) == [2]
    table = cluster_splits(labels, n_splits=3, train_fraction=0.25, root_seed=0, min_size=4)
    assert {_held_out(table, labels, s) for s in range(3)} == {2}


def test_cluster_splits_reproducible(clusters: dict[str, int]) -> None:
    a = cluster_splits(clusters, 5, 0.25, root_seed=11)
    b = cluster_splits(dict(reversed(list(clusters.items()))), 5, 0.25, root_seed=11)  # input order irrelevant
    c = cluster_splits(clusters, 5, 0.25, root_seed=12)
    pd.testing.assert_frame_equal(a, b)
    assert not a["role"].equals(c["role"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"test_share": 1.0}, "test_share must lie strictly between 0 and 1"),
        ({"test_share": 0.0}, "test_share must lie strictly between 0 and 1"),
        ({"train_fraction": 1.0}, "train_fraction must lie strictly between 0 and 1"),
        ({"n_splits": 0}, "n_splits must be an integer ≥ 1"),
        ({"min_size": 31}, "no cluster can be held out"),
        ({"train_fraction": 0.9}, "no cluster can be held out"),
    ],
)
def test_cluster_splits_impossible_settings(clusters: dict[str, int], kwargs: dict, message: str) -> None:
    args = {"n_splits": 2, "train_fraction": 0.25, "root_seed": 0, **kwargs}
    with pytest.raises(InputError, match=message):
        cluster_splits(clusters, **args)


def test_cluster_options() -> None:
    assert ClusterOptions.from_mapping(None) == ClusterOptions()
    assert ClusterOptions.from_mapping({"k": 4, "n_init": 10}).k == 4
    with pytest.raises(InputError, match="unknown key"):
        ClusterOptions.from_mapping({"kk": 4})
    with pytest.raises(InputError, match="universe must be one of"):
        ClusterOptions(universe="everything")
    with pytest.raises(InputError, match="k must be an integer ≥ 2"):
        ClusterOptions(k=1)
    with pytest.raises(InputError, match="test_share"):
        ElementOptions(test_share=1.5)


# --- clustering of real binaries ---


def test_cluster_binaries_dataset_universe(source: FeatureSource) -> None:
    names = ["-".join(p) for p in all_binaries(ELEMENTS[:14])][::2]  # 46 binaries
    options = ClusterOptions(k=3, n_init=20)
    a = cluster_binaries(names, source, PAPER_AL_FEATURES, seed=5, options=options)
    b = cluster_binaries(list(reversed(names)), source, PAPER_AL_FEATURES, seed=5, options=options)
    assert list(a.binaries) == sorted(names)
    np.testing.assert_array_equal(a.labels, b.labels)
    sizes = np.bincount(a.labels)[1:]
    assert sizes.size == 3 and np.all(np.diff(sizes) <= 0)  # ids 1…K by decreasing size
    assert a.X.shape == (len(names), len(PAPER_AL_FEATURES))
    np.testing.assert_allclose(a.X.mean(axis=0), 0, atol=1e-9)  # standardised over the binaries clustered


def test_cluster_binaries_all_universe_reads_the_full_map(source: FeatureSource) -> None:
    elements = ELEMENTS[:12]
    universe = ["-".join(p) for p in all_binaries(elements)]
    subset = universe[::3]
    options = ClusterOptions(k=3, n_init=20, universe="all")
    full = cluster_binaries(universe, source, PAPER_AL_FEATURES, 5, ClusterOptions(k=3, n_init=20), elements)
    part = cluster_binaries(subset, source, PAPER_AL_FEATURES, 5, options, elements)
    assert part.mapping() == {b: full.mapping()[b] for b in subset}
    with pytest.raises(InputError, match="outside the element table's pairs"):
        cluster_binaries(["Li-Xx"], source, PAPER_AL_FEATURES, 5, options, elements)


# --- element design ---


def test_element_splits(clusters: dict[str, int]) -> None:
    # A dataset where elements 0…5 pair with every element and 6…11 only with a few: the latter are scarce.
    names = sorted(clusters)
    pairs = [b.split("-") for b in names]
    keep = [b for b, (x, y) in zip(names, pairs, strict=True) if ELEMENTS.index(x) < 6 or ELEMENTS.index(y) < 6]
    scarce = scarce_elements(keep, 6)
    assert scarce == sorted(ELEMENTS[6:12])
    options = ElementOptions(scarce_max=6, min_size=8)
    table = element_splits(keep, 6, 0.25, root_seed=2, options=options)
    pd.testing.assert_frame_equal(table, element_splits(keep, 6, 0.25, root_seed=2, options=options))
    held_per_split = held_out_elements(keep, 6, 0.25, root_seed=2, options=options)
    assert len({tuple(h) for h in held_per_split}) > 1  # the held-out elements change from split to split
    for split, part in table.groupby("split"):
        held = set(held_per_split[int(split)])
        assert sorted(part["binary"]) == sorted(keep)
        assert held <= set(scarce)
        contains = pd.Series([bool(set(b.split("-")) & held) for b in part["binary"]], index=part.index)
        assert contains.sum() >= 8  # at least min_size held-out binaries
        assert not (contains & (part["role"] == "train")).any()  # no train binary contains a held-out element
        assert contains[part["role"] == "test"].all()  # every test binary does
        assert (contains & (part["role"] == "pool")).any()  # and some are left in the pool
        assert (part["role"] == "test").sum() == round(0.5 * contains.sum())
        assert (part["role"] == "train").sum() == round(0.25 * len(keep))
    with pytest.raises(InputError, match="raise scarce_max"):
        element_splits(keep, 2, 0.25, 0, ElementOptions(scarce_max=1))


# --- dispatcher, iterations, cluster table ---


def test_design_splits(clusters: dict[str, int]) -> None:
    names = sorted(clusters)
    random = design_splits("random", names, 3, 0.25, 0.25, 7)
    pd.testing.assert_frame_equal(random, make_splits(names, 3, 0.25, 0.25, 7))
    labelled = BinaryClusters(np.array(names), np.array([clusters[b] for b in names]), np.zeros((66, 2)), ("f", "g"))
    pd.testing.assert_frame_equal(
        design_splits("cluster", names, 3, 0.25, 0.25, 7, clusters=labelled), cluster_splits(clusters, 3, 0.25, 7)
    )
    with pytest.raises(InputError, match="needs the binaries' clusters"):
        design_splits("cluster", names, 3, 0.25, 0.25, 7)
    with pytest.raises(InputError, match="do not cover exactly"):
        design_splits("cluster", names[:-1], 3, 0.25, 0.25, 7, clusters=labelled)


def test_common_iterations(clusters: dict[str, int]) -> None:
    table = cluster_splits(clusters, 3, 0.25, 0)
    # Train: round(0.25 · 66) = 16; pools: 66 − 16 − 15 = 35 (cluster 1 held out), 66 − 16 − 9 = 41 (cluster 2).
    assert common_iterations(table, 4) == 35 // 4
    with pytest.raises(InputError, match="batch_size"):
        common_iterations(table, 0)


def test_cluster_table_for_design(clusters: dict[str, int]) -> None:
    names = np.array(sorted(clusters))
    labels = np.array([clusters[b] for b in names])
    X = np.random.default_rng(0).normal(size=(names.size, 3))
    labelled = BinaryClusters(names, labels, X, ("a", "b", "c"))
    table = cluster_splits(clusters, 6, 0.25, 1, min_size=8)  # clusters 1, 2, 3 held out twice each
    # Rows: two points per binary; y = 1 on cluster 3's binaries except one point of 3 on its first binary.
    groups = np.repeat(names, 2)
    y = np.zeros(groups.size)
    in3 = np.isin(groups, names[labels == 3])
    y[in3] = 1.0
    first3 = np.flatnonzero(in3)[0]
    y[first3] = 3.0
    out = cluster_table_for_design(labelled, table, groups, y)
    assert list(out.columns) == list(CLUSTER_TABLE_COLUMNS)
    assert out["cluster"].tolist() == [1, 2, 3, 4]
    assert out["n_binaries"].tolist() == [30, 18, 12, 6]
    assert out["n_points"].tolist() == [60, 36, 24, 12]
    assert out["held_out_in_splits"].tolist() == [2, 2, 2, 0]
    # Cluster 1's test binaries: 15 in splits 0 and 3, none elsewhere → mean 30 / 6 = 5.
    assert out.loc[0, "mean_test_binaries"] == pytest.approx(5.0)
    sums = out[["mean_test_binaries", "mean_pool_binaries", "mean_train_binaries"]].to_numpy().sum(axis=1)
    np.testing.assert_allclose(sums, out["n_binaries"])
    # Cluster 3: 11 binaries with mean square 1, one with (9 + 1) / 2 = 5 → sqrt((11 + 5) / 12).
    assert out.loc[2, "miedema_rmse"] == pytest.approx(np.sqrt(16 / 12))
    assert out.loc[0, "miedema_rmse"] == 0.0
    assert len(out.loc[0, "central_members"].split()) == 5
    with pytest.raises(InputError, match="or neither"):
        cluster_table_for_design(labelled, table, groups, None)
