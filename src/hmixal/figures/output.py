"""Style and output of the figures: the Okabe–Ito colours and the ones the figure families share, the figure
sizes and matplotlib settings, and writing a figure as PNG + PDF without timestamps.

Colours are the Okabe–Ito palette (Okabe & Ito, "Color Universal Design", 2008), which stays distinct under the
common colour-vision deficiencies; continuous scales are not used. Figure sizes are fixed in inches and pixels
(no tight bounding box), so a figure's pixel size is known in advance: ``figsize × PNG_DPI``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib import rc_context
from matplotlib.figure import Figure

from hmixal.io import atomic_path
from hmixal.miedema_model import GROUP_NONTM_NONTM, GROUP_TM_NONTM, GROUP_TM_TM

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
MIEDEMA_GROUPS: tuple[str, ...] = (GROUP_TM_TM, GROUP_TM_NONTM, GROUP_NONTM_NONTM)
# Seed suppl. Fig. S5 shows TM–TM blue, TM–nonTM yellow, nonTM–nonTM green; orange replaces yellow, which is
# too light on white.
GROUP_COLOURS: dict[str, str] = {GROUP_TM_TM: BLUE, GROUP_TM_NONTM: ORANGE, GROUP_NONTM_NONTM: GREEN}
GROUP_LABELS: dict[str, str] = {GROUP_TM_TM: "TM–TM", GROUP_TM_NONTM: "TM–nonTM", GROUP_NONTM_NONTM: "nonTM–nonTM"}
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


def new_figure(name: str, layout: str | None = "constrained") -> Figure:
    """A new figure of the size listed for ``name`` in FIGURE_SIZES (no pyplot state)."""
    return Figure(figsize=FIGURE_SIZES[name], layout=layout)


def save_figure(fig: Figure, png: str | Path, pdf: str | Path, dpi: int = PNG_DPI) -> None:
    """Write ``fig`` as PNG (``dpi``) and PDF, each atomically, with no timestamps (same input → same bytes)."""
    with atomic_path(png) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, metadata={"Software": None})
    with atomic_path(pdf) as tmp:
        fig.savefig(tmp, format="pdf", metadata={"CreationDate": None, "ModDate": None, "Producer": None})


def publish(
    draw: Callable[..., tuple[Figure, pd.DataFrame]], png: str | Path, pdf: str | Path, *args: Any
) -> pd.DataFrame:
    """Draw and save under the figures' style (some settings are read at save time); return the plotted numbers."""
    with rc_context(_STYLE):
        fig, data = draw(*args)
        save_figure(fig, png, pdf)
    return data
