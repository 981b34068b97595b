"""The acquisition plan: binaries ranked by GP uncertainty, with the composition to simulate or measure.

Input is the clustered uncertainty map (``gp_map.csv``: A, B, max_variance, x_at_max, cluster,
n_points_in_dataset, …). Binaries containing an excluded element are left out. The seed excludes C (§2.1):
its liquids are the most uncertain, but AIMD had to run above carbon's melting point (4765 K in SGTE) and
gave ΔH_mix ≈ 0 almost systematically (§3), which says little about the liquids at usual temperatures.

The ranking key (``rank_by``) is ``max_variance`` (the paper's Fig. 1 quantity, default) or
``mean_variance`` (the variance averaged over the composition grid); the other key breaks ties. The
maximum saturates at the GP's prior variance for binaries far from every training point (with the
initial dataset, ~300 binaries lie within 0.1 % of it), so among those the max-variance order rests on
tiny differences; the mean over compositions still tells a binary with data on neighbouring systems
from one without any (docs/uncertainty.md).

Two orders:

* ``ranked`` (default): by decreasing ``rank_by``;
* ``spread``: round-robin over clusters, so that a short plan samples every cluster. Clusters are visited in
  the order in which their most uncertain eligible binary appears in the ranked order; each round takes
  the next binary (in ranked order) of every cluster that still has one.

Remaining ties are broken by the map's row order (``hmixal.systems.all_binaries`` order), so the plan is
deterministic.
``x_at_max`` is x_B of the map's own B (A < B alphabetically), as ``hmixal.aimd.systems.read_plan`` expects.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from hmixal.elements import ELEMENTS
from hmixal.errors import InputError, MissingArtifactError
from hmixal.manifest import read_verified_csv

ORDERS: tuple[str, ...] = ("ranked", "spread")
RANK_KEYS: tuple[str, ...] = ("max_variance", "mean_variance")
REQUIRED_COLUMNS: tuple[str, ...] = ("A", "B", "max_variance", "x_at_max", "cluster", "n_points_in_dataset")
# Columns shown by `hmixal plan` (the full plan has every column of the map).
DISPLAY_COLUMNS: tuple[str, ...] = (
    "rank",
    "A",
    "B",
    "x_at_max",
    "max_std_kJ_per_mol",
    "max_variance",
    "mean_variance",
    "cluster",
    "n_points_in_dataset",
    "miedema_group",
)


def _check_elements(elements: Sequence[str]) -> list[str]:
    if isinstance(elements, str):
        raise InputError(None, None, f"excluded elements must be a list of symbols, got the string {elements!r}")
    unknown = sorted({e for e in elements if e not in ELEMENTS})
    if unknown:
        raise InputError(None, None, f"unknown excluded element(s): {', '.join(map(str, unknown))}")
    return list(elements)


def _round_robin(cluster: np.ndarray) -> np.ndarray:
    """Positions of rows (already sorted by decreasing variance) in round-robin order over clusters."""
    # Within a cluster, the j-th most uncertain binary gets round j; rounds are taken in order, and within a
    # round clusters come in the order of their first (most uncertain) row.
    frame = pd.DataFrame({"cluster": cluster, "position": np.arange(cluster.size)})
    frame["round"] = frame.groupby("cluster", sort=False).cumcount()
    first = frame.groupby("cluster", sort=False)["position"].transform("min")
    return np.lexsort((first.to_numpy(), frame["round"].to_numpy()))


def acquisition_plan(
    table: pd.DataFrame,
    exclude: Sequence[str] = ("C",),
    order: str = "ranked",
    top: int | None = None,
    rank_by: str = "max_variance",
) -> pd.DataFrame:
    """Rank the binaries of a clustered uncertainty map; ``rank`` 1 is the first to simulate or measure."""
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(None, None, f"uncertainty map lacks column(s) {', '.join(missing)}")
    if rank_by not in RANK_KEYS:
        raise InputError(None, None, f"plan rank_by must be one of {', '.join(RANK_KEYS)}, got {rank_by!r}")
    if rank_by not in table.columns:
        raise InputError(None, None, f"uncertainty map lacks column {rank_by}")
    if order not in ORDERS:
        raise InputError(None, None, f"plan order must be one of {', '.join(ORDERS)}, got {order!r}")
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise InputError(None, None, f"plan top must be a positive integer or None, got {top!r}")
    excluded = set(_check_elements(exclude))
    keep = ~(table["A"].isin(excluded) | table["B"].isin(excluded))
    eligible = table[keep.to_numpy()].reset_index(drop=True)
    secondary = [k for k in RANK_KEYS if k != rank_by and k in eligible.columns]
    keys = [eligible[k].to_numpy(dtype=float) for k in (rank_by, *secondary)]
    # np.lexsort sorts by its last key first: rank_by, then the other variance, then the row order.
    by_variance = np.lexsort((np.arange(len(eligible)), *(-k for k in reversed(keys))))
    ranked = eligible.iloc[by_variance].reset_index(drop=True)
    if order == "spread":
        ranked = ranked.iloc[_round_robin(ranked["cluster"].to_numpy())].reset_index(drop=True)
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
            "`snakemake --profile profiles/local results/uncertainty/acquisition_plan.csv`"
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
