"""Splits of a dataset that keep every binary system whole (a binary never straddles two sets)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def grouped_folds(groups: Sequence[str] | np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """Fold id (0 … n_folds−1) per row; groups are shuffled by ``seed`` and placed largest-first on the
    fold with the fewest rows, so folds are balanced in rows and every group sits in exactly one fold."""
    groups = np.asarray(groups)
    names, inverse, sizes = np.unique(groups, return_inverse=True, return_counts=True)
    if n_folds < 2 or n_folds > names.size:
        raise ValueError(f"need 2 ≤ n_folds ≤ number of groups ({names.size}), got {n_folds}")
    rng = np.random.default_rng(seed)
    shuffle = rng.permutation(names.size)
    # Largest groups first (random order among equal sizes) gives near-equal fold sizes.
    order = shuffle[np.argsort(-sizes[shuffle], kind="stable")]
    load = np.zeros(n_folds, dtype=np.int64)
    fold_of_group = np.empty(names.size, dtype=np.int64)
    for g in order:
        k = int(np.argmin(load))
        fold_of_group[g] = k
        load[k] += sizes[g]
    return fold_of_group[inverse]


def grouped_holdout(groups: Sequence[str] | np.ndarray, test_fraction: float, seed: int) -> np.ndarray:
    """Boolean test mask holding out a random ``test_fraction`` of the groups (at least one, not all)."""
    groups = np.asarray(groups)
    names = np.unique(groups)
    n_test = min(max(1, round(test_fraction * names.size)), names.size - 1)
    rng = np.random.default_rng(seed)
    test_names = rng.choice(names, size=n_test, replace=False)
    return np.isin(groups, test_names)


def derive_seed(root: int, *keys: int | str) -> int:
    """A reproducible 32-bit seed for one step of the pipeline, derived from the config's root seed."""
    text = ":".join(str(k) for k in (root, *keys))
    return int(np.random.SeedSequence([ord(c) for c in text]).generate_state(1)[0])
