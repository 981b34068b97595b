"""The scans behind two choices of the pipeline: suppl. Fig. S1 (RFE test RMSE against the number of features) and
Fig. S3/S4 (K-means inertia and silhouette against the number of clusters K)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from hmixal.figures.output import BLUE, GREEN, KJ, VERMILLION, new_figure, publish
from hmixal.figures.tables import load_table


def _draw_rfe(curve: pd.DataFrame | str | Path, marks: Sequence[int]) -> tuple[Figure, pd.DataFrame]:
    columns = {"n_features": "int", "rmse_mean": "float", "rmse_std": "float", "n_repeats": "int"}
    frame = load_table(curve, columns, "RFE curve").frame.sort_values("n_features", ignore_index=True)
    fig = new_figure("rfe")
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
    return publish(_draw_rfe, png, pdf, curve, tuple(marks))


def _draw_kmeans_scan(
    scan: pd.DataFrame | str | Path, chosen_k: int | None, features: str
) -> tuple[Figure, pd.DataFrame]:
    # Columns as hmixal.clustering.kmeans_scan writes them.
    table = load_table(scan, {"k": "int", "inertia": "float", "silhouette": "float"}, "K-means scan")
    frame = table.frame.sort_values("k", ignore_index=True)
    if frame["k"].duplicated().any():
        raise table.fail(int(np.flatnonzero(table.frame["k"].duplicated().to_numpy())[0]), "k appears twice")
    fig = new_figure("kmeans_scan")
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
    return publish(_draw_kmeans_scan, png, pdf, scan, chosen_k, features)
