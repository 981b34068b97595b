"""The periodic-table maps of binaries: Fig. 1 (maximum GP variance, K-means clusters) and suppl. Fig. S5
(the K = 3 Cp/S clusters against Miedema's groups)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from hmixal.elements import load_element_table
from hmixal.errors import InputError
from hmixal.figures.output import (
    BLACK,
    BLUE,
    GREEN,
    GROUP_COLOURS,
    GROUP_LABELS,
    HMIX,
    MIEDEMA_GROUPS,
    ORANGE,
    PURPLE,
    SKY,
    VERMILLION,
    YELLOW,
    new_figure,
    publish,
)
from hmixal.figures.tables import check_unique_binaries, element_order, load_table
from hmixal.miedema_model import is_transition_metal

log = logging.getLogger(__name__)

# Clusters are small squares on the maps: black before sky blue (too close to blue at that size) and yellow
# (too light on white).
CLUSTER_COLOURS: tuple[str, ...] = (BLUE, ORANGE, GREEN, VERMILLION, PURPLE, BLACK, SKY, YELLOW)
UNMATCHED = "#BBBBBB"  # light grey: a cluster the matching left without a Miedema group
_MAP_BOX = (0.055, 0.055, 0.745, 0.86)  # left, bottom, width, height of the map (figure fractions)


def _cluster_colours(labels: Sequence[Any]) -> dict[Any, str]:
    """One Okabe–Ito colour per cluster label (sorted); more than eight clusters cannot be told apart."""
    ordered = sorted(set(labels))
    if len(ordered) > len(CLUSTER_COLOURS):
        raise InputError(
            None, None, f"{len(ordered)} clusters: at most {len(CLUSTER_COLOURS)} can be given distinct colours"
        )
    return {label: CLUSTER_COLOURS[i] for i, label in enumerate(ordered)}


def _map_axes(fig: Figure, order: Sequence[str], elements: pd.DataFrame, group_ticks: bool) -> Axes:
    """Square axes with one cell per element pair, symbols on all four sides, group numbers on top."""
    n = len(order)
    ax = fig.add_axes(_MAP_BOX)
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_ylim(n - 0.5, -0.5)  # first element at the top
    ax.set_aspect("equal")
    ticks = np.arange(n)
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_ticks(ticks, labels=list(order), fontsize=7)
    ax.tick_params(axis="both", length=0, pad=2, top=True, right=True, labeltop=True, labelright=True)
    ax.tick_params(axis="x", labelrotation=90)
    ax.set_facecolor("white")
    if group_ticks:
        columns = elements.loc[list(order), "Column"].astype(int).to_numpy()
        edges = np.flatnonzero(np.diff(columns)) + 0.5
        for edge in edges:
            ax.axvline(edge, color="0.85", lw=0.6, zorder=0)
            ax.axhline(edge, color="0.85", lw=0.6, zorder=0)
        starts = np.concatenate([[-0.5], edges])
        ends = np.concatenate([edges, [n - 0.5]])
        top = ax.secondary_xaxis("top")
        top.set_ticks((starts + ends) / 2, labels=[str(c) for c in columns[np.r_[0, (edges + 0.5).astype(int)]]])
        top.tick_params(length=0, pad=22, labelsize=9)
        top.set_xlabel("periodic-table group", fontsize=10, labelpad=4)
    return ax


def _cells(ax: Axes, order: Sequence[str], a: Sequence[str], b: Sequence[str], colours: Sequence[str],
           sides: Sequence[float]) -> None:  # fmt: skip
    """Draw each binary as a centred square of side ``sides`` (cell units) in both halves of the map."""
    position = {s: i for i, s in enumerate(order)}
    patches, faces = [], []
    for ea, eb, colour, side in zip(a, b, colours, sides, strict=True):
        i, j = position[ea], position[eb]
        for x, y in ((i, j), (j, i)):  # symmetric: a binary can be read along either element's row
            patches.append(Rectangle((x - side / 2, y - side / 2), side, side))
            faces.append(colour)
    ax.add_collection(PatchCollection(patches, facecolors=faces, edgecolors="none", zorder=2))


def _draw_uncertainty_map(
    gp_map: pd.DataFrame | str | Path, elements: pd.DataFrame | None, variance_unit: str
) -> tuple[Figure, pd.DataFrame]:
    table = load_table(gp_map, {"A": "element", "B": "element", "max_variance": "float", "cluster": "int"}, "GP map")
    check_unique_binaries(table)
    frame = table.frame
    negative = frame["max_variance"] < 0
    if negative.any():
        raise table.fail(int(np.flatnonzero(negative.to_numpy())[0]), "column max_variance: a variance is never < 0")
    elements = load_element_table() if elements is None else elements
    order = element_order(elements)
    vmax = float(frame["max_variance"].max())
    # Area ∝ variance: the eye compares areas, so twice the variance looks twice as big.
    sides = 0.95 * np.sqrt(frame["max_variance"].to_numpy() / vmax) if vmax > 0 else np.zeros(len(frame))
    palette = _cluster_colours(frame["cluster"])
    fig = new_figure("uncertainty_map", layout=None)
    ax = _map_axes(fig, order, elements, group_ticks=True)
    _cells(ax, order, frame["A"], frame["B"], [palette[c] for c in frame["cluster"]], sides)
    fig.suptitle(
        f"Maximum GP posterior variance of {HMIX} over composition, {len(frame)} binaries", x=0.43, y=0.995, fontsize=13
    )
    counts = frame["cluster"].value_counts()
    handles = [Patch(facecolor=palette[c], label=f"cluster {c} ({counts[c]} binaries)") for c in palette]
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.835, 0.915), title="K-means cluster",
               frameon=False, fontsize=10, title_fontsize=11)  # fmt: skip
    # Size key drawn in the map's own cell units, so its squares are exactly comparable with the map's.
    width, height = _MAP_BOX[2], _MAP_BOX[3]
    cell_w, cell_h = width / len(order), height / len(order)
    fractions = (1.0, 0.5, 0.25, 0.1)
    key = fig.add_axes((0.845, 0.42, 4 * cell_w, 2.0 * len(fractions) * cell_h))
    key.set_xlim(-0.5, 3.5)
    key.set_ylim(2.0 * len(fractions) - 0.5, -0.5)
    key.set_axis_off()
    key_sides = [0.95 * np.sqrt(f) for f in fractions]
    key.add_collection(
        PatchCollection([Rectangle((-s / 2, 2 * k - s / 2), s, s) for k, s in enumerate(key_sides)], facecolors="0.6")
    )
    for k, f in enumerate(fractions):
        key.text(1.0, 2 * k, f"{f * vmax:.3g}", va="center", fontsize=10)
    fig.text(0.845, 0.42 + 2.0 * len(fractions) * cell_h + 0.01, f"max. variance\n({variance_unit})", fontsize=11)
    explanation = (
        "Square area ∝ maximum posterior\nvariance of the GP over $x_\\mathrm{B}$.\nEmpty: binary not in the table."
    )
    fig.text(0.835, 0.33, explanation, fontsize=9, va="top", color="0.25")
    data = frame[["A", "B", "max_variance", "cluster"]].sort_values(["A", "B"], ignore_index=True)
    log.info("uncertainty map: %d binaries, max variance %.4g %s", len(frame), vmax, variance_unit)
    return fig, data


def uncertainty_map(
    gp_map: pd.DataFrame | str | Path,
    png: str | Path,
    pdf: str | Path,
    *,
    elements: pd.DataFrame | None = None,
    variance_unit: str = "(kJ/mol)²",
) -> pd.DataFrame:
    """Fig. 1: 70 × 70 map of binaries by periodic-table group, square area ∝ max GP variance, colour = cluster."""
    return publish(_draw_uncertainty_map, png, pdf, gp_map, elements, variance_unit)


def _draw_cluster_map(
    clusters: pd.DataFrame | str | Path, elements: pd.DataFrame | None, group_column: str
) -> tuple[Figure, pd.DataFrame]:
    columns = {"A": "element", "B": "element", "cluster": "int", "miedema_group": "text"}
    table = load_table(clusters, columns, "K = 3 clustering")
    check_unique_binaries(table)
    frame = table.frame
    if group_column not in frame.columns:
        raise InputError(table.name, 1, f"K = 3 clustering table lacks column(s): {group_column}")
    # Empty: a cluster left without a group by the one-to-one matching (more clusters than groups).
    frame[group_column] = frame[group_column].fillna("").astype(str)
    for column, allowed in (("miedema_group", MIEDEMA_GROUPS), (group_column, (*MIEDEMA_GROUPS, ""))):
        bad = ~frame[column].isin(allowed)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise table.fail(
                row, f"column {column}: {frame[column].iloc[row]!r} is not one of {', '.join(MIEDEMA_GROUPS)}"
            )
    elements = load_element_table() if elements is None else elements
    order = element_order(elements, split_transition=True)
    n_tm = sum(is_transition_metal(s) for s in order)
    fig = new_figure("cluster_map", layout=None)
    ax = _map_axes(fig, order, elements, group_ticks=False)
    colours = [GROUP_COLOURS.get(g, UNMATCHED) for g in frame[group_column]]
    _cells(ax, order, frame["A"], frame["B"], colours, [0.92] * len(frame))
    # Miedema's groups are blocks of this ordering: TM × TM, TM × nonTM, nonTM × nonTM.
    for line in (ax.axvline, ax.axhline):
        line(n_tm - 0.5, color="black", lw=2.2, zorder=3)
    top = ax.secondary_xaxis("top")
    top.set_ticks([(n_tm - 1) / 2, (n_tm + len(order) - 1) / 2], labels=["transition metals", "non-transition metals"])
    top.tick_params(length=0, pad=22, labelsize=11)
    matched = frame[group_column] == frame["miedema_group"]
    accuracy = float(matched.mean())
    fig.suptitle(r"K-means (K = 3) on mean and avg. deviation of $C_p^\mathrm{liq}$ and $S^\mathrm{liq}$ vs Miedema's "
                 f"groups: {100 * accuracy:.1f} % agree", x=0.43, y=0.995, fontsize=13)  # fmt: skip
    handles = [Patch(facecolor=GROUP_COLOURS[g], label=GROUP_LABELS[g]) for g in MIEDEMA_GROUPS]
    if (frame[group_column] == "").any():
        handles.append(Patch(facecolor=UNMATCHED, label="no group (unmatched)"))
    handles.append(Line2D([], [], color="black", lw=2.2, label="limits of\nMiedema's groups"))
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.835, 0.915), frameon=False, fontsize=10,
               title="cluster matched to", title_fontsize=11)  # fmt: skip
    lines = ["Miedema's groups are the blocks", "between the black lines:", "TM × TM (top left),",
             "TM × nonTM (off-diagonal),", "nonTM × nonTM (bottom right).", "", "agreement per group:"]  # fmt: skip
    per_group = frame.assign(ok=matched).groupby("miedema_group")["ok"].agg(["mean", "size"])
    for g in MIEDEMA_GROUPS:
        if g in per_group.index:
            lines.append(
                f"{GROUP_LABELS[g]}: {100 * per_group.loc[g, 'mean']:.1f} % of {int(per_group.loc[g, 'size'])}"
            )
    fig.text(0.835, 0.75, "\n".join(lines), fontsize=10, va="top")
    data = frame[["A", "B", "cluster", "miedema_group", group_column]].assign(agrees=matched.astype(int))
    log.info("cluster map: %d binaries, %.1f %% agree with Miedema's groups", len(frame), 100 * accuracy)
    return fig, data.sort_values(["A", "B"], ignore_index=True)


def cluster_map(
    clusters: pd.DataFrame | str | Path,
    png: str | Path,
    pdf: str | Path,
    *,
    elements: pd.DataFrame | None = None,
    group_column: str = "matched_group",
) -> pd.DataFrame:
    """Suppl. Fig. S5: map of the K = 3 Cp/S clusters (coloured by matched Miedema group) with the group limits."""
    return publish(_draw_cluster_map, png, pdf, clusters, elements, group_column)
