"""The paper's figures (seed Fig. 1–5, supplementary Fig. S1–S5) drawn from the pipeline's result tables.

Every figure function takes its tables (a DataFrame, or the path of a CSV), checks them, draws with
matplotlib's object API (no pyplot state, so any backend and any number of figures per process), writes
a PNG (for the Snakemake report) and a PDF (for papers) atomically, and returns the numbers it plotted as
a table (the rule writes it beside the figure). Colours are the Okabe–Ito palette (Okabe & Ito, "Color
Universal Design", 2008), which stays distinct under the common colour-vision deficiencies; continuous
scales are not used. Figure sizes are fixed in inches and pixels (no tight bounding box), so a figure's
pixel size is known in advance: ``figsize × PNG_DPI``.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from scipy.stats import gaussian_kde
from scipy.stats import t as student_t

from hmixal.active_learning import APPROACHES, LABEL_USING, PAPER_APPROACHES, REFERENCE, REFERENCE_LINES, UNITS
from hmixal.al_designs import WEIGHTED_DESIGNS
from hmixal.al_statistics import BUDGET_LABELS
from hmixal.elements import ELEMENTS, load_element_table
from hmixal.errors import InputError
from hmixal.io import atomic_path, write_text
from hmixal.miedema_model import (
    GROUP_NONTM_NONTM,
    GROUP_TM_NONTM,
    GROUP_TM_TM,
    P_MIXED,
    P_NONTM_NONTM,
    P_TM_TM,
    Q_OVER_P,
    is_transition_metal,
)

log = logging.getLogger(__name__)
# Writing a PDF subsets the fonts, and fontTools logs every glyph at INFO: that would bury a job's log.
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)

PNG_DPI = 150
# Okabe & Ito (2008), "Color Universal Design (CUD): how to make figures and presentations that are friendly
# to colorblind people", https://jfly.uni-koeln.de/color/ — the eight colours, in the order clusters get them.
OKABE_ITO: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, YELLOW, BLACK = OKABE_ITO
# Clusters are small squares on the maps: black before sky blue (too close to blue at that size) and yellow
# (too light on white).
CLUSTER_COLOURS: tuple[str, ...] = (BLUE, ORANGE, GREEN, VERMILLION, PURPLE, BLACK, SKY, YELLOW)
MIEDEMA_GROUPS: tuple[str, ...] = (GROUP_TM_TM, GROUP_TM_NONTM, GROUP_NONTM_NONTM)
# Seed suppl. Fig. S5 shows TM–TM blue, TM–nonTM yellow, nonTM–nonTM green; orange replaces yellow, which is
# too light on white.
GROUP_COLOURS: dict[str, str] = {GROUP_TM_TM: BLUE, GROUP_TM_NONTM: ORANGE, GROUP_NONTM_NONTM: GREEN}
UNMATCHED = "#BBBBBB"  # light grey: a cluster the matching left without a Miedema group
GROUP_LABELS: dict[str, str] = {GROUP_TM_TM: "TM–TM", GROUP_TM_NONTM: "TM–nonTM", GROUP_NONTM_NONTM: "nonTM–nonTM"}
# Active-learning approaches, numbered in the order of hmixal.active_learning.APPROACHES (as its docstring numbers
# them): the seed's five (suppl. note 2), hmixal's strategies 6–10 and the label-using oracle 11. A label says the
# number, the method and what one acquisition unit is (hmixal.active_learning.UNITS).
_APPROACH_METHODS: dict[str, str] = {
    "random": "random (reference)",
    "rtal_points": "RT-AL",
    "rtal_binaries": "RT-AL",
    "gp_points": "GP",
    "gp_binaries": "GP",
    "gp_equimolar": "GP",
    "gp_ard_equimolar": "GP with ARD",
    "committee_equimolar": "committee",
    "random_curves": "random",
    "gp_curves": "GP",
    "oracle_equimolar": "oracle (uses the labels)",
}
APPROACH_LABELS: dict[str, str] = {
    approach: f"{number} · {_APPROACH_METHODS[approach]} — {UNITS[approach]}"
    for number, approach in enumerate(APPROACHES, start=1)
}
# hmixal's strategies (panel b) reuse the colours of the seed's approaches (panel a); a marker on their curves tells
# them apart across the panels and in grey print. Random is green and the oracle black in both panels.
APPROACH_COLOURS: dict[str, str] = {
    "random": GREEN,
    "rtal_points": BLUE,
    "rtal_binaries": PURPLE,
    "gp_points": VERMILLION,
    "gp_binaries": ORANGE,
    "gp_equimolar": BLUE,
    "gp_ard_equimolar": SKY,
    "committee_equimolar": PURPLE,
    "random_curves": ORANGE,
    "gp_curves": VERMILLION,
    "oracle_equimolar": BLACK,
}
APPROACH_MARKERS: dict[str, str] = {
    "gp_equimolar": "o",
    "gp_ard_equimolar": "s",
    "committee_equimolar": "^",
    "random_curves": "D",
    "gp_curves": "v",
}
REFRACTORY_COLOURS: dict[str, str] = {"W": PURPLE, "Re": GREEN, "Os": BLUE, "Ir": VERMILLION}  # seed Fig. 4
HMIX = r"$\Delta H_\mathrm{mix}$"
KJ = "kJ/mol"

_STYLE: dict[str, Any] = {
    "font.size": 11,
    "axes.labelsize": 12,
    "axes.titlesize": 12,
    "legend.fontsize": 10,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "pdf.fonttype": 42,  # TrueType in the PDF: text stays editable and searchable
    "svg.hashsalt": "hmixal",
}
# Size of each figure in inches (PNG pixels = size × PNG_DPI). The maps give 70 cells of 0.16 in, so 7-pt
# element symbols fit their cells.
FIGURE_SIZES: dict[str, tuple[float, float]] = {
    "uncertainty_map": (15.0, 13.0),
    "parity": (7.0, 6.6),
    "aimd_shift": (7.5, 5.0),
    "refractory_trends": (13.0, 6.0),
    "cp_s_ratios": (13.0, 7.0),
    "rfe": (8.0, 5.0),
    "al_curves": (16.0, 12.0),
    "kmeans_scan": (11.0, 4.5),
    "cluster_map": (15.0, 13.0),
    "calibration": (7.0, 6.2),
}
_PERIOD_ENDS = (2, 10, 18, 36, 54, 86, 118)  # atomic number of the last element of periods 1–7


# ---------------------------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class _Table:
    """A checked input table and the name its errors report (a path, or a description of a DataFrame)."""

    frame: pd.DataFrame
    name: str

    def fail(self, row: int | None, problem: str) -> InputError:
        """An InputError at data row ``row`` (position; line = row + 2 as in the CSV, header on line 1)."""
        return InputError(self.name, None if row is None else row + 2, problem)


def _load(table: pd.DataFrame | str | Path, columns: Mapping[str, str], what: str) -> _Table:
    """Read (if a path) and check a table: required ``columns`` with kinds element/float/int/text.

    A path is checked against its manifest first (hmixal.manifest; required inside ``results/``).
    """
    from hmixal.manifest import read_verified_csv  # the tables given as paths are checked against their manifest

    if isinstance(table, pd.DataFrame):
        frame, name = table.reset_index(drop=True), f"<{what} table>"
    else:
        name = str(table)
        try:
            # Checked against its manifest (required inside results/): a result table cut or edited after its rule
            # wrote it is an InputError naming the file, never a figure of part of the data.
            frame = read_verified_csv(table, keep_default_na=False, na_values=[""], dtype={"A": str, "B": str})
        except OSError as exc:
            raise InputError(name, None, f"cannot read the {what} table: {exc}") from exc
    checked = _Table(frame, name)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(name, 1, f"{what} table lacks column(s): {', '.join(missing)}")
    if frame.empty:
        raise InputError(name, None, f"{what} table has no rows")
    out = frame.copy()
    for column, kind in columns.items():
        values = frame[column]
        if kind == "element":
            bad = ~values.isin(ELEMENTS)
            problem = "is not one of the 70 elements"
        elif kind == "text":
            out[column] = values.astype(str)
            bad = values.isna() | (values.astype(str).str.strip() == "")
            problem = "is empty"
        else:
            numbers = pd.to_numeric(values, errors="coerce").astype(float)
            bad = ~np.isfinite(numbers)
            problem = "is not a finite number"
            if kind == "int":
                bad |= np.isfinite(numbers) & (numbers != numbers.round())
                problem = "is not an integer"
                numbers = numbers.where(~bad, 0).astype(int)
            out[column] = numbers
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise checked.fail(row, f"column {column}: {str(values.iloc[row])!r} {problem}")
    if "A" in columns and "B" in columns:
        same = out["A"] == out["B"]
        if same.any():
            row = int(np.flatnonzero(same.to_numpy())[0])
            raise checked.fail(row, f"A and B are both {out['A'].iloc[row]}: not a binary")
    return _Table(out, name)


def _unique_binaries(table: _Table) -> None:
    """Fail on a binary that appears twice (in either element order) in a one-row-per-binary table."""
    key = pd.Series([tuple(sorted(p)) for p in zip(table.frame["A"], table.frame["B"], strict=True)])
    duplicated = key.duplicated()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise table.fail(row, f"binary {'-'.join(key.iloc[row])} appears more than once")


def extremum_per_binary(frame: pd.DataFrame, value: str) -> pd.DataFrame:
    """The row of each binary (A, B) where ``|value|`` is largest (the first such row on ties), sorted by A, B."""
    magnitude = frame[value].abs()
    rows = magnitude.groupby([frame["A"], frame["B"]], sort=True).idxmax()
    return frame.loc[rows.to_numpy()].reset_index(drop=True)


def _period(z: int) -> int:
    """Period of the periodic table that holds atomic number ``z``."""
    return int(np.searchsorted(_PERIOD_ENDS, z) + 1)


def element_order(elements: pd.DataFrame | None = None, split_transition: bool = False) -> list[str]:
    """The 70 elements sorted by periodic-table group (Column), then atomic number; optionally TMs first."""
    table = load_element_table() if elements is None else elements
    missing = [s for s in ELEMENTS if s not in table.index]
    if missing:
        raise InputError(None, None, f"element table lacks element(s): {' '.join(missing)}")
    keys = table.loc[list(ELEMENTS), ["Column", "Z"]].copy()
    keys["nonTM"] = [0 if (not split_transition or is_transition_metal(s)) else 1 for s in keys.index]
    return list(keys.sort_values(["nonTM", "Column", "Z"], kind="stable").index)


# ---------------------------------------------------------------------------------------------- output


def _figure(name: str, layout: str | None = "constrained") -> Figure:
    """A new figure of the size listed for ``name`` in FIGURE_SIZES (no pyplot state)."""
    return Figure(figsize=FIGURE_SIZES[name], layout=layout)


def save_figure(fig: Figure, png: str | Path, pdf: str | Path, dpi: int = PNG_DPI) -> None:
    """Write ``fig`` as PNG (``dpi``) and PDF, each atomically, with no timestamps (same input → same bytes)."""
    with atomic_path(png) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, metadata={"Software": None})
    with atomic_path(pdf) as tmp:
        fig.savefig(tmp, format="pdf", metadata={"CreationDate": None, "ModDate": None, "Producer": None})


def _publish(
    draw: Callable[..., tuple[Figure, pd.DataFrame]], png: str | Path, pdf: str | Path, *args: Any
) -> pd.DataFrame:
    """Draw and save under the module's style (some settings are read at save time); return the plotted numbers."""
    with rc_context(_STYLE):
        fig, data = draw(*args)
        save_figure(fig, png, pdf)
    return data


