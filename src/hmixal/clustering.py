"""K-means clustering of binary liquids: cluster scans, cluster tables, and Miedema's groups from thermodynamics.

Two uses, both from the seed (§2.1, §2.5, supplementary note 3; docs/uncertainty.md):

* the equimolar liquid of each of the 2415 binaries placed in the 10-D space of the active-learning
  features, clustered with K-means (paper: K = 6), to read the GP uncertainty map cluster by cluster;
* K-means with K = 3 on the mean and average deviation of Cpliq and Sliq (equimolar), compared with
  Miedema's three groups of binaries (TM–TM, TM–nonTM, nonTM–nonTM) under the best one-to-one matching of
  clusters to groups (paper: 79 % agreement), and the ratios mean Cpliq / P and mean Sliq / Q of Fig. 5.

Features are standardised over the binaries being clustered (z-scores with the population standard
deviation), so every feature weighs the same in the Euclidean distance K-means minimises.
K-means runs on one OpenMP thread: scikit-learn's multi-threaded Lloyd iterations sum partial centres in an
order that can depend on the thread count, and these problems (≤ 2415 points) take milliseconds anyway.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

from hmixal.errors import InputError
from hmixal.features import FeatureSource, feature_positions
from hmixal.gp import Standardiser
from hmixal.miedema_model import (
    GROUP_NONTM_NONTM,
    GROUP_TM_NONTM,
    GROUP_TM_TM,
    P_MIXED,
    P_NONTM_NONTM,
    P_TM_TM,
    Q_OVER_P,
)
from hmixal.splits import derive_seed

# The 4 features of supplementary note 3.2: mean and average deviation of Cpliq and Sliq.
MIEDEMA_FEATURES: tuple[str, ...] = ("Cpliq_mean", "Cpliq_avgdev", "Sliq_mean", "Sliq_avgdev")
MIEDEMA_GROUP_ORDER: tuple[str, ...] = (GROUP_TM_TM, GROUP_TM_NONTM, GROUP_NONTM_NONTM)
# Miedema's P per group (hmixal.miedema_model; seed §2.5); Q = 9.4 P.
P_BY_GROUP: dict[str, float] = {GROUP_TM_TM: P_TM_TM, GROUP_TM_NONTM: P_MIXED, GROUP_NONTM_NONTM: P_NONTM_NONTM}
# The refractory elements the seed names for its "refractory" cluster (§2.1: "Re, Ir, W and Os").
REFRACTORY: tuple[str, ...] = ("W", "Re", "Os", "Ir")
# Periodic-table groups 1–9 against 10–18: the seed's reading of its similar-group clusters (§2.1).
COLUMN_SPLIT = 10
SCAN_COLUMNS: tuple[str, ...] = ("k", "inertia", "silhouette")
DEFAULT_N_INIT = 20


def map_kmeans_seed(root_seed: int) -> int:
    """The K-means seed of the GP map's clusters (:func:`cluster_map` and its K scan), from the run's root seed."""
    return derive_seed(root_seed, "kmeans-map")


def miedema_kmeans_seed(root_seed: int) -> int:
    """The K-means seed of the Miedema-group clusters (:func:`miedema_group_clusters` and its K scan)."""
    return derive_seed(root_seed, "kmeans-miedema")


def equimolar_features(source: FeatureSource, pairs: Sequence[tuple[str, str]], features: Sequence[str]) -> np.ndarray:
    """The named features of the equimolar liquid (x_B = 0.5) of each binary, one row per pair."""
    columns = feature_positions(source.names, features)
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    return source.features(a, b, np.full(len(pairs), 0.5))[:, columns]


def standardise(X: np.ndarray) -> np.ndarray:
    """Z-scores of the columns of ``X`` over its own rows (a constant column becomes 0)."""
    return Standardiser.fit(X).transform(X)


def _check_k(k: int, n: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 2:
        raise InputError(None, None, f"number of clusters must be an integer ≥ 2, got {k!r}")
    if k >= n:
        raise InputError(None, None, f"number of clusters {k} must be smaller than the number of points {n}")


def kmeans(X: np.ndarray, k: int, seed: int, n_init: int = DEFAULT_N_INIT) -> KMeans:
    """A fitted K-means (k-means++ starts, ``n_init`` restarts, Lloyd iterations) on the rows of ``X``."""
    _check_k(k, X.shape[0])
    if n_init < 1:
        raise InputError(None, None, f"n_init must be ≥ 1, got {n_init}")
    model = KMeans(n_clusters=k, n_init=n_init, random_state=seed, algorithm="lloyd")
    with threadpool_limits(limits=1, user_api="openmp"):
        model.fit(X)
    return model


def kmeans_scan(X: np.ndarray, ks: Sequence[int], seed: int, n_init: int = DEFAULT_N_INIT) -> pd.DataFrame:
    """Inertia (elbow) and mean silhouette (Euclidean, all points) of K-means for each K in ``ks``."""
    rows = []
    for k in ks:
        model = kmeans(X, int(k), seed, n_init)
        rows.append((int(k), float(model.inertia_), float(silhouette_score(X, model.labels_))))
    return pd.DataFrame(rows, columns=list(SCAN_COLUMNS))


def relabel(labels: np.ndarray, score: np.ndarray | None = None) -> np.ndarray:
    """Cluster ids 1…K in a stable order: by decreasing mean ``score`` (or decreasing size without one),
    ties by the position of each cluster's first member — so ids never depend on K-means' arbitrary numbering."""
    labels = np.asarray(labels)
    clusters, first = np.unique(labels, return_index=True)
    if score is None:
        key = np.array([-np.sum(labels == c) for c in clusters], dtype=float)
    else:
        score = np.asarray(score, dtype=float)
        if score.shape != labels.shape:
            raise ValueError(f"{score.size} scores for {labels.size} labels")
        key = np.array([-score[labels == c].mean() for c in clusters])
    order = np.lexsort((first, key))  # primary key last
    new_id = np.empty(clusters.size, dtype=np.int64)
    new_id[order] = np.arange(1, clusters.size + 1)
    return new_id[np.searchsorted(clusters, labels)]


def closest_to_centre(X: np.ndarray, labels: np.ndarray, cluster: int, n: int) -> np.ndarray:
    """Indices of the ``n`` members of ``cluster`` nearest to its mean (ties by index)."""
    members = np.flatnonzero(labels == cluster)
    distance = np.linalg.norm(X[members] - X[members].mean(axis=0), axis=1)
    return members[np.lexsort((members, distance))[:n]]


def _top_elements(a: np.ndarray, b: np.ndarray, element_order: Sequence[str], n: int) -> str:
    """'El:count' of the elements found in most member binaries (ties in ``element_order``)."""
    counts = pd.Series(np.concatenate([a, b])).value_counts()
    rank = {e: i for i, e in enumerate(element_order)}
    ordered = sorted(counts.items(), key=lambda item: (-item[1], rank.get(item[0], len(rank))))
    return " ".join(f"{e}:{c}" for e, c in ordered[:n])


def _mean_or_nan(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else float("nan")


def cluster_table(
    table: pd.DataFrame,
    X: np.ndarray,
    columns: Mapping[str, float],
    element_order: Sequence[str],
    refractory: Sequence[str] = REFRACTORY,
    n_examples: int = 5,
) -> pd.DataFrame:
    """One row per cluster of a per-binary table (A, B, cluster, max_variance, n_points_in_dataset).

    ``X`` holds the standardised clustering features (for the members nearest the centre); ``columns``
    maps element symbols to their periodic-table group (the element table's ``Column``). The columns let
    the seed's reading be checked: a carbon-only cluster (``share_with_C``), a refractory cluster
    (``share_with_refractory``), clusters of two elements of groups 1–9 or of 10–18 (``share_low_low``,
    ``share_high_high``) and of very different groups (``share_low_high``, ``mean_column_difference``).
    """
    missing = {"A", "B", "cluster", "max_variance", "n_points_in_dataset"} - set(table.columns)
    if missing:
        raise InputError(None, None, f"cluster table input lacks column(s) {sorted(missing)}")
    labels = table["cluster"].to_numpy()
    col_a = table["A"].map(columns).to_numpy(dtype=float)
    col_b = table["B"].map(columns).to_numpy(dtype=float)
    low_a, low_b = col_a < COLUMN_SPLIT, col_b < COLUMN_SPLIT
    refractory_set = set(refractory)
    rows = []
    for c in np.unique(labels):
        m = labels == c
        sub = table[m]
        with_data = sub["n_points_in_dataset"].to_numpy() > 0
        variance = sub["max_variance"].to_numpy(dtype=float)
        names = (table["A"] + "-" + table["B"]).to_numpy()
        top = sub.iloc[np.lexsort((np.arange(len(sub)), -variance))[:3]]
        rows.append(
            {
                "cluster": int(c),
                "n_binaries": int(m.sum()),
                "n_binaries_with_data": int(with_data.sum()),
                "share_with_data": float(with_data.mean()),
                "n_points_in_dataset": int(sub["n_points_in_dataset"].sum()),
                "mean_variance": float(variance.mean()),
                "median_variance": float(np.median(variance)),
                "max_variance": float(variance.max()),
                "mean_variance_with_data": _mean_or_nan(variance[with_data]),
                "mean_variance_without_data": _mean_or_nan(variance[~with_data]),
                "share_low_low": float((low_a & low_b)[m].mean()),
                "share_high_high": float((~low_a & ~low_b)[m].mean()),
                "share_low_high": float((low_a != low_b)[m].mean()),
                "mean_column_difference": float(np.abs(col_a - col_b)[m].mean()),
                "share_with_C": float(((sub["A"] == "C") | (sub["B"] == "C")).mean()),
                "share_with_refractory": float((sub["A"].isin(refractory_set) | sub["B"].isin(refractory_set)).mean()),
                "top_elements": _top_elements(sub["A"].to_numpy(), sub["B"].to_numpy(), element_order, 6),
                "central_members": " ".join(names[closest_to_centre(X, labels, c, n_examples)]),
                "most_uncertain": " ".join(top["A"] + "-" + top["B"]),
            }
        )
    return pd.DataFrame(rows)


def match_clusters(labels: np.ndarray, truth: np.ndarray) -> tuple[dict[object, object], float, pd.DataFrame]:
    """Best one-to-one assignment of clusters to true groups (Hungarian algorithm on the contingency table).

    Returns the mapping cluster → group, the accuracy (share of points whose cluster is mapped to their
    group; clusters left unmatched when there are more clusters than groups count as wrong) and the
    contingency table (rows: clusters, columns: groups, sorted).
    """
    labels, truth = np.asarray(labels), np.asarray(truth)
    if labels.shape != truth.shape or labels.ndim != 1:
        raise InputError(None, None, f"{labels.size} cluster labels for {truth.size} group labels")
    if labels.size == 0:
        raise InputError(None, None, "no points to match")
    contingency = pd.crosstab(pd.Series(labels, name="cluster"), pd.Series(truth, name="group"))
    rows, cols = linear_sum_assignment(contingency.to_numpy(), maximize=True)
    mapping = {contingency.index[r]: contingency.columns[c] for r, c in zip(rows, cols, strict=True)}
    matched = int(contingency.to_numpy()[rows, cols].sum())
    return mapping, matched / labels.size, contingency


def miedema_ratios(source: FeatureSource, pairs: Sequence[tuple[str, str]], groups: np.ndarray) -> pd.DataFrame:
    """Per binary: equimolar mean Cpliq and Sliq (J/(mol·K)), Miedema's P and Q = 9.4 P, and the ratios of
    Fig. 5 of the seed, mean Cpliq / P and mean Sliq / Q."""
    cp, s = equimolar_features(source, pairs, ("Cpliq_mean", "Sliq_mean")).T
    p = np.array([P_BY_GROUP[str(g)] for g in groups])
    q = Q_OVER_P * p
    return pd.DataFrame(
        {
            "A": [a for a, _ in pairs],
            "B": [b for _, b in pairs],
            "miedema_group": groups,
            "Cpliq_mean": cp,
            "Sliq_mean": s,
            "P": p,
            "Q": q,
            "Cpliq_over_P": cp / p,
            "Sliq_over_Q": s / q,
        }
    )


def ratio_summary(ratios: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation and quartiles of Cpliq/P and Sliq/Q per Miedema group, then over all binaries."""
    rows = []
    for group in (*MIEDEMA_GROUP_ORDER, "all"):
        sub = ratios if group == "all" else ratios[ratios["miedema_group"] == group]
        for name in ("Cpliq_over_P", "Sliq_over_Q"):
            v = sub[name].to_numpy(dtype=float)
            q1, med, q3 = np.percentile(v, [25, 50, 75])
            rows.append(
                {
                    "miedema_group": group,
                    "ratio": name,
                    "n_binaries": int(v.size),
                    "mean": float(v.mean()),
                    "std": float(v.std(ddof=1)) if v.size > 1 else float("nan"),
                    "q25": float(q1),
                    "median": float(med),
                    "q75": float(q3),
                }
            )
    return pd.DataFrame(rows)


def miedema_group_clusters(
    source: FeatureSource,
    pairs: Sequence[tuple[str, str]],
    groups: np.ndarray,
    seed: int,
    k: int = 3,
    features: Sequence[str] = MIEDEMA_FEATURES,
    n_init: int = DEFAULT_N_INIT,
) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """K-means on standardised equimolar ``features`` compared with Miedema's groups.

    Returns the per-binary table (A, B, miedema_group, cluster, matched_group, correct), the contingency
    table with each cluster's matched group, and the accuracy under the optimal matching.
    """
    groups = np.asarray(groups).astype(str)
    X = standardise(equimolar_features(source, pairs, features))
    labels = relabel(kmeans(X, k, seed, n_init).labels_)
    mapping, accuracy, contingency = match_clusters(labels, groups)
    matched = np.array([mapping.get(c, "") for c in labels], dtype=object)
    per_binary = pd.DataFrame(
        {
            "A": [a for a, _ in pairs],
            "B": [b for _, b in pairs],
            "miedema_group": groups,
            "cluster": labels,
            "matched_group": matched,
            "correct": matched == groups,
        }
    )
    confusion = contingency.reindex(columns=[g for g in MIEDEMA_GROUP_ORDER if g in contingency.columns])
    confusion = confusion.reset_index().rename_axis(columns=None)
    confusion.insert(1, "matched_group", [mapping.get(c, "") for c in confusion["cluster"]])
    confusion["n_binaries"] = confusion[[g for g in MIEDEMA_GROUP_ORDER if g in confusion.columns]].sum(axis=1)
    return per_binary, confusion, accuracy


def cluster_map(
    table: pd.DataFrame,
    source: FeatureSource,
    features: Sequence[str],
    k: int,
    seed: int,
    n_init: int = DEFAULT_N_INIT,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Add a ``cluster`` column after ``x_at_max`` to a per-binary map: K-means on the standardised
    equimolar ``features``, clusters numbered 1…K by decreasing mean ``max_variance`` (1 = most uncertain).

    Returns the table and the standardised feature matrix (rows as in the table).
    """
    missing = {"A", "B", "max_variance", "x_at_max"} - set(table.columns)
    if missing:
        raise InputError(None, None, f"uncertainty map lacks column(s) {sorted(missing)}")
    pairs = list(zip(table["A"], table["B"], strict=True))
    X = standardise(equimolar_features(source, pairs, features))
    labels = relabel(kmeans(X, k, seed, n_init).labels_, table["max_variance"].to_numpy(dtype=float))
    out = table.copy()
    out.insert(int(out.columns.get_loc("x_at_max")) + 1, "cluster", labels)
    return out, X
