"""Domain of applicability: how well the training data cover a binary, and whether a prediction extrapolates.

Two measures, both computed against the binaries a model was trained on:
- element coverage: the number of training binaries that contain A and that contain B (an element in no
  training binary, e.g. carbon in the default data, leaves the correction nothing to learn from);
- feature-space distance: the Euclidean distance, in the model's features standardised over the training
  binaries and evaluated at the equimolar composition, to the nearest training binary.

A prediction is flagged ``extrapolation`` when an element has no training binary or when its distance exceeds
the 95th percentile of the training binaries' own leave-one-out nearest-neighbour distances.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

# Coverage classes used by the calibration (hmixal.calibration): the smaller of the two element counts.
COVERAGE_NONE = "none"  # an element with no training binary
COVERAGE_SCARCE = "scarce"  # the rarer element in 1 … SCARCE_MAX_BINARIES training binaries
COVERAGE_COVERED = "covered"
COVERAGE_CLASSES: tuple[str, ...] = (COVERAGE_NONE, COVERAGE_SCARCE, COVERAGE_COVERED)
SCARCE_MAX_BINARIES = 5
# The distance beyond which a binary counts as unlike the training binaries: this quantile of their own
# leave-one-out nearest-neighbour distances.
DISTANCE_QUANTILE = 0.95
# Features are evaluated at the equimolar composition: one point per binary, the composition the seed's AIMD
# and the uncertainty map use.
EQUIMOLAR = 0.5
DOMAIN_COLUMNS: tuple[str, ...] = (
    "n_train_binaries_A",
    "n_train_binaries_B",
    "coverage",
    "nn_distance",
    "nn_binary",
    "extrapolation",
)


def element_counts(binaries: Iterable[tuple[str, str]]) -> dict[str, int]:
    """Number of distinct binaries that contain each element."""
    counts: dict[str, int] = {}
    for pair in {tuple(sorted(p)) for p in binaries}:
        for element in pair:
            counts[element] = counts.get(element, 0) + 1
    return counts


def coverage_class(n_a: np.ndarray, n_b: np.ndarray) -> np.ndarray:
    """The coverage class of each point from its two element counts (the rarer element decides)."""
    rarer = np.minimum(np.asarray(n_a), np.asarray(n_b))
    return np.where(
        rarer == 0, COVERAGE_NONE, np.where(rarer <= SCARCE_MAX_BINARIES, COVERAGE_SCARCE, COVERAGE_COVERED)
    )


def binaries_of(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """The distinct (A, B) pairs of a table, sorted."""
    return sorted(set(zip(frame["A"], frame["B"], strict=True)))


@dataclass(frozen=True)
class TrainingDomain:
    """The training binaries of a model, their element counts and their standardised feature vectors."""

    binaries: tuple[tuple[str, str], ...]
    counts: dict[str, int]
    centre: np.ndarray
    scale: np.ndarray
    vectors: np.ndarray  # standardised equimolar features of the training binaries
    distance_limit: float

    @classmethod
    def build(cls, binaries: Sequence[tuple[str, str]], features) -> TrainingDomain:
        """The domain of ``binaries``; ``features(a, b, x)`` gives the model's feature matrix."""
        pairs = tuple(sorted(set(map(tuple, binaries))))
        raw = _equimolar(features, pairs)
        centre = raw.mean(axis=0)
        scale = raw.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)  # a constant feature carries no distance
        vectors = (raw - centre) / scale
        own = _nearest(vectors, vectors, exclude_self=True)[0]
        limit = float(np.quantile(own, DISTANCE_QUANTILE)) if own.size else float("inf")
        return cls(pairs, element_counts(pairs), centre, scale, vectors, limit)

    def describe(self, a: np.ndarray, b: np.ndarray, features) -> pd.DataFrame:
        """DOMAIN_COLUMNS for points A–B (one computation per distinct binary)."""
        points = pd.DataFrame({"A": np.asarray(a), "B": np.asarray(b)})
        pairs = points.drop_duplicates().reset_index(drop=True)
        vectors = (_equimolar(features, list(zip(pairs["A"], pairs["B"], strict=True))) - self.centre) / self.scale
        distance, nearest = _nearest(vectors, self.vectors, exclude_self=False)
        # A binary inside the training set is its own nearest neighbour, at distance 0 by construction.
        training = set(self.binaries)
        known = np.array([pair in training for pair in zip(pairs["A"], pairs["B"], strict=True)], dtype=bool)
        neighbour = ["-".join(self.binaries[int(k)]) for k in nearest] if self.binaries else [""] * len(pairs)
        pairs["n_train_binaries_A"] = [self.counts.get(e, 0) for e in pairs["A"]]
        pairs["n_train_binaries_B"] = [self.counts.get(e, 0) for e in pairs["B"]]
        pairs["coverage"] = coverage_class(pairs["n_train_binaries_A"], pairs["n_train_binaries_B"])
        pairs["nn_distance"] = np.where(known, 0.0, distance)
        pairs["nn_binary"] = np.where(known, pairs["A"] + "-" + pairs["B"], neighbour)
        rarer = np.minimum(pairs["n_train_binaries_A"], pairs["n_train_binaries_B"])
        pairs["extrapolation"] = (rarer == 0) | (pairs["nn_distance"] > self.distance_limit)
        return points.merge(pairs, on=["A", "B"], how="left")[list(DOMAIN_COLUMNS)]


def _equimolar(features, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    return np.asarray(features(a, b, np.full(a.shape, EQUIMOLAR)), dtype=float)


def _nearest(query: np.ndarray, reference: np.ndarray, exclude_self: bool) -> tuple[np.ndarray, np.ndarray]:
    if reference.shape[0] == 0 or query.shape[0] == 0:
        return np.full(query.shape[0], np.inf), np.zeros(query.shape[0], dtype=int)
    squared = ((query[:, None, :] - reference[None, :, :]) ** 2).sum(axis=2)
    if exclude_self:
        np.fill_diagonal(squared, np.inf)
    index = squared.argmin(axis=1)
    return np.sqrt(squared[np.arange(query.shape[0]), index]), index
