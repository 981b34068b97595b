"""Active-learning benchmark (seed supplementary note 2): acquisition approaches on shared splits.

The binaries are split N times into train / test / pool (:func:`make_splits` for the paper's random design,
:mod:`hmixal.al_designs` for the held-out-cluster design; one table shared by every approach). In one split, an
approach starts from the train set, acquires ``batch_size`` units from the pool per iteration, and after each
iteration (and at iteration 0) an evaluator (:mod:`hmixal.al_evaluator`) is trained on train + acquired points and
scored by RMSE on the test set. The seed's five approaches (suppl. note 2), then hmixal's:

1. ``random``              — random pool binaries; the point nearest x_B = 0.5 of each; the binary leaves the pool.
2. ``rtal_points``         — RT-AL over the pool's points; a binary may be picked again (its other points stay).
3. ``rtal_binaries``       — RT-AL over the pool binaries (each represented by its equimolar-nearest point); the
                             binary leaves the pool.
4. ``gp_points``           — GP most-uncertain pool points, batch chosen by sequential conditioning of the variance.
5. ``gp_binaries``         — as 4, but a picked point's binary leaves the pool (also within the batch).
6. ``gp_equimolar``        — as 4 over the pool binaries' equimolar points only; the binary leaves the pool: what one
                             AIMD run per binary gives (the realistic AIMD strategy).
7. ``gp_ard_equimolar``    — as 6 with one kernel length scale per feature (ARD), warm-started from 6's.
8. ``committee_equimolar`` — the equimolar points where a bootstrap committee of the evaluator disagrees most.
9. ``random_curves``       — random pool binaries, each with its whole curve: what a calorimetric study gives.
10. ``gp_curves``          — the binaries of 5's picks, each with its whole curve.
11. ``oracle_equimolar``   — uses the labels: the equimolar points of largest current evaluator error; a reference
                             for how much a perfect error ranking would buy, not a strategy.

RT-AL and the GP use the active-learning features, standardised with the split's train-set statistics; their
target is the evaluator's, y = data − Miedema. Costs are counted per iteration (``batch_size`` binaries for the
binary units) and in binaries acquired (``n_binaries``). :func:`reference_rmse` gives each split's reference
lines (Miedema alone, the whole pool), :func:`learning_curves` and :func:`summarise` gather per-split tables into
mean curves and a comparison with the random reference.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from hmixal.al_designs import binary_weighted_rmse, common_iterations, weighs_binaries
from hmixal.al_evaluator import EvaluatorSettings, fit_predict
from hmixal.dataset import read_table
from hmixal.errors import InputError
from hmixal.features import PAPER_AL_FEATURES, FeatureSource, read_feature_list
from hmixal.gp import GaussianProcess, GPHyper, Standardiser, learn_hyper
from hmixal.manifest import read_verified_csv, read_verified_text
from hmixal.model import ModelData, model_data
from hmixal.rtal import rtal_select
from hmixal.settings import FromMapping
from hmixal.splits import derive_seed

log = logging.getLogger(__name__)

PAPER_APPROACHES: tuple[str, ...] = ("random", "rtal_points", "rtal_binaries", "gp_points", "gp_binaries")
APPROACHES: tuple[str, ...] = (
    *PAPER_APPROACHES,
    "gp_equimolar",
    "gp_ard_equimolar",
    "committee_equimolar",
    "random_curves",
    "gp_curves",
    "oracle_equimolar",
)
# What one acquisition unit is, per approach (docs/active_learning.md, the figure's legend).
UNITS: dict[str, str] = {
    "random": "equimolar point",
    "rtal_points": "point",
    "rtal_binaries": "equimolar point",
    "gp_points": "point",
    "gp_binaries": "point, binary removed",
    "gp_equimolar": "equimolar point",
    "gp_ard_equimolar": "equimolar point",
    "committee_equimolar": "equimolar point",
    "random_curves": "whole curve",
    "gp_curves": "whole curve",
    "oracle_equimolar": "equimolar point",
}
LABEL_USING: tuple[str, ...] = ("oracle_equimolar",)  # read the pool's labels to choose: reference lines
ARD_APPROACHES: tuple[str, ...] = ("gp_ard_equimolar",)
REFERENCE = "random"
# Reference lines per split (reference_rmse): Miedema alone, and the evaluator given the whole pool.
REFERENCE_LINES: tuple[str, ...] = ("miedema", "whole_pool", "whole_pool_equimolar")
REFERENCE_COLUMNS: tuple[str, ...] = ("split", "reference", "rmse", "n_points", "n_binaries")
ROLES: tuple[str, ...] = ("train", "test", "pool")
SPLIT_COLUMNS: tuple[str, ...] = ("split", "binary", "role")
RESULT_COLUMNS: tuple[str, ...] = (
    "approach", "split", "iteration", "n_acquired", "n_binaries", "rmse", "acquired_rows"
)  # fmt: skip
CURVE_COLUMNS: tuple[str, ...] = (
    "approach", "iteration", "n_acquired", "n_binaries", "rmse_mean", "rmse_std", "n_splits"
)  # fmt: skip
SUMMARY_COLUMNS: tuple[str, ...] = (
    "approach",
    "approach_number",
    "n_splits",
    "n_iterations",
    "rmse_start",
    "rmse_final_mean",
    "rmse_final_std",
    "auc_ratio",
    "auc_ratio_split_mean",
    "auc_ratio_split_std",
    "share_splits_better",
    "iterations_to_reference_final",
)
# Equimolar-nearest ties (x_B = 0.4 and 0.6) are broken towards the lower x_B; distances are compared after
# rounding so float noise (0.5 − 0.4 vs 0.6 − 0.5) does not decide.
_X_DECIMALS = 9


def make_splits(
    binaries: Sequence[str], n_splits: int, train_fraction: float, test_fraction: float, root_seed: int
) -> pd.DataFrame:
    """``n_splits`` random partitions of the binaries into train / test / pool (split, binary, role)."""
    names = np.unique(np.asarray(binaries, dtype=str))
    if n_splits < 1:
        raise ValueError(f"n_splits must be ≥ 1, got {n_splits}")
    if not (0 < train_fraction < 1 and 0 < test_fraction < 1 and train_fraction + test_fraction < 1):
        raise ValueError(f"need 0 < train, test and train + test < 1; got {train_fraction}, {test_fraction}")
    n_train = round(train_fraction * names.size)
    n_test = round(test_fraction * names.size)
    if min(n_train, n_test, names.size - n_train - n_test) < 1:
        raise ValueError(
            f"{names.size} binaries are too few for train / test / pool fractions {train_fraction}, {test_fraction}"
        )
    role = np.array(["train"] * n_train + ["test"] * n_test + ["pool"] * (names.size - n_train - n_test))
    frames = []
    for split in range(n_splits):
        order = np.random.default_rng(derive_seed(root_seed, "al-split", split)).permutation(names.size)
        frames.append(pd.DataFrame({"split": split, "binary": names[order], "role": role}))
    table = pd.concat(frames, ignore_index=True)
    return table.sort_values(["split", "binary"], ignore_index=True)


def read_splits(path: str | Path) -> pd.DataFrame:
    """Read a splits table written from :func:`make_splits`, checking its manifest, columns, roles and duplicates."""
    table = read_verified_csv(path, keep_default_na=False, dtype={"binary": str, "role": str})
    missing = set(SPLIT_COLUMNS) - set(table.columns)
    if missing:
        raise InputError(path, 1, f"missing column(s) {sorted(missing)}")
    bad = ~table["role"].isin(ROLES)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise InputError(path, first + 2, f"role {table['role'].iloc[first]!r} is not one of {list(ROLES)}")
    dup = table.duplicated(["split", "binary"])
    if dup.any():
        first = int(np.flatnonzero(dup)[0])
        raise InputError(path, first + 2, f"binary {table['binary'].iloc[first]} appears twice in one split")
    return table


def split_masks(
    splits: pd.DataFrame, split: int, groups: np.ndarray, source: str | Path | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boolean train / test / pool masks over the dataset rows for one split; the table must cover the dataset."""
    part = splits[splits["split"] == split]
    if part.empty:
        raise InputError(source, None, f"split {split} is not in the splits table")
    role = dict(zip(part["binary"], part["role"], strict=True))
    unknown = sorted(set(groups) - set(role))
    if unknown:
        raise InputError(source, None, f"split {split} lacks binaries of the dataset: {unknown[:5]}")
    extra = sorted(set(role) - set(groups))
    if extra:
        raise InputError(source, None, f"split {split} names binaries absent from the dataset: {extra[:5]}")
    row_role = np.array([role[g] for g in groups])
    return row_role == "train", row_role == "test", row_role == "pool"


