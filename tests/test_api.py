"""Tests of the Python API (hmixal.predict, hmixal.miedema, hmixal.training_data, hmixal.model_card)."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

import hmixal
from hmixal import api
from hmixal.cli import main
from hmixal.errors import InputError, MissingArtifactError
from hmixal.miedema_model import hmix
from hmixal.multicomponent import extrapolate
from hmixal.predictor import PREDICTION_COLUMNS, SUMMARY_COLUMNS, Predictor
from trained_results import build_results


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> str:
    """A small trained results folder (tests/trained_results.py)."""
    return str(build_results(tmp_path_factory.mktemp("results")))


def _miedema(a: str, b: str, x_b: np.ndarray) -> np.ndarray:
    return hmix(np.full(np.shape(x_b), a), np.full(np.shape(x_b), b), np.asarray(x_b, dtype=float))


def test_the_package_exposes_the_api_functions_not_the_modules():
    import hmixal.cards  # importing the modules must not rebind the names
    import hmixal.miedema_model
    import hmixal.predictor

    assert hmixal.predict is api.predict and hmixal.miedema is api.miedema
    assert hmixal.training_data is api.training_data and hmixal.model_card is api.model_card


def test_predict_binaries_in_the_written_order_with_notes(results):
    frame = hmixal.predict(["Ni-Al", "cu-zr"], x=[0.25, 0.6], model=results)
    assert list(frame.columns) == list(SUMMARY_COLUMNS)
    assert list(frame["A"] + "-" + frame["B"]) == ["Ni-Al", "Ni-Al", "Cu-Zr", "Cu-Zr"]
    # x_Al = 0.25 written Ni-Al is the model's Al-Ni at x_Ni = 0.75.
    predictor = Predictor.from_folder(f"{results}/model")
    internal = predictor.predict(np.array(["Al"]), np.array(["Ni"]), np.array([0.75]))
    assert frame["hmix_kJ_per_mol"].iloc[0] == pytest.approx(internal["hmix_kJ_per_mol"].iloc[0], abs=1e-12)
    assert (frame["lower_95_kJ_per_mol"] < frame["hmix_kJ_per_mol"]).all()
    assert "Ni-Al: 4 training data points (calphad); list them with --data" in frame.attrs["notes"]
    # The results folder and its model folder name the same model; one x as a number.
    same = hmixal.predict("Ni-Al", x=0.25, model=f"{results}/model", details=True)
    assert list(same.columns) == list(PREDICTION_COLUMNS)
    assert same["hmix_kJ_per_mol"].iloc[0] == frame["hmix_kJ_per_mol"].iloc[0]
    assert hmixal.predict("Al-Ni", model=results)["x_B"].tolist() == [0.5]  # default composition


def test_predict_loads_a_model_once_while_its_files_are_unchanged(results):
    first = api.load_predictor(results)
    assert api.load_predictor(f"{results}/model") is first


def test_predict_alloys_by_each_method_is_the_weighted_sum_of_its_binaries(results):
    frame = hmixal.predict(["AlCoCrFeNi", "Fe70Cr20Ni10"], model=results)
    assert list(frame["composition"]) == ["Al0.2Co0.2Cr0.2Fe0.2Ni0.2", "Fe0.7Cr0.2Ni0.1"]
    assert (frame["method"] == "muggianu").all() and (frame["asymmetric"] == "").all()
    predictor = api.load_predictor(results)

    def binary(a: str, b: str, x_b: np.ndarray) -> np.ndarray:
        x_b = np.asarray(x_b, dtype=float)
        return predictor.predict(np.full(x_b.shape, a), np.full(x_b.shape, b), x_b)["hmix_kJ_per_mol"].to_numpy()

    elements, x = ["Fe", "Cr", "Ni"], np.array([0.7, 0.2, 0.1])
    for method, asymmetric in (("muggianu", None), ("kohler", None), ("toop", "Fe"), ("toop", "Ni")):
        row = hmixal.predict("Fe70Cr20Ni10", model=results, method=method, asymmetric=asymmetric).iloc[0]
        assert row["hmix_kJ_per_mol"] == pytest.approx(float(extrapolate(elements, x, binary, method, asymmetric)))
        assert row["lower_95_kJ_per_mol"] < row["hmix_kJ_per_mol"] < row["upper_95_kJ_per_mol"]
        assert row["asymmetric"] == (asymmetric or "")
    chosen = hmixal.predict("Fe70Cr20Ni10", model=results, method="toop").iloc[0]["asymmetric"]
    assert chosen in elements


def test_binaries_and_alloys_together_and_the_training_data(results):
    frame = hmixal.predict(["Ti-Ir", "AlNi"], model=results)
    assert frame["A"].iloc[0] == "Ti" and frame["composition"].iloc[1] == "Al0.5Ni0.5"
    assert any("Ti-Ir: the model departs from its own training data" in n for n in frame.attrs["notes"])
    data = hmixal.training_data("Ti-Ir", model=results)
    assert list(data["A"]) == ["Ti"] and list(data["source_type"]) == ["aimd"] and data["x_B"].tolist() == [0.5]
    assert hmixal.training_data("C-Li", model=results).empty


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: hmixal.predict("AlCoCrFeNi", x=0.3, model=m), "x applies to binaries A-B"),
        (lambda m: hmixal.predict("Al-Ni", x=[0.2, 1.0], model=m), "strictly between 0 and 1"),
        (lambda m: hmixal.predict([], model=m), "no system given"),
        (lambda m: hmixal.predict("AlNi", method="geometric", model=m), "unknown extrapolation method 'geometric'"),
        (lambda m: hmixal.predict("AlNiCo", method="toop", asymmetric="W", model=m), "'W' is not in the alloy"),
        (lambda m: hmixal.miedema("AlNiCo", method="muggianu", asymmetric="Al"), "only used by method 'toop'"),
        (lambda m: hmixal.training_data("AlNi", model=m), "training data are per binary"),
    ],
)
def test_bad_arguments_fail_before_any_model_loads(call, message, tmp_path):
    with pytest.raises(InputError, match=message):
        call(tmp_path)  # an empty folder: the argument is refused before the missing model would be


def test_a_missing_model_says_how_to_get_one(tmp_path, monkeypatch):
    with pytest.raises(MissingArtifactError, match=r"no trained model in .*shipped with hmixal"):
        hmixal.predict("Al-Ni", model=tmp_path)
    monkeypatch.setattr("hmixal.resources.package_data_dir", lambda: tmp_path)
    with pytest.raises(MissingArtifactError, match="no shipped predictor"):
        hmixal.predict("Al-Ni")


def test_miedema_binaries_and_alloys():
    frame = hmixal.miedema(["Ni-Al", "Cu-Zr"], x=[0.25, 0.5])
    assert list(frame.columns) == ["A", "B", "x_B", "hmix_kJ_per_mol"]
    assert frame["hmix_kJ_per_mol"].iloc[0] == pytest.approx(float(hmix(["Al"], ["Ni"], [0.75])[0]), abs=1e-12)
    alloy = hmixal.miedema("AlCoCrFeNi", method="kohler").iloc[0]
    x = np.full(5, 0.2)
    expected = extrapolate(["Al", "Co", "Cr", "Fe", "Ni"], x, _miedema, "kohler", None)
    assert alloy["hmix_kJ_per_mol"] == pytest.approx(float(expected), abs=1e-12)
    assert alloy["composition"] == "Al0.2Co0.2Cr0.2Fe0.2Ni0.2" and alloy["method"] == "kohler"


def test_the_command_line_prints_what_the_api_returns(results, capsys):
    assert main(["predict", "Ni-Al", "AlCoCrFeNi", "--x", "0.25", "--model", results, "--format", "csv"]) == 0
    out, err = capsys.readouterr()
    printed = pd.read_csv(io.StringIO(out), keep_default_na=False)
    frame = hmixal.predict(["Ni-Al", "AlCoCrFeNi"], x=0.25, model=results)
    np.testing.assert_allclose(printed["hmix_kJ_per_mol"], frame["hmix_kJ_per_mol"], atol=1e-4)
    assert err.splitlines() == [f"hmixal predict: {note}" for note in frame.attrs["notes"]]
    assert main(["miedema", "AlCoCrFeNi", "--method", "toop", "--asymmetric", "al", "--format", "json"]) == 0
    out, _ = capsys.readouterr()
    row = json.loads(out)[0]
    assert row["asymmetric"] == "Al" and row["hmix_kJ_per_mol"] == pytest.approx(
        hmixal.miedema("AlCoCrFeNi", method="toop", asymmetric="Al")["hmix_kJ_per_mol"].iloc[0], abs=1e-4
    )
