"""Regression-tree-based active learning (RT-AL; Jose et al., Data Min. Knowl. Disc. 38 (2024) 420).

A regression tree fitted on the labelled data splits the feature space into leaves of similar target.
Leaf k receives a share n_k = B·√(p_k v_k) / Σ_j √(p_j v_j) of the batch B, where p_k is the share of the
unlabelled candidates that fall in the leaf and v_k the unbiased variance of the labelled targets in it
(docs/active_learning.md). Shares are rounded by their integer parts, then the remaining slots go to the largest
fractional parts. Inside a leaf, the n_k points are chosen by *representativity*: k-means with n_k
clusters on the leaf's candidates; in each cluster the candidate maximising δ − R, where δ is its
distance to the nearest labelled or already chosen point and R its mean distance to the rest of its
cluster, iterated until the choice is stable.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.spatial.distance import cdist
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.tree import DecisionTreeRegressor


def leaf_shares(p: np.ndarray, v: np.ndarray, batch_size: int) -> np.ndarray:
    """Real-valued allocation n_k = B·√(p_k v_k)/Σ√(p v); proportional to p when every √(p v) is zero."""
    p, v = np.asarray(p, dtype=float), np.asarray(v, dtype=float)
    if p.shape != v.shape or p.ndim != 1:
        raise ValueError("p and v must be 1-D arrays of the same length")
    if np.any(p < 0) or np.any(v < 0) or not np.all(np.isfinite(p * v)):
        raise ValueError("p and v must be finite and non-negative")
    if p.sum() <= 0:
        raise ValueError("no leaf holds a candidate (all p_k are zero)")
    weight = np.sqrt(p * v)
    # All labelled leaves pure (v = 0): nothing favours one leaf, so sample in proportion to the candidates.
    if weight.sum() == 0:
        weight = p
    return batch_size * weight / weight.sum()


def round_shares(shares: np.ndarray, batch_size: int) -> np.ndarray:
    """Integer parts of the shares, then one more slot for each of the largest fractional parts
    (ties to the lower leaf index) until the batch is full."""
    shares = np.asarray(shares, dtype=float)
    counts = np.floor(shares + 1e-9).astype(np.int64)
    remaining = batch_size - int(counts.sum())
    if remaining < 0:
        raise ValueError(f"shares sum to more than the batch size {batch_size}")
    fraction = np.round(shares - counts, 9)  # rounding keeps float noise from reordering equal fractions
    order = np.argsort(-fraction, kind="stable")
    counts[order[:remaining]] += 1
    return counts


def allocate_leaves(p: np.ndarray, v: np.ndarray, batch_size: int, capacity: np.ndarray) -> np.ndarray:
    """Points to take from each leaf: rounded :func:`leaf_shares`, capped at each leaf's number of candidates;
    slots a full leaf cannot take are reallocated over the other leaves by the same rule."""
    p, v, capacity = np.asarray(p, float), np.asarray(v, float), np.asarray(capacity, np.int64)
    if batch_size < 1:
        raise ValueError(f"batch_size must be ≥ 1, got {batch_size}")
    counts = np.zeros(p.size, dtype=np.int64)
    budget = min(batch_size, int(capacity.sum()))
    open_leaf = capacity > 0
    while budget > 0:
        part = np.zeros(p.size, dtype=np.int64)
        part[open_leaf] = round_shares(leaf_shares(p[open_leaf], v[open_leaf], budget), budget)
        room = capacity - counts
        take = np.minimum(part, room)
        counts += take
        budget -= int(take.sum())
        open_leaf &= counts < capacity
    return counts


def _representative_picks(
    candidates: np.ndarray,
    labelled: np.ndarray,
    leaf_of: np.ndarray,
    counts: dict[int, int],
    seed: int,
    max_iter: int,
) -> np.ndarray:
    """Per leaf, k-means into ``counts[leaf]`` clusters, then per cluster the candidate maximising δ − R."""
    cluster_members: list[np.ndarray] = []
    picks: list[int] = []
    for leaf, n in counts.items():
        members = np.flatnonzero(leaf_of == leaf)
        if n >= members.size:
            for i in members:
                cluster_members.append(np.array([i]))
                picks.append(int(i))
            continue
        distinct, first = np.unique(candidates[members], axis=0, return_index=True)
        if distinct.shape[0] <= n:
            # Fewer distinct points than clusters: k-means is undefined; take each distinct point, then the rest
            # in order (repeated feature vectors are distinct data rows).
            chosen = list(members[np.sort(first)])
            taken = set(chosen)
            chosen += [i for i in members if i not in taken][: n - len(chosen)]
            for i in chosen:
                cluster_members.append(np.array([i]))
                picks.append(int(i))
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            km = KMeans(n_clusters=n, n_init=4, random_state=seed).fit(candidates[members])
        for c in range(n):
            group = members[km.labels_ == c]
            cluster_members.append(group)
            nearest = np.argmin(((candidates[group] - km.cluster_centers_[c]) ** 2).sum(axis=1))
            picks.append(int(group[nearest]))
    # R: mean distance of a candidate to the other members of its cluster (0 for a singleton).
    spread = []
    for group in cluster_members:
        d = cdist(candidates[group], candidates[group])
        spread.append(d.sum(axis=1) / max(group.size - 1, 1))
    for _ in range(max_iter):
        previous = list(picks)
        for c, group in enumerate(cluster_members):
            others = candidates[[picks[o] for o in range(len(picks)) if o != c]]
            reference = np.vstack([labelled, others]) if others.size else labelled
            delta = cdist(candidates[group], reference).min(axis=1)
            picks[c] = int(group[np.argmax(delta - spread[c])])
        if picks == previous:
            break
    return np.array(picks, dtype=np.int64)


def rtal_select(
    X_labelled: np.ndarray,
    y_labelled: np.ndarray,
    X_candidates: np.ndarray,
    batch_size: int,
    seed: int,
    min_samples_leaf: int = 5,
    max_leaf_nodes: int | None = None,
    max_iter: int = 10,
) -> np.ndarray:
    """Indices (into ``X_candidates``) of the RT-AL batch: tree on the labelled data, leaf allocation,
    representativity selection. Distances use the features as given, so pass standardised features."""
    X_labelled = np.asarray(X_labelled, dtype=float)
    X_candidates = np.asarray(X_candidates, dtype=float)
    y_labelled = np.asarray(y_labelled, dtype=float)
    if min_samples_leaf < 2:
        # v_k is an unbiased variance: a leaf with one labelled point has none.
        raise ValueError(f"min_samples_leaf must be ≥ 2, got {min_samples_leaf}")
    if X_labelled.ndim != 2 or X_candidates.ndim != 2 or X_labelled.shape[1] != X_candidates.shape[1]:
        raise ValueError("labelled and candidate features must be 2-D with the same number of columns")
    if y_labelled.shape != (X_labelled.shape[0],):
        raise ValueError(f"{y_labelled.size} labels for {X_labelled.shape[0]} labelled rows")
    if X_labelled.shape[0] < 2:
        raise ValueError("RT-AL needs at least 2 labelled points")
    if X_candidates.shape[0] == 0:
        return np.empty(0, dtype=np.int64)
    tree = DecisionTreeRegressor(min_samples_leaf=min_samples_leaf, max_leaf_nodes=max_leaf_nodes, random_state=seed)
    tree.fit(X_labelled, y_labelled)
    leaves = np.flatnonzero(tree.tree_.children_left == -1)
    labelled_leaf = tree.apply(X_labelled)
    candidate_leaf = tree.apply(X_candidates)
    v = np.array([np.var(y_labelled[labelled_leaf == k], ddof=1) for k in leaves])
    capacity = np.array([np.count_nonzero(candidate_leaf == k) for k in leaves])
    counts = allocate_leaves(capacity / capacity.sum(), v, batch_size, capacity)
    chosen = {int(k): int(n) for k, n in zip(leaves, counts, strict=True) if n > 0}
    return _representative_picks(X_candidates, X_labelled, candidate_leaf, chosen, seed, max_iter)
