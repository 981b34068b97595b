"""Test designs of the active-learning benchmark: where the test binaries come from, and how they are scored.

The paper's design (``random``, :func:`hmixal.active_learning.make_splits`) draws train, test and pool binaries at
random (25 / 25 / 50 %). Its test binaries sit among training binaries like them, so its RMSE measures
*interpolation*. The tool is meant for *extrapolation*: binaries in regions of composition space where the data are
sparse (refractory elements, for instance). Two designs measure that instead, in the same long table
(split, binary, role), so the rest of the benchmark runs unchanged:

* ``cluster`` (:func:`cluster_splits`) — the dataset's binaries are clustered once by K-means on their equimolar
  liquid's active-learning features (element properties only, never the labels). Split s holds out one cluster
  c(s): the train set holds no binary of c(s); a share of c(s) is the test set, the rest of c(s) goes to the pool
  with the binaries of the other clusters that train did not take. The test RMSE then measures how well the
  evaluator predicts a region of feature space its training set does not cover, and the learning curve measures
  how fast an acquisition approach finds that region in the pool and learns it — the situation of a user who
  extends the data towards a new family of binaries.
* ``element`` (:func:`element_splits`) — split s holds out every binary of one or a few elements that have few
  binaries in the dataset (drawn per split): the train set holds no binary of those elements, the test set is a
  share of their binaries. It measures extrapolation to elements the training set has never seen.

Test sets of these designs are small and their binaries carry very different numbers of points (1 to 19), so
their RMSE weighs every test binary the same (:func:`binary_weighted_rmse`); the random design keeps the paper's
per-point RMSE. Everything random is seeded from the root seed with :func:`hmixal.splits.derive_seed`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from hmixal.clustering import closest_to_centre, equimolar_features, kmeans, relabel, standardise
from hmixal.elements import ELEMENTS
from hmixal.errors import InputError
from hmixal.settings import FromMapping
from hmixal.splits import derive_seed

# hmixal.active_learning is imported inside the function that uses it: it imports this module.

TEST_DESIGNS: tuple[str, ...] = ("random", "cluster", "element")
WEIGHTED_DESIGNS: tuple[str, ...] = ("cluster", "element")  # test RMSE with every test binary weighing the same
UNIVERSES: tuple[str, ...] = ("dataset", "all")
CLUSTER_TABLE_COLUMNS: tuple[str, ...] = (
    "cluster",
    "n_binaries",
    "n_points",
    "miedema_rmse",
    "held_out_in_splits",
    "mean_test_binaries",
    "mean_pool_binaries",
    "mean_train_binaries",
    "top_elements",
    "central_members",
)


@dataclass(frozen=True)
class ClusterOptions(FromMapping):
    """Settings of the ``cluster`` design: the K-means map and how a held-out cluster is shared out."""

    SECTION: ClassVar[str] = "active_learning.cluster"

    k: int = 6  # clusters (paper's K-means map: 6)
    # K-means restarts: with 10, the 234 dataset binaries end in different partitions for different seeds
    # (adjusted Rand index to the best one down to 0.61); with 500 every seed tried reaches the best one.
    n_init: int = 500
    universe: str = "dataset"  # cluster the dataset's binaries, or all binaries of the element table ("all")
    test_share: float = 0.5  # of the held-out cluster's binaries in the test set; the rest go to the pool
    min_size: int = 8  # smallest held-out cluster (in dataset binaries): test and pool of c(s) both ≥ 4

    def __post_init__(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 2:
            raise InputError(None, None, f"active_learning.cluster.k must be an integer ≥ 2, got {self.k!r}")
        if self.n_init < 1:
            raise InputError(None, None, f"active_learning.cluster.n_init must be ≥ 1, got {self.n_init}")
        if self.universe not in UNIVERSES:
            raise InputError(
                None, None, f"active_learning.cluster.universe must be one of {list(UNIVERSES)}, got {self.universe!r}"
            )
        _check_share(self.test_share, "active_learning.cluster.test_share")
        if self.min_size < 2:
            raise InputError(None, None, f"active_learning.cluster.min_size must be ≥ 2, got {self.min_size}")


@dataclass(frozen=True)
class ElementOptions(FromMapping):
    """Settings of the ``element`` design: which elements count as scarce and how their binaries are shared out."""

    SECTION: ClassVar[str] = "active_learning.element"

    scarce_max: int = 5  # an element is scarce when at most this many dataset binaries contain it
    min_size: int = 8  # held-out elements are added until their binaries number at least this
    test_share: float = 0.5  # of the held-out binaries in the test set; the rest go to the pool

    def __post_init__(self) -> None:
        if self.scarce_max < 1:
            raise InputError(None, None, f"active_learning.element.scarce_max must be ≥ 1, got {self.scarce_max}")
        if self.min_size < 2:
            raise InputError(None, None, f"active_learning.element.min_size must be ≥ 2, got {self.min_size}")
        _check_share(self.test_share, "active_learning.element.test_share")


@dataclass(frozen=True)
class BinaryClusters:
    """K-means clusters of binaries: names (sorted, "A-B"), cluster id 1…K per binary, standardised features."""

    binaries: np.ndarray
    labels: np.ndarray
    X: np.ndarray  # the binaries' standardised clustering features (rows as ``binaries``)
    features: tuple[str, ...]

    def mapping(self) -> dict[str, int]:
        """Cluster id per binary name."""
        return {str(b): int(c) for b, c in zip(self.binaries, self.labels, strict=True)}


def _check_share(value: float, what: str) -> None:
    if not 0 < value < 1:
        raise InputError(
            None, None, f"{what} must lie strictly between 0 and 1 (test and pool both get some), got {value}"
        )


def _check_common(n_splits: int, train_fraction: float) -> None:
    if isinstance(n_splits, bool) or not isinstance(n_splits, int | np.integer) or n_splits < 1:
        raise InputError(None, None, f"n_splits must be an integer ≥ 1, got {n_splits!r}")
    if not 0 < train_fraction < 1:
        raise InputError(None, None, f"train_fraction must lie strictly between 0 and 1, got {train_fraction}")


def weighs_binaries(design: str) -> bool:
    """Whether a design's test RMSE weighs every test binary the same (held-out designs) or every point (random)."""
    if design not in TEST_DESIGNS:
        raise InputError(None, None, f"unknown test design {design!r}; choose from {list(TEST_DESIGNS)}")
    return design in WEIGHTED_DESIGNS


