"""Tests of the ESPEI export: ESPEI's own loader accepts the datasets, values/units/orientation by hand,
predictions labelled, rows without a value reported, bad input named, writing all or nothing."""

from __future__ import annotations

import json
import math
from pathlib import Path

import espei.datasets as espei_datasets  # ESPEI's own loader is the judge (the `test` extra installs ESPEI)
import numpy as np
import pandas as pd
import pytest

from hmixal.calphad.curves import liquid_temperature
from hmixal.dataset import DATASET_COLUMNS, read_dataset_csv
from hmixal.elements import default_table_path, load_element_table
from hmixal.errors import InputError
from hmixal.espei import read_espei_folder
from hmixal.espei_export import (
    AIMD_TAG,
    ESPEI_HM_STD_J_PER_MOL,
    INDEX_COLUMNS,
    LEFT_OUT_COLUMNS,
    PREDICTION_REFERENCE_PREFIX,
    aimd_datasets,
    dataset_file_name,
    dataset_index,
    hmix_dataset,
    prediction_datasets,
    prediction_weight,
    reference_key,
    write_datasets,
)
from hmixal.io import write_csv

REPO = Path(__file__).resolve().parents[1]
PUBLISHED = REPO / "data" / "aimd_bizot2026.csv"
CITATION = "Doe, Roe, J. Chem. Phys. 150 (2019) 123456"


def aimd_frame() -> pd.DataFrame:
    """Rows in the layout of results/data/dataset_final.csv: AIMD at two temperatures, other source types."""
    rows = [
        ("Al", "Ni", 0.75, -30.0, 1873.0, "aimd", "runs.csv", CITATION, 1.5),
        ("Al", "Ni", 0.25, -40.5, 1873.0, "aimd", "runs.csv", CITATION, 1.0),
        ("Al", "Ni", 0.5, -48.25, 1873.0, "aimd", "runs.csv", CITATION, None),
        ("Al", "Ni", 0.5, -47.0, 2000.0, "aimd", "runs.csv", CITATION, None),
        ("Cu", "Zr", 0.5, -22.0, 1900.0, "aimd", "table 2", "Bizot, Tamura, Deffrennes, 2026", None),
        ("Cu", "Zr", 0.4, -20.0, 1900.0, "potential_md", "emt.csv", "engine=emt; ASE EMT, not DFT", None),
        ("Cu", "Zr", 0.5, -21.0, 1500.0, "calphad", "cuzr.tdb", "Someone 2001", None),
        ("Al", "Ni", 0.5, -50.0, 1900.0, "calorimetry", "x.json", "Else 1990", 2.0),
    ]
    return pd.DataFrame(rows, columns=list(DATASET_COLUMNS))


def load_in_espei(folder: Path) -> list[dict]:
    """The datasets of a folder as ESPEI's own loader reads and checks them."""
    loaded = espei_datasets.load_datasets(espei_datasets.recursive_glob(str(folder), "*.json"))
    return loaded.all()


def test_aimd_datasets_by_hand(tmp_path):
    exported = aimd_datasets(aimd_frame())
    assert len(exported.datasets) == 3  # Al-Ni at 1873 K and 2000 K, Cu-Zr at 1900 K
    alni = exported.datasets[0]
    assert alni["components"] == ["AL", "NI"] and alni["phases"] == ["LIQUID"] and alni["output"] == "HM_MIX"
    assert alni["conditions"] == {"P": 101325.0, "T": 1873.0}
    # Sorted by x_Ni; kJ/mol → J/mol; occupancies [x_Al, x_Ni] in the single sublattice.
    assert alni["solver"]["sublattice_occupancies"] == [[[0.75, 0.25]], [[0.5, 0.5]], [[0.25, 0.75]]]
    assert alni["solver"]["sublattice_configurations"] == [[["AL", "NI"]]] * 3
    assert alni["solver"]["sublattice_site_ratios"] == [1]
    assert alni["values"] == [[[-40500.0, -48250.0, -30000.0]]]
    assert alni["reference"] == "doe2019" and alni["tags"] == [AIMD_TAG] and "weight" not in alni
    assert CITATION in alni["comment"] and "T = 1873 K" in alni["comment"] and "runs.csv" in alni["comment"]
    assert "Uncertainty per point (J/mol, in the order of values): 1000, n/a, 1500." in alni["comment"]
    assert exported.datasets[1]["conditions"]["T"] == 2000.0
    assert exported.datasets[2]["reference"] == "bizot2026"
    # The potential_md row is reported, not exported; calphad and calorimetry rows are not AIMD at all.
    assert list(exported.left_out.columns) == list(LEFT_OUT_COLUMNS)
    assert exported.left_out[["A", "B", "source_type"]].values.tolist() == [["Cu", "Zr", "potential_md"]]
    assert "not DFT" in exported.left_out["reason"].iloc[0]

    paths = write_datasets(exported.datasets, tmp_path / "espei")
    assert [p.name for p in paths] == [
        "HM_MIX-LIQUID-AL-NI-doe2019-1873K.json",
        "HM_MIX-LIQUID-AL-NI-doe2019-2000K.json",
        "HM_MIX-LIQUID-CU-ZR-bizot2026-1900K.json",
    ]
    loaded = load_in_espei(tmp_path / "espei")
    assert len(loaded) == 3
    for dataset in loaded:
        espei_datasets.check_dataset(dataset)
    assert sorted(d["values"][0][0][0] for d in loaded) == [-47000.0, -40500.0, -22000.0]
    # The file is JSON with sorted keys and no NaN.
    text = paths[0].read_text()
    assert list(json.loads(text)) == sorted(json.loads(text)) and "NaN" not in text