def _note(ax: Axes, text: str, loc: str = "upper left") -> None:
    """A boxed note in a corner of the axes."""
    x, ha = (0.02, "left") if "left" in loc else (0.98, "right")
    y, va = (0.98, "top") if "upper" in loc else (0.02, "bottom")
    ax.text(
        x, y, text, transform=ax.transAxes, ha=ha, va=va, fontsize=10,
        bbox={"boxstyle": "round,pad=0.35", "facecolor": "white", "edgecolor": "0.6", "alpha": 0.9},
    )  # fmt: skip


def _cluster_colours(labels: Sequence[Any]) -> dict[Any, str]:
    """One Okabe–Ito colour per cluster label (sorted); more than eight clusters cannot be told apart."""
    ordered = sorted(set(labels))
    if len(ordered) > len(CLUSTER_COLOURS):
        raise InputError(
            None, None, f"{len(ordered)} clusters: at most {len(CLUSTER_COLOURS)} can be given distinct colours"
        )
    return {label: CLUSTER_COLOURS[i] for i, label in enumerate(ordered)}


def _num(value: float, fmt: str = ".1f") -> str:
    """A number formatted with a typographic minus sign, as matplotlib's tick labels show it."""
    return format(value, fmt).replace("-", "\N{MINUS SIGN}")


# ---------------------------------------------------------------------------------------------- maps

_MAP_BOX = (0.055, 0.055, 0.745, 0.86)  # left, bottom, width, height of the map (figure fractions)


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
    table = _load(gp_map, {"A": "element", "B": "element", "max_variance": "float", "cluster": "int"}, "GP map")
    _unique_binaries(table)
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
    fig = _figure("uncertainty_map", layout=None)
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
    return _publish(_draw_uncertainty_map, png, pdf, gp_map, elements, variance_unit)


def _draw_cluster_map(
    clusters: pd.DataFrame | str | Path, elements: pd.DataFrame | None, group_column: str
) -> tuple[Figure, pd.DataFrame]:
    columns = {"A": "element", "B": "element", "cluster": "int", "miedema_group": "text"}
    table = _load(clusters, columns, "K = 3 clustering")
    _unique_binaries(table)
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
    fig = _figure("cluster_map", layout=None)
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
    return _publish(_draw_cluster_map, png, pdf, clusters, elements, group_column)


# ---------------------------------------------------------------------------------------------- model


_OOF_COLUMNS = {"A": "element", "B": "element", "x_B": "float", "hmix_kJ_per_mol": "float", "source_type": "text"}