def equimolar_rows(frame: pd.DataFrame, rows: np.ndarray) -> dict[str, int]:
    """For each binary among ``rows``: the row closest to x_B = 0.5 (ties: lower x_B, then lower row)."""
    rows = np.asarray(rows)
    sub = pd.DataFrame(
        {
            "row": rows,
            "binary": (frame["A"] + "-" + frame["B"]).to_numpy()[rows],
            "x": frame["x_B"].to_numpy(dtype=float)[rows],
        }
    )
    sub["distance"] = (sub["x"] - 0.5).abs().round(_X_DECIMALS)
    sub = sub.sort_values(["binary", "distance", "x", "row"], kind="stable")
    first = sub.drop_duplicates("binary")
    return dict(zip(first["binary"], first["row"].astype(int), strict=True))


@dataclass(frozen=True)
class GPOptions(FromMapping):
    """GP acquisition settings: hyper-parameter refit schedule and PHYSBO learning effort."""

    SECTION: ClassVar[str] = "active_learning.gp"

    refit_every: int = 0  # 0: learn once per split on the train set; k > 0: relearn every k iterations
    n_starts: int = 2  # random starts of the first (cold) isotropic hyper-parameter fit


@dataclass(frozen=True)
class RTALOptions(FromMapping):
    """RT-AL settings (the tree's leaf constraints and the representativity iterations)."""

    SECTION: ClassVar[str] = "active_learning.rtal"

    min_samples_leaf: int = 5
    max_leaf_nodes: int | None = None
    max_iter: int = 10