def test_potential_md_only_when_asked(tmp_path):
    exported = aimd_datasets(aimd_frame(), include_potential_md=True)
    md = [d for d in exported.datasets if d["reference"].startswith("potential-md")]
    assert len(md) == 1 and md[0]["reference"] == "potential-md-emt" and md[0]["tags"] == ["hmixal-potential-md"]
    assert md[0]["comment"].startswith("NOT DFT: molecular dynamics on an interatomic potential")
    assert exported.left_out.empty
    write_datasets(exported.datasets, tmp_path / "espei")
    assert len(load_in_espei(tmp_path / "espei")) == 4


def test_published_aimd_table_through_hmixal_loader(tmp_path):
    table = read_dataset_csv(PUBLISHED, "aimd")
    assert table.rejects.empty
    exported = aimd_datasets(table.rows)
    values = table.rows[table.rows["status"] == "value"]
    assert len(exported.datasets) == len(values) == 29
    # The 8 phase separations and 3 not-computed entries are no ΔH values: reported, with their file and status.
    left = exported.left_out
    assert len(left) == 11 and left["status"].value_counts().to_dict() == {"phase_separation": 8, "not_computed": 3}
    assert left["reason"].str.startswith("status ").all()
    paths = write_datasets(exported.datasets, tmp_path / "espei")
    loaded = load_in_espei(tmp_path / "espei")
    assert len(loaded) == 29 and {d["reference"] for d in loaded} == {"bizot2026"}
    assert all("Comput. Mater. Sci. 266 (2026) 114568" in d["comment"] for d in loaded)
    # Every value back through hmixal's own ESPEI reader: same binary, x_B, kJ/mol and temperature.
    back, skipped = read_espei_folder(tmp_path / "espei")
    assert not skipped and back.rejects.empty
    key = ["A", "B", "x_B", "T_K"]
    merged = back.rows.merge(values, on=key, suffixes=("_back", ""))
    assert len(merged) == 29
    np.testing.assert_allclose(merged["hmix_kJ_per_mol_back"], merged["hmix_kJ_per_mol"], atol=1e-9)
    index = dataset_index(exported.datasets, paths)
    assert list(index.columns) == list(INDEX_COLUMNS) and index["n_points"].sum() == 29
    assert (index["T_K"].isin([2750.0, 3300.0, 3500.0, 3700.0])).all()


def prediction_frame() -> pd.DataFrame:
    """`hmixal predict` output with Al-Ni written Ni-Al (x_B = fraction of Al) and Cu-Zr written Cu-Zr."""
    return pd.DataFrame(
        {
            "A": ["Ni", "Ni", "Cu"],
            "B": ["Al", "Al", "Zr"],
            "x_B": [0.3, 0.6, 0.5],
            "hmix_kJ_per_mol": [-40.0, -45.0, -20.0],
            "uncertainty_kJ_per_mol": [5.0, 6.0, 0.2],
            "extrapolation": [False, False, True],
        }
    )