def _draw_parity(
    oof: pd.DataFrame | str | Path, predicted: str, quantiles: tuple[float, float]
) -> tuple[Figure, pd.DataFrame]:
    frame = _load(oof, {**_OOF_COLUMNS, predicted: "float"}, "out-of-fold predictions").frame
    is_aimd = frame["source_type"] == "aimd"
    # One point per binary and kind: the extremum of the observed curve, and each AIMD point on its own
    # (a binary with both CALPHAD/calorimetry data and an AIMD value shows both).
    points = pd.concat(
        [
            extremum_per_binary(frame[~is_aimd], "hmix_kJ_per_mol").assign(kind="experiment/CALPHAD"),
            frame[is_aimd].sort_values(["A", "B", "x_B"]).assign(kind="AIMD"),
        ],
        ignore_index=True,
    )
    residual = points[predicted] - points["hmix_kJ_per_mol"]
    low, high = np.quantile(residual, quantiles)
    fig = _figure("parity")
    ax = fig.add_subplot()
    lo = float(min(points["hmix_kJ_per_mol"].min(), points[predicted].min()))
    hi = float(max(points["hmix_kJ_per_mol"].max(), points[predicted].max()))
    pad = 0.05 * (hi - lo) if hi > lo else 1.0
    span = np.array([lo - pad, hi + pad])
    ax.plot(span, span, color="black", lw=1.4, label="perfect agreement", zorder=1)
    ax.plot(span, span + low, color=GREEN, ls="--", lw=1.6, zorder=1,
            label=f"{100 * quantiles[0]:g} % / {100 * quantiles[1]:g} % residual quantiles")  # fmt: skip
    ax.plot(span, span + high, color=GREEN, ls="--", lw=1.6, zorder=1)
    rest, aimd = points[points["kind"] != "AIMD"], points[points["kind"] == "AIMD"]
    ax.scatter(rest["hmix_kJ_per_mol"], rest[predicted], s=22, color=BLUE, alpha=0.7, edgecolors="none", zorder=2,
               label=f"experiments / CALPHAD ({len(rest)} binaries)")  # fmt: skip
    if len(aimd):
        ax.scatter(aimd["hmix_kJ_per_mol"], aimd[predicted], s=46, marker="D", color=VERMILLION, edgecolors="black",
                   linewidths=0.6, zorder=3, label=f"AIMD ({len(aimd)} points)")  # fmt: skip
    ax.set_xlim(*span)
    ax.set_ylim(*span)
    ax.set_aspect("equal")
    ax.set_xlabel(f"observed {HMIX} at the binary's extremum ({KJ})")
    ax.set_ylabel(f"predicted {HMIX}, out-of-fold ({KJ})")
    ax.legend(loc="lower right", fontsize=9)

    def rmse(r: pd.Series) -> float:
        return float(np.sqrt(np.mean(np.square(r)))) if len(r) else float("nan")

    text = [f"points shown: RMSE {rmse(residual):.2f}, MAE {float(residual.abs().mean()):.2f} {KJ}",
            f"band: {_num(low, '+.1f')} to {_num(high, '+.1f')} {KJ}"]  # fmt: skip
    if len(aimd):
        text.append(f"AIMD: RMSE {rmse(residual[points['kind'] == 'AIMD']):.2f} {KJ}")
    _note(ax, "\n".join(text))
    data = points[["A", "B", "x_B", "source_type", "kind", "hmix_kJ_per_mol", predicted]].assign(
        residual_kJ_per_mol=residual, band_low_kJ_per_mol=low, band_high_kJ_per_mol=high
    )
    log.info("parity: %d points, RMSE %.3f, band [%.2f, %.2f]", len(points), rmse(residual), low, high)
    return fig, data


def parity_plot(
    oof: pd.DataFrame | str | Path,
    png: str | Path,
    pdf: str | Path,
    *,
    predicted: str = "predicted_kJ_per_mol",
    quantiles: tuple[float, float] = (0.025, 0.975),
) -> pd.DataFrame:
    """Fig. 2: out-of-fold prediction vs observation at each binary's extremum, AIMD highlighted, quantile band."""
    if not 0 <= quantiles[0] < quantiles[1] <= 1:
        raise InputError(None, None, f"quantiles {quantiles} must satisfy 0 ≤ low < high ≤ 1")
    return _publish(_draw_parity, png, pdf, oof, predicted, quantiles)


_CALIBRATION_COLUMNS = {
    "coverage_class": "text",
    "expected": "float",
    "observed": "float",
    "n_points": "int",
    "n_binaries": "int",
}
# Coverage classes of hmixal.domain / hmixal.calibration, as the figure names them.
_CALIBRATION_LABELS = {
    "all": ("all points", BLACK, "o"),
    "covered": ("both elements well covered", BLUE, "s"),
    "scarce": ("an element in ≤ 5 training binaries", ORANGE, "^"),
    "none": ("an element in no training binary (element held out)", VERMILLION, "D"),
    "uncalibrated": ("uncalibrated: ensemble spread read as σ", GREEN, "v"),
}


def _draw_calibration(curve: pd.DataFrame | str | Path) -> tuple[Figure, pd.DataFrame]:
    frame = _load(curve, _CALIBRATION_COLUMNS, "calibration curve").frame
    fig = _figure("calibration")
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="black", lw=1.2, label="perfect calibration", zorder=1)
    for name, (label, colour, marker) in _CALIBRATION_LABELS.items():
        part = frame[frame["coverage_class"] == name].sort_values("expected")
        if part.empty or part["n_points"].iloc[0] == 0:
            continue
        style = {"ls": "--"} if name == "uncalibrated" else {}
        ax.plot(part["expected"], part["observed"], marker=marker, ms=5, color=colour, lw=1.5, zorder=2,
                label=f"{label} ({int(part['n_points'].iloc[0])} points, {int(part['n_binaries'].iloc[0])} binaries)",
                **style)  # fmt: skip
    for level in (0.68, 0.95):
        ax.axvline(level, color="#999999", lw=0.8, ls=":", zorder=0)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("nominal coverage of the interval")
    ax.set_ylabel("observed share of out-of-fold residuals inside")
    ax.legend(loc="upper left", fontsize=8.5)
    shown = frame[frame["expected"].round(2).isin([0.68, 0.95]) & (frame["coverage_class"] != "uncalibrated")]
    lines = [f"{r.coverage_class}: {100 * r.expected:.0f} % → {100 * r.observed:.1f} %" for r in shown.itertuples()]
    _note(ax, "\n".join(lines), loc="lower right")
    return fig, frame


def calibration_plot(curve: pd.DataFrame | str | Path, png: str | Path, pdf: str | Path) -> pd.DataFrame:
    """Expected vs observed coverage of the intervals on held-out binaries, per data-coverage class."""
    return _publish(_draw_calibration, png, pdf, curve)


_PREDICTION_COLUMNS = {
    "A": "element",
    "B": "element",
    "x_B": "float",
    "hmix_kJ_per_mol": "float",
    "hmix_before_aimd_kJ_per_mol": "float",
}


def _predicted_extrema(predictions: _Table, at: str) -> pd.DataFrame:
    """Per binary: ΔH_mix before and after AIMD at the extremum over x_B (each curve its own) or nearest x_B = 0.5."""
    frame = predictions.frame
    if at == "extremum":
        after = extremum_per_binary(frame, "hmix_kJ_per_mol")[["A", "B", "x_B", "hmix_kJ_per_mol"]]
        before = extremum_per_binary(frame, "hmix_before_aimd_kJ_per_mol")
        before = before[["A", "B", "x_B", "hmix_before_aimd_kJ_per_mol"]].rename(columns={"x_B": "x_B_before"})
        return after.merge(before, on=["A", "B"], validate="one_to_one")
    if at == "equimolar":
        distance = (frame["x_B"] - 0.5).abs().round(9)
        nearest = frame.assign(_d=distance).sort_values(["A", "B", "_d", "x_B"], kind="stable")
        rows = nearest.drop_duplicates(["A", "B"]).drop(columns="_d")
        rows = rows.assign(x_B_before=rows["x_B"])
        return rows[["A", "B", "x_B", "hmix_kJ_per_mol", "x_B_before", "hmix_before_aimd_kJ_per_mol"]]
    raise InputError(None, None, f"at={at!r}: choose 'extremum' or 'equimolar'")


