"""The GP uncertainty map: where in the 2415 binary liquids new ΔH_mix data would teach the model most.

A Gaussian process on the standardised active-learning features (the 10 of seed §2.1) is trained on the
initial dataset with the active-learning benchmark's target, y = ΔH_mix(data) − ΔH_mix(Miedema). For every
binary the posterior variance of the latent function is evaluated on a composition grid; its maximum and
the composition where it occurs make the map (seed Fig. 1; docs/uncertainty.md). The variance does not depend on the
targets, only on where the training points lie and on the hyper-parameters, which are learnt once (seeded).

Cost: one Cholesky factorisation of the n × n training matrix, then n² flops per candidate for the
triangular solve. Candidates are processed a block of binaries at a time, so memory stays at a few
k(candidate, train) blocks and the full candidate covariance is never formed.

A batch of new points can be chosen jointly (:func:`variance_reduction_batch`): greedily, each pick the candidate
whose noisy observation most reduces the latent variance summed over a set of objective points (the map), the GP
then conditioned on it. Like the variance, the reduction does not depend on the values to be observed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import scipy.linalg
from scipy.linalg import blas

from hmixal.errors import InputError
from hmixal.features import FeatureSource, feature_positions, read_feature_list
from hmixal.gp import _JITTER, GaussianProcess, GPHyper, Standardiser, learn_hyper
from hmixal.manifest import read_verified_csv, read_verified_text
from hmixal.miedema_model import miedema_groups
from hmixal.model import ModelData, model_data
from hmixal.settings import FromMapping
from hmixal.splits import derive_seed
from hmixal.systems import all_binaries, composition_grid

# Columns of the variance table; the clustering step inserts ``cluster`` after ``x_at_max`` (gp_map.csv).
MAP_COLUMNS: tuple[str, ...] = (
    "A",
    "B",
    "max_variance",
    "x_at_max",
    "mean_variance",
    "n_points_in_dataset",
    "n_compositions_in_dataset",
    "max_std_kJ_per_mol",
    "variance_at_equimolar",
    "miedema_group",
)
# Blocks of 32 binaries × 99 compositions ≈ 3200 candidates: k(candidate, train) blocks of ~60 MB at
# n ≈ 2300 training points (a few such temporaries at a time), enough right-hand sides for efficient BLAS.
DEFAULT_BLOCK_BINARIES = 32


@dataclass(frozen=True)
class HyperSettings(FromMapping):
    """How the GP hyper-parameters are learnt: PHYSBO random starts and an optional seeded subsample."""

    SECTION: ClassVar[str] = "uncertainty"

    n_starts: int = 5
    # Each marginal-likelihood step costs a Cholesky and an inverse of the training matrix (O(n³)): ~17
    # CPU-minutes on all 2291 initial rows, ~25 s on 1000. Subsamples of 400–1200 rows gave the same ranking
    # of binaries as all rows (Spearman ≥ 0.9996, docs/uncertainty.md); 0 = all rows.
    hyper_subsample: int = 600

    def __post_init__(self) -> None:
        if self.n_starts < 1:
            raise InputError(None, None, f"GP n_starts must be ≥ 1, got {self.n_starts}")
        if self.hyper_subsample < 0:
            raise InputError(None, None, f"GP hyper-parameter subsample must be ≥ 0, got {self.hyper_subsample}")


def resolve_features(
    features: Sequence[str] | None, features_file: str | Path | None, known: Sequence[str]
) -> tuple[str, ...]:
    """The GP features: an explicit list (config) if given, else the names in ``features_file`` (RFE output)."""
    if features:
        if isinstance(features, str):
            raise InputError(None, None, f"GP features must be a list of names, got the string {features!r}")
        unknown = [f for f in features if f not in known]
        if unknown:
            raise InputError(None, None, f"unknown GP feature(s): {', '.join(unknown)}")
        if len(set(features)) != len(features):
            raise InputError(None, None, "a GP feature is listed twice")
        return tuple(features)
    if features_file is None:
        raise InputError(None, None, "no GP features: give a list or a feature file")
    return read_feature_list(features_file, known)


def train_gp(
    data: ModelData, features: Sequence[str], seed: int, settings: HyperSettings = HyperSettings()
) -> GaussianProcess:
    """A GP on ``features`` of every dataset row, standardised with the dataset's own column statistics, its
    hyper-parameters learnt once (on a seeded row subsample if ``settings.hyper_subsample`` asks for one)."""
    X = data.X[:, feature_positions(data.feature_names, features)]
    scaler = Standardiser.fit(X)
    Xs = scaler.transform(X)
    rows = np.arange(X.shape[0])
    if 0 < settings.hyper_subsample < X.shape[0]:
        rng = np.random.default_rng(derive_seed(seed, "gp-map-hyper-subsample"))
        rows = np.sort(rng.choice(rows, size=settings.hyper_subsample, replace=False))
    hyper = learn_hyper(Xs[rows], data.y[rows], derive_seed(seed, "gp-map-hyper"), n_starts=settings.n_starts)
    return GaussianProcess(X, data.y, hyper, scaler)


def condition_gp(data: ModelData, features: Sequence[str], hyper: GPHyper) -> GaussianProcess:
    """A GP on ``features`` of every dataset row with given hyper-parameters (no learning)."""
    X = data.X[:, feature_positions(data.feature_names, features)]
    return GaussianProcess(X, data.y, hyper, Standardiser.fit(X))


def load_map_gp(
    hyper_path: str | Path, dataset: pd.DataFrame, source: FeatureSource
) -> tuple[GaussianProcess, tuple[str, ...]]:
    """The map's GP again, without learning: its features and hyper-parameters from ``gp_hyper.json`` (checked
    against its manifest), conditioned on the same dataset rows (``condition_gp``, as ``train_gp`` did)."""
    hyper_path = Path(hyper_path)
    try:
        record = json.loads(read_verified_text(hyper_path))
        features = tuple(record["features"])
        hyper = GPHyper.from_dict(record)
        n_rows = int(record["n_training_rows"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(hyper_path, None, f"not a GP hyper-parameter record of the gp_map step ({exc})") from None
    if n_rows != len(dataset):
        raise InputError(
            hyper_path, None, f"learnt on {n_rows} dataset rows, the dataset has {len(dataset)}: rerun the gp_map step"
        )
    data = model_data(dataset, source)
    return condition_gp(data, resolve_features(list(features), None, data.feature_names), hyper), features


def variance_map(
    gp: GaussianProcess,
    source: FeatureSource,
    features: Sequence[str],
    pairs: Sequence[tuple[str, str]] | None = None,
    step: float = 0.01,
    block_binaries: int = DEFAULT_BLOCK_BINARIES,
) -> pd.DataFrame:
    """Per binary: the maximum latent variance over x_B = step … 1 − step, where it occurs, its mean over the
    grid, and the variance at x_B = 0.5.

    Variances are in (kJ/mol)². Binaries are processed ``block_binaries`` at a time; the triangular solves
    use the BLAS threads of the process (a rule's ``threads``, set by ``hmixal.jobs.start_job``). Python
    threads would not help: SciPy's triangular solve holds the GIL. The first grid point wins a tie.
    """
    pairs = all_binaries() if pairs is None else list(pairs)
    if not pairs:
        raise InputError(None, None, "no binaries to map")
    if block_binaries < 1:
        raise InputError(None, None, f"block_binaries must be ≥ 1, got {block_binaries}")
    try:
        x = composition_grid(step)
    except ValueError as exc:
        raise InputError(None, None, str(exc)) from None
    columns = feature_positions(source.names, features)
    a_all = np.array([p[0] for p in pairs])
    b_all = np.array([p[1] for p in pairs])
    max_variance = np.empty(len(pairs))
    mean_variance = np.empty(len(pairs))
    x_at_max = np.empty(len(pairs))
    for start in range(0, len(pairs), block_binaries):
        a = a_all[start : start + block_binaries]
        b = b_all[start : start + block_binaries]
        Z = source.features(np.repeat(a, x.size), np.repeat(b, x.size), np.tile(x, a.size))[:, columns]
        variance = gp.latent_variance(Z, chunk=Z.shape[0]).reshape(a.size, x.size)
        best = np.argmax(variance, axis=1)
        max_variance[start : start + a.size] = variance[np.arange(a.size), best]
        mean_variance[start : start + a.size] = variance.mean(axis=1)
        x_at_max[start : start + a.size] = x[best]
    equimolar = source.features(a_all, b_all, np.full(len(pairs), 0.5))[:, columns]
    return pd.DataFrame(
        {
            "A": a_all,
            "B": b_all,
            "max_variance": max_variance,
            "max_std_kJ_per_mol": np.sqrt(max_variance),
            "x_at_max": x_at_max,
            "mean_variance": mean_variance,
            "variance_at_equimolar": gp.latent_variance(equimolar),
        }
    )


# Objective points are processed this many at a time: with n ≈ 2300 training points and C ≈ 2400 candidates the
# block's k(objective, train), triangular solve and k(objective, candidate) temporaries stay near 40 MB each.
DEFAULT_OBJECTIVE_BLOCK = 2048


@dataclass(frozen=True)
class VarianceReductionBatch:
    """A batch picked greedily by the reduction of the latent variance summed over objective points ((kJ/mol)²)."""

    picks: np.ndarray  # candidate indices, in pick order
    reduction: np.ndarray  # per pick: expected reduction of the summed variance, given the data and earlier picks
    variance_before: np.ndarray  # per pick: the candidate's own latent variance just before it was picked
    total_variance: float  # latent variance summed over the objective points before the batch
    reduction_after: np.ndarray  # per candidate: the reduction it would bring if observed right after the batch
    variance_after: np.ndarray  # per candidate: its latent variance given the data and the whole batch


def _kernel(gp: GaussianProcess, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The GP's prior covariance k(left, right) between standardised rows (PHYSBO's kernel, as the GP uses it)."""
    return gp._model.prior.get_cov(left, right)


def _whitened(gp: GaussianProcess, points: np.ndarray) -> np.ndarray:
    """L⁻¹ k(X_train, points) with L Lᵀ = K + σ²I (+ jitter): its column norms are the variance the data explain."""
    # gp._U is the upper Cholesky factor PHYSBO prepared; reusing it keeps this GP and the map's one and the same.
    return scipy.linalg.solve_triangular(gp._U, _kernel(gp, gp.X, points), trans="T", lower=False)


def variance_reduction_batch(
    gp: GaussianProcess,
    candidates: np.ndarray,
    objective: np.ndarray,
    batch_size: int,
    block: int = DEFAULT_OBJECTIVE_BLOCK,
    fixed: Sequence[int] | np.ndarray | None = None,
) -> VarianceReductionBatch:
    """Pick ``batch_size`` rows of ``candidates`` one by one, each the one whose noisy observation most reduces the
    latent variance summed over the rows of ``objective``, then condition on it as a pseudo-observation.

    Both arrays hold raw (unstandardised) features in the GP's columns. Observing c with noise variance σ²
    lowers the variance at z by cov(z, c)² / (var(c) + σ²) (posterior covariances given the data and the
    earlier picks), so a candidate's gain is G_cc / (S_cc + σ²) with P = cov(objective, candidates), G = PᵀP
    and S = cov(candidates, candidates). Picking j with b = S[:, j], g = G[:, j] and d = S_jj + σ² updates
    P ← P − P[:, j] bᵀ / d, hence G ← G − (g bᵀ + b gᵀ) / d + G_jj b bᵀ / d² and S ← S − b bᵀ / d: rank-one
    updates of two C × C matrices per pick. Building G costs n² M (triangular solves) + 2 n M C + M C² flops
    for n training points, M objective points and C candidates; P is never stored whole. The first candidate
    wins a tie, so the batch is deterministic.

    With ``fixed`` (distinct candidate indices) the picks are those, in that order, instead of the greedy
    choice: the same accounting for another plan's rows (``batch_size`` is then ignored).
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(None, None, f"batch size must be a positive integer, got {batch_size!r}")
    if fixed is not None:
        fixed = np.asarray(fixed, dtype=np.int64)
        if fixed.ndim != 1 or np.unique(fixed).size != fixed.size or np.any((fixed < 0) | (fixed >= len(candidates))):
            raise InputError(None, None, f"fixed picks must be distinct candidate indices, got {fixed.tolist()}")
    if block < 1:
        raise InputError(None, None, f"objective block must be ≥ 1, got {block}")
    cand = gp.scaler.transform(candidates)
    points = gp.scaler.transform(objective)
    if cand.shape[0] == 0 or points.shape[0] == 0:
        raise InputError(None, None, "a variance-reduction batch needs at least one candidate and one objective point")
    prior = gp.hyper.signal_std**2
    # The same noise as GaussianProcess.select_batch: PHYSBO's σ² plus its diagonal jitter.
    noise = gp.hyper.noise_std**2 + _JITTER
    n_cand = cand.shape[0]
    w_cand = _whitened(gp, cand)
    # G and S are symmetric: only their upper triangles are kept (Fortran order, updated in place by BLAS).
    S = blas.dsyrk(-1.0, w_cand, beta=1.0, c=np.asfortranarray(_kernel(gp, cand, cand)), trans=1, overwrite_c=1)
    G = np.zeros((n_cand, n_cand), order="F")
    total = 0.0
    for start in range(0, points.shape[0], block):
        part = points[start : start + block]
        w_part = _whitened(gp, part)
        # Rounding can leave tiny negative variances where the data pin the function down (as latent_variance).
        total += float(np.maximum(prior - np.einsum("ij,ij->j", w_part, w_part), 0.0).sum())
        P = _kernel(gp, part, cand) - w_part.T @ w_cand
        G = blas.dsyrk(1.0, P.T, beta=1.0, c=G, overwrite_c=1)  # G += PᵀP (P.T is a Fortran view of P)

    def column(M: np.ndarray, j: int) -> np.ndarray:
        return np.concatenate((M[:j, j], M[j, j:]))

    def gains() -> tuple[np.ndarray, np.ndarray]:
        own = np.maximum(np.diag(S), 0.0)
        return np.maximum(np.diag(G), 0.0) / (own + noise), own

    available = np.ones(n_cand, dtype=bool)
    picks: list[int] = []
    reduction: list[float] = []
    variance_before: list[float] = []
    for k in range(min(batch_size, n_cand) if fixed is None else len(fixed)):
        gain, own = gains()
        j = int(np.flatnonzero(available)[np.argmax(gain[available])]) if fixed is None else int(fixed[k])
        picks.append(j)
        reduction.append(float(gain[j]))
        variance_before.append(float(own[j]))
        available[j] = False
        b, g, d = column(S, j), column(G, j), own[j] + noise
        # G − (g bᵀ + b gᵀ)/d + G_jj b bᵀ/d² written as one symmetric rank-two update −(x yᵀ + y xᵀ).
        G = blas.dsyr2(-1.0, g - (0.5 * g[j] / d) * b, b / d, a=G, overwrite_a=1)
        S = blas.dsyr(-1.0 / d, b, a=S, overwrite_a=1)
    gain, own = gains()
    return VarianceReductionBatch(
        picks=np.array(picks, dtype=np.int64),
        reduction=np.array(reduction),
        variance_before=np.array(variance_before),
        total_variance=total,
        reduction_after=gain,
        variance_after=own,
    )


def dataset_coverage(dataset: pd.DataFrame, pairs: Sequence[tuple[str, str]] | None = None) -> pd.DataFrame:
    """Per binary (A < B): the number of dataset rows and of distinct compositions x_B it holds."""
    pairs = all_binaries() if pairs is None else list(pairs)
    missing = {"A", "B", "x_B"} - set(dataset.columns)
    if missing:
        raise InputError(None, None, f"dataset lacks column(s) {sorted(missing)}")
    counts = dataset.groupby(["A", "B"]).agg(n_points=("x_B", "size"), n_compositions=("x_B", "nunique"))
    # A binary outside hmixal's canonical A < B pairs means a malformed dataset, not just an unmapped binary.
    unknown = counts.index.difference(pd.MultiIndex.from_tuples(all_binaries(), names=["A", "B"]))
    if len(unknown):
        a, b = unknown[0]
        raise InputError(None, None, f"dataset binary {a}-{b} is not a known binary with A < B alphabetically")
    counts = counts.reindex(pd.MultiIndex.from_tuples(pairs, names=["A", "B"]), fill_value=0)
    return pd.DataFrame(
        {
            "A": [p[0] for p in pairs],
            "B": [p[1] for p in pairs],
            "n_points_in_dataset": counts["n_points"].to_numpy(dtype=np.int64),
            "n_compositions_in_dataset": counts["n_compositions"].to_numpy(dtype=np.int64),
        }
    )


def uncertainty_table(
    gp: GaussianProcess,
    dataset: pd.DataFrame,
    source: FeatureSource,
    features: Sequence[str],
    step: float = 0.01,
    pairs: Sequence[tuple[str, str]] | None = None,
    block_binaries: int = DEFAULT_BLOCK_BINARIES,
) -> pd.DataFrame:
    """The map without clusters: variance columns, Miedema group and dataset coverage (``MAP_COLUMNS``)."""
    pairs = all_binaries() if pairs is None else list(pairs)
    table = variance_map(gp, source, features, pairs, step, block_binaries)
    coverage = dataset_coverage(dataset, pairs)
    table["miedema_group"] = miedema_groups(table["A"].to_numpy(), table["B"].to_numpy())
    table["n_points_in_dataset"] = coverage["n_points_in_dataset"].to_numpy()
    table["n_compositions_in_dataset"] = coverage["n_compositions_in_dataset"].to_numpy()
    return table[list(MAP_COLUMNS)]


def read_uncertainty_table(path: str | Path, required: Sequence[str] = MAP_COLUMNS) -> pd.DataFrame:
    """Read a map written by this module, checking its manifest, the columns and that variances are finite and ≥ 0."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, None, "uncertainty map not found")
    # A map cut or edited after its rule wrote it is refused, naming the file (hmixal.manifest).
    table = read_verified_csv(path, keep_default_na=False)
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise InputError(path, 1, f"missing column(s): {', '.join(missing)}")
    for column in [c for c in ("max_variance", "mean_variance", "x_at_max") if c in table.columns]:
        values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (values < 0)
        if column == "x_at_max":
            bad |= (values == 0) | (values >= 1)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(path, i + 2, f"{column} {table[column].iloc[i]!r} is not a valid value")
        table[column] = values
    duplicated = table.duplicated(["A", "B"])
    if duplicated.any():
        i = int(np.flatnonzero(duplicated)[0])
        raise InputError(path, i + 2, f"binary {table['A'].iloc[i]}-{table['B'].iloc[i]} appears twice")
    return table
