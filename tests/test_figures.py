"""Tests of the figures: each drawn from small constructed tables to a PNG of the expected size and a PDF."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from hmixal.active_learning import APPROACHES, CURVE_COLUMNS, LABEL_USING, PAPER_APPROACHES, REFERENCE_COLUMNS, UNITS
from hmixal.al_statistics import ENDPOINT_COLUMNS
from hmixal.elements import ELEMENTS, load_element_table
from hmixal.errors import InputError
from hmixal.figures import active_learning as al_figures
from hmixal.figures import render
from hmixal.figures.active_learning import al_curves_plot
from hmixal.figures.maps import cluster_map, uncertainty_map
from hmixal.figures.model import (
    aimd_shift_density,
    calibration_plot,
    cp_s_ratio_histograms,
    parity_plot,
    refractory_trends,
)
from hmixal.figures.output import FIGURE_SIZES, PNG_DPI
from hmixal.figures.scans import kmeans_scan_plot, rfe_curve_plot
from hmixal.figures.tables import element_order, extremum_per_binary
from hmixal.miedema_model import miedema_groups
from hmixal.report import metrics_html
from hmixal.systems import all_binaries

REFRACTORY = ("Ir", "Os", "Re", "W")


def check_image(png: Path, pdf: Path, figure: str) -> np.ndarray:
    """Assert a valid PNG of the listed pixel size with drawn content, and a PDF; return the pixels."""
    width, height = FIGURE_SIZES[figure]
    with Image.open(png) as image:
        image.verify()
    with Image.open(png) as image:
        assert image.format == "PNG"
        assert image.size == (round(width * PNG_DPI), round(height * PNG_DPI))
        pixels = np.asarray(image.convert("L"), dtype=float)
    assert pixels.std() > 5  # not a blank canvas
    assert (pixels < 100).mean() > 0.002  # some dark ink: labels, lines, symbols
    head = pdf.read_bytes()
    assert head.startswith(b"%PDF-") and len(head) > 5000
    return pixels


@pytest.fixture(scope="module")
def elements() -> pd.DataFrame:
    return load_element_table()


@pytest.fixture(scope="module")
def pairs() -> list[tuple[str, str]]:
    return all_binaries()


@pytest.fixture(scope="module")
def oof() -> pd.DataFrame:
    """Three calphad binaries on a grid and two AIMD points (one in a binary that also has calphad data)."""
    rows = []
    for a, b, scale in (("Al", "Ni", -40.0), ("Cu", "Zr", -20.0), ("Ag", "Cu", 8.0)):
        for x in (0.2, 0.4, 0.5, 0.6, 0.8):
            h = scale * 4 * x * (1 - x) * (1.0 + 0.2 * (x - 0.5))
            rows.append((a, b, x, h, "calphad", h + 2.0, h + 4.0))
    rows.append(("Ir", "Ti", 0.5, -60.0, "aimd", -50.0, -45.0))
    rows.append(("Al", "Ni", 0.5, -35.0, "aimd", -38.0, -37.0))
    columns = ["A", "B", "x_B", "hmix_kJ_per_mol", "source_type", "predicted_kJ_per_mol",
               "predicted_before_aimd_kJ_per_mol"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


@pytest.fixture(scope="module")
def predictions(pairs: list[tuple[str, str]]) -> pd.DataFrame:
    """Every binary on x_B = 0.25, 0.5, 0.75; after-AIMD curves 2 kJ/mol less exothermic than before."""
    x = np.array([0.25, 0.5, 0.75])
    a = np.repeat([p[0] for p in pairs], x.size)
    b = np.repeat([p[1] for p in pairs], x.size)
    xs = np.tile(x, len(pairs))
    depth = -10.0 - (np.arange(a.size) // x.size % 17)  # per-binary depth, varied but deterministic
    before = depth * 4 * xs * (1 - xs) * (1 + 0.3 * (xs - 0.5))
    return pd.DataFrame(
        {"A": a, "B": b, "x_B": xs, "hmix_kJ_per_mol": before + 2.0, "hmix_before_aimd_kJ_per_mol": before}
    )


# ---------------------------------------------------------------------------------------------- helpers


def test_extremum_per_binary_takes_the_largest_magnitude_and_the_first_on_ties() -> None:
    frame = pd.DataFrame(
        {
            "A": ["Al", "Al", "Al", "Ag", "Ag"],
            "B": ["Ni", "Ni", "Ni", "Cu", "Cu"],
            "x_B": [0.2, 0.5, 0.8, 0.3, 0.7],
            "h": [-5.0, -9.0, -9.0, 3.0, -2.0],
        }
    )
    out = extremum_per_binary(frame, "h")
    assert list(out["A"]) == ["Ag", "Al"]
    assert list(out["x_B"]) == [0.3, 0.5]  # Ag–Cu: |3| > |−2|; Al–Ni: tie at 0.5 and 0.8 → first


def test_element_order_by_group_then_z(elements: pd.DataFrame) -> None:
    order = element_order(elements)
    assert sorted(order) == sorted(ELEMENTS)
    assert order[:5] == ["Li", "Na", "K", "Rb", "Cs"]  # group 1 by Z
    assert order[-4:] == ["P", "As", "Sb", "Bi"]  # group 15 last
    split = element_order(elements, split_transition=True)
    assert split[0] == "Sc" and split.index("Li") == 41  # 41 transition metals first, in Miedema's sense
    assert split.index("Zn") > 41  # Zn is non-transition for Miedema


# ---------------------------------------------------------------------------------------------- figures


def test_uncertainty_map(tmp_path: Path, pairs: list[tuple[str, str]], elements: pd.DataFrame) -> None:
    subset = pairs[::7]
    gp = pd.DataFrame(
        {
            "A": [p[0] for p in subset],
            "B": [p[1] for p in subset],
            "max_variance": np.linspace(0.0, 50.0, len(subset)),
            "cluster": np.arange(len(subset)) % 6,
        }
    )
    png, pdf = tmp_path / "fig1.png", tmp_path / "fig1.pdf"
    data = uncertainty_map(gp, png, pdf, elements=elements)
    check_image(png, pdf, "uncertainty_map")
    assert len(data) == len(subset) and data["max_variance"].max() == 50.0
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporaries


def test_uncertainty_map_rejects_bad_tables(tmp_path: Path) -> None:
    good = pd.DataFrame({"A": ["Al", "Cu"], "B": ["Ni", "Zr"], "max_variance": [1.0, 2.0], "cluster": [0, 1]})
    png, pdf = tmp_path / "f.png", tmp_path / "f.pdf"
    with pytest.raises(InputError, match=r":1: GP map table lacks column\(s\): cluster"):
        uncertainty_map(good.drop(columns="cluster"), png, pdf)
    with pytest.raises(InputError, match=r":3: column A: 'Xx' is not one of the 70 elements"):
        uncertainty_map(good.assign(A=["Al", "Xx"]), png, pdf)
    with pytest.raises(InputError, match=r":2: column max_variance: .* never < 0"):
        uncertainty_map(good.assign(max_variance=[-1.0, 2.0]), png, pdf)
    with pytest.raises(InputError, match=r":3: binary Al-Ni appears more than once"):
        uncertainty_map(good.assign(A=["Al", "Ni"], B=["Ni", "Al"]), png, pdf)
    with pytest.raises(InputError, match=r":2: A and B are both Al"):
        uncertainty_map(good.assign(B=["Al", "Zr"]), png, pdf)
    with pytest.raises(InputError, match=r":2: column cluster: '0.5' is not an integer"):
        uncertainty_map(good.assign(cluster=[0.5, 1]), png, pdf)
    many = pd.DataFrame({"A": ["Al"] * 9, "B": ["Ni", "Cu", "Zr", "Ti", "Fe", "Co", "Cr", "Mn", "V"],
                         "max_variance": 1.0, "cluster": range(9)})  # fmt: skip
    with pytest.raises(InputError, match="9 clusters: at most 8"):
        uncertainty_map(many, png, pdf)
    bad_csv = tmp_path / "gp.csv"
    bad_csv.write_text("A,B,max_variance,cluster\nAl,Ni,1.0,0\nCu,Zr,,1\n")
    with pytest.raises(InputError, match=rf"{bad_csv}:3: column max_variance: .* is not a finite number"):
        uncertainty_map(bad_csv, png, pdf)
    assert not png.exists() and not pdf.exists()


def test_cluster_map(tmp_path: Path, pairs: list[tuple[str, str]], elements: pd.DataFrame) -> None:
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    groups = miedema_groups(a, b)
    matched = groups.copy()
    matched[::10] = "TM-nonTM"  # every tenth binary assigned to TM–nonTM, right or wrong
    frame = pd.DataFrame({"A": a, "B": b, "cluster": 0, "miedema_group": groups, "matched_group": matched})
    png, pdf = tmp_path / "s5.png", tmp_path / "s5.pdf"
    data = cluster_map(frame, png, pdf, elements=elements)
    check_image(png, pdf, "cluster_map")
    assert data["agrees"].mean() == pytest.approx(np.mean(matched == groups))
    with pytest.raises(InputError, match=r":2: column matched_group: 'TM' is not one of"):
        cluster_map(frame.assign(matched_group=["TM", *matched[1:]]), png, pdf)
    # A cluster the matching left without a group (K > 3) is drawn grey and counts as a disagreement.
    csv = tmp_path / "clusters.csv"
    frame.assign(matched_group=["", *matched[1:]]).to_csv(csv, index=False)
    unmatched = cluster_map(csv, png, pdf, elements=elements)
    first = unmatched[(unmatched["A"] == a[0]) & (unmatched["B"] == b[0])]
    assert first["matched_group"].item() == "" and first["agrees"].item() == 0


def test_parity_plot(tmp_path: Path, oof: pd.DataFrame) -> None:
    png, pdf = tmp_path / "fig2.png", tmp_path / "fig2.pdf"
    data = parity_plot(oof, png, pdf)
    check_image(png, pdf, "parity")
    # Extremum per binary among non-AIMD rows (the x_B = 0.5 row of each parabola), plus each AIMD point.
    assert len(data) == 5 and (data["kind"] == "AIMD").sum() == 2
    calphad = data[data["kind"] != "AIMD"]
    assert set(calphad["x_B"]) == {0.5} and set(calphad["hmix_kJ_per_mol"]) == {-40.0, -20.0, 8.0}
    residual = data["predicted_kJ_per_mol"] - data["hmix_kJ_per_mol"]
    assert data["band_low_kJ_per_mol"].iloc[0] == pytest.approx(np.quantile(residual, 0.025))
    assert data["band_high_kJ_per_mol"].iloc[0] == pytest.approx(np.quantile(residual, 0.975))
    before = parity_plot(oof, png, pdf, predicted="predicted_before_aimd_kJ_per_mol")
    assert before.loc[before["A"] == "Ir", "predicted_before_aimd_kJ_per_mol"].item() == -45.0
    with pytest.raises(InputError, match="quantiles"):
        parity_plot(oof, png, pdf, quantiles=(0.9, 0.1))
    with pytest.raises(InputError, match=r":1: .* lacks column\(s\): source_type"):
        parity_plot(oof.drop(columns="source_type"), png, pdf)
    csv = tmp_path / "oof.csv"
    oof.assign(A=oof["A"].replace("Ag", "Na")).to_csv(csv, index=False)
    assert "Na" in set(parity_plot(csv, png, pdf)["A"])  # "Na" in a CSV is sodium, not a missing value


def test_aimd_shift_density(tmp_path: Path, predictions: pd.DataFrame) -> None:
    png, pdf = tmp_path / "fig3.png", tmp_path / "fig3.pdf"
    data = aimd_shift_density(predictions, png, pdf)
    check_image(png, pdf, "aimd_shift")
    assert len(data) == 4 * 69 - 6  # binaries with at least one of Ir, Os, Re, W
    assert data["shift_kJ_per_mol"].to_numpy() == pytest.approx(2.0)
    assert set(data["x_B"]) == {0.5}  # the extremum of these curves is at x_B = 0.5
    equimolar = aimd_shift_density(predictions, png, pdf, at="equimolar", refractory=("W",))
    assert len(equimolar) == 69 and set(equimolar["x_B"]) == {0.5}
    with pytest.raises(InputError, match="choose 'extremum' or 'equimolar'"):
        aimd_shift_density(predictions, png, pdf, at="middle")
    with pytest.raises(InputError, match="need known symbols"):
        aimd_shift_density(predictions, png, pdf, refractory=("Xx",))
    few = predictions[(predictions["A"] == "Al") & (predictions["B"] == "Ni")]
    with pytest.raises(InputError, match="no binary containing"):
        aimd_shift_density(few, png, pdf)


def test_refractory_trends(
    tmp_path: Path, predictions: pd.DataFrame, oof: pd.DataFrame, elements: pd.DataFrame
) -> None:
    png, pdf = tmp_path / "fig4.png", tmp_path / "fig4.pdf"
    data = refractory_trends(predictions, oof, png, pdf, elements=elements)
    check_image(png, pdf, "refractory_trends")
    partners = list(data.loc[data["refractory"] == "W", "partner"])
    assert partners[:3] == ["Na", "Mg", "Al"] and partners[-1] == "Sb" and len(partners) == 35
    z = data.loc[data["refractory"] == "W", "Z_partner"].to_numpy()
    assert np.all(np.diff(z) > 0)
    assert data.loc[data["aimd"] == 1, ["refractory", "partner"]].values.tolist() == [["Ir", "Ti"]]
    assert data.set_index("partner").loc["Zn", "partner_transition_metal"].iloc[0] == 0
    with pytest.raises(InputError, match="no prediction for"):
        refractory_trends(predictions[predictions["A"] != "Al"], oof, png, pdf, elements=elements)


def test_cp_s_ratio_histograms(tmp_path: Path, pairs: list[tuple[str, str]]) -> None:
    rng = np.random.default_rng(0)
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    frame = pd.DataFrame({"A": a, "B": b, "miedema_group": miedema_groups(a, b),
                          "Cpliq_over_P": rng.normal(3.0, 0.3, a.size),
                          "Sliq_over_Q": rng.normal(0.85, 0.1, a.size)})  # fmt: skip
    png, pdf = tmp_path / "fig5.png", tmp_path / "fig5.pdf"
    data = cp_s_ratio_histograms(frame, png, pdf)
    check_image(png, pdf, "cp_s_ratios")
    assert len(data) == 6 and data["n"].sum() == 2 * a.size
    tm = data[(data["quantity"] == "Cpliq_over_P") & (data["miedema_group"] == "TM-TM")]
    assert tm["mean"].item() == pytest.approx(frame.loc[frame["miedema_group"] == "TM-TM", "Cpliq_over_P"].mean())
    with pytest.raises(InputError, match=r":2: column miedema_group: 'metal' is not a Miedema group"):
        cp_s_ratio_histograms(frame.assign(miedema_group=["metal", *frame["miedema_group"][1:]]), png, pdf)


def test_rfe_curve_plot(tmp_path: Path) -> None:
    n = np.arange(44, 0, -1)
    curve = pd.DataFrame({"n_features": n, "rmse_mean": 5 + 0.002 * (n - 12) ** 2, "rmse_std": 0.3, "n_repeats": 60})
    png, pdf = tmp_path / "s1.png", tmp_path / "s1.pdf"
    data = rfe_curve_plot(curve, png, pdf, marks=(10, 30))
    check_image(png, pdf, "rfe")
    assert list(data["n_features"]) == list(range(1, 45))  # sorted ascending for the plot
    with pytest.raises(InputError, match=r":3: column rmse_mean: 'x' is not a finite number"):
        rfe_curve_plot(curve.astype({"rmse_mean": object}).assign(rmse_mean=[5.0, "x", *[5.0] * 42]), png, pdf)


AL_SPLITS = 12
AL_BUDGETS = {"third": 7, "two_thirds": 14, "end": 20}


@pytest.fixture(scope="module")
def al_curves() -> pd.DataFrame:
    """curves.csv of 11 approaches over 20 iterations of 4 units; the whole-curve approaches take 6 points per
    binary, the point approaches revisit binaries (3 binaries per 4 points)."""
    rows = []
    for k, approach in enumerate(APPROACHES):
        per_binary = 6.0 if UNITS[approach] == "whole curve" else 1.0
        binaries = 3.0 if UNITS[approach] == "point" else 4.0
        for it in range(21):
            rows.append((approach, it, 4 * per_binary * it, binaries * it, 8.0 - 0.04 * (k + 1) * it ** 0.5,
                         0.5 if it else None, AL_SPLITS))  # fmt: skip
    return pd.DataFrame(rows, columns=list(CURVE_COLUMNS))


@pytest.fixture(scope="module")
def al_references() -> pd.DataFrame:
    """references.csv: per split Miedema ≈ 8.1, whole pool ≈ 7.1, its equimolar points ≈ 7.3 kJ/mol."""
    base = {"miedema": 8.1, "whole_pool": 7.1, "whole_pool_equimolar": 7.3}
    rows = [
        (split, name, value + 0.01 * (split - 5.5), 40 if name == "whole_pool_equimolar" else 200, 40)
        for split in range(AL_SPLITS)
        for name, value in base.items()
    ]
    return pd.DataFrame(rows, columns=list(REFERENCE_COLUMNS))


@pytest.fixture(scope="module")
def al_endpoints() -> pd.DataFrame:
    """endpoints.csv rows (approach ≠ random × budget) with the columns the figure draws."""
    rows = [
        {"approach": approach, "approach_number": k + 1, "budget_label": label, "iteration": it,
         "n_iterations": 20, "n_splits": AL_SPLITS, "mean_difference_kJ_per_mol": -0.02 * k,
         "ci95_corrected_low": -0.02 * k - 0.3, "ci95_corrected_high": -0.02 * k + 0.3,
         "ci95_bootstrap_low": -0.02 * k - 0.08, "ci95_bootstrap_high": -0.02 * k + 0.08}
        for k, approach in enumerate(APPROACHES) if approach != "random"
        for label, it in AL_BUDGETS.items()
    ]  # fmt: skip
    return pd.DataFrame(rows).reindex(columns=list(ENDPOINT_COLUMNS))


def test_al_labels_number_every_approach_and_colours_differ_within_a_panel() -> None:
    assert list(al_figures.APPROACH_LABELS) == list(APPROACHES)
    for number, approach in enumerate(APPROACHES, start=1):
        assert al_figures.APPROACH_LABELS[approach].startswith(f"{number} · ")
        assert al_figures.APPROACH_LABELS[approach].endswith(UNITS[approach])
    strategies = [a for a in APPROACHES if a not in PAPER_APPROACHES and a not in LABEL_USING]
    for panel in ([*PAPER_APPROACHES, *LABEL_USING], ["random", *strategies, *LABEL_USING]):
        looks = {(al_figures.APPROACH_COLOURS[a], al_figures.APPROACH_MARKERS.get(a)) for a in panel}
        colours = {al_figures.APPROACH_COLOURS[a] for a in panel}
        assert len(looks) == len(colours) == len(panel)  # within a panel the colour alone tells them apart


def test_al_curves_plot_draws_three_panels_with_the_reference_lines(
    tmp_path: Path, al_curves: pd.DataFrame, al_references: pd.DataFrame, al_endpoints: pd.DataFrame
) -> None:
    png, pdf = tmp_path / "s2.png", tmp_path / "s2.pdf"
    data = al_curves_plot(al_curves, png, pdf, al_endpoints, al_references, design="random")
    check_image(png, pdf, "al_curves")
    assert list(data.columns) == list(al_figures.AL_PLOTTED_COLUMNS)
    curves = data[data["kind"] == "approach"]
    strategies = [a for a in APPROACHES if a not in PAPER_APPROACHES and a not in LABEL_USING]
    assert set(curves.loc[curves["panel"] == "a", "series"]) == {*PAPER_APPROACHES, *LABEL_USING}
    assert set(curves.loc[curves["panel"] == "b", "series"]) == {"random", *strategies, *LABEL_USING}
    # (a) is drawn against the iteration, (b) against the binaries acquired.
    assert (curves.loc[curves["panel"] == "a", "x"] == curves.loc[curves["panel"] == "a", "iteration"]).all()
    assert (curves.loc[curves["panel"] == "b", "x"] == curves.loc[curves["panel"] == "b", "n_binaries"]).all()
    # The whole-curve approaches say what a binary costs in points.
    assert (
        curves.loc[(curves["panel"] == "b") & (curves["series"] == "gp_curves"), "label"]
        .iloc[0]
        .endswith("(≈ 6.0 points per binary)")
    )
    assert curves["rmse_std"].isna().sum() == 0  # an empty spread is drawn as none
    # The band is the 95 % interval of the mean: t(11) · 0.5 / √12 where the spread is 0.5.
    assert curves["rmse_ci95_half"].max() == pytest.approx(2.200985 * 0.5 / np.sqrt(12), rel=1e-5)
    lines = data[data["kind"] == "reference"]
    assert sorted(lines["panel"]) == ["a"] * 3 + ["b"] * 3
    means = al_references.groupby("reference")["rmse"].mean()
    for row in lines.itertuples():
        assert row.rmse_mean == pytest.approx(means[row.series]) and row.n_splits == AL_SPLITS
    assert lines.set_index(["panel", "series"]).loc[("a", "miedema"), "rmse_mean"] == pytest.approx(8.1)
    differences = data[data["panel"] == "c"]
    assert len(differences) == 10 * 3 and set(differences["kind"]) == {"paired_difference"}
    assert (differences["x"] == differences["mean_difference_kJ_per_mol"]).all()


def test_al_curves_plot_draws_the_approaches_a_run_has(
    tmp_path: Path, al_curves: pd.DataFrame, al_references: pd.DataFrame, al_endpoints: pd.DataFrame
) -> None:
    png, pdf = tmp_path / "s.png", tmp_path / "s.pdf"
    paper = al_curves[al_curves["approach"].isin(PAPER_APPROACHES)]
    data = al_curves_plot(paper, png, pdf, al_endpoints[al_endpoints["approach"].isin(PAPER_APPROACHES)],
                          al_references, design="cluster")  # fmt: skip
    check_image(png, pdf, "al_curves")
    assert set(data["panel"]) == {"a", "c"}  # no strategy of hmixal's: no panel (b)
    assert set(data.loc[data["kind"] == "approach", "series"]) == set(PAPER_APPROACHES)
    some = al_curves[al_curves["approach"].isin(["random", "gp_equimolar", "random_curves"])]
    data = al_curves_plot(some, png, pdf)  # neither endpoints nor references: panels (a) and (b) alone
    check_image(png, pdf, "al_curves")
    assert set(data["panel"]) == {"a", "b"} and set(data["kind"]) == {"approach"}
    assert set(data.loc[data["panel"] == "b", "series"]) == {"random", "gp_equimolar", "random_curves"}


def test_al_curves_plot_names_the_file_and_line_of_a_bad_row(
    tmp_path: Path, al_curves: pd.DataFrame, al_references: pd.DataFrame, al_endpoints: pd.DataFrame
) -> None:
    png, pdf = tmp_path / "s.png", tmp_path / "s.pdf"
    references = tmp_path / "references.csv"
    al_references.assign(reference=["miedema", "whole_pool", "whole_pool_equimolar", "ceiling"] * 9).to_csv(
        references, index=False
    )
    with pytest.raises(InputError, match=r"references\.csv:5: column reference: 'ceiling' is not one of miedema"):
        al_curves_plot(al_curves, png, pdf, al_endpoints, references)
    al_references.iloc[[0, 1, 0]].to_csv(references, index=False)
    with pytest.raises(InputError, match=r"references\.csv:4: split 0, reference miedema appears more than once"):
        al_curves_plot(al_curves, png, pdf, al_endpoints, references)
    curves = tmp_path / "curves.csv"
    al_curves.assign(approach=["greedy", *al_curves["approach"].iloc[1:]]).to_csv(curves, index=False)
    with pytest.raises(InputError, match=r"curves\.csv:2: column approach: 'greedy' is not one of random, "):
        al_curves_plot(curves, png, pdf)
    with pytest.raises(InputError, match=r">:4: approach random, iteration 0 appears more than once"):
        al_curves_plot(al_curves.iloc[[0, 1, 0]], png, pdf)
    with pytest.raises(InputError, match=r"column budget_label: 'half' is not one of third, two_thirds, end"):
        al_curves_plot(al_curves, png, pdf, al_endpoints.assign(budget_label="half"))
    # random is what every endpoint row is compared with: a row for it is an error, not a silent drop.
    with pytest.raises(InputError, match=r":2: column approach: 'random' is not one of rtal_points"):
        al_curves_plot(al_curves, png, pdf, al_endpoints.assign(approach=["random", *al_endpoints["approach"][1:]]))
    with pytest.raises(InputError, match=r"lacks column\(s\): n_binaries"):
        al_curves_plot(al_curves.drop(columns="n_binaries"), png, pdf)
    with pytest.raises(InputError, match=r"unknown test design 'grid': choose one of random, cluster"):
        al_curves_plot(al_curves, png, pdf, design="grid")


def test_render_passes_the_al_references_and_design(
    tmp_path: Path, al_curves: pd.DataFrame, al_references: pd.DataFrame, al_endpoints: pd.DataFrame
) -> None:
    inputs = {}
    for name, table in (("curves", al_curves), ("endpoints", al_endpoints), ("references", al_references)):
        inputs[name] = str(tmp_path / f"{name}.csv")
        table.to_csv(inputs[name], index=False)
    png, pdf = tmp_path / "s7.png", tmp_path / "s7.pdf"
    data = render("al_curves", inputs, png, pdf, {"design": "cluster"})
    check_image(png, pdf, "al_curves")
    assert set(data["panel"]) == {"a", "b", "c"} and (data["kind"] == "reference").sum() == 6


def test_kmeans_scan_plot(tmp_path: Path) -> None:
    k = np.arange(2, 11)
    scan = pd.DataFrame({"k": k, "inertia": 1000.0 / k, "silhouette": 0.3 - 0.01 * (k - 6) ** 2})
    png, pdf = tmp_path / "s3.png", tmp_path / "s3.pdf"
    data = kmeans_scan_plot(scan, png, pdf, chosen_k=6, features="test features")
    check_image(png, pdf, "kmeans_scan")
    assert list(data["k"]) == list(k)
    with pytest.raises(InputError, match="k appears twice"):
        kmeans_scan_plot(pd.concat([scan, scan.iloc[:1]]), png, pdf)


def test_same_input_gives_byte_identical_files(tmp_path: Path) -> None:
    k = np.arange(2, 8)
    scan = pd.DataFrame({"k": k, "inertia": 100.0 / k, "silhouette": 0.1 * k})
    outputs = []
    for run in ("one", "two"):
        png, pdf = tmp_path / f"{run}.png", tmp_path / f"{run}.pdf"
        kmeans_scan_plot(scan, png, pdf)
        outputs.append((png.read_bytes(), pdf.read_bytes()))
    assert outputs[0] == outputs[1]


# ---------------------------------------------------------------------------------------------- metrics, dispatch


def test_metrics_html(tmp_path: Path) -> None:
    block = {"model": {"rmse": 4.9, "mae": 3.1, "n": 100}, "miedema": {"rmse": 7.3, "mae": 5.0, "n": 100}}
    metrics = {
        "overall": block,
        "per_miedema_group": {"TM-TM": block},
        "per_source_type": {"calphad": block},
        "aimd": {"W": {"before": {"rmse": 13.1, "mae": 9.0, "n": 6}, "after": {"rmse": 7.0, "mae": 5.0, "n": 6}}},
        "settings": {"seed": 1},
    }
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(metrics))
    out = tmp_path / "metrics.html"
    table = metrics_html(path, out)
    text = out.read_text()
    assert "<table" in text and "13.10" in text and "7.00" in text and "&quot;seed&quot;: 1" in text
    assert len(table) == 2 + 2 + 2 + 2
    with pytest.raises(InputError, match="metrics lack section"):
        metrics_html({"overall": block}, out)
    with pytest.raises(InputError, match="without n/rmse/mae"):
        metrics_html({**metrics, "overall": {"model": {"rmse": 1.0}}}, out)


def test_render_dispatches_and_rejects_unknown_figures(tmp_path: Path) -> None:
    k = np.arange(2, 6)
    scan_path = tmp_path / "scan.csv"
    pd.DataFrame({"k": k, "inertia": 10.0 / k, "silhouette": 0.1 * k}).to_csv(scan_path, index=False)
    png, pdf = tmp_path / "r.png", tmp_path / "r.pdf"
    data = render("kmeans_scan", {"scan": str(scan_path)}, png, pdf, {"chosen_k": 3})
    assert len(data) == 4 and png.exists() and pdf.exists()
    with pytest.raises(InputError, match="unknown figure 'fig9'"):
        render("fig9", {}, png, pdf, {})
    with pytest.raises(InputError, match="needs input"):
        render("parity", {"predictions": "x.csv"}, png, pdf, {})


def run_figure_script(repo_dir: Path, tmp_path: Path, scan_path: Path, chosen_k: int):
    """Run scripts/figures.py on a K-means scan with a stand-in for Snakemake's object (named lists with
    items()); return the finished process and the output paths."""
    out = {"png": str(tmp_path / "s.png"), "pdf": str(tmp_path / "s.pdf"), "data": str(tmp_path / "s.csv")}
    runner = textwrap.dedent(
        f"""
        import runpy, types
        class Named(types.SimpleNamespace):
            def items(self):
                return vars(self).items()
        snakemake = types.SimpleNamespace(
            input=Named(scan={str(scan_path)!r}), output=Named(**{out!r}),
            params=Named(figure="kmeans_scan", chosen_k={chosen_k}, features="two features"),
            log=[{str(tmp_path / "s.log")!r}], threads=1, wildcards=Named(),
        )
        runpy.run_path({str(repo_dir / "scripts" / "figures.py")!r}, init_globals={{"snakemake": snakemake}})
        """
    )
    return subprocess.run([sys.executable, "-c", runner], capture_output=True, text=True, timeout=120), out


def test_rule_script_writes_png_pdf_and_numbers(tmp_path: Path, repo_dir: Path) -> None:
    """scripts/figures.py with a stand-in for Snakemake's object (named lists with items())."""
    k = np.arange(2, 6)
    scan_path = tmp_path / "scan.csv"
    pd.DataFrame({"k": k, "inertia": 10.0 / k, "silhouette": 0.1 * k}).to_csv(scan_path, index=False)
    done, out = run_figure_script(repo_dir, tmp_path, scan_path, chosen_k=3)
    assert done.returncode == 0, done.stderr + (tmp_path / "s.log").read_text()
    check_image(Path(out["png"]), Path(out["pdf"]), "kmeans_scan")
    assert list(pd.read_csv(out["data"])["k"]) == list(k)
    assert "kmeans_scan: 4 rows plotted" in (tmp_path / "s.log").read_text()