def _draw_aimd_shift(
    predictions: pd.DataFrame | str | Path, refractory: Sequence[str], at: str, bins: int
) -> tuple[Figure, pd.DataFrame]:
    table = _load(predictions, _PREDICTION_COLUMNS, "grid predictions")
    unknown = [e for e in refractory if e not in ELEMENTS]
    if unknown or not refractory:
        raise InputError(None, None, f"refractory elements {list(refractory)}: need known symbols, got {unknown}")
    containing = table.frame["A"].isin(refractory) | table.frame["B"].isin(refractory)
    if not containing.any():
        raise InputError(table.name, None, f"no binary containing {', '.join(refractory)} in the predictions")
    extrema = _predicted_extrema(_Table(table.frame[containing], table.name), at)
    before = extrema["hmix_before_aimd_kJ_per_mol"].to_numpy()
    after = extrema["hmix_kJ_per_mol"].to_numpy()
    shift = float(np.mean(after - before))
    fig = _figure("aimd_shift")
    ax = fig.add_subplot()
    edges = np.histogram_bin_edges(np.concatenate([before, after]), bins=bins)
    grid = np.linspace(edges[0], edges[-1], 400)
    top = 0.0
    # Outlined histograms: two filled, overlapping ones blend into a third colour that belongs to neither.
    for values, colour, label in ((before, ORANGE, "before AIMD data"), (after, GREEN, "after AIMD data")):
        heights, _, _ = ax.hist(values, bins=edges, density=True, histtype="step", color=colour, lw=1.4)
        top = max(top, float(np.max(heights)))
        if values.size > 1 and np.ptp(values) > 0:
            density = gaussian_kde(values)(grid)
            top = max(top, float(density.max()))
            ax.plot(grid, density, color=colour, lw=2.4, label=f"{label}: mean {_num(values.mean())} {KJ}")
        ax.axvline(values.mean(), color=colour, ls="--", lw=1.4)
    ax.set_ylim(0, 1.3 * top)  # room for the legend and the note above the curves
    what = r"extremum over $x_\mathrm{B}$" if at == "extremum" else r"at $x_\mathrm{B}$ = 0.5"
    ax.set_xlabel(f"predicted {HMIX}, {what} ({KJ})")
    ax.set_ylabel(f"probability density (1/({KJ}))")
    ax.set_title(f"{len(extrema)} binaries with {', '.join(refractory)}: histograms (steps), kernel densities")
    ax.legend(loc="upper left", fontsize=10)
    _note(ax, f"mean shift\nafter − before:\n{_num(shift, '+.2f')} {KJ}", loc="upper right")
    data = extrema.assign(shift_kJ_per_mol=after - before)
    log.info("AIMD shift: %d binaries, mean shift %+.3f %s", len(extrema), shift, KJ)
    return fig, data


def aimd_shift_density(
    predictions: pd.DataFrame | str | Path,
    png: str | Path,
    pdf: str | Path,
    *,
    refractory: Sequence[str] = ("Ir", "Os", "Re", "W"),
    at: str = "extremum",
    bins: int = 30,
) -> pd.DataFrame:
    """Fig. 3: density of the predicted extremum ΔH_mix of binaries with Ir/Os/Re/W before vs after AIMD data."""
    return _publish(_draw_aimd_shift, png, pdf, predictions, tuple(refractory), at, bins)


def _draw_refractory_trends(
    predictions: pd.DataFrame | str | Path,
    aimd_points: pd.DataFrame | str | Path,
    elements: pd.DataFrame | None,
    refractory: Sequence[str],
    periods: Sequence[int],
) -> tuple[Figure, pd.DataFrame]:
    table = _load(predictions, _PREDICTION_COLUMNS, "grid predictions")
    points = _load(aimd_points, {"A": "element", "B": "element", "source_type": "text"}, "dataset").frame
    is_aimd = points["source_type"] == "aimd"
    aimd = {tuple(sorted(p)) for p in zip(points.loc[is_aimd, "A"], points.loc[is_aimd, "B"], strict=True)}
    elements = load_element_table() if elements is None else elements
    z = elements["Z"].astype(int)
    partners = sorted((s for s in ELEMENTS if _period(int(z[s])) in set(periods) and s not in refractory),
                      key=lambda s: int(z[s]))  # fmt: skip
    if not partners:
        raise InputError(None, None, f"no partner elements in periods {list(periods)}")
    extrema = extremum_per_binary(table.frame, "hmix_kJ_per_mol")
    value = {(a, b): v for a, b, v in zip(extrema["A"], extrema["B"], extrema["hmix_kJ_per_mol"], strict=True)}
    rows = []
    for r in refractory:
        for p in partners:
            key = tuple(sorted((r, p)))
            if key not in value:
                raise InputError(table.name, None, f"no prediction for {'-'.join(key)}")
            rows.append(
                {
                    "refractory": r,
                    "partner": p,
                    "Z_partner": int(z[p]),
                    "hmix_extremum_kJ_per_mol": value[key],
                    "aimd": int(key in aimd),
                    "partner_transition_metal": int(is_transition_metal(p)),
                }
            )
    data = pd.DataFrame(rows)
    fig = _figure("refractory_trends")
    ax = fig.add_subplot()
    x = np.arange(len(partners))
    shade = {1: (YELLOW, 0.22), 0: (SKY, 0.16)}
    for i, p in enumerate(partners):
        colour, alpha = shade[int(is_transition_metal(p))]
        ax.axvspan(i - 0.5, i + 0.5, color=colour, alpha=alpha, lw=0, zorder=0)
    period_of = [_period(int(z[p])) for p in partners]
    for i in range(1, len(partners)):
        if period_of[i] != period_of[i - 1]:
            ax.axvline(i - 0.5, color="0.4", lw=1.0, zorder=1)
    for per in sorted(set(period_of)):
        where = [i for i, q in enumerate(period_of) if q == per]
        ax.text((where[0] + where[-1]) / 2, 1.01, f"period {per}", transform=ax.get_xaxis_transform(),
                ha="center", va="bottom", fontsize=11)  # fmt: skip
    ax.axhline(0, color="0.3", lw=0.8, zorder=1)
    for r in refractory:
        mine = data[data["refractory"] == r]
        colour = REFRACTORY_COLOURS.get(r, BLACK)
        ax.plot(x, mine["hmix_extremum_kJ_per_mol"], color=colour, marker="o", ms=5, lw=1.6, label=r, zorder=3)
        hit = mine["aimd"].to_numpy() == 1
        ax.scatter(x[hit], mine["hmix_extremum_kJ_per_mol"].to_numpy()[hit], s=120, facecolors="none",
                   edgecolors="black", linewidths=1.6, zorder=4)  # fmt: skip
    ax.set_xticks(x, labels=partners)
    ax.set_xlim(-0.5, len(partners) - 0.5)
    ax.set_xlabel("second element (sorted by atomic number)")
    ax.set_ylabel(f"predicted extremum {HMIX} ({KJ})")
    handles = [Line2D([], [], color=REFRACTORY_COLOURS.get(r, BLACK), marker="o", lw=1.6, label=r) for r in refractory]
    handles += [
        Line2D([], [], ls="none", marker="o", ms=11, mfc="none", mec="black", mew=1.6, label="AIMD in dataset"),
        Patch(facecolor=YELLOW, alpha=0.22 * 2, label="TM–TM liquid"),
        Patch(facecolor=SKY, alpha=0.16 * 2, label="TM–nonTM liquid"),
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=10, frameon=False)
    log.info("refractory trends: %d partners, %d AIMD systems marked", len(partners), int(data["aimd"].sum()))
    return fig, data


