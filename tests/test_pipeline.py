"""End-to-end runs of the Snakemake pipeline on the quick configuration, in a scratch copy of the repository."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import scratch_copy

pytestmark = pytest.mark.slow
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
TABLES = (
    "results/data/dataset_initial.csv",
    "results/data/dataset_final.csv",
    "results/selection/features_al.txt",
    "results/model/metrics.json",
    "results/model/oof_predictions.csv",
    "results/model/predictions.csv",
    "results/model/redlich_kister.csv",
    "results/model/hmixal_liquid.tdb",
    "results/model/hmixal_liquid_tdb_check.csv",
    "results/model/model_card.json",
    "results/calphad/espei_aimd_index.csv",
    "results/active_learning/random/curves.csv",
    "results/active_learning/random/summary.csv",
    "results/active_learning/random/endpoints.csv",
    "results/active_learning/random/references.csv",
    "results/active_learning/cluster/endpoints.csv",
)


def snakemake(
    workdir: Path, *args: str, configs: tuple[str, ...] = (), timeout: int = 900
) -> subprocess.CompletedProcess:
    """Run snakemake with the default profile and the quick configuration (plus ``configs``)."""
    command = [*SNAKEMAKE, "--profile", "profiles/local", "--cores", "2", *args]
    command += ["--configfile", ".test/config/config.yaml", *configs]
    return subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """One complete quick run of the default target."""
    workdir = scratch_copy(tmp_path_factory.mktemp("pipeline"))
    done = snakemake(workdir)
    assert done.returncode == 0, done.stderr[-4000:]
    return workdir


def test_quick_run_writes_every_table(finished_run):
    for name in TABLES:
        assert (finished_run / name).stat().st_size > 0, name
    metrics = json.loads((finished_run / "results/model/metrics.json").read_text())
    assert metrics["overall"]["model"]["n"] == metrics["overall"]["miedema"]["n"] > 2000
    assert set(metrics["per_miedema_group"]) == {"TM-TM", "TM-nonTM", "nonTM-nonTM"}
    assert metrics["aimd"]["overall"]["after"]["n"] == 29
    predictions = pd.read_csv(finished_run / "results/model/predictions.csv", keep_default_na=False)
    assert len(predictions) == 2415 * 19 and predictions["uncertainty_kJ_per_mol"].gt(0).all()


def test_predict_command_answers_from_the_run(finished_run):
    from hmixal.cli import main

    results = str(finished_run / "results")
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["predict", "Al-Ni", "--x", "0.25", "0.5", "--model", results, "--format", "csv"]) == 0
    binary = pd.read_csv(io.StringIO(out.getvalue()))
    # The command and the pipeline's grid table come from the same saved model and calibration (4 decimals).
    grid = pd.read_csv(finished_run / "results/model/predictions.csv", keep_default_na=False)
    expected = grid[(grid["A"] == "Al") & (grid["B"] == "Ni") & grid["x_B"].round(6).isin([0.25, 0.5])]
    for column in ("hmix_kJ_per_mol", "uncertainty_kJ_per_mol", "lower_95_kJ_per_mol", "upper_95_kJ_per_mol"):
        np.testing.assert_allclose(binary[column], expected[column], atol=1e-4)
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["predict", "AlCoCrFeNi", "Al0.5CoCrFeNi", "--model", results, "--format", "json"]) == 0
    alloys = pd.read_json(io.StringIO(out.getvalue()))
    assert len(alloys) == 2 and np.isfinite(alloys["hmix_kJ_per_mol"]).all()
    assert (alloys["hmix_kJ_per_mol"] < 0).all() and (alloys["uncertainty_kJ_per_mol"] > 0).all()


def test_the_model_card_describes_the_run_and_ties_it_to_its_files(finished_run):
    from hmixal.cards import card_rows, sha256_of

    model = finished_run / "results/model"
    card = json.loads((model / "model_card.json").read_text())
    assert card["artifacts"]["dataset"] == sha256_of(finished_run / "results/data/dataset_final.csv")
    members = sorted((model / "final_after").glob("member_*.txt"))
    assert {p.name: sha256_of(p) for p in members} == card["artifacts"]["members"]
    assert card["artifacts"]["calibration"] == sha256_of(model / "calibration.json")
    assert len(card["artifacts"]["fold_predictions"]) == 2 * card["config"]["model"]["outer_folds"]
    metrics = json.loads((model / "metrics.json").read_text())
    assert card["cross_validation"]["rmse_kJ_per_mol"]["model"] == metrics["overall"]["model"]["rmse"]
    assert card["dataset"]["n_rows"] == metrics["overall"]["model"]["n"] and "shipped_on" not in card
    rows = card_rows(card)
    assert rows["what"].str.strip().tolist()[:2] == ["hmixal version", "shipped on"]
    # The published AIMD values as ESPEI datasets: 29 values, the 11 rows without one listed beside them.
    index = pd.read_csv(finished_run / "results/calphad/espei_aimd_index.csv")
    left_out = pd.read_csv(finished_run / "results/calphad/espei_aimd_left_out.csv")
    assert index["n_points"].sum() == 29 and set(index["reference"]) == {"bizot2026"}
    assert len(left_out) == 11


def test_predictions_carry_calibrated_intervals_and_domain_flags(finished_run):
    grid = pd.read_csv(finished_run / "results/model/predictions.csv", keep_default_na=False, na_values=[""])
    assert (grid["lower_95_kJ_per_mol"] < grid["hmix_kJ_per_mol"]).all()
    assert (grid["hmix_kJ_per_mol"] < grid["upper_95_kJ_per_mol"]).all()
    # Carbon is in no training binary: every carbon binary is flagged, with the no-data class of intervals.
    carbon = grid[(grid["A"] == "C") | (grid["B"] == "C")]
    assert carbon["extrapolation"].all() and (carbon["coverage"] == "none").all()
    # Ir-Ti has one training point (the published AIMD value): the table says so and the interval includes the miss.
    ir_ti = grid[(grid["A"] == "Ir") & (grid["B"] == "Ti") & (grid["x_B"].round(6) == 0.5)].iloc[0]
    assert ir_ti["n_data_points"] == 1
    assert ir_ti["uncertainty_kJ_per_mol"] >= ir_ti["data_rms_residual_kJ_per_mol"]
    metrics = json.loads((finished_run / "results/model/metrics.json").read_text())
    coverage = {
        (r["coverage_class"], r["expected"]): r["observed"] for r in metrics["calibration"]["cross_fitted_coverage"]
    }
    assert abs(coverage[("all", 0.95)] - 0.95) < 0.03 and abs(coverage[("all", 0.68)] - 0.68) < 0.05
    low, high = metrics["headline"]["overall"]["per_binary"]["interval"]
    assert low < metrics["headline"]["overall"]["per_binary"]["ratio"] < high


def test_one_definition_of_before_aimd_and_of_the_element_table(finished_run):
    dataset = pd.read_csv(finished_run / "results/data/dataset_final.csv", keep_default_na=False, na_values=[""])
    for variant, rows in (("before", int((dataset["source_type"] != "aimd").sum())), ("after", len(dataset))):
        meta = json.loads((finished_run / f"results/model/final_{variant}/meta.json").read_text())
        assert meta["info"]["n_train_rows"] == rows, variant
        assert meta["info"]["dataset"] == "results/data/dataset_final.csv"
    # The model keeps the element table it was trained with; the CLI computes features from that copy.
    copy = finished_run / "results/model/final_after/elements.csv"
    assert copy.read_bytes() == (finished_run / "src/hmixal/data/elements.csv").read_bytes()


def test_interrupted_run_resumes_to_identical_tables(finished_run, tmp_path):
    workdir = scratch_copy(tmp_path / "interrupted")
    command = [*SNAKEMAKE, "--profile", "profiles/local", "--cores", "2", "--configfile", ".test/config/config.yaml"]
    process = subprocess.Popen(
        command, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.time() + 300
    while not (workdir / "results/data/dataset_final.csv").exists() and time.time() < deadline:
        time.sleep(0.5)
    time.sleep(3)  # some jobs are now half way
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (workdir / "results/model/predictions.csv").exists()
    # A killed Snakemake leaves its lock behind; --unlock is the documented way to clear it.
    assert snakemake(workdir, "--unlock").returncode == 0
    done = snakemake(workdir)
    assert done.returncode == 0, done.stderr[-4000:]
    for name in TABLES:
        assert (workdir / name).read_bytes() == (finished_run / name).read_bytes(), name


def test_bad_user_table_is_rejected_with_file_and_line(finished_run, tmp_path):
    workdir = scratch_copy(tmp_path / "user")
    table = workdir / "data" / "my_lab.csv"
    table.write_text("A,B,x_B,hmix_kJ_per_mol\nAl,Ni,0.5,-20\nAl,Xx,0.5,-3\nNi,Al,0.5,-20\nCu,Zr,1.4,-10\n")
    done = snakemake(
        workdir, "results/data/dataset_final.csv", "--config", "sources={'user_tables': ['data/my_lab.csv']}"
    )
    assert done.returncode == 0, done.stderr[-4000:]
    rejected = pd.read_csv(workdir / "results/data/rejected.csv")
    assert list(rejected["line"]) == [3, 4, 5]
    assert rejected["file"].str.endswith("my_lab.csv").all()
    reasons = " ".join(rejected["reason"])
    assert "Xx" in reasons and "duplicate" in reasons and "x_B" in reasons
    dataset = pd.read_csv(workdir / "results/data/dataset_final.csv")
    assert ((dataset["source_type"] == "user") & (dataset["A"] == "Al") & (dataset["B"] == "Ni")).sum() == 1


def test_too_many_rejects_stop_the_run_with_a_clear_message(finished_run, tmp_path):
    workdir = scratch_copy(tmp_path / "limit")
    table = workdir / "data" / "bad.csv"
    table.write_text("A,B,x_B,hmix_kJ_per_mol\n" + "".join(f"Al,Ni,{x / 100},oops\n" for x in range(1, 60)))
    done = snakemake(
        workdir, "results/data/dataset_initial.csv", "--config", "sources={'user_tables': ['data/bad.csv']}"
    )
    assert done.returncode != 0
    log = (workdir / "results/logs/dataset_initial.log").read_text()
    assert "59" in log and "oops" in log
    # One expected error, not a traceback: its first line reaches the console.
    assert "ERROR dataset_initial: 59 input rows rejected, more than the limit" in done.stderr + done.stdout
    assert "Traceback" not in log
    assert not (workdir / "results/data/dataset_initial.csv").exists()


def test_emt_engine_closes_the_loop(finished_run, tmp_path):
    workdir = scratch_copy(tmp_path / "emt")
    done = snakemake(workdir, "results/model/metrics.json", configs=("config/emt_demo.yaml",))
    assert done.returncode == 0, done.stderr[-4000:]
    results = pd.read_csv(workdir / "results/aimd/aimd_results.csv", keep_default_na=False)
    assert list(results["A"] + "-" + results["B"]) == ["Ag-Cu"] and results["status"].iloc[0] == "value"
    assert 0 < float(results["uncertainty_kJ_per_mol"].iloc[0]) < 2
    assert "not DFT" in results["reference"].iloc[0]
    final = pd.read_csv(workdir / "results/data/dataset_final.csv", keep_default_na=False)
    # EMT is not DFT: a potential_md row, in the training data only because emt_demo.yaml names the engine
    assert ((final["source_type"] == "potential_md") & (final["A"] == "Ag") & (final["B"] == "Cu")).sum() == 1


FIGURE_FILES = {
    "fig1_uncertainty_map": "uncertainty_map",
    "fig2_parity": "parity",
    "fig3_aimd_shift": "aimd_shift",
    "fig4_refractory_trends": "refractory_trends",
    "fig5_cp_s_ratios": "cp_s_ratios",
    "figS1_rfe": "rfe",
    "figS2_al_curves": "al_curves",
    "figS7_al_extrapolation": "al_curves",
    "figS3_kmeans_al": "kmeans_scan",
    "figS4_kmeans_cps": "kmeans_scan",
    "figS5_cluster_map": "cluster_map",
}


def test_figure_rules_write_valid_images_of_the_expected_size(finished_run):
    from PIL import Image

    from hmixal.figures.output import FIGURE_SIZES, PNG_DPI

    for name, kind in FIGURE_FILES.items():
        png = finished_run / "results" / "figures" / f"{name}.png"
        with Image.open(png) as image:
            image.verify()
        with Image.open(png) as image:
            expected = tuple(round(v * PNG_DPI) for v in FIGURE_SIZES[kind])
            assert abs(image.size[0] - expected[0]) <= 2 and abs(image.size[1] - expected[1]) <= 2, name
        pdf = png.with_suffix(".pdf")
        assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 1000, name
    assert (finished_run / "results" / "figures" / "metrics.html").stat().st_size > 0


def test_report_renders(finished_run, tmp_path):
    done = snakemake(finished_run, "--report", str(tmp_path / "report.html"))
    assert done.returncode == 0, done.stderr[-4000:]
    assert (tmp_path / "report.html").stat().st_size > 100_000
