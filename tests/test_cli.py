"""Tests of the `hmixal` command line: through ``hmixal.cli.main`` and, for the entry point, ``python -m hmixal``."""

from __future__ import annotations

import io
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hmixal.cli import build_parser, main
from hmixal.miedema_model import hmix
from hmixal.predictor import PREDICTION_COLUMNS, SUMMARY_COLUMNS, Predictor
from trained_results import build_results


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for command in build_parser()._subparsers._group_actions[0].choices:
        assert command in text


def test_miedema_csv():
    code, out, _ = run("miedema", "Al-Ni", "Zr-Cu", "--x", "0.5", "--format", "csv")
    assert code == 0
    frame = pd.read_csv(io.StringIO(out))
    assert list(frame.columns) == ["A", "B", "x_B", "hmix_kJ_per_mol"]
    # Systems come back as written (Zr-Cu, not Cu-Zr); at x_B = 0.5 the order does not change the value.
    assert list(frame["A"] + "-" + frame["B"]) == ["Al-Ni", "Zr-Cu"]
    assert frame["hmix_kJ_per_mol"].tolist() == pytest.approx([-22.68, -22.70], abs=0.01)


def test_x_is_the_fraction_of_b_as_written():
    code, out, err = run("miedema", "Ni-Al", "Al-Ni", "--x", "0.25", "--format", "csv")
    assert code == 0, err
    frame = pd.read_csv(io.StringIO(out))
    assert list(frame["A"] + "-" + frame["B"]) == ["Ni-Al", "Al-Ni"] and frame["x_B"].tolist() == [0.25, 0.25]
    # Ni-Al at x_B = 0.25 is 25 % Al, i.e. the library's Al-Ni at x_Ni = 0.75 — as a user table row Ni,Al,0.25 reads.
    ni_al, al_ni = frame["hmix_kJ_per_mol"]
    assert ni_al == pytest.approx(hmix(np.array(["Al"]), np.array(["Ni"]), np.array([0.75]))[0], abs=1e-4)
    assert al_ni == pytest.approx(hmix(np.array(["Al"]), np.array(["Ni"]), np.array([0.25]))[0], abs=1e-4)
    assert ni_al != pytest.approx(al_ni, abs=0.5)
    assert "fraction" in build_parser()._subparsers._group_actions[0].choices["miedema"].format_help()


def test_element_symbols_are_case_insensitive_and_printed_canonically():
    answers = [run("miedema", system, "--x", "0.3", "--format", "csv") for system in ("Al-Ni", "al-ni", "AL-NI")]
    assert {code for code, _, _ in answers} == {0} and len({out for _, out, _ in answers}) == 1
    assert answers[0][1].splitlines()[1].startswith("Al,Ni,0.3")
    code, out, err = run("elements", "w", "IR", "w", "--format", "csv")
    assert code == 0, err
    assert pd.read_csv(io.StringIO(out))["symbol"].tolist() == ["W", "Ir"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("miedema", "Al-Xx"), "unknown element 'Xx'"),
        (("miedema", "Al-Ni", "--x", "1.2"), "strictly between 0 and 1"),
        (("miedema", "Al-Ni", "--x", "nan"), "strictly between 0 and 1"),
        (("miedema", "Al-Ni", "--x", "abc"), "invalid float value: 'abc'"),
        (("miedema", "Al-Ni-Co"), "write it as A-B"),
        (("miedema", "Al-Al"), "same element twice"),
        (("elements", "W", "Xx"), "unknown element(s): Xx"),
        (("predict", "Al-Xx"), "unknown element 'Xx'"),
        (("predict", "Al-Ni", "--x", "0"), "strictly between 0 and 1"),
        (("predict", "AlCoXx"), "unknown element 'Xx'"),
        (("predict", "cuzr"), "capitalise the symbols, e.g. CuZr"),
        (("predict", "alcoxx"), "cannot read 'alcoxx'"),
        (("predict", "AlCoCrFeNi", "--x", "0.3"), "x applies to binaries A-B"),
        (("predict", "AlCoCrFeNi", "--method", "kohler", "--asymmetric", "Al"), "only used by method 'toop'"),
        (("predict", "AlCoCrFeNi", "--method", "toop", "--asymmetric", "Ti"), "not in the alloy"),
        (("predict", "AlCoCrFeNi", "--method", "redlich"), "invalid choice"),
        (("plan", "--top", "many"), "invalid int value"),
        (("frobnicate",), "invalid choice"),
    ],
)
def test_expected_errors_are_one_line_and_exit_code_2(argv, message, tmp_path):
    if argv[0] == "predict":
        argv = (*argv, "--model", str(tmp_path))  # arguments are checked before the (missing) model is needed
    if argv[0] == "plan":
        argv = (*argv, "--results", str(tmp_path))
    code, out, err = run(*argv)
    assert code == 2 and out == "", err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> str:
    """A small trained results folder (tests/trained_results.py)."""
    return str(build_results(tmp_path_factory.mktemp("results")))