def refractory_trends(
    predictions: pd.DataFrame | str | Path,
    aimd_points: pd.DataFrame | str | Path,
    png: str | Path,
    pdf: str | Path,
    *,
    elements: pd.DataFrame | None = None,
    refractory: Sequence[str] = ("W", "Re", "Os", "Ir"),
    periods: Sequence[int] = (3, 4, 5),
) -> pd.DataFrame:
    """Fig. 4: predicted extremum ΔH_mix of W/Re/Os/Ir with partners of periods 3–5 by Z; AIMD systems circled."""
    return _publish(
        _draw_refractory_trends, png, pdf, predictions, aimd_points, elements, tuple(refractory), tuple(periods)
    )


def _draw_cp_s_ratios(
    ratios: pd.DataFrame | str | Path, cp_column: str, s_column: str, bins: int
) -> tuple[Figure, pd.DataFrame]:
    columns = {"A": "element", "B": "element", "miedema_group": "text", cp_column: "float", s_column: "float"}
    table = _load(ratios, columns, "Cp/P and S/Q ratios")
    _unique_binaries(table)
    frame = table.frame
    bad = ~frame["miedema_group"].isin(MIEDEMA_GROUPS)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise table.fail(row, f"column miedema_group: {frame['miedema_group'].iloc[row]!r} is not a Miedema group")
    fig = _figure("cp_s_ratios")
    axes = fig.subplots(2, 3, sharex="row")
    rows = []
    labels = {cp_column: r"mean $C_p^\mathrm{liq}$ / P", s_column: r"mean $S^\mathrm{liq}$ / Q"}
    for r, (column, letter) in enumerate(((cp_column, "a"), (s_column, "b"))):
        edges = np.histogram_bin_edges(frame[column], bins=bins)
        for c, group in enumerate(MIEDEMA_GROUPS):
            ax = axes[r, c]
            values = frame.loc[frame["miedema_group"] == group, column].to_numpy()
            if values.size:
                ax.hist(values, bins=edges, color=GROUP_COLOURS[group], alpha=0.85, edgecolor="white", linewidth=0.5)
                ax.axvline(values.mean(), color="black", ls="--", lw=1.3)
                ax.set_ylim(top=1.45 * ax.get_ylim()[1])  # room for the note above the bars
                _note(ax, f"n = {values.size}\nmean {values.mean():.3g}\nstd {values.std():.2g}", loc="upper right")
            else:
                _note(ax, "no binaries", loc="upper right")
            rows.append({"quantity": column, "miedema_group": group, "n": int(values.size),
                         "mean": float(values.mean()) if values.size else float("nan"),
                         "std": float(values.std()) if values.size else float("nan")})  # fmt: skip
            if r == 0:
                ax.set_title(f"{GROUP_LABELS[group]} liquids")
            if c == 0:
                ax.set_ylabel("binaries")
            ax.set_xlabel(labels[column])
            if c == 0:
                ax.text(-0.02, 1.02, f"({letter})", transform=ax.transAxes, ha="right", va="bottom", fontsize=12,
                        fontweight="bold")  # fmt: skip
    fig.supxlabel(
        r"$C_p^\mathrm{liq}$ and $S^\mathrm{liq}$ of the pure liquids at their melting points, J mol$^{-1}$ K$^{-1}$; "
        f"P = {P_TM_TM:g} (TM–TM), {P_MIXED:g} (TM–nonTM), {P_NONTM_NONTM:g} (nonTM–nonTM) and Q = {Q_OVER_P:g} P, "
        "Miedema's constants (seed §2.5)",
        fontsize=10,
    )
    log.info("Cp/S ratios: %d binaries", len(frame))
    return fig, pd.DataFrame(rows)


def cp_s_ratio_histograms(
    ratios: pd.DataFrame | str | Path,
    png: str | Path,
    pdf: str | Path,
    *,
    cp_column: str = "Cpliq_over_P",
    s_column: str = "Sliq_over_Q",
    bins: int = 25,
) -> pd.DataFrame:
    """Fig. 5: histograms of mean Cp_liq / P and mean S_liq / Q per Miedema group (rows a, b; TM–TM, …)."""
    return _publish(_draw_cp_s_ratios, png, pdf, ratios, cp_column, s_column, bins)


# ---------------------------------------------------------------------------------------------- supplementary


def _draw_rfe(curve: pd.DataFrame | str | Path, marks: Sequence[int]) -> tuple[Figure, pd.DataFrame]:
    columns = {"n_features": "int", "rmse_mean": "float", "rmse_std": "float", "n_repeats": "int"}
    frame = _load(curve, columns, "RFE curve").frame.sort_values("n_features", ignore_index=True)
    fig = _figure("rfe")
    ax = fig.add_subplot()
    n, mean, std = frame["n_features"], frame["rmse_mean"], frame["rmse_std"]
    ax.fill_between(n, mean - std, mean + std, color=GREEN, alpha=0.3, lw=0, label="± 1 standard deviation")
    ax.plot(n, mean, color=BLUE, marker="o", ms=3.5, lw=1.8, label="mean RMSE")
    best = int(frame.loc[mean.idxmin(), "n_features"])
    ax.plot([best], [mean.min()], ls="none", marker="*", ms=15, color=VERMILLION, mec="black", mew=0.6,
            label=f"lowest mean: {mean.min():.2f} {KJ} at {best}", zorder=4)  # fmt: skip
    shown = [m for m in marks if n.min() <= m <= n.max()]
    for m in shown:
        ax.axvline(m, color="0.35", ls=":", lw=1.3)
    # The set sizes are labelled above the axes, where no curve or legend can cover them.
    ax.secondary_xaxis("top").set_xticks(shown, labels=[str(m) for m in shown])
    ax.set_xlabel("number of features")
    ax.set_ylabel(f"test RMSE ({KJ})")
    ax.legend(loc="upper right", fontsize=10)
    ax.set_ylim(top=ax.get_ylim()[1] + 0.25 * np.ptp(ax.get_ylim()))  # room for the legend above the band
    repeats = int(frame["n_repeats"].max())
    ax.set_title(f"Recursive feature elimination, {repeats} repeats; dotted: feature-set sizes used", pad=22)
    ax.set_xlim(n.min() - 0.5, n.max() + 0.5)
    return fig, frame


def rfe_curve_plot(
    curve: pd.DataFrame | str | Path, png: str | Path, pdf: str | Path, *, marks: Sequence[int] = (10, 30)
) -> pd.DataFrame:
    """Suppl. Fig. S1: RFE test RMSE (mean ± std over repeats) vs number of features; dotted lines at ``marks``."""
    return _publish(_draw_rfe, png, pdf, curve, tuple(marks))