def binary_weighted_rmse(residual: np.ndarray, groups: np.ndarray) -> float:
    """RMSE in which every binary weighs the same: each point has weight 1 / (its binary's number of points)."""
    residual = np.asarray(residual, dtype=float)
    groups = np.asarray(groups)
    if residual.ndim != 1 or residual.shape != groups.shape:
        raise ValueError(f"need one binary per residual; got {residual.shape} residuals and {groups.shape} binaries")
    if residual.size == 0:
        raise ValueError("no residuals: the test set is empty")
    if not np.all(np.isfinite(residual)):
        raise ValueError("a residual is NaN or infinite: the predictions or the targets hold a non-finite value")
    _, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    # Mean squared residual per binary, then the mean over binaries: a binary with 19 points counts as one with 1.
    per_binary = np.bincount(inverse, weights=residual**2) / counts
    return float(np.sqrt(per_binary.mean()))


def _pair(binary: str) -> tuple[str, str]:
    a, sep, b = str(binary).partition("-")
    if not sep or not a or not b or "-" in b:
        raise InputError(None, None, f"binary {binary!r} is not of the form A-B")
    return a, b


def cluster_binaries(
    binaries: Sequence[str],
    source: Any,
    features: Sequence[str],
    seed: int,
    options: ClusterOptions = ClusterOptions(),
    elements: Sequence[str] = ELEMENTS,
) -> BinaryClusters:
    """K-means clusters (ids 1…K by decreasing size) of the binaries' equimolar liquids in the space of ``features``.

    ``source``: a :class:`hmixal.features.FeatureSource`. Features are standardised over the binaries clustered: the
    dataset's binaries (``universe = "dataset"``) or every binary of ``elements`` (``"all"``, the uncertainty map's
    universe; the dataset binaries then take the cluster of their pair, and sizes count the whole universe).
    Only element properties enter: the labels never shape the clusters.
    """

    names = np.unique(np.asarray(binaries, dtype=str))
    if names.size == 0:
        raise InputError(None, None, "no binaries to cluster")
    pairs = [_pair(b) for b in names]
    if options.universe == "dataset":
        X = standardise(equimolar_features(source, pairs, features))
        labels = relabel(kmeans(X, options.k, seed, options.n_init).labels_)
    else:
        from hmixal.systems import all_binaries

        universe = all_binaries(elements)
        where = {frozenset(p): i for i, p in enumerate(universe)}
        missing = [b for b, p in zip(names, pairs, strict=True) if frozenset(p) not in where]
        if missing:
            raise InputError(None, None, f"binaries outside the element table's pairs: {missing[:5]}")
        X_all = standardise(equimolar_features(source, universe, features))
        labels_all = relabel(kmeans(X_all, options.k, seed, options.n_init).labels_)
        rows = np.array([where[frozenset(p)] for p in pairs])
        X, labels = X_all[rows], labels_all[rows]
    return BinaryClusters(binaries=names, labels=np.asarray(labels, dtype=np.int64), X=X, features=tuple(features))


