"""Figures of the prediction model and of Miedema's parameters: Fig. 2 (out-of-fold parity), Fig. 3 (how the AIMD
data moved the predictions), Fig. 4 (trends of the period-6 refractory elements), Fig. 5 (Cp/P and S/Q per Miedema
group) and the calibration of the intervals (Fig. S6)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from scipy.stats import gaussian_kde

from hmixal.elements import ELEMENTS, load_element_table
from hmixal.errors import InputError
from hmixal.figures.output import (
    BLACK,
    BLUE,
    GREEN,
    GROUP_COLOURS,
    GROUP_LABELS,
    HMIX,
    KJ,
    MIEDEMA_GROUPS,
    ORANGE,
    PURPLE,
    SKY,
    VERMILLION,
    YELLOW,
    new_figure,
    publish,
)
from hmixal.figures.tables import Table, check_unique_binaries, extremum_per_binary, load_table, period
from hmixal.miedema_model import P_MIXED, P_NONTM_NONTM, P_TM_TM, Q_OVER_P, is_transition_metal

log = logging.getLogger(__name__)

REFRACTORY_COLOURS: dict[str, str] = {"W": PURPLE, "Re": GREEN, "Os": BLUE, "Ir": VERMILLION}  # seed Fig. 4


def _note(ax: Axes, text: str, loc: str = "upper left") -> None:
    """A boxed note in a corner of the axes."""
    x, ha = (0.02, "left") if "left" in loc else (0.98, "right")
    y, va = (0.98, "top") if "upper" in loc else (0.02, "bottom")
    ax.text(
        x, y, text, transform=ax.transAxes, ha=ha, va=va, fontsize=10,
        bbox={"boxstyle": "round,pad=0.35", "facecolor": "white", "edgecolor": "0.6", "alpha": 0.9},
    )  # fmt: skip


def _num(value: float, fmt: str = ".1f") -> str:
    """A number formatted with a typographic minus sign, as matplotlib's tick labels show it."""
    return format(value, fmt).replace("-", "\N{MINUS SIGN}")


_OOF_COLUMNS = {"A": "element", "B": "element", "x_B": "float", "hmix_kJ_per_mol": "float", "source_type": "text"}


def _draw_parity(
    oof: pd.DataFrame | str | Path, predicted: str, quantiles: tuple[float, float]
) -> tuple[Figure, pd.DataFrame]:
    frame = load_table(oof, {**_OOF_COLUMNS, predicted: "float"}, "out-of-fold predictions").frame
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
    fig = new_figure("parity")
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
    return publish(_draw_parity, png, pdf, oof, predicted, quantiles)


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
    frame = load_table(curve, _CALIBRATION_COLUMNS, "calibration curve").frame
    fig = new_figure("calibration")
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
    return publish(_draw_calibration, png, pdf, curve)


_PREDICTION_COLUMNS = {
    "A": "element",
    "B": "element",
    "x_B": "float",
    "hmix_kJ_per_mol": "float",
    "hmix_before_aimd_kJ_per_mol": "float",
}


def _predicted_extrema(predictions: Table, at: str) -> pd.DataFrame:
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
    table = load_table(predictions, _PREDICTION_COLUMNS, "grid predictions")
    unknown = [e for e in refractory if e not in ELEMENTS]
    if unknown or not refractory:
        raise InputError(None, None, f"refractory elements {list(refractory)}: need known symbols, got {unknown}")
    containing = table.frame["A"].isin(refractory) | table.frame["B"].isin(refractory)
    if not containing.any():
        raise InputError(table.name, None, f"no binary containing {', '.join(refractory)} in the predictions")
    extrema = _predicted_extrema(Table(table.frame[containing], table.name), at)
    before = extrema["hmix_before_aimd_kJ_per_mol"].to_numpy()
    after = extrema["hmix_kJ_per_mol"].to_numpy()
    shift = float(np.mean(after - before))
    fig = new_figure("aimd_shift")
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
    return publish(_draw_aimd_shift, png, pdf, predictions, tuple(refractory), at, bins)


def _draw_refractory_trends(
    predictions: pd.DataFrame | str | Path,
    aimd_points: pd.DataFrame | str | Path,
    elements: pd.DataFrame | None,
    refractory: Sequence[str],
    periods: Sequence[int],
) -> tuple[Figure, pd.DataFrame]:
    table = load_table(predictions, _PREDICTION_COLUMNS, "grid predictions")
    points = load_table(aimd_points, {"A": "element", "B": "element", "source_type": "text"}, "dataset").frame
    is_aimd = points["source_type"] == "aimd"
    aimd = {tuple(sorted(p)) for p in zip(points.loc[is_aimd, "A"], points.loc[is_aimd, "B"], strict=True)}
    elements = load_element_table() if elements is None else elements
    z = elements["Z"].astype(int)
    partners = sorted((s for s in ELEMENTS if period(int(z[s])) in set(periods) and s not in refractory),
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
    fig = new_figure("refractory_trends")
    ax = fig.add_subplot()
    x = np.arange(len(partners))
    shade = {1: (YELLOW, 0.22), 0: (SKY, 0.16)}
    for i, p in enumerate(partners):
        colour, alpha = shade[int(is_transition_metal(p))]
        ax.axvspan(i - 0.5, i + 0.5, color=colour, alpha=alpha, lw=0, zorder=0)
    period_of = [period(int(z[p])) for p in partners]
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
    return publish(
        _draw_refractory_trends, png, pdf, predictions, aimd_points, elements, tuple(refractory), tuple(periods)
    )


def _draw_cp_s_ratios(
    ratios: pd.DataFrame | str | Path, cp_column: str, s_column: str, bins: int
) -> tuple[Figure, pd.DataFrame]:
    columns = {"A": "element", "B": "element", "miedema_group": "text", cp_column: "float", s_column: "float"}
    table = load_table(ratios, columns, "Cp/P and S/Q ratios")
    check_unique_binaries(table)
    frame = table.frame
    bad = ~frame["miedema_group"].isin(MIEDEMA_GROUPS)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise table.fail(row, f"column miedema_group: {frame['miedema_group'].iloc[row]!r} is not a Miedema group")
    fig = new_figure("cp_s_ratios")
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
    return publish(_draw_cp_s_ratios, png, pdf, ratios, cp_column, s_column, bins)