# Suptitle per test design (hmixal.al_designs.TEST_DESIGNS): what the test RMSE measures.
AL_DESIGN_TITLES: dict[str, str] = {
    "random": "test binaries: random (interpolation)",
    "cluster": "test binaries: a held-out K-means cluster (extrapolation)",
    "element": "test binaries: those of held-out elements (extrapolation)",
}
# Reference lines of the AL panels (hmixal.active_learning.REFERENCE_LINES): label and line style, all grey.
REFERENCE_LINE_STYLES: dict[str, tuple[str, Any]] = {
    "miedema": ("Miedema alone (no correction)", (0, (7, 3))),
    "whole_pool": ("whole pool (train + every pool point)", ":"),
    "whole_pool_equimolar": ("whole pool, equimolar points", "-."),
}
_REFERENCE_GREY = "0.4"
_ORACLE_DASHES = (0, (3, 1.5))  # denser than Miedema's long dashes: the oracle is a curve, not a reference line
# Budgets of the paired-difference panel (hmixal.al_statistics.BUDGET_LABELS): name and marker.
_BUDGET_NAMES: dict[str, str] = {"third": "⅓ of the run", "two_thirds": "⅔ of the run", "end": "end of the run"}
_BUDGET_MARKERS: dict[str, str] = {"third": "o", "two_thirds": "s", "end": "D"}
_BUDGET_OFFSETS: dict[str, float] = {"third": -0.24, "two_thirds": 0.0, "end": 0.24}  # within an approach's row
_AL_CURVE_COLUMNS = {
    "approach": "text", "iteration": "int", "n_acquired": "float", "n_binaries": "float", "rmse_mean": "float",
    "n_splits": "int",
}  # fmt: skip
_AL_REFERENCE_COLUMNS = {"split": "int", "reference": "text", "rmse": "float"}
_AL_ENDPOINT_COLUMNS = {
    "approach": "text",
    "budget_label": "text",
    "iteration": "int",
    "n_splits": "int",
    "mean_difference_kJ_per_mol": "float",
    "ci95_corrected_low": "float",
    "ci95_corrected_high": "float",
    "ci95_bootstrap_low": "float",
    "ci95_bootstrap_high": "float",
}
# Columns of the returned table: one row per plotted point of a curve, reference line or paired difference.
AL_PLOTTED_COLUMNS: tuple[str, ...] = (
    "panel", "kind", "series", "label", "x", "iteration", "n_acquired", "n_binaries", "rmse_mean", "rmse_std",
    "rmse_ci95_half", "n_splits", "budget_label", "mean_difference_kJ_per_mol", "ci95_corrected_low",
    "ci95_corrected_high", "ci95_bootstrap_low", "ci95_bootstrap_high",
)  # fmt: skip


def _check_names(table: _Table, column: str, known: Sequence[str]) -> None:
    """Fail at the first row whose ``column`` is not one of ``known``."""
    bad = ~table.frame[column].isin(known)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise table.fail(row, f"column {column}: {table.frame[column].iloc[row]!r} is not one of {', '.join(known)}")


def _check_unique(table: _Table, keys: Sequence[str]) -> None:
    """Fail at the first row that repeats the ``keys`` of an earlier one (a table gathered twice)."""
    repeated = table.frame.duplicated(list(keys))
    if repeated.any():
        row = int(np.flatnonzero(repeated.to_numpy())[0])
        values = ", ".join(f"{k} {table.frame[k].iloc[row]}" for k in keys)
        raise table.fail(row, f"{values} appears more than once")


def _ci95_half(std: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Half-width of the 95 % t interval of a mean over ``n`` values of spread ``std`` (0 where n = 1)."""
    n = np.clip(np.asarray(n, dtype=float), 1, None)
    t95 = np.array([float(student_t.ppf(0.975, k - 1)) if k > 1 else 0.0 for k in n])
    return t95 * np.asarray(std, dtype=float) / np.sqrt(n)


def _al_curves_table(curves: pd.DataFrame | str | Path) -> pd.DataFrame:
    """The checked curves table (curves.csv) with the half-width of each mean's 95 % interval."""
    table = _load(curves, _AL_CURVE_COLUMNS, "active-learning curves")
    _check_names(table, "approach", APPROACHES)
    _check_unique(table, ("approach", "iteration"))
    frame = table.frame
    if "rmse_std" not in frame.columns:
        raise InputError(table.name, 1, "active-learning curves table lacks column rmse_std")
    # One split has no spread: its std is empty, which is drawn as no band rather than an error.
    frame["rmse_std"] = pd.to_numeric(frame["rmse_std"], errors="coerce").fillna(0.0)
    # The band is the 95 % interval of the mean over splits (t · SD / √n), not ±1 SD: a reader compares means.
    # It is the naive one; panel (c)'s paired differences carry the correction for overlapping splits.
    frame["rmse_ci95_half"] = _ci95_half(frame["rmse_std"].to_numpy(), frame["n_splits"].to_numpy())
    return frame


def _al_references_table(references: pd.DataFrame | str | Path) -> pd.DataFrame:
    """Per reference line of references.csv: the mean test RMSE over splits, its spread and 95 % interval."""
    table = _load(references, _AL_REFERENCE_COLUMNS, "active-learning references")
    _check_names(table, "reference", REFERENCE_LINES)
    _check_unique(table, ("split", "reference"))
    grouped = table.frame.groupby("reference", sort=False)["rmse"]
    frame = pd.DataFrame(
        {"rmse_mean": grouped.mean(), "rmse_std": grouped.std().fillna(0.0), "n_splits": grouped.size()}
    )
    frame = frame.reindex([r for r in REFERENCE_LINES if r in frame.index])  # the drawing order
    frame["rmse_ci95_half"] = _ci95_half(frame["rmse_std"].to_numpy(), frame["n_splits"].to_numpy())
    return frame.rename_axis("series").reset_index()


def _points_per_binary(mine: pd.DataFrame) -> float:
    """Mean points acquired per binary acquired at the approach's last iteration (1 for one point per binary)."""
    last = mine.iloc[-1]
    return float(last["n_acquired"] / last["n_binaries"]) if last["n_binaries"] > 0 else 1.0


def _draw_al_panel(
    ax: Axes, frame: pd.DataFrame, approaches: Sequence[str], x: str, references: pd.DataFrame | None, panel: str
) -> pd.DataFrame:
    """Mean test RMSE of ``approaches`` against column ``x`` with 95 % bands, and the reference lines; the numbers."""
    plotted = []
    for approach in approaches:
        mine = frame[frame["approach"] == approach].sort_values("iteration")
        colour = APPROACH_COLOURS[approach]
        position, mean, half = mine[x], mine["rmse_mean"], mine["rmse_ci95_half"]
        label = APPROACH_LABELS[approach]
        ratio = _points_per_binary(mine)
        if x == "n_binaries" and ratio > 1.05:  # whole curves: say what a binary costs in points
            label += f" (≈ {ratio:.1f} points per binary)"
        # Light bands: up to seven overlap; random's, the one every approach is compared with, a little darker.
        ax.fill_between(
            position, mean - half, mean + half, color=colour, alpha=0.14 if approach == REFERENCE else 0.07, lw=0
        )
        marker = APPROACH_MARKERS.get(approach)
        # Markers spaced ~10 per curve, shifted per approach so markers of neighbouring curves do not stack.
        every = max(1, len(mine) // 10)
        ax.plot(
            position, mean, color=colour, lw=2.2 if approach == REFERENCE else 1.8,
            ls=_ORACLE_DASHES if approach in LABEL_USING else "-", marker=marker, ms=5.5, mec="white", mew=0.6,
            markevery=(APPROACHES.index(approach) % every, every), label=label, zorder=3,
        )  # fmt: skip
        plotted.append(
            mine.assign(panel=panel, kind="approach", series=approach, label=label, x=position.to_numpy(float))
        )
    if references is not None:
        for row in references.itertuples(index=False):
            name, style = REFERENCE_LINE_STYLES[row.series]
            label = f"{name}: {row.rmse_mean:.2f} {KJ}"
            ax.axhline(row.rmse_mean, color=_REFERENCE_GREY, ls=style, lw=1.5, label=label, zorder=2)
        names = [REFERENCE_LINE_STYLES[r][0] for r in references["series"]]
        plotted.append(references.assign(panel=panel, kind="reference", label=names))
    return pd.concat(plotted, ignore_index=True)


def _axis_suffix(frame: pd.DataFrame, approaches: Sequence[str]) -> str:
    """The iteration axis's note "(k points each)" when every iteration of ``approaches`` acquires k points."""
    later = frame[frame["approach"].isin(approaches) & (frame["iteration"] > 0)]
    per_iteration = (later["n_acquired"] / later["iteration"]).round(6).unique()
    return f" ({per_iteration[0]:g} points each)" if per_iteration.size == 1 else ""


def _draw_al_curves(
    curves: pd.DataFrame | str | Path,
    endpoints: pd.DataFrame | str | Path | None = None,
    references: pd.DataFrame | str | Path | None = None,
    design: str | None = None,
) -> tuple[Figure, pd.DataFrame]:
    if design is not None and design not in AL_DESIGN_TITLES:
        raise InputError(None, None, f"unknown test design {design!r}: choose one of {', '.join(AL_DESIGN_TITLES)}")
    frame = _al_curves_table(curves)
    reference_means = None if references is None else _al_references_table(references)
    present = set(frame["approach"])
    # Panel (a): the seed's approaches (and the oracle, for the dynamic range); (b): hmixal's strategies against
    # random and the oracle; (b) only when the run has any of hmixal's strategies.
    strategies = [a for a in APPROACHES if a in present and a not in PAPER_APPROACHES and a not in LABEL_USING]
    oracle = [a for a in LABEL_USING if a in present]
    panel_a = [a for a in PAPER_APPROACHES if a in present] + oracle
    panel_b = ([a for a in (REFERENCE,) if a in present] + strategies + oracle) if strategies else []
    fig = _figure("al_curves")
    # Two subfigures, so the long approach names of (c) do not widen the left margin of (a) and (b).
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.5, 1.0]) if endpoints is not None else (fig, None)
    ax_a, *rest = top.subplots(1, 2 if panel_b else 1, sharey=True, squeeze=False)[0]
    weighted = " (every test binary weighs the same)" if design in WEIGHTED_DESIGNS else ""
    ax_a.set_ylabel(f"test RMSE{weighted} ({KJ})")
    n_splits = int(frame["n_splits"].max())
    legend_title = f"mean over {n_splits} splits; band: 95 % interval of the mean"
    plotted = [_draw_al_panel(ax_a, frame, panel_a, "iteration", reference_means, "a")]
    ax_a.set_xlabel(f"iteration{_axis_suffix(frame, panel_a)}")
    ax_a.set_title("(a) the seed paper's approaches 1–5, by iteration", loc="left")
    for ax_b in rest:
        plotted.append(_draw_al_panel(ax_b, frame, panel_b, "n_binaries", reference_means, "b"))
        ax_b.set_xlabel("binaries acquired (mean over splits)")
        ax_b.set_title("(b) hmixal's strategies 6–10, by binaries acquired", loc="left")
        ax_b.tick_params(labelleft=True)
    for ax in (ax_a, *rest):
        ax.grid(True, color="0.9", lw=0.6)
        ax.set_axisbelow(True)
        ax.legend(
            loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, title=legend_title, fontsize=9,
            title_fontsize=9, frameon=False,
        )  # fmt: skip
    if bottom is not None:
        plotted.append(_draw_paired_differences(bottom.subplots(), endpoints))
    title = "Active-learning benchmark"
    if design is not None:
        title += f" — {AL_DESIGN_TITLES[design]}"
    fig.suptitle(title, fontsize=13)
    data = pd.concat(plotted, ignore_index=True)
    return fig, data.reindex(columns=list(AL_PLOTTED_COLUMNS))