@dataclass(frozen=True)
class CommitteeOptions(FromMapping):
    """Bootstrap committee (approach 8): members trained on binaries resampled with replacement."""

    SECTION: ClassVar[str] = "active_learning.committee"

    n_members: int = 4


@dataclass(frozen=True)
class BenchmarkSettings:
    """Everything an approach run needs besides the data and the splits."""

    al_features: tuple[str, ...]
    lgbm: Mapping[str, object]
    root_seed: int
    batch_size: int = 4
    n_iterations: int | None = None  # None: pool binaries // batch_size (random sampling exhausts the pool)
    eval_features: tuple[str, ...] | None = None  # None: all 44 candidate features
    gp: GPOptions = field(default_factory=GPOptions)
    rtal: RTALOptions = field(default_factory=RTALOptions)
    committee: CommitteeOptions = field(default_factory=CommitteeOptions)
    evaluator: EvaluatorSettings = field(default_factory=EvaluatorSettings)
    weight_per_binary: bool = False  # test RMSE with every test binary weighing the same (cluster design)
    threads: int = 1

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be ≥ 1, got {self.batch_size}")
        if self.n_iterations is not None and self.n_iterations < 1:
            raise ValueError(f"n_iterations must be ≥ 1 or None, got {self.n_iterations}")
        if self.gp.refit_every < 0:
            raise ValueError(f"gp.refit_every must be ≥ 0, got {self.gp.refit_every}")
        if self.committee.n_members < 2:
            raise ValueError(f"committee.n_members must be ≥ 2 (a spread needs two), got {self.committee.n_members}")


FEATURE_LISTS: tuple[str, ...] = ("paper", "rfe")


def al_feature_list(spec: str | Sequence[str], rfe_list: str | Path | None, known: Sequence[str]) -> tuple[str, ...]:
    """The acquisition features a config names: ``paper`` (the seed's ten, chosen without this benchmark's test
    binaries), ``rfe`` (the RFE study's list in ``rfe_list``, chosen on the whole dataset) or a list of names."""
    if isinstance(spec, str):
        if spec == "paper":
            return PAPER_AL_FEATURES
        if spec == "rfe":
            if rfe_list is None:
                raise ValueError("active_learning.features: rfe needs the RFE study's feature list")
            return read_feature_list(rfe_list, known)
        raise ValueError(f"active_learning.features must be one of {list(FEATURE_LISTS)} or a list, got {spec!r}")
    unknown = [f for f in spec if f not in known]
    if unknown or not spec or len(set(spec)) != len(spec):
        raise ValueError(f"active_learning.features: unknown, repeated or no feature names in {list(spec)}")
    return tuple(spec)


def benchmark_settings(
    run: Mapping[str, Any],
    design: str,
    features_al: str | Path | Sequence[str | Path] | None,
    feature_names: Sequence[str],
    threads: int,
) -> BenchmarkSettings:
    """The settings of a rule's ``run`` mapping (config active_learning's features, lgbm, batch_size, n_iterations,
    eval_features, gp, rtal, committee, evaluator, and the root seed) for a test design: one reading for every AL
    job. ``features_al``: the RFE's AL list (a path, or the rule's input list of zero or one path)."""
    if isinstance(features_al, (list, tuple)):
        features_al = features_al[0] if features_al else None
    eval_features = None if run["eval_features"] is None else tuple(run["eval_features"])
    return BenchmarkSettings(
        al_features=al_feature_list(run["features"], features_al, feature_names),
        lgbm=dict(run["lgbm"]),
        root_seed=int(run["seed"]),
        batch_size=run["batch_size"],
        n_iterations=run["n_iterations"],
        eval_features=eval_features,
        gp=GPOptions.from_mapping(run["gp"]),
        rtal=RTALOptions.from_mapping(run["rtal"]),
        committee=CommitteeOptions.from_mapping(run["committee"]),
        evaluator=EvaluatorSettings.from_mapping(run["evaluator"]),
        weight_per_binary=weighs_binaries(design),
        threads=threads,
    )


