"""The active-learning figure of a test design: suppl. Fig. S2 (random test binaries) and Fig. S7 (a held-out
cluster) — test RMSE curves of the approaches with the reference lines, and the paired differences to random."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from scipy.stats import t as student_t

from hmixal.active_learning import APPROACHES, LABEL_USING, PAPER_APPROACHES, REFERENCE, REFERENCE_LINES, UNITS
from hmixal.al_designs import WEIGHTED_DESIGNS
from hmixal.al_statistics import BUDGET_LABELS
from hmixal.errors import InputError
from hmixal.figures.output import BLACK, BLUE, GREEN, KJ, ORANGE, PURPLE, SKY, VERMILLION, new_figure, publish
from hmixal.figures.tables import Table, load_table

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


def _check_names(table: Table, column: str, known: Sequence[str]) -> None:
    """Fail at the first row whose ``column`` is not one of ``known``."""
    bad = ~table.frame[column].isin(known)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise table.fail(row, f"column {column}: {table.frame[column].iloc[row]!r} is not one of {', '.join(known)}")


def _check_unique(table: Table, keys: Sequence[str]) -> None:
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
    table = load_table(curves, _AL_CURVE_COLUMNS, "active-learning curves")
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
    table = load_table(references, _AL_REFERENCE_COLUMNS, "active-learning references")
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
    fig = new_figure("al_curves")
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
    table = load_table(endpoints, _AL_ENDPOINT_COLUMNS, "active-learning endpoints")
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
    return publish(_draw_al_curves, png, pdf, curves, endpoints, references, design)