# ---------------------------------------------------------------------------------------------- manifests


def test_tables_given_as_paths_are_checked_against_their_manifest(tmp_path: Path, oof: pd.DataFrame) -> None:
    from hmixal.io import write_csv

    png, pdf = tmp_path / "fig2.png", tmp_path / "fig2.pdf"
    table = oof.assign(A=oof["A"].replace("Ag", "Na"))
    path = tmp_path / "results" / "model" / "oof_predictions.csv"
    write_csv(table, path)
    # An intact table draws the same numbers as the DataFrame itself ("Na" stays sodium).
    pd.testing.assert_frame_equal(parity_plot(path, png, pdf), parity_plot(table, png, pdf))
    png.unlink()
    pdf.unlink()
    # Cut after 12 of its 17 rows: a valid table of fewer points, which the figure would draw without a word.
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:13]))
    with pytest.raises(InputError, match=rf"{path}: has 12 data rows but its writer recorded 17 .*cut or edited"):
        parity_plot(path, png, pdf)
    path.write_text("".join(lines).replace("-40", "-41", 1))  # one value edited
    with pytest.raises(InputError, match=rf"{path}: has the 17 data rows its writer recorded but different content"):
        parity_plot(path, png, pdf)
    assert not png.exists() and not pdf.exists()
    # Inside results/ a table without a manifest is not a rule's output; elsewhere it is read unchecked.
    path.with_name(path.name + ".manifest.json").unlink()
    with pytest.raises(InputError, match=rf"{path}: has no manifest"):
        parity_plot(path, png, pdf)
    with pytest.raises(InputError, match=r"absent.csv: cannot read the out-of-fold predictions table"):
        parity_plot(tmp_path / "absent.csv", png, pdf)