def test_predict_maps_the_written_order_to_the_model_and_back(results):
    code, out, err = run("predict", "ni-al", "Cu-Zr", "--x", "0.25", "0.6", "--format", "csv", "--model", results)
    assert code == 0, err
    frame = pd.read_csv(io.StringIO(out))
    assert list(frame.columns) == list(SUMMARY_COLUMNS)
    assert list(frame["A"] + "-" + frame["B"]) == ["Ni-Al", "Ni-Al", "Cu-Zr", "Cu-Zr"]
    assert frame["x_B"].tolist() == [0.25, 0.6, 0.25, 0.6]
    # x_Al = 0.25 written as Ni-Al is the model's Al-Ni at x_Ni = 0.75.
    predictor = Predictor.load(Path(results) / "model/final_after", Path(results) / "model/calibration.json")
    internal = predictor.predict(np.array(["Al", "Al"]), np.array(["Ni", "Ni"]), np.array([0.75, 0.4]))
    np.testing.assert_allclose(frame["hmix_kJ_per_mol"][:2], internal["hmix_kJ_per_mol"], atol=1e-4)
    np.testing.assert_allclose(frame["uncertainty_kJ_per_mol"][:2], internal["uncertainty_kJ_per_mol"], atol=1e-4)
    # Both binaries have training data: one note each on stderr, stdout stays a clean table.
    assert "Ni-Al: 4 training data points (calphad); list them with --data" in err
    assert "Cu-Zr: 4 training data points" in err


def test_predict_warns_for_an_element_without_data_and_shows_the_data_beside(results):
    code, out, err = run("predict", "C-Li", "Ti-Ir", "--format", "json", "--details", "--model", results)
    assert code == 0, err
    frame = pd.read_json(io.StringIO(out))
    assert list(frame.columns) == list(PREDICTION_COLUMNS)
    carbon, iridium = frame.iloc[0], frame.iloc[1]
    assert carbon["extrapolation"] and carbon["coverage"] == "none" and carbon["n_train_binaries_A"] == 0
    assert "C-Li: extrapolation, no training binary contains C" in err
    # Ti-Ir's only point (−35 kJ/mol off the family): shown beside the prediction, inside the stated interval.
    assert iridium["n_data_points"] == 1 and iridium["contradicts_data"]
    assert "Ti-Ir: training data x_Ir = 0.5:" in err and "(aimd, 2000 K, test)" in err
    assert "Ti-Ir: the model departs from its own training data" in err
    code, out, _ = run("predict", "Ti-Ir", "--data", "--format", "csv", "--model", results)
    data = pd.read_csv(io.StringIO(out))
    assert code == 0 and list(data["A"]) == ["Ti"] and list(data["source_type"]) == ["aimd"]
    value = data["hmix_kJ_per_mol"].iloc[0]
    assert iridium["lower_95_kJ_per_mol"] <= value <= iridium["upper_95_kJ_per_mol"]