def load_benchmark(
    inputs: Any, run: Mapping[str, Any], design: str, threads: int
) -> tuple[ModelData, pd.DataFrame, BenchmarkSettings]:
    """A rule's dataset, splits and settings: ``inputs`` has the paths ``dataset``, ``elements``, ``splits`` and
    ``features_al`` (the RFE list, or an empty list when the config names the features).

    ``n_iterations: null`` becomes the design's common length (:func:`hmixal.al_designs.common_iterations`): the
    held-out designs' pools differ in size from split to split, and the fixed budgets need one run length."""
    data = model_data(read_table(inputs.dataset), FeatureSource(inputs.elements))
    settings = benchmark_settings(run, design, inputs.features_al, data.feature_names, threads)
    splits = read_splits(inputs.splits)
    if settings.n_iterations is None:
        settings = replace(settings, n_iterations=common_iterations(splits, settings.batch_size))
    return data, splits, settings


def read_split_hypers(path: str | Path) -> dict[int, dict[str, GPHyper]]:
    """The shared first GP hyper-parameters of a block's splits (rule al_gp_hyper): split → kind → hyper-parameters,
    kind ``isotropic`` (and ``ard`` when an ARD approach runs)."""
    import json

    try:
        record = json.loads(read_verified_text(path))
        return {int(s): {kind: GPHyper.from_dict(d) for kind, d in kinds.items()} for s, kinds in record.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(path, None, f"not a table of GP hyper-parameters per split: {exc}") from exc


def default_iterations(n_pool_binaries: int, batch_size: int) -> int:
    """Iterations after which random sampling has taken every pool binary (paper: 204 // 4 = 51 ≈ its ~50)."""
    return max(1, n_pool_binaries // batch_size)


@dataclass
class _Split:
    """One split's fixed context: masks, standardised AL features, equimolar points, evaluator inputs."""

    data: ModelData
    split: int
    train: np.ndarray
    test: np.ndarray
    pool: np.ndarray
    Z: np.ndarray  # AL features, standardised with the train set's statistics
    scaler: Standardiser
    equimolar: dict[str, int]
    settings: BenchmarkSettings


@dataclass
class _State:
    """What changes during a run: the acquired rows, the pool rows still available, the GP hyper-parameters and the
    last evaluator's predictions (every row; the oracle ranks by their error)."""

    acquired: list[int]
    available: np.ndarray
    hyper: GPHyper | None = None
    prediction: np.ndarray | None = None


def _drop_binaries(ctx: _Split, state: _State, rows: Sequence[int]) -> None:
    for r in rows:
        state.available &= ctx.data.groups != ctx.data.groups[r]


def _whole_curves(ctx: _Split, state: _State, rows: Sequence[int]) -> list[int]:
    """Every available pool row of the binaries of ``rows`` (a whole measured curve each); they leave the pool."""
    picked = np.isin(ctx.data.groups, ctx.data.groups[np.asarray(rows, dtype=np.int64)]) & state.available
    state.available &= ~picked
    return [int(r) for r in np.flatnonzero(picked)]


def _equimolar_candidates(ctx: _Split, state: _State) -> np.ndarray:
    """The equimolar-nearest row of every binary still in the pool."""
    return np.array([ctx.equimolar[b] for b in np.unique(ctx.data.groups[state.available])], dtype=np.int64)


def _random_binaries(ctx: _Split, state: _State, rng: np.random.Generator) -> list[int]:
    remaining = np.unique(ctx.data.groups[state.available])
    chosen = rng.choice(remaining, size=min(ctx.settings.batch_size, remaining.size), replace=False)
    return [ctx.equimolar[b] for b in chosen]


def _pick_random(ctx: _Split, state: _State, iteration: int, rng: np.random.Generator) -> list[int]:
    picks = _random_binaries(ctx, state, rng)
    _drop_binaries(ctx, state, picks)
    return picks


def _pick_random_curves(ctx: _Split, state: _State, iteration: int, rng: np.random.Generator) -> list[int]:
    return _whole_curves(ctx, state, _random_binaries(ctx, state, rng))


def _labelled(ctx: _Split, state: _State) -> np.ndarray:
    return np.sort(np.concatenate([np.flatnonzero(ctx.train), np.asarray(state.acquired, dtype=np.int64)]))


def _rtal(ctx: _Split, state: _State, candidates: np.ndarray, iteration: int, approach: str) -> list[int]:
    labelled = _labelled(ctx, state)
    o = ctx.settings.rtal
    seed = derive_seed(ctx.settings.root_seed, "al-rtal", approach, ctx.split, iteration)
    chosen = rtal_select(
        ctx.Z[labelled],
        ctx.data.y[labelled],
        ctx.Z[candidates],
        ctx.settings.batch_size,
        seed,
        min_samples_leaf=o.min_samples_leaf,
        max_leaf_nodes=o.max_leaf_nodes,
        max_iter=o.max_iter,
    )
    return [int(candidates[i]) for i in chosen]


def _pick_rtal_points(ctx: _Split, state: _State, iteration: int, rng: np.random.Generator) -> list[int]:
    picks = _rtal(ctx, state, np.flatnonzero(state.available), iteration, "rtal_points")
    state.available[picks] = False
    return picks


def _pick_rtal_binaries(ctx: _Split, state: _State, iteration: int, rng: np.random.Generator) -> list[int]:
    picks = _rtal(ctx, state, _equimolar_candidates(ctx, state), iteration, "rtal_binaries")
    _drop_binaries(ctx, state, picks)
    return picks


def _gp_select(ctx: _Split, state: _State, iteration: int, candidates: np.ndarray, one_per_group: bool) -> list[int]:
    """The GP's batch among ``candidates``: largest latent variance, conditioned pick by pick."""
    labelled = _labelled(ctx, state)
    if state.hyper is None:
        raise ValueError(f"split {ctx.split}: a GP approach needs the split's hyper-parameters (split_hypers)")
    if ctx.settings.gp.refit_every and iteration > 1 and (iteration - 1) % ctx.settings.gp.refit_every == 0:
        seed = derive_seed(ctx.settings.root_seed, "al-gp", ctx.split, iteration)
        state.hyper = learn_hyper(ctx.Z[labelled], ctx.data.y[labelled], seed, ard=state.hyper.ard, initial=state.hyper)
    # Z is already standardised: condition with an identity standardiser.
    identity = Standardiser(np.zeros(ctx.Z.shape[1]), np.ones(ctx.Z.shape[1]))
    gp = GaussianProcess(ctx.Z[labelled], ctx.data.y[labelled], state.hyper, identity)
    chosen = gp.select_batch(
        ctx.Z[candidates], ctx.settings.batch_size, groups=ctx.data.groups[candidates], one_per_group=one_per_group
    )
    return [int(candidates[i]) for i in chosen]


def _pick_gp_points(ctx: _Split, state: _State, iteration: int, rng: np.random.Generator) -> list[int]:
    picks = _gp_select(ctx, state, iteration, np.flatnonzero(state.available), one_per_group=False)
    state.available[picks] = False
    return picks


def _pick_gp_binaries(ctx: _Split, state: _State, iteration: int, rng: np.random.Generator) -> list[int]:
    picks = _gp_select(ctx, state, iteration, np.flatnonzero(state.available), one_per_group=True)
    _drop_binaries(ctx, state, picks)
    return picks


def _pick_gp_equimolar(ctx: _Split, state: _State, iteration: int, rng: np.random.Generator) -> list[int]:
    picks = _gp_select(ctx, state, iteration, _equimolar_candidates(ctx, state), one_per_group=True)
    _drop_binaries(ctx, state, picks)
    return picks


def _pick_gp_curves(ctx: _Split, state: _State, iteration: int, rng: np.random.Generator) -> list[int]:
    return _whole_curves(ctx, state, _gp_select(ctx, state, iteration, np.flatnonzero(state.available), True))


def _top(score: np.ndarray, candidates: np.ndarray, n: int) -> list[int]:
    """The ``n`` candidates of largest score (ties: lower row first)."""
    order = np.lexsort((candidates, -score))
    return [int(candidates[i]) for i in order[:n]]


def _pick_committee(ctx: _Split, state: _State, iteration: int, rng: np.random.Generator) -> list[int]:
    # Members see the labelled binaries resampled with replacement (a binary's rows stay together), so their
    # spread reflects which binaries the evaluator happened to get — the uncertainty acquisition should reduce.
    labelled = _labelled(ctx, state)
    candidates = _equimolar_candidates(ctx, state)
    binaries = ctx.data.groups[labelled]
    names = np.unique(binaries)
    rows_of = {b: labelled[binaries == b] for b in names}
    # One LightGBM per member: the bootstrap already makes the members differ; averaging seeds inside each would
    # multiply the cost without changing what their spread measures.
    members = replace(ctx.settings, evaluator=replace(ctx.settings.evaluator, n_seeds=1))
    predictions = np.empty((ctx.settings.committee.n_members, candidates.size))
    for member in range(ctx.settings.committee.n_members):
        seed = derive_seed(ctx.settings.root_seed, "al-committee", ctx.split, iteration, member)
        draw = np.random.default_rng(seed).choice(names, size=names.size, replace=True)
        rows = np.concatenate([rows_of[b] for b in draw])
        predictions[member] = _fit_predict(members, ctx.data, rows, candidates, seed)
    picks = _top(predictions.var(axis=0), candidates, ctx.settings.batch_size)
    _drop_binaries(ctx, state, picks)
    return picks


def _pick_oracle(ctx: _Split, state: _State, iteration: int, rng: np.random.Generator) -> list[int]:
    if state.prediction is None:
        raise ValueError("the oracle needs the previous evaluation's predictions")
    candidates = _equimolar_candidates(ctx, state)
    error = np.abs(state.prediction[candidates] - ctx.data.y[candidates])  # the labels: not available in practice
    picks = _top(error, candidates, ctx.settings.batch_size)
    _drop_binaries(ctx, state, picks)
    return picks


_PICKERS = {
    "random": _pick_random,
    "rtal_points": _pick_rtal_points,
    "rtal_binaries": _pick_rtal_binaries,
    "gp_points": _pick_gp_points,
    "gp_binaries": _pick_gp_binaries,
    "gp_equimolar": _pick_gp_equimolar,
    "gp_ard_equimolar": _pick_gp_equimolar,
    "committee_equimolar": _pick_committee,
    "random_curves": _pick_random_curves,
    "gp_curves": _pick_gp_curves,
    "oracle_equimolar": _pick_oracle,
}


def _fit_predict(
    settings: BenchmarkSettings, data: ModelData, rows: np.ndarray, predict_rows: np.ndarray, seed: int
) -> np.ndarray:
    """The benchmark's evaluator trained on ``rows``: its predicted y of ``predict_rows``."""
    return fit_predict(
        settings.evaluator, settings.lgbm, data, settings.eval_features, rows, predict_rows, seed, settings.threads
    )


def _test_rmse(ctx: _Split, prediction: np.ndarray) -> float:
    test = np.flatnonzero(ctx.test)
    residual = prediction[test] - ctx.data.y[test]
    if ctx.settings.weight_per_binary:
        return binary_weighted_rmse(residual, ctx.data.groups[test])
    return float(np.sqrt(np.mean(residual**2)))


def _evaluate(ctx: _Split, state: _State) -> float:
    """Train the evaluator on the labelled rows; keep its predictions of every row; the test RMSE."""
    seed = derive_seed(ctx.settings.root_seed, "al-eval", ctx.split)  # one evaluator seed per split: paired runs
    rows = _labelled(ctx, state)
    everything = np.arange(ctx.data.y.size)
    state.prediction = _fit_predict(ctx.settings, ctx.data, rows, everything, seed)
    return _test_rmse(ctx, state.prediction)


def _context(data: ModelData, splits: pd.DataFrame, split: int, settings: BenchmarkSettings) -> _Split:
    unknown = [f for f in (*settings.al_features, *(settings.eval_features or ())) if f not in data.feature_names]
    if unknown:
        raise ValueError(f"unknown feature(s) {unknown}")
    train, test, pool = split_masks(splits, split, data.groups)
    Z_raw = data.columns(settings.al_features)
    scaler = Standardiser.fit(Z_raw[train])  # train-set statistics only: the test set never shapes acquisition
    return _Split(
        data, split, train, test, pool, scaler.transform(Z_raw), scaler,
        equimolar_rows(data.frame, np.flatnonzero(pool)), settings,
    )  # fmt: skip


def split_hypers(
    data: ModelData, splits: pd.DataFrame, split: int, settings: BenchmarkSettings, ard: bool = False
) -> dict[str, GPHyper]:
    """A split's first GP hyper-parameters, learnt once on its train set and shared by every GP approach (rule
    al_gp_hyper): ``isotropic`` (approaches 4–6, 10) and, with ``ard``, ``ard`` warm-started from it (approach 7)."""
    ctx = _context(data, splits, split, settings)
    seed = derive_seed(settings.root_seed, "al-gp", split, 1)
    Z, y = ctx.Z[ctx.train], data.y[ctx.train]
    hypers = {"isotropic": learn_hyper(Z, y, seed, n_starts=settings.gp.n_starts)}
    if ard:
        hypers["ard"] = learn_hyper(Z, y, seed, ard=True, initial=hypers["isotropic"].as_ard())
    return hypers


def reference_rmse(data: ModelData, splits: pd.DataFrame, split: int, settings: BenchmarkSettings) -> pd.DataFrame:
    """A split's reference lines: Miedema alone (no correction), and the evaluator trained on the train set plus the
    whole pool (every point) or the pool's equimolar points — the ceilings the acquisition curves run towards."""
    ctx = _context(data, splits, split, settings)
    seed = derive_seed(settings.root_seed, "al-eval", split)  # the approaches' evaluator seed: same scale
    train = np.flatnonzero(ctx.train)
    pool = np.flatnonzero(ctx.pool)
    everything = np.arange(data.y.size)
    records = [{"reference": "miedema", "rmse": _test_rmse(ctx, np.zeros(data.y.size)), "rows": np.array([], int)}]
    for name, added in (("whole_pool", pool), ("whole_pool_equimolar", np.array(sorted(ctx.equimolar.values())))):
        rows = np.sort(np.concatenate([train, added]))
        prediction = _fit_predict(settings, data, rows, everything, seed)
        records.append({"reference": name, "rmse": _test_rmse(ctx, prediction), "rows": added})
    table = pd.DataFrame(
        {
            "split": split,
            "reference": [r["reference"] for r in records],
            "rmse": [r["rmse"] for r in records],
            "n_points": [r["rows"].size for r in records],
            "n_binaries": [np.unique(data.groups[r["rows"]]).size for r in records],
        }
    )
    return table[list(REFERENCE_COLUMNS)]


def run_split(
    data: ModelData,
    splits: pd.DataFrame,
    split: int,
    approach: str,
    settings: BenchmarkSettings,
    hypers: Mapping[str, GPHyper] | None = None,
) -> pd.DataFrame:
    """Learning curve of one approach on one split: a row per iteration (RMSE on test, rows acquired).

    ``hypers``: the split's first GP hyper-parameters (:func:`split_hypers`); learnt here when not given."""
    if approach not in _PICKERS:
        raise ValueError(f"unknown approach {approach!r}; choose from {list(APPROACHES)}")
    ctx = _context(data, splits, split, settings)
    hyper = None
    if "gp" in approach:
        ard = approach in ARD_APPROACHES
        hypers = hypers or split_hypers(data, splits, split, settings, ard=ard)
        hyper = hypers["ard" if ard else "isotropic"]
    state = _State(acquired=[], available=ctx.pool.copy(), hyper=hyper)
    n_iterations = settings.n_iterations or default_iterations(len(ctx.equimolar), settings.batch_size)
    rng = np.random.default_rng(derive_seed(settings.root_seed, "al-random", split))
    records = [{"iteration": 0, "n_acquired": 0, "n_binaries": 0, "rmse": _evaluate(ctx, state), "acquired_rows": ""}]
    start = time.perf_counter()
    for iteration in range(1, n_iterations + 1):
        if not state.available.any():
            log.info("%s split %d: pool exhausted after %d iterations", approach, split, iteration - 1)
            break
        picks = _PICKERS[approach](ctx, state, iteration, rng)
        state.acquired.extend(picks)
        rmse = _evaluate(ctx, state)
        records.append(
            {
                "iteration": iteration,
                "n_acquired": len(state.acquired),
                "n_binaries": int(np.unique(data.groups[state.acquired]).size),
                "rmse": rmse,
                "acquired_rows": ";".join(str(r) for r in picks),
            }
        )
        log.info(
            "%s split %d iteration %d/%d: %d acquired, RMSE %.3f kJ/mol (%.1f s)",
            approach, split, iteration, n_iterations, len(state.acquired), rmse, time.perf_counter() - start,
        )  # fmt: skip
    table = pd.DataFrame.from_records(records)
    table.insert(0, "split", split)
    table.insert(0, "approach", approach)
    return table[list(RESULT_COLUMNS)]


def run_block(
    data: ModelData,
    splits: pd.DataFrame,
    approach: str,
    split_ids: Sequence[int],
    settings: BenchmarkSettings,
    hypers: Mapping[int, Mapping[str, GPHyper]] | None = None,
) -> pd.DataFrame:
    """:func:`run_split` for each split of a block (the unit of one pipeline job), concatenated; ``hypers``: the
    splits' shared first GP hyper-parameters (GP approaches)."""
    hypers = hypers or {}
    tables = [run_split(data, splits, int(s), approach, settings, hypers.get(int(s))) for s in split_ids]
    return pd.concat(tables, ignore_index=True)


def _read_tables(paths: Sequence[str | Path], columns: Sequence[str], kind: str, known: Sequence[str]) -> pd.DataFrame:
    """Per-block tables concatenated, each checked against its manifest, for ``columns`` and for names in column
    ``kind`` among ``known``."""
    tables = []
    for path in paths:
        table = read_verified_csv(path, keep_default_na=False, dtype={"acquired_rows": str})
        missing = set(columns) - set(table.columns)
        if missing:
            raise InputError(path, 1, f"missing column(s) {sorted(missing)}")
        bad = ~table[kind].isin(known)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise InputError(path, first + 2, f"unknown {kind} {table[kind].iloc[first]!r}")
        tables.append(table[list(columns)])
    return pd.concat(tables, ignore_index=True)


def read_results(paths: Sequence[str | Path]) -> pd.DataFrame:
    """Concatenate per-block result tables, checking manifests, columns, approach names and duplicate iterations."""
    results = _read_tables(paths, RESULT_COLUMNS, "approach", APPROACHES)
    dup = results.duplicated(["approach", "split", "iteration"])
    if dup.any():
        row = results[dup].iloc[0]
        raise InputError(None, None, f"{row['approach']} split {row['split']} iteration {row['iteration']} twice")
    return _sorted(results, ["split", "iteration"])


def read_references(paths: Sequence[str | Path]) -> pd.DataFrame:
    """Concatenate per-block reference tables (:func:`reference_rmse`), checking manifests, columns and names."""
    references = _read_tables(paths, REFERENCE_COLUMNS, "reference", REFERENCE_LINES)
    dup = references.duplicated(["split", "reference"])
    if dup.any():
        row = references[dup].iloc[0]
        raise InputError(None, None, f"reference {row['reference']} of split {row['split']} twice")
    return references.sort_values(["split", "reference"], ignore_index=True)


def _sorted(table: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Rows ordered by approach number (not name), then ``keys``."""
    rank = table["approach"].map({a: i for i, a in enumerate(APPROACHES)})
    ordered = table.assign(_rank=rank).sort_values(["_rank", *keys], kind="stable")
    return ordered.drop(columns="_rank").reset_index(drop=True)


def learning_curves(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation (over splits) of the RMSE per approach and iteration."""
    grouped = results.groupby(["approach", "iteration"])
    curves = grouped.agg(
        n_acquired=("n_acquired", "mean"),
        n_binaries=("n_binaries", "mean"),
        rmse_mean=("rmse", "mean"),
        rmse_std=("rmse", "std"),
        n_splits=("rmse", "size"),
    ).reset_index()
    return _sorted(curves, ["iteration"])[list(CURVE_COLUMNS)]


def _area(curve: pd.Series) -> float:
    """Trapezoidal area under an RMSE curve (index: iteration) from iteration 1 on; NaN if it has none.

    Iteration 0 is left out: every approach starts from the same training set and evaluator seed, so its RMSE is
    the same for all and would only pull every ratio towards 1. A single iteration's area is its RMSE.
    """
    rmse = curve[curve.index >= 1].to_numpy(dtype=float)
    if rmse.size == 0:
        return float("nan")
    return float(np.sum((rmse[1:] + rmse[:-1]) / 2)) if rmse.size > 1 else float(rmse[0])


def summarise(results: pd.DataFrame, reference: str = REFERENCE) -> pd.DataFrame:
    """Per approach: start/final RMSE, area under the RMSE curve relative to ``reference`` (from the mean curves
    and per split on the splits both ran, over their common iterations from iteration 1 on — see :func:`_area`),
    and the first iteration whose mean RMSE reaches the reference's final mean RMSE (NaN if never)."""
    if reference not in set(results["approach"]):
        raise InputError(None, None, f"the reference approach {reference!r} has no results")
    wide = results.pivot_table(index=["split", "iteration"], columns="approach", values="rmse", aggfunc="first")
    ref_curve = results[results["approach"] == reference].groupby("iteration")["rmse"].mean()
    ref_final = float(ref_curve.iloc[-1])
    records = []
    for approach in [a for a in APPROACHES if a in set(results["approach"])]:
        mine = results[results["approach"] == approach]
        curve = mine.groupby("iteration")["rmse"].mean()
        last = mine.groupby("split")["iteration"].max()
        final = mine[mine["iteration"] == mine["split"].map(last)]["rmse"]
        common = min(int(curve.index.max()), int(ref_curve.index.max()))
        ratios = []
        for split in sorted(set(mine["split"]) & set(results.loc[results["approach"] == reference, "split"])):
            both = wide.loc[split][list(dict.fromkeys([approach, reference]))].dropna()
            both = both[both.index <= common]
            ratios.append(_area(both[approach]) / _area(both[reference]))
        ratios_arr = np.array(ratios)
        reached = curve.index[curve.to_numpy() <= ref_final]
        records.append(
            {
                "approach": approach,
                "approach_number": APPROACHES.index(approach) + 1,
                "n_splits": int(mine["split"].nunique()),
                "n_iterations": int(curve.index.max()),
                "rmse_start": float(curve.iloc[0]),
                "rmse_final_mean": float(final.mean()),
                "rmse_final_std": float(final.std()) if final.size > 1 else float("nan"),
                "auc_ratio": _area(curve.loc[:common]) / _area(ref_curve.loc[:common]),
                "auc_ratio_split_mean": float(ratios_arr.mean()) if ratios_arr.size else float("nan"),
                "auc_ratio_split_std": float(ratios_arr.std(ddof=1)) if ratios_arr.size > 1 else float("nan"),
                "share_splits_better": float(np.mean(ratios_arr < 1)) if ratios_arr.size else float("nan"),
                "iterations_to_reference_final": float(reached[0]) if reached.size else float("nan"),
            }
        )
    return pd.DataFrame.from_records(records, columns=list(SUMMARY_COLUMNS))
