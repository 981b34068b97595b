"""The paper's figures (seed Fig. 1–5, supplementary Fig. S1–S5), hmixal's Fig. S6 and S7, drawn from the
pipeline's result tables, and ``render``: the figure a rule names (params.figure) → the function that draws it.

Every figure function takes its tables (a DataFrame, or the path of a CSV), checks them, draws with matplotlib's
object API (no pyplot state, so any backend and any number of figures per process), writes a PNG (for the
Snakemake report) and a PDF (for papers) atomically, and returns the numbers it plotted as a table (the rule
writes it beside the figure). The modules, by family:

- ``maps``: Fig. 1 and S5, the periodic-table maps of binaries;
- ``model``: Fig. 2–5 and S6, the prediction model and Miedema's parameters;
- ``active_learning``: Fig. S2 and S7, the active-learning benchmark;
- ``scans``: Fig. S1, S3 and S4, the RFE and K-means scans;
- ``tables``: reading and checking the plotted tables; ``output``: colours, sizes, style, saving.

The key-metrics page of the report is ``hmixal.report``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from hmixal.elements import load_element_table
from hmixal.errors import InputError
from hmixal.figures.active_learning import al_curves_plot
from hmixal.figures.maps import cluster_map, uncertainty_map
from hmixal.figures.model import (
    aimd_shift_density,
    calibration_plot,
    cp_s_ratio_histograms,
    parity_plot,
    refractory_trends,
)
from hmixal.figures.scans import kmeans_scan_plot, rfe_curve_plot

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
