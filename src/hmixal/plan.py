"""The acquisition plan: binaries ranked by GP uncertainty, with the composition to simulate or measure.

Input is the clustered uncertainty map (``gp_map.csv``: A, B, max_variance, x_at_max, cluster,
n_points_in_dataset, …). Binaries containing an excluded element, and excluded systems (``A-B``, either
order: a campaign that cannot run them), are left out. The seed excludes C (§2.1): its liquids are the most
uncertain, but AIMD had to run above carbon's melting point (4765 K in SGTE) and gave ΔH_mix ≈ 0 almost
systematically (§3), which says little about the liquids at usual temperatures.

The ranking key (``rank_by``) is ``max_variance`` (the paper's Fig. 1 quantity, default) or
``mean_variance`` (the variance averaged over the composition grid); the other key breaks ties. The
maximum saturates at the GP's prior variance for binaries far from every training point (with the
initial dataset, ~300 binaries lie within 0.1 % of it), so among those the max-variance order rests on
tiny differences; the mean over compositions still tells a binary with data on neighbouring systems
from one without any (docs/uncertainty.md).

Three orders:

* ``batch``: the first ``BatchSettings.batch_size`` binaries are chosen jointly, greedily: each is the one whose
  simulation at ``x_at_max`` most reduces the GP's latent variance summed over the whole map (every binary of
  the map, excluded ones too, on the composition grid ``objective_step``), the GP then conditioned on it
  (``hmixal.gp_map.variance_reduction_batch``). So one pick lowers the value of picks that would teach
  the same thing. The rest follow by the reduction each would bring right after the batch (not conditioned
  on one another);
* ``ranked``: by decreasing ``rank_by``;
* ``spread``: round-robin over clusters, so that a short plan samples every cluster. Clusters are visited in
  the order in which their most uncertain eligible binary appears in the ranked order; each round takes
  the next binary (in ranked order) of every cluster that still has one.

With ``BatchSettings`` every order reports, per row, ``variance_reduction`` ((kJ/mol)², the expected reduction of
the map's summed variance by this row given the rows before it, within the first ``batch_size`` rows, or right after
them), ``variance_reduction_share`` (the same over the map's summed variance before the plan),
``variance_before_pick`` (the row's own latent variance at ``x_at_max`` just before it is picked) and
``in_batch`` (one of the first ``batch_size`` rows).

Remaining ties are broken by the map's row order (``hmixal.systems.all_binaries`` order), so the plan is
deterministic.
``x_at_max`` is x_B of the map's own B (A < B alphabetically), the composition the plan assumes is simulated,
as ``hmixal.aimd.systems.read_plan`` expects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from hmixal.elements import ELEMENTS
from hmixal.errors import InputError, MissingArtifactError
from hmixal.layout import ACQUISITION_PLAN, result
from hmixal.manifest import read_verified_csv
from hmixal.systems import composition_grid, parse_binary

if TYPE_CHECKING:  # the GP machinery is imported only when a batch is computed: `hmixal plan` reads a CSV
    from hmixal.features import FeatureSource
    from hmixal.gp import GaussianProcess

ORDERS: tuple[str, ...] = ("batch", "ranked", "spread")
RANK_KEYS: tuple[str, ...] = ("max_variance", "mean_variance")
REQUIRED_COLUMNS: tuple[str, ...] = ("A", "B", "max_variance", "x_at_max", "cluster", "n_points_in_dataset")
# Columns shown by `hmixal plan` (the full plan has every column of the map).
DISPLAY_COLUMNS: tuple[str, ...] = (
    "rank",
    "A",
    "B",
    "x_at_max",
    "variance_reduction_share",
    "variance_before_pick",
    "max_std_kJ_per_mol",
    "max_variance",
    "mean_variance",
    "cluster",
    "n_points_in_dataset",
    "miedema_group",
)
# Columns added when the plan weighs its first rows jointly (``BatchSettings``).
BATCH_COLUMNS: tuple[str, ...] = ("in_batch", "variance_reduction", "variance_reduction_share", "variance_before_pick")


@dataclass(frozen=True)
class BatchSettings:
    """What a plan needs to weigh its first ``batch_size`` rows jointly: the map's GP, its features, the grid."""

    gp: GaussianProcess
    source: FeatureSource
    features: tuple[str, ...]
    batch_size: int = 20
    # 9 compositions per binary: the 20 picks of the initial data's plan differ from those on a 0.05 grid by one
    # binary, at half the time (docs/uncertainty.md).
    objective_step: float = 0.1

    def __post_init__(self) -> None:
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise InputError(None, None, f"plan batch_size must be a positive integer, got {self.batch_size!r}")
        try:
            composition_grid(self.objective_step)
        except (TypeError, ValueError) as exc:
            raise InputError(None, None, f"plan objective_step: {exc}") from None