def test_prediction_datasets_labelled_and_oriented(tmp_path):
    datasets = prediction_datasets(prediction_frame(), "final_after-1a2b3c4d")
    alni, cuzr = datasets
    # Ni-Al at x_Al = 0.3 is Al-Ni at x_Ni = 0.7: occupancies [x_Al, x_Ni] = [0.3, 0.7], sorted by x_Ni.
    assert alni["components"] == ["AL", "NI"]
    assert alni["solver"]["sublattice_occupancies"] == [[[0.6, 0.4]], [[0.3, 0.7]]]
    assert alni["values"] == [[[-45000.0, -40000.0]]]
    melting = load_element_table()["MeltT"].astype(float).to_dict()
    assert alni["conditions"]["T"] == liquid_temperature("Al", "Ni", melting) == max(melting["Al"], melting["Ni"]) + 50
    assert alni["reference"] == PREDICTION_REFERENCE_PREFIX + "final_after-1a2b3c4d"
    assert alni["comment"].startswith("PREDICTION of the hmixal machine-learning model final_after-1a2b3c4d, NOT a")
    assert "(J/mol, in the order of values): 6000, 5000." in alni["comment"]
    assert "min(max(Tm_Al, Tm_Ni) + 50 K, 2000 K)" in alni["comment"]
    assert alni["tags"] == ["hmixal-prediction", "estimated"]
    # weight: ESPEI's σ 500 J/mol / weight = RMS half-width √((5000² + 6000²)/2) = 5522.7 J/mol.
    assert alni["weight"] == pytest.approx(500.0 / math.sqrt((5000.0**2 + 6000.0**2) / 2), abs=1e-6)
    assert cuzr["weight"] == 1.0  # half-width 200 J/mol < 500 J/mol: never above a measurement's weight
    assert "hmixal flags 1 of these 1 points as extrapolation" in cuzr["comment"]
    assert "extrapolation" not in alni["comment"]
    assert prediction_weight([1.0]) == pytest.approx(ESPEI_HM_STD_J_PER_MOL / 1000.0)
    # A fixed temperature when asked.
    assert prediction_datasets(prediction_frame(), "m1", temperature_K=1500.0)[0]["conditions"]["T"] == 1500.0

    write_datasets(datasets, tmp_path / "pred")
    loaded = load_in_espei(tmp_path / "pred")
    assert len(loaded) == 2 and all(d["weight"] <= 1.0 for d in loaded)
    # hmixal's own reader takes the "estimated" tag as "not a measurement": predictions can never come back
    # into the training data as calorimetry.
    back, _ = read_espei_folder(tmp_path / "pred")
    assert set(back.rows["status"]) == {"estimated"} and back.rows["hmix_kJ_per_mol"].isna().all()


def test_bad_rows_are_named():
    frame = aimd_frame()
    cases = [
        (frame.assign(hmix_kJ_per_mol=frame["hmix_kJ_per_mol"].where(frame.index != 1)), r"<input>:3: column hmix"),
        (frame.assign(x_B=frame["x_B"].where(frame.index != 2, 1.2)), r"<input>:4: x_B = 1.2 is not strictly"),
        (frame.assign(A=frame["A"].where(frame.index != 0, "Xx")), r"<input>:2: column A: unknown element 'Xx'"),
        (frame.assign(T_K=frame["T_K"].where(frame.index != 4)), r"<input>:6: column T_K: nan is not a finite"),
        (frame.assign(B=frame["A"]), r"<input>:2: A = B = Al"),
        (frame.assign(T_K=frame["T_K"].where(frame.index != 3, -5.0)), r"<input>:5: T_K = -5 K is not positive"),
    ]
    for bad, message in cases:
        with pytest.raises(InputError, match=message):
            aimd_datasets(bad)
    # Rows of other source types are not read: a calphad row with x_B = 7 does not stop the AIMD export.
    assert len(aimd_datasets(frame.assign(x_B=frame["x_B"].where(frame.index != 6, 7.0))).datasets) == 3
    with pytest.raises(InputError, match=r"data\.csv:1: missing column\(s\): T_K"):
        aimd_datasets(frame.drop(columns="T_K"), path="data.csv")
    # Rows read from a file carry their own file and line.
    table = read_dataset_csv(PUBLISHED, "aimd")
    rows = table.rows.copy()
    first = rows.index[rows["status"] == "value"][0]
    rows.loc[first, "x_B"] = 0.0
    with pytest.raises(InputError, match=rf"aimd_bizot2026\.csv:{rows.loc[first, 'line']}: x_B = 0 is not strictly"):
        aimd_datasets(rows)
    predictions = prediction_frame()
    for bad, message in [
        (predictions.assign(uncertainty_kJ_per_mol=[5.0, np.nan, 1.0]), r"p\.csv:3: column uncertainty_kJ_per_mol"),
        (predictions.assign(uncertainty_kJ_per_mol=[5.0, -1.0, 1.0]), r"p\.csv:3: uncertainty_kJ_per_mol = -1 is neg"),
        (predictions.assign(x_B=[0.3, 0.0, 0.5]), r"p\.csv:3: x_B = 0 is not strictly between 0 and 1"),
        (predictions.assign(B=["Al", "Qq", "Zr"]), r"p\.csv:3: column B: unknown element 'Qq'"),
        (predictions.assign(A=["Al", "Ni", "Cu"], B=["Ni", "Al", "Zr"], x_B=[0.7, 0.3, 0.5]), r"p\.csv:3: .*twice"),
    ]:
        with pytest.raises(InputError, match=message):
            prediction_datasets(bad, "m1", path="p.csv")
    with pytest.raises(InputError, match="model_label"):
        prediction_datasets(predictions, "my model/1")
    with pytest.raises(InputError, match="point 1: the value nan"):
        hmix_dataset("Al", "Ni", [0.2, 0.4], [1.0, np.nan], 1000.0, "ref", "c")
    with pytest.raises(InputError, match="temperature"):
        hmix_dataset("Al", "Ni", [0.2], [1.0], -5.0, "ref", "c")