def _held_out_split(
    split: int,
    names: np.ndarray,
    held_out: np.ndarray,
    n_train: int,
    test_share: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """One split: test = a random ``test_share`` of the held-out binaries, pool = the rest of them plus the other
    binaries that a random draw of ``n_train`` did not put into train."""
    inside = np.flatnonzero(held_out)
    outside = np.flatnonzero(~held_out)
    n_test = _n_test(inside.size, test_share)
    role = np.empty(names.size, dtype=object)
    inside = inside[rng.permutation(inside.size)]
    outside = outside[rng.permutation(outside.size)]
    role[inside[:n_test]] = "test"
    role[inside[n_test:]] = "pool"
    role[outside[:n_train]] = "train"
    role[outside[n_train:]] = "pool"
    return pd.DataFrame({"split": split, "binary": names, "role": role.astype(str)})


def _n_test(size: int, test_share: float) -> int:
    """Test binaries of a held-out set of ``size``: the share, rounded, leaving at least one each to test and pool."""
    return min(max(1, round(test_share * size)), size - 1)


def _finish(frames: list[pd.DataFrame]) -> pd.DataFrame:
    table = pd.concat(frames, ignore_index=True)
    return table.sort_values(["split", "binary"], ignore_index=True)


def eligible_clusters(labels: np.ndarray, n_train: int, min_size: int) -> list[int]:
    """Clusters that can be held out: at least ``min_size`` binaries, and enough others left to fill the train set."""
    ids, sizes = np.unique(np.asarray(labels), return_counts=True)
    total = int(sizes.sum())
    return [int(c) for c, m in zip(ids, sizes, strict=True) if m >= min_size and total - m >= n_train]


def cluster_splits(
    clusters: Mapping[str, int] | BinaryClusters,
    n_splits: int,
    train_fraction: float,
    root_seed: int,
    test_share: float = 0.5,
    min_size: int = 8,
) -> pd.DataFrame:
    """``n_splits`` held-out-cluster splits (split, binary, role; sorted by split, binary) of the clustered binaries.

    Split s holds out the eligible cluster number s mod (number eligible), in id order, so every cluster is tested
    in about the same number of splits and a cluster with little data counts as much as a large one. Train: a
    random ``round(train_fraction · N)`` of the other clusters' binaries (N all binaries: the random design's train
    size); test: ``round(test_share · m)`` of the held-out cluster's m binaries; pool: everything else.
    Eligible clusters have ≥ ``min_size`` binaries and leave ≥ the train size outside (:func:`eligible_clusters`).
    """
    mapping = clusters.mapping() if isinstance(clusters, BinaryClusters) else dict(clusters)
    _check_common(n_splits, train_fraction)
    _check_share(test_share, "test_share")
    names = np.array(sorted(mapping), dtype=str)
    labels = np.array([mapping[b] for b in names])
    n_train = round(train_fraction * names.size)
    if n_train < 1:
        raise InputError(None, None, f"train_fraction {train_fraction} of {names.size} binaries leaves no train set")
    eligible = eligible_clusters(labels, n_train, min_size)
    if not eligible:
        ids, sizes = np.unique(labels, return_counts=True)
        raise InputError(
            None,
            None,
            f"no cluster can be held out: sizes {dict(zip(ids.tolist(), sizes.tolist(), strict=True))} of "
            f"{names.size} binaries; a held-out cluster needs ≥ {min_size} binaries (min_size) and ≥ {n_train} "
            "others for the train set (train_fraction): lower min_size or train_fraction, or change K",
        )
    frames = []
    for split in range(n_splits):
        held = labels == eligible[split % len(eligible)]
        rng = np.random.default_rng(derive_seed(root_seed, "al-split-cluster", split))
        frames.append(_held_out_split(split, names, held, n_train, test_share, rng))
    return _finish(frames)


def scarce_elements(binaries: Sequence[str], scarce_max: int) -> list[str]:
    """Elements found in at least one and at most ``scarce_max`` of the binaries (sorted)."""
    counts = pd.Series([e for b in np.unique(np.asarray(binaries, dtype=str)) for e in _pair(b)]).value_counts()
    return sorted(str(e) for e, n in counts.items() if n <= scarce_max)


def _draw_elements(
    rng: np.random.Generator, scarce: Sequence[str], pairs: Sequence[tuple[str, str]], min_size: int
) -> tuple[list[str], np.ndarray]:
    """Scarce elements in a random order, taken until their binaries number ≥ ``min_size``; those binaries' mask."""
    held = np.zeros(len(pairs), dtype=bool)
    chosen: list[str] = []
    for element in rng.permutation(np.array(scarce)):
        chosen.append(str(element))
        held |= np.array([element in p for p in pairs])
        if held.sum() >= min_size:
            break
    return sorted(chosen), held


def _element_setup(
    binaries: Sequence[str], n_splits: int, train_fraction: float, options: ElementOptions
) -> tuple[np.ndarray, list[tuple[str, str]], int, list[str]]:
    """Checked inputs of the element design: names, pairs, train size and the scarce elements."""
    _check_common(n_splits, train_fraction)
    names = np.unique(np.asarray(binaries, dtype=str))
    pairs = [_pair(b) for b in names]
    n_train = round(train_fraction * names.size)
    if n_train < 1:
        raise InputError(None, None, f"train_fraction {train_fraction} of {names.size} binaries leaves no train set")
    scarce = scarce_elements(names, options.scarce_max)
    reachable = np.array([a in scarce or b in scarce for a, b in pairs])
    if reachable.sum() < options.min_size or names.size - options.min_size < n_train:
        raise InputError(
            None,
            None,
            f"the {len(scarce)} elements with ≤ {options.scarce_max} binaries (scarce_max) have {int(reachable.sum())}"
            f" binaries in all, fewer than min_size = {options.min_size}, or the train set of {n_train} binaries "
            "cannot be filled without them: raise scarce_max, or lower min_size or train_fraction",
        )
    return names, pairs, n_train, scarce


def held_out_elements(
    binaries: Sequence[str],
    n_splits: int,
    train_fraction: float,
    root_seed: int,
    options: ElementOptions = ElementOptions(),
) -> list[list[str]]:
    """The elements each split of :func:`element_splits` holds out (same arguments, same draws)."""
    _, pairs, _, scarce = _element_setup(binaries, n_splits, train_fraction, options)
    return [
        _draw_elements(
            np.random.default_rng(derive_seed(root_seed, "al-split-element", s)), scarce, pairs, options.min_size
        )[0]
        for s in range(n_splits)
    ]


def element_splits(
    binaries: Sequence[str],
    n_splits: int,
    train_fraction: float,
    root_seed: int,
    options: ElementOptions = ElementOptions(),
) -> pd.DataFrame:
    """``n_splits`` held-out-element splits (split, binary, role; sorted by split, binary).

    Split s draws the scarce elements (:func:`scarce_elements`) in a random order and holds out the binaries of the
    first ones until they number ≥ ``options.min_size`` (:func:`held_out_elements`). Train: a random
    ``round(train_fraction · N)`` of the other binaries, so no train binary contains a held-out element; test:
    ``round(test_share · m)`` of the m held-out binaries; pool: everything else.
    """
    names, pairs, n_train, scarce = _element_setup(binaries, n_splits, train_fraction, options)
    frames = []
    for split in range(n_splits):
        rng = np.random.default_rng(derive_seed(root_seed, "al-split-element", split))
        _, held = _draw_elements(rng, scarce, pairs, options.min_size)
        if names.size - held.sum() < n_train:
            raise InputError(
                None, None, f"split {split}: the held-out binaries leave fewer than {n_train} for the train set"
            )
        frames.append(_held_out_split(split, names, held, n_train, options.test_share, rng))
    return _finish(frames)


def design_splits(
    design: str,
    binaries: Sequence[str],
    n_splits: int,
    train_fraction: float,
    test_fraction: float,
    root_seed: int,
    clusters: BinaryClusters | None = None,
    cluster_options: ClusterOptions = ClusterOptions(),
    element_options: ElementOptions = ElementOptions(),
) -> pd.DataFrame:
    """The splits table of a test design (``test_fraction`` serves the random design only; the held-out designs size
    their test set from the held-out binaries). ``clusters``: needed by the cluster design, covering ``binaries``."""
    from hmixal.active_learning import make_splits

    weighs_binaries(design)  # validates the name
    names = np.unique(np.asarray(binaries, dtype=str))
    if design == "random":
        return make_splits(names, n_splits, train_fraction, test_fraction, root_seed)
    if design == "element":
        return element_splits(names, n_splits, train_fraction, root_seed, element_options)
    if clusters is None:
        raise InputError(None, None, "the cluster design needs the binaries' clusters (cluster_binaries)")
    mapping = clusters.mapping()
    if set(mapping) != set(names.tolist()):
        differ = sorted(set(mapping) ^ set(names.tolist()))
        raise InputError(None, None, f"the clusters do not cover exactly the dataset's binaries: {differ[:5]}")
    return cluster_splits(
        mapping, n_splits, train_fraction, root_seed, cluster_options.test_share, cluster_options.min_size
    )


def common_iterations(splits: pd.DataFrame, batch_size: int) -> int:
    """Iterations every split of a table can run until random sampling exhausts its pool (the smallest pool's
    binaries // batch_size): a fixed ``n_iterations`` for designs whose pool size changes from split to split."""
    if batch_size < 1:
        raise InputError(None, None, f"batch_size must be ≥ 1, got {batch_size}")
    pool = splits[splits["role"] == "pool"].groupby("split").size()
    if pool.size < splits["split"].nunique():
        raise InputError(None, None, "a split has no pool binary")
    return max(1, int(pool.min()) // batch_size)


def _top_elements(binaries: Sequence[str], n: int) -> str:
    """'El:count' of the elements in most of the binaries (ties in the element table's order)."""
    counts = pd.Series([e for b in binaries for e in _pair(b)]).value_counts()
    rank = {e: i for i, e in enumerate(ELEMENTS)}
    ordered = sorted(counts.items(), key=lambda item: (-item[1], rank.get(item[0], len(rank)), item[0]))
    return " ".join(f"{e}:{c}" for e, c in ordered[:n])


def cluster_table_for_design(
    clusters: BinaryClusters,
    splits: pd.DataFrame,
    groups: np.ndarray | None = None,
    y: np.ndarray | None = None,
    n_examples: int = 5,
    n_elements: int = 6,
) -> pd.DataFrame:
    """One row per cluster: its size, how a design's splits use it, its most frequent elements and the members
    nearest its centre (``central_members``).

    ``held_out_in_splits``: splits with none of its binaries in train but some in test; ``mean_*_binaries``: its
    binaries per role, averaged over the splits. With the dataset rows' binaries ``groups`` and targets ``y``
    (data − Miedema), ``n_points`` and ``miedema_rmse`` (Miedema's error, every binary weighing the same) describe
    the cluster's data; they are read after clustering, never by it.
    """

    names, labels = clusters.binaries, clusters.labels
    part = splits[splits["binary"].isin(set(names.tolist()))]
    cluster_of = dict(zip(names.tolist(), labels.tolist(), strict=True))
    roles = part.assign(cluster=part["binary"].map(cluster_of))
    counts = roles.groupby(["split", "cluster", "role"]).size().unstack("role", fill_value=0)
    counts = counts.reindex(columns=["train", "test", "pool"], fill_value=0)
    n_split_ids = splits["split"].nunique()
    if (groups is None) != (y is None):
        raise InputError(None, None, "give both the rows' binaries (groups) and their targets (y), or neither")
    if groups is not None and y is not None:
        groups = np.asarray(groups, dtype=str)
        y = np.asarray(y, dtype=float)
        if groups.shape != y.shape:
            raise InputError(None, None, f"{groups.size} row binaries for {y.size} targets")
    rows = []
    for c in np.unique(labels):
        members = names[labels == c]
        per_split = counts.xs(int(c), level="cluster") if int(c) in counts.index.get_level_values("cluster") else None
        if per_split is None:
            per_split = pd.DataFrame(columns=["train", "test", "pool"], dtype=float)
        # Splits in which the cluster has no binary at all do not appear in the counts: they add zeros to the means.
        held = int(((per_split["train"] == 0) & (per_split["test"] > 0)).sum())
        row: dict[str, Any] = {
            "cluster": int(c),
            "n_binaries": int(members.size),
            "n_points": float("nan"),
            "miedema_rmse": float("nan"),
            "held_out_in_splits": held,
            "mean_test_binaries": float(per_split["test"].sum() / n_split_ids),
            "mean_pool_binaries": float(per_split["pool"].sum() / n_split_ids),
            "mean_train_binaries": float(per_split["train"].sum() / n_split_ids),
            "top_elements": _top_elements(members.tolist(), n_elements),
            "central_members": " ".join(names[closest_to_centre(clusters.X, labels, int(c), n_examples)]),
        }
        if groups is not None and y is not None:
            inside = np.isin(groups, members)
            row["n_points"] = int(inside.sum())
            row["miedema_rmse"] = binary_weighted_rmse(y[inside], groups[inside]) if inside.any() else float("nan")
        rows.append(row)
    return pd.DataFrame(rows, columns=list(CLUSTER_TABLE_COLUMNS))


def design_job(
    design: str,
    data: Any,
    source: Any,
    features: Sequence[str],
    n_splits: int,
    train_fraction: float,
    test_fraction: float,
    root_seed: int,
    cluster: Mapping[str, Any] | None = None,
    element: Mapping[str, Any] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rule al_splits: a design's splits table and the table of the K-means clusters of the dataset's binaries
    (written for every design, so a reader can see which regions each design's test sets cover).

    ``data``: the dataset's :class:`hmixal.model.ModelData`; ``source``: its FeatureSource; ``features``: the
    benchmark's acquisition features, in whose space the binaries are clustered."""
    cluster_options = ClusterOptions.from_mapping(cluster or {})
    names = np.unique(data.groups)
    clusters = cluster_binaries(
        names, source, features, derive_seed(root_seed, "al-split-cluster", "kmeans"), cluster_options
    )
    splits = design_splits(
        design, names, n_splits, train_fraction, test_fraction, root_seed, clusters, cluster_options,
        ElementOptions.from_mapping(element or {}),
    )  # fmt: skip
    return splits, cluster_table_for_design(clusters, splits, data.groups, data.y)