def test_predict_reads_a_formula_written_in_one_case(results):
    code, out, err = run("predict", "alcocrfeni", "AL0.5COCRFENI", "AlCoCrFeNi", "--format", "csv", "--model", results)
    assert code == 0, err
    frame = pd.read_csv(io.StringIO(out), keep_default_na=False)
    equimolar, half_al = "Al0.2Co0.2Cr0.2Fe0.2Ni0.2", "Al0.1111Co0.2222Cr0.2222Fe0.2222Ni0.2222"
    assert list(frame["composition"]) == [equimolar, half_al, equimolar]
    assert (frame["lower_95_kJ_per_mol"] < frame["hmix_kJ_per_mol"]).all()
    assert (frame["extrapolated_binaries"] == "").all() and err == ""


def test_python_dash_m_hmixal_is_the_same_command(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "hmixal", "miedema", "Ni-Al", "--x", "0.25", "--format", "csv"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["A,B,x_B,hmix_kJ_per_mol", "Ni,Al,0.2500,-17.7151"]
    failed = subprocess.run(
        [sys.executable, "-m", "hmixal", "predict", "Al-Ni", "--model", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert failed.returncode == 2 and failed.stdout == ""
    assert failed.stderr.startswith("hmixal predict: no trained model") and len(failed.stderr.splitlines()) == 1
    usage = subprocess.run([sys.executable, "-m", "hmixal", "miedema"], capture_output=True, text=True, timeout=120)
    assert usage.returncode == 2 and len(usage.stderr.splitlines()) == 1 and "SYSTEM" in usage.stderr
    assert (
        "usage: hmixal"
        in subprocess.run(
            [sys.executable, "-m", "hmixal", "--help"], capture_output=True, text=True, timeout=120
        ).stdout
    )


def test_aimd_import_writes_the_run_and_refuses_truncated(tmp_path):
    from vasp_outputs import write_vasp_dir

    run_dir = write_vasp_dir(tmp_path / "vasp_run")
    code, out, err = run("aimd", "import", str(run_dir), "--results", str(tmp_path / "results"), "--format", "csv")
    assert code == 0, err
    row = pd.read_csv(io.StringIO(out)).iloc[0]
    assert row["run_id"] == "Al2Ni2_2000K" and row["steps"] == 3
    imported = tmp_path / "results" / "aimd" / "imported" / "Al2Ni2_2000K"
    assert (imported / "trace.csv").is_file() and (imported / "trajectory.extxyz").is_file()
    code, _, err = run("aimd", "import", str(run_dir), "--results", str(tmp_path / "results"))
    assert code == 2 and "--force" in err
    cut = write_vasp_dir(tmp_path / "killed", outcar_steps=2, footer=False)
    code, _, err = run("aimd", "import", str(cut), "--results", str(tmp_path / "r2"))
    assert code == 2 and "truncat" in err.lower() and err.startswith("hmixal aimd import: ")
    assert not (tmp_path / "r2").exists()  # a failed import leaves nothing behind, not even an empty folder
    code, _, err = run("aimd", "import", str(tmp_path / "nowhere"), "--results", str(tmp_path / "r3"))
    assert code == 2 and "INCAR not found" in err and not (tmp_path / "r3").exists()
    # A refused re-import leaves the earlier run as it was, and no staging folder beside it.
    assert sorted(p.name for p in (tmp_path / "results" / "aimd" / "imported").iterdir()) == ["Al2Ni2_2000K"]
    code, _, err = run("aimd", "import", str(run_dir), "--results", str(tmp_path / "results"), "--force")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "results" / "aimd" / "imported").iterdir()) == ["Al2Ni2_2000K"]


def test_predict_names_the_command_when_the_model_is_missing(tmp_path):
    code, out, err = run("predict", "Al-Ni", "--model", str(tmp_path))
    assert code == 2 and out == ""
    assert "no trained model" in err and "snakemake" in err and "shipped with hmixal" in err


def test_plan_names_the_command_when_missing_and_prints_the_top(tmp_path):
    code, _, err = run("plan", "--results", str(tmp_path))
    assert code == 2 and "acquisition_plan.csv" in err and "snakemake" in err
    folder = tmp_path / "uncertainty"
    folder.mkdir()
    pd.DataFrame(
        {
            "rank": [1, 2, 3],
            "A": ["Ir", "Os", "Al"],
            "B": ["Ti", "Zr", "W"],
            "max_variance": [60.0, 55.0, 40.0],
            "mean_variance": [50.0, 45.0, 30.0],
            "x_at_max": [0.5, 0.4, 0.6],
            "cluster": [2, 2, 3],
            "n_points_in_dataset": [0, 0, 9],
        }
    ).to_csv(folder / "acquisition_plan.csv", index=False)
    code, out, err = run("plan", "--top", "2", "--results", str(tmp_path), "--format", "csv")
    assert code == 0, err
    table = pd.read_csv(io.StringIO(out))
    assert list(table["A"] + "-" + table["B"]) == ["Ir-Ti", "Os-Zr"]


def test_check_config_names_the_file_line_and_key(tmp_path, repo_dir, monkeypatch):
    from hmixal.features import feature_names

    monkeypatch.chdir(repo_dir)
    code, out, err = run("check-config", ".test/config/config.yaml", "--format", "csv")
    assert code == 0, err
    assert pd.read_csv(io.StringIO(out))["file"].tolist() == ["config/config.yaml", ".test/config/config.yaml"]
    broken = tmp_path / "broken.yaml"
    broken.write_text("selection:\n  repeats: 2\n  lgbm: {n_estimators: 40\nmodel:\n  outer_folds: 3\n")
    code, _, err = run("check-config", str(broken))
    assert code == 2 and err.startswith(f"hmixal check-config: {broken}:4: YAML syntax") and len(err.splitlines()) == 1
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("foo: 1\nselection: {n_features_al: 500}\n")
    code, _, err = run("check-config", str(unknown))
    assert code == 2 and "config: unknown key 'foo' at top level" in err and len(err.splitlines()) == 1
    unknown.write_text("selection: {n_features_al: 500}\n")
    code, _, err = run("check-config", str(unknown))
    n = len(feature_names())
    assert code == 2 and f"config: selection.n_features_al = 500 exceeds {n}, the number of candidate features" in err


def test_predict_writes_the_binaries_as_espei_datasets_labelled_as_predictions(results, tmp_path):
    from espei.datasets import check_dataset, load_datasets, recursive_glob

    folder = tmp_path / "espei"
    code, _, err = run("predict", "Ni-Al", "--x", "0.25", "0.5", "--model", results, "--espei", str(folder))
    assert code == 0, err
    assert "wrote 1 ESPEI dataset(s), labelled as predictions" in err
    datasets = load_datasets(sorted(recursive_glob(str(folder), "*.json"))).all()
    assert len(datasets) == 1
    dataset = datasets[0]
    check_dataset(dataset)  # ESPEI's own schema check: raises on a malformed dataset
    assert dataset["components"] == ["AL", "NI"] and dataset["output"] == "HM_MIX"
    assert dataset["reference"] == "hmixal-prediction-model" and "PREDICTION" in dataset["comment"]
    # x_Al = 0.25 written as Ni-Al: the dataset's occupancies are (x_Al, x_Ni) = (0.25, 0.75).
    assert sorted(dataset["solver"]["sublattice_occupancies"]) == [[[0.25, 0.75]], [[0.5, 0.5]]]
    code, _, err = run("predict", "AlCoCrFeNi", "--model", results, "--espei", str(tmp_path / "alloy"))
    assert code == 2 and "alloys have no ESPEI HM_MIX dataset" in err