def _approach_rows(approaches: Sequence[str]) -> dict[str, float]:
    """Row of each approach in the paired-difference panel: number order, a gap between the seed's approaches,
    hmixal's strategies and the label-using references."""
    rows: dict[str, float] = {}
    position, group = 0.0, None
    for approach in approaches:
        mine = 0 if approach in PAPER_APPROACHES else 2 if approach in LABEL_USING else 1
        if group is not None and mine != group:
            position += 0.5
        rows[approach], group = position, mine
        position += 1.0
    return rows


def _draw_paired_differences(ax: Axes, endpoints: pd.DataFrame | str | Path) -> pd.DataFrame:
    """Approach − random test RMSE at the fixed budgets, approaches as rows, with the overlap-corrected 95 %
    interval (thick) and the bootstrap one (thin); left of zero the approach is ahead of random. The numbers."""
    table = _load(endpoints, _AL_ENDPOINT_COLUMNS, "active-learning endpoints")
    # random is the reference every row is compared with: a row for it would be a comparison with itself.
    _check_names(table, "approach", [a for a in APPROACHES if a != REFERENCE])
    _check_names(table, "budget_label", BUDGET_LABELS)
    _check_unique(table, ("approach", "budget_label"))
    frame = table.frame
    approaches = [a for a in APPROACHES if a in set(frame["approach"])]
    rows = _approach_rows(approaches)
    for approach in approaches:
        mine = frame[frame["approach"] == approach]
        colour = APPROACH_COLOURS[approach]
        y = rows[approach] + mine["budget_label"].map(_BUDGET_OFFSETS).to_numpy(float)
        ax.hlines(y, mine["ci95_corrected_low"], mine["ci95_corrected_high"], color=colour, lw=5.0, alpha=0.45)
        ax.hlines(y, mine["ci95_bootstrap_low"], mine["ci95_bootstrap_high"], color="0.1", lw=1.2)
        for budget, marker in _BUDGET_MARKERS.items():
            at = (mine["budget_label"] == budget).to_numpy()
            ax.plot(mine["mean_difference_kJ_per_mol"].to_numpy()[at], y[at], ls="none", marker=marker, ms=6.5,
                    color=colour, mec="black", mew=0.7, zorder=3)  # fmt: skip
    ax.axvline(0.0, color="0.2", lw=1.0, zorder=1)
    positions = sorted(rows.values())
    for above, below in pairwise(positions):
        if below - above > 1.0:  # a gap between groups of approaches: a thin line through it
            ax.axhline((above + below) / 2, color="0.75", lw=0.8)
    ax.set_yticks(list(rows.values()), [APPROACH_LABELS[a] for a in approaches])
    ax.set_ylim(max(rows.values()) + 0.5, -0.5)  # the first approach at the top
    ax.tick_params(axis="y", length=0)
    ax.grid(True, axis="x", color="0.9", lw=0.6)
    ax.set_axisbelow(True)
    iterations = frame.groupby("budget_label")["iteration"].unique()
    handles = [
        Line2D([], [], ls="none", marker=_BUDGET_MARKERS[b], ms=6.5, color="0.6", mec="black", mew=0.7,
               label=f"{_BUDGET_NAMES[b]} (iteration {'/'.join(str(i) for i in sorted(iterations[b]))})")
        for b in BUDGET_LABELS if b in iterations.index
    ]  # fmt: skip
    handles += [
        Line2D([], [], color="0.6", lw=5.0, alpha=0.7, label="95 % interval, corrected for overlapping splits"),
        Line2D([], [], color="0.1", lw=1.2, label="95 % interval, bootstrap over splits (too narrow)"),
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False)
    ax.set_xlabel(f"paired difference of test RMSE, approach − random ({KJ}); left of 0: ahead of random")
    n_splits = int(frame["n_splits"].max())
    ax.set_title(
        f"(c) paired difference to random on the same splits, at fixed budgets ({n_splits} splits)", loc="left"
    )
    return frame.assign(
        panel="c", kind="paired_difference", series=frame["approach"], label=frame["approach"].map(APPROACH_LABELS),
        x=frame["mean_difference_kJ_per_mol"],
    )  # fmt: skip


def al_curves_plot(
    curves: pd.DataFrame | str | Path,
    png: str | Path,
    pdf: str | Path,
    endpoints: pd.DataFrame | str | Path | None = None,
    references: pd.DataFrame | str | Path | None = None,
    design: str | None = None,
) -> pd.DataFrame:
    """Suppl. Fig. S2/S7: AL test RMSE curves (seed's approaches by iteration; hmixal's by binaries acquired) with
    the ``references`` lines, and the paired differences to random of ``endpoints``; ``design`` in the title."""
    return _publish(_draw_al_curves, png, pdf, curves, endpoints, references, design)