def test_write_all_or_nothing(tmp_path):
    datasets = aimd_datasets(aimd_frame()).datasets
    first = write_datasets(datasets, tmp_path / "a")
    second = write_datasets(datasets, tmp_path / "b")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]  # deterministic
    with pytest.raises(InputError, match="exists and is not an empty folder"):
        write_datasets(datasets, tmp_path / "a")
    broken = [*datasets[:2], {**datasets[2], "values": [[[float("nan")]]]}]
    with pytest.raises(ValueError, match="not JSON compliant"):
        write_datasets(broken, tmp_path / "c")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]  # no partial folder, no staging left
    with pytest.raises(InputError, match="share the file name"):
        write_datasets([datasets[0], datasets[0]], tmp_path / "d")
    assert dataset_file_name(datasets[0]) == "HM_MIX-LIQUID-AL-NI-doe2019-1873K.json"
    assert reference_key("Åström, K. et al. (1998) J. Phys.") == "astrom1998"
    assert reference_key("hmixal VASP AIMD (PAW-PBE 54)") == "hmixal-vasp-aimd"
    assert reference_key("") == "unreferenced"


def test_shared_key_of_different_references_gets_a_hash():
    frame = aimd_frame().iloc[:1]
    other = frame.assign(reference="Doe, Other, Phys. Rev. B 99 (2019) 1", x_B=0.4)
    datasets = aimd_datasets(pd.concat([frame, other], ignore_index=True)).datasets
    keys = [d["reference"] for d in datasets]
    assert len(set(keys)) == 2 and all(k.startswith("doe2019-") and len(k) == len("doe2019-") + 6 for k in keys)


def test_rule_scripts(tmp_path, run_script):
    write_csv(aimd_frame(), tmp_path / "dataset_final.csv")
    out = tmp_path / "calphad"
    spec = {
        "input": {"dataset": str(tmp_path / "dataset_final.csv"), "aimd_tables": [str(PUBLISHED)]},
        "output": {
            "datasets": str(out / "espei_aimd"),
            "index": str(out / "espei_aimd_index.csv"),
            "left_out": str(out / "espei_aimd_left_out.csv"),
        },
        "params": {"include_potential_md": False, "max_abs_hmix": 200.0},
        "log": str(tmp_path / "espei.log"),
    }
    done = run_script("espei_export.py", spec)
    assert done.returncode == 0, done.stderr + (tmp_path / "espei.log").read_text()
    assert len(load_in_espei(out / "espei_aimd")) == 3
    index = pd.read_csv(out / "espei_aimd_index.csv")
    assert sorted(index["file"]) == sorted(p.name for p in (out / "espei_aimd").iterdir())
    left = pd.read_csv(out / "espei_aimd_left_out.csv", keep_default_na=False)
    # The potential_md row of the dataset, and the published table's 11 rows without a value.
    assert len(left) == 12 and left["status"].value_counts().to_dict() == {
        "phase_separation": 8,
        "not_computed": 3,
        "value": 1,
    }

    # A complete grid (the rule reads the pipeline's table, checked like the Redlich–Kister rule's input).
    predictions = pd.concat([prediction_frame().iloc[:2]] * 2, ignore_index=True)
    predictions = predictions.assign(A=["Al", "Al", "Cu", "Cu"], B=["Ni", "Ni", "Zr", "Zr"], x_B=[0.7, 0.4] * 2)
    write_csv(predictions, tmp_path / "predictions.csv")
    spec = {
        "input": {
            "predictions": str(tmp_path / "predictions.csv"),
            "elements": str(default_table_path()),
        },
        "output": {"datasets": str(out / "espei_predictions"), "index": str(out / "espei_predictions_index.csv")},
        "params": {"model": "final_after", "t_offset": 50, "t_cap": 2000},
        "log": str(tmp_path / "pred.log"),
    }
    done = run_script("espei_export.py", spec)
    assert done.returncode == 0, done.stderr + (tmp_path / "pred.log").read_text()
    loaded = load_in_espei(out / "espei_predictions")
    assert len(loaded) == 2 and all(d["reference"].startswith("hmixal-prediction-final_after-") for d in loaded)