def _check_elements(elements: Sequence[str]) -> list[str]:
    if isinstance(elements, str):
        raise InputError(None, None, f"excluded elements must be a list of symbols, got the string {elements!r}")
    unknown = sorted({e for e in elements if e not in ELEMENTS})
    if unknown:
        raise InputError(None, None, f"unknown excluded element(s): {', '.join(map(str, unknown))}")
    return list(elements)


def excluded_systems(systems: Sequence[str]) -> set[tuple[str, str]]:
    """Binaries written ``A-B`` (either order) → canonical (A, B) with A < B; InputError naming a bad entry."""
    if isinstance(systems, str):
        raise InputError(None, None, f"excluded systems must be a list of A-B, got the string {systems!r}")
    out = set()
    for entry in systems:
        if not isinstance(entry, str):
            raise InputError(None, None, f"excluded system {entry!r} is not written A-B (e.g. Li-U)")
        try:
            out.add(parse_binary(entry))
        except InputError as exc:
            raise InputError(None, None, f"excluded system: {exc.problem}") from None
    return out


def _round_robin(cluster: np.ndarray) -> np.ndarray:
    """Positions of rows (already sorted by decreasing variance) in round-robin order over clusters."""
    # Within a cluster, the j-th most uncertain binary gets round j; rounds are taken in order, and within a
    # round clusters come in the order of their first (most uncertain) row.
    frame = pd.DataFrame({"cluster": cluster, "position": np.arange(cluster.size)})
    frame["round"] = frame.groupby("cluster", sort=False).cumcount()
    first = frame.groupby("cluster", sort=False)["position"].transform("min")
    return np.lexsort((first.to_numpy(), frame["round"].to_numpy()))


def _objective_and_candidates(
    table: pd.DataFrame, eligible: pd.DataFrame, batch: BatchSettings
) -> tuple[np.ndarray, np.ndarray]:
    """GP features of every map binary on the objective grid, and of every eligible binary at its x_at_max."""
    from hmixal.features import feature_positions

    columns = feature_positions(batch.source.names, batch.features)
    x = composition_grid(batch.objective_step)
    a, b = table["A"].to_numpy(), table["B"].to_numpy()
    objective = batch.source.features(np.repeat(a, x.size), np.repeat(b, x.size), np.tile(x, a.size))[:, columns]
    candidates = batch.source.features(
        eligible["A"].to_numpy(), eligible["B"].to_numpy(), eligible["x_at_max"].to_numpy(dtype=float)
    )[:, columns]
    return objective, candidates


def _with_batch_columns(
    table: pd.DataFrame, eligible: pd.DataFrame, order: np.ndarray | None, batch: BatchSettings
) -> np.ndarray:
    """Row order of ``eligible`` and, in place, the batch columns: the first ``batch.batch_size`` rows are ``order``'s
    (weighed in that order) or, without an order, chosen greedily; the rest follow ``order`` or, without one, the
    reduction each would bring after the batch."""
    from hmixal.gp_map import variance_reduction_batch

    objective, candidates = _objective_and_candidates(table, eligible, batch)
    fixed = None if order is None else order[: batch.batch_size]
    result = variance_reduction_batch(batch.gp, candidates, objective, batch.batch_size, fixed=fixed)
    reduction, before = result.reduction_after.copy(), result.variance_after.copy()
    reduction[result.picks] = result.reduction
    before[result.picks] = result.variance_before
    in_batch = np.zeros(len(eligible), dtype=bool)
    in_batch[result.picks] = True
    eligible["in_batch"] = in_batch
    eligible["variance_reduction"] = reduction
    eligible["variance_reduction_share"] = reduction / result.total_variance
    eligible["variance_before_pick"] = before
    if order is not None:
        return order
    rest = np.flatnonzero(~in_batch)
    # After the batch: largest reduction first, the map's row order on a tie.
    rest = rest[np.lexsort((rest, -reduction[rest]))]
    return np.concatenate((result.picks, rest))