def _draw_kmeans_scan(
    scan: pd.DataFrame | str | Path, chosen_k: int | None, features: str
) -> tuple[Figure, pd.DataFrame]:
    # Columns as hmixal.clustering.kmeans_scan writes them.
    table = _load(scan, {"k": "int", "inertia": "float", "silhouette": "float"}, "K-means scan")
    frame = table.frame.sort_values("k", ignore_index=True)
    if frame["k"].duplicated().any():
        raise table.fail(int(np.flatnonzero(table.frame["k"].duplicated().to_numpy())[0]), "k appears twice")
    fig = _figure("kmeans_scan")
    left, right = fig.subplots(1, 2)
    left.plot(frame["k"], frame["inertia"], color=BLUE, marker="o", lw=1.8)
    left.set_ylabel("inertia (sum of squared distances,\nstandardised features)")
    right.plot(frame["k"], frame["silhouette"], color=VERMILLION, marker="o", lw=1.8)
    right.set_ylabel("mean silhouette score (−1 to 1)")
    best = int(frame.loc[frame["silhouette"].idxmax(), "k"])
    for ax in (left, right):
        ax.set_xlabel("number of clusters K")
        ax.set_xticks(frame["k"])
        if chosen_k is not None:
            ax.axvline(chosen_k, color="0.35", ls="--", lw=1.3)
    # The summary goes in the title: a box inside the axes could hide a curve that peaks in its corner.
    title = f"K-means on {features}: best silhouette at K = {best}"
    if chosen_k is not None:
        title += f"; dashed: K = {chosen_k} used"
    fig.suptitle(title, fontsize=12)
    return fig, frame


def kmeans_scan_plot(
    scan: pd.DataFrame | str | Path,
    png: str | Path,
    pdf: str | Path,
    *,
    chosen_k: int | None = None,
    features: str = "the 10 active-learning features",
) -> pd.DataFrame:
    """Suppl. Fig. S3/S4: K-means inertia (elbow) and silhouette vs K, the chosen K dashed."""
    return _publish(_draw_kmeans_scan, png, pdf, scan, chosen_k, features)


# ---------------------------------------------------------------------------------------------- metrics


def _metric_rows(block: Mapping[str, Any], label: str, models: Sequence[str]) -> list[dict[str, Any]]:
    """Rows (subset, predictor, n, RMSE, MAE) of one metrics block such as ``{"model": {...}, "miedema": {...}}``."""
    rows = []
    for model in models:
        if model in block:
            m = block[model]
            rows.append(
                {"subset": label, "predictor": model, "n": m["n"], "RMSE (kJ/mol)": m["rmse"], "MAE (kJ/mol)": m["mae"]}
            )
    return rows


def metrics_html(metrics: Mapping[str, Any] | str | Path, path: str | Path) -> pd.DataFrame:
    """Write the key out-of-fold metrics (overall, per Miedema group, per source, AIMD) as an HTML page."""
    name = "<metrics>"
    if not isinstance(metrics, Mapping):
        name = str(metrics)
        try:
            metrics = json.loads(Path(metrics).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(name, None, f"cannot read metrics: {exc}") from exc
    missing = [k for k in ("overall", "per_miedema_group", "per_source_type", "aimd") if k not in metrics]
    if missing:
        raise InputError(name, None, f"metrics lack section(s): {', '.join(missing)}")
    try:
        sections = {
            "Out-of-fold, all data": _metric_rows(metrics["overall"], "all", ("model", "miedema")),
            "Per Miedema group": [
                r for g, b in metrics["per_miedema_group"].items() for r in _metric_rows(b, g, ("model", "miedema"))
            ],
            "Per source type": [
                r for s, b in metrics["per_source_type"].items() for r in _metric_rows(b, s, ("model", "miedema"))
            ],
            "AIMD points: reference model (before) vs final (after)": [
                r for e, b in metrics["aimd"].items() for r in _metric_rows(b, e, ("before", "after", "miedema"))
            ],
        }
    except (KeyError, TypeError) as exc:
        raise InputError(name, None, f"metrics entry without n/rmse/mae: {exc}") from exc
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>hmixal key metrics</title>",
             "<style>body{font-family:sans-serif;font-size:15px;margin:1.5em}table{border-collapse:collapse;"
             "margin-bottom:1.5em}th,td{border:1px solid #bbb;padding:4px 10px;text-align:right}"
             "td:first-child,td:nth-child(2){text-align:left}th{background:#eee}</style></head><body>",
             "<h1>Key metrics (out-of-fold, grouped by binary)</h1>",
             "<p>RMSE and MAE in kJ/mol of the nested grouped cross-validation; “miedema” is Miedema's model "
             "alone, “model” Miedema + LightGBM correction; for AIMD points “before” is the reference model "
             "trained without any AIMD data.</p>"]  # fmt: skip
    frames = []
    for title, rows in sections.items():
        frame = pd.DataFrame(rows)
        frames.append(frame.assign(section=title))
        parts.append(f"<h2>{html.escape(title)}</h2>")
        parts.append(frame.to_html(index=False, float_format=lambda v: f"{v:.2f}", border=0))
    settings = metrics.get("settings")
    if settings is not None:
        parts.append("<h2>Settings</h2><pre>" + html.escape(json.dumps(settings, indent=1, sort_keys=True)) + "</pre>")
    parts.append("</body></html>\n")
    write_text("\n".join(parts), path)
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------------------------------------- dispatch


# Figure name → (function, the rule inputs it takes positionally, in order).
FIGURES: dict[str, tuple[Callable[..., pd.DataFrame], tuple[str, ...]]] = {
    "uncertainty_map": (uncertainty_map, ("gp_map",)),
    "parity": (parity_plot, ("oof",)),
    "aimd_shift": (aimd_shift_density, ("predictions",)),
    "refractory_trends": (refractory_trends, ("predictions", "aimd_points")),
    "cp_s_ratios": (cp_s_ratio_histograms, ("ratios",)),
    "rfe": (rfe_curve_plot, ("curve",)),
    "al_curves": (al_curves_plot, ("curves",)),
    "kmeans_scan": (kmeans_scan_plot, ("scan",)),
    "cluster_map": (cluster_map, ("clusters",)),
    "calibration": (calibration_plot, ("curve",)),
}
_TAKES_ELEMENTS = {"uncertainty_map", "refractory_trends", "cluster_map"}
# Inputs a figure draws more from when the rule gives them (passed by keyword).
_OPTIONAL_INPUTS: dict[str, tuple[str, ...]] = {"al_curves": ("endpoints", "references")}


def render(
    figure: str, inputs: Mapping[str, Any], png: str | Path, pdf: str | Path, options: Mapping[str, Any]
) -> pd.DataFrame:
    """Draw the named figure from rule inputs and keyword ``options`` (scripts/figures.py); return its numbers."""
    if figure not in FIGURES:
        raise InputError(None, None, f"unknown figure {figure!r}: choose one of {', '.join(FIGURES)}")
    function, names = FIGURES[figure]
    missing = [n for n in names if n not in inputs]
    if missing:
        raise InputError(None, None, f"figure {figure} needs input(s): {', '.join(missing)}")
    kwargs = dict(options)
    if figure in _TAKES_ELEMENTS and "elements" in inputs:
        kwargs["elements"] = load_element_table(Path(inputs["elements"]))
    kwargs.update({n: inputs[n] for n in _OPTIONAL_INPUTS.get(figure, ()) if n in inputs})
    return function(*(inputs[n] for n in names), png, pdf, **kwargs)