def test_rule_script_refuses_a_cut_table(tmp_path: Path, repo_dir: Path) -> None:
    from hmixal.io import write_csv

    k = np.arange(2, 11)
    scan_path = tmp_path / "results" / "uncertainty" / "kmeans_scan.csv"
    write_csv(pd.DataFrame({"k": k, "inertia": 1000.0 / k, "silhouette": 0.3 - 0.01 * (k - 6) ** 2}), scan_path)
    scan_path.write_bytes(scan_path.read_bytes()[:-7])  # the last row cut mid-line
    done, out = run_figure_script(repo_dir, tmp_path, scan_path, chosen_k=6)
    assert done.returncode != 0
    assert f"{scan_path}: has 9 data rows, the last one cut mid-line, where its writer recorded 9" in done.stderr
    assert not any(Path(p).exists() for p in out.values())


def test_calibration_plot_draws_every_class_and_checks_its_table(tmp_path: Path) -> None:
    from hmixal.calibration import cross_fitted_coverage, raw_coverage_curve

    rng = np.random.default_rng(0)
    rows = []
    for k in range(60):
        coverage = ("covered", "scarce", "none")[k % 3]
        for x in (0.2, 0.5, 0.8):
            spread = rng.uniform(0.5, 3.0)
            rows.append((f"E{k}", "Zz", x, 0.0, rng.normal(0, 1.5 * np.hypot(spread, 1.0)), spread, coverage, k % 4))
    oof = pd.DataFrame(
        rows,
        columns=["A", "B", "x_B", "hmix_kJ_per_mol", "predicted_kJ_per_mol", "member_spread_kJ_per_mol", "coverage",
                 "fold"],
    )  # fmt: skip
    curve = pd.concat([cross_fitted_coverage(oof), raw_coverage_curve(oof, "member_spread_kJ_per_mol")])
    png, pdf = tmp_path / "c.png", tmp_path / "c.pdf"
    data = calibration_plot(curve, png, pdf)
    check_image(png, pdf, "calibration")
    assert set(data["coverage_class"]) == {"all", "covered", "scarce", "none", "uncalibrated"}
    with pytest.raises(InputError, match="observed"):
        calibration_plot(curve.drop(columns="observed"), png, pdf)