def acquisition_plan(
    table: pd.DataFrame,
    exclude: Sequence[str] = ("C",),
    order: str = "ranked",
    top: int | None = None,
    rank_by: str = "max_variance",
    exclude_systems: Sequence[str] = (),
    batch: BatchSettings | None = None,
) -> pd.DataFrame:
    """Rank the binaries of a clustered uncertainty map; ``rank`` 1 is the first to simulate or measure.

    ``order="batch"`` needs ``batch``; with ``batch`` the other orders also get the batch columns, their first
    ``batch.batch_size`` rows weighed in their own order (for comparison with the batch).
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(None, None, f"uncertainty map lacks column(s) {', '.join(missing)}")
    if rank_by not in RANK_KEYS:
        raise InputError(None, None, f"plan rank_by must be one of {', '.join(RANK_KEYS)}, got {rank_by!r}")
    if rank_by not in table.columns:
        raise InputError(None, None, f"uncertainty map lacks column {rank_by}")
    if order not in ORDERS:
        raise InputError(None, None, f"plan order must be one of {', '.join(ORDERS)}, got {order!r}")
    if order == "batch" and batch is None:
        raise InputError(None, None, "plan order 'batch' needs the map's GP (BatchSettings)")
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise InputError(None, None, f"plan top must be a positive integer or None, got {top!r}")
    excluded = set(_check_elements(exclude))
    systems = excluded_systems(exclude_systems)
    pairs = pd.MultiIndex.from_arrays([table["A"], table["B"]])
    keep = ~(table["A"].isin(excluded) | table["B"].isin(excluded)) & ~pairs.isin(list(systems))
    eligible = table[np.asarray(keep)].reset_index(drop=True)
    if eligible.empty and batch is not None:
        raise InputError(None, None, "every binary of the map is excluded: there is no batch to choose")
    secondary = [k for k in RANK_KEYS if k != rank_by and k in eligible.columns]
    keys = [eligible[k].to_numpy(dtype=float) for k in (rank_by, *secondary)]
    # np.lexsort sorts by its last key first: rank_by, then the other variance, then the row order.
    rows = np.lexsort((np.arange(len(eligible)), *(-k for k in reversed(keys))))
    if order == "spread":
        rows = rows[_round_robin(eligible["cluster"].to_numpy()[rows])]
    if batch is not None:
        rows = _with_batch_columns(table, eligible, None if order == "batch" else rows, batch)
    ranked = eligible.iloc[rows].reset_index(drop=True)
    if top is not None:
        ranked = ranked.head(top)
    ranked.insert(0, "rank", np.arange(1, len(ranked) + 1, dtype=np.int64))
    return ranked


def load_plan(path: str | Path) -> pd.DataFrame:
    """Read an acquisition plan written by the pipeline (sorted by rank), checked against its manifest."""
    path = Path(path)
    if not path.is_file():
        raise MissingArtifactError(
            f"no acquisition plan at {path}; build it with "
            f"`snakemake --profile profiles/local {result(ACQUISITION_PLAN)}`"
        )
    # Checked against its manifest: a plan cut or edited after its rule wrote it is refused, naming the file.
    plan = read_verified_csv(path, keep_default_na=False)
    missing = [c for c in ("rank", *REQUIRED_COLUMNS) if c not in plan.columns]
    if missing:
        raise InputError(path, 1, f"missing column(s): {', '.join(missing)}")
    ranks = pd.to_numeric(plan["rank"], errors="coerce")
    if ranks.isna().any():
        i = int(np.flatnonzero(ranks.isna())[0])
        raise InputError(path, i + 2, f"rank {plan['rank'].iloc[i]!r} is not a number")
    return plan.iloc[np.argsort(ranks.to_numpy(), kind="stable")].reset_index(drop=True)


def format_plan(table: pd.DataFrame, top: int = 20) -> pd.DataFrame:
    """The first ``top`` rows of a plan with the columns a reader needs (for ``hmixal plan --top N``)."""
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise InputError(None, None, f"--top must be a positive integer, got {top!r}")
    columns = [c for c in DISPLAY_COLUMNS if c in table.columns]
    return table.head(top)[columns].reset_index(drop=True)
