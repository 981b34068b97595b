"""Tests of the ESPEI JSON reader: real ESPEI-datasets files (refdata) and hand-written ones."""

from __future__ import annotations

import json
import logging
import math
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from hmixal.dataset import TABLE_COLUMNS, merge_dataset
from hmixal.errors import InputError
from hmixal.espei import delatex, format_citation, mole_fraction, read_bibtex, read_espei_folder

ESPEI_DIR = "espei_datasets"
AL_NI = "datasets/2-binary/Al-Ni/non-equilibrium-thermochemical/LIQUID/HM/AL-NI-HM_MIX-LIQUID-Exp. (71San).json"
CR_NI_T = (
    "datasets/2-binary/Cr-Ni/non-equilibrium-thermochemical/LIQUID/HM/CR-NI-HM_MIX-LIQUID-thiedemann1998mixing.json"
)
NI_V_0 = (
    "datasets/2-binary/Ni-V/non-equilibrium-thermochemical/LIQUID/HM/"
    "NI-V-HM_MIX-LIQUID-schaefers1996mixing_enthalpies-0.json"
)


def dataset(components, occupancies, values, T=1500, P=101325, **extra) -> dict:
    """A minimal ESPEI HM_MIX dataset for a single-sublattice liquid."""
    configs = [[list(components)] for _ in occupancies]
    return {
        "components": list(components),
        "phases": ["LIQUID"],
        "solver": {
            "mode": "manual",
            "sublattice_site_ratios": [1],
            "sublattice_configurations": configs,
            "sublattice_occupancies": [[list(o)] for o in occupancies],
        },
        "conditions": {"P": P, "T": T},
        "output": "HM_MIX",
        "values": values,
        "reference": "test2024",
        "comment": "hand-written",
        "excluded_model_contributions": ["idmix"],
        **extra,
    }


def put(folder: Path, name: str, content: dict | str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content, indent=1), encoding="utf-8")
    return path


# --- the real ESPEI-datasets files ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def refdata_table(refdata_dir):
    return read_espei_folder(refdata_dir / ESPEI_DIR)


@pytest.mark.refdata
def test_refdata_counts_per_file_and_no_rejects(refdata_table):
    table, skipped = refdata_table
    assert skipped == [] and len(table.rejects) == 0
    counts = table.rows.groupby("source").size()
    by_name = {Path(k).name: int(v) for k, v in counts.items()}
    # Points counted by hand in each JSON file's "values" list.
    assert by_name == {
        "AL-NI-HM_MIX-LIQUID-Exp. (71San).json": 19,
        "CR-NI-HM_MIX-LIQUID-saltykov2002enthalpy.json": 24,
        "CR-NI-HM_MIX-LIQUID-thiedemann1998mixing.json": 28,
        "CR-V-HM_MIX-LIQUID-estimated.json": 2,
        "CU-MG-HM_MIX-LIQUID-Batalin1987.json": 9,
        "CU-MG-HM_MIX-LIQUID-sommer1983calorimetric_investigations-0.json": 5,
        "CU-MG-HM_MIX-LIQUID-sommer1983calorimetric_investigations-1.json": 11,
        "CU-MG-HM_MIX-LIQUID-sommer1983calorimetric_investigations-2.json": 9,
        "NI-V-HM_MIX-LIQUID-schaefers1996mixing_enthalpies-0.json": 26,
        "NI-V-HM_MIX-LIQUID-schaefers1996mixing_enthalpies-1.json": 36,
        "TI-V-HM_MIX-LIQUID-estimated.json": 1,
    }
    assert set(table.rows["source_type"]) == {"calorimetry"}
    assert (table.rows["A"] < table.rows["B"]).all()


@pytest.mark.refdata
def test_refdata_estimated_datasets_are_kept_out(refdata_table):
    table, _ = refdata_table
    estimated = table.rows[table.rows["status"] == "estimated"]
    assert sorted(set(zip(estimated["A"], estimated["B"], strict=True))) == [("Cr", "V"), ("Ti", "V")]
    assert estimated["hmix_kJ_per_mol"].isna().all()
    assert sum("estimated dataset" in note for note in table.notes) == 2
    merged = merge_dataset([table])
    assert len(merged.dataset) == 167  # 170 points less the 3 estimated ones
    assert set(zip(merged.dataset["A"], merged.dataset["B"], strict=True)) == {
        ("Al", "Ni"),
        ("Cr", "Ni"),
        ("Cu", "Mg"),
        ("Ni", "V"),
    }
    assert len(merged.summary["excluded_by_status"]["estimated"]) == 3


@pytest.mark.refdata
def test_refdata_values_checked_by_hand(refdata_table):
    rows = refdata_table[0].rows.set_index(["source", "location"])
    # Al-Ni (71San): occupancies[9] = [[0.50, 0.50]] of (AL, NI), values[0][0][9] = -50200 J/mol, T = 1923 K.
    al_ni = rows.loc[(AL_NI, "values[0][0][9]")]
    assert (al_ni["A"], al_ni["B"], al_ni["x_B"], al_ni["T_K"]) == ("Al", "Ni", 0.5, 1923.0)
    assert al_ni["hmix_kJ_per_mol"] == -50.2
    # First Al-Ni point: [[0.05, 0.95]] → x_Ni = 0.95, -8400 J/mol.
    assert rows.loc[(AL_NI, "values[0][0][0]"), ["x_B", "hmix_kJ_per_mol"]].tolist() == [0.95, -8.4]
    # Ni-V (Schaefers 1996) first point: (NI, V) = [[0.039, 0.961]] → x_V = 0.961, -2283 J/mol at 2320 K.
    ni_v = rows.loc[(NI_V_0, "values[0][0][0]")]
    assert (ni_v["x_B"], ni_v["hmix_kJ_per_mol"], ni_v["T_K"]) == (0.961, -2.283, 2320.0)
    # Cr-Ni (Thiedemann 1998) point 1: [[0.045, 0.956]] sums to 1.001 → x_Ni = 0.956 / 1.001.
    cr_ni = rows.loc[(CR_NI_T, "values[0][0][1]")]
    assert math.isclose(cr_ni["x_B"], 0.956 / 1.001, rel_tol=1e-12)
    assert (cr_ni["hmix_kJ_per_mol"], cr_ni["T_K"]) == (-0.8619, 1990.0)
    assert cr_ni["comment"] == "Digitzed by all open symbols from Figure 2."  # sic, as in the file


@pytest.mark.refdata
def test_refdata_references_resolved_from_bibtex(refdata_table):
    refs = dict(zip(refdata_table[0].rows["source"], refdata_table[0].rows["reference"], strict=True))
    thiedemann = refs[CR_NI_T]
    assert thiedemann.startswith("Thiedemann et al. (1998). Mixing enthalpy measurements in the liquid ternary")
    assert thiedemann.endswith("Steel Research 69, 3–7. doi:10.1002/srin.199801599 [thiedemann1998mixing]")
    assert refs[AL_NI] == "Exp. (71San)"  # not in references.bib: the key is kept as written


@pytest.mark.refdata
def test_refdata_is_read_identically_twice(refdata_dir, refdata_table, tmp_path):
    from hmixal.dataset import stage_table
    from hmixal.io import write_csv

    again, _ = read_espei_folder(refdata_dir / ESPEI_DIR)
    write_csv(stage_table([refdata_table[0]]), tmp_path / "a.csv")
    write_csv(stage_table([again]), tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


# --- hand-written files: formats ESPEI allows, and broken ones --------------------------------------------


def test_lists_of_conditions_nest_values_as_p_t_config(tmp_path):
    data = dataset(
        ("NI", "AL"),  # not alphabetical: normalised to Al-Ni with x_Al ↔ x_Ni swapped
        [(0.25, 0.75), (0.5, 0.5)],
        [[[-1000, -2000], [-1100, -2100]]],
        T=[1800, 1900],
        P=[101325],
    )
    put(tmp_path, "a.json", data)
    table, _ = read_espei_folder(tmp_path)
    got = table.rows[["A", "B", "x_B", "T_K", "hmix_kJ_per_mol", "location", "swapped"]].values.tolist()
    assert got == [
        # (NI, AL) at [0.25, 0.75] is x_AL = 0.75 in the file's order, x_Ni = 0.25 once A < B.
        ["Al", "Ni", 0.25, 1800.0, -1.0, "values[0][0][0]", True],
        ["Al", "Ni", 0.5, 1800.0, -2.0, "values[0][0][1]", True],
        ["Al", "Ni", 0.25, 1900.0, -1.1, "values[0][1][0]", True],
        ["Al", "Ni", 0.5, 1900.0, -2.1, "values[0][1][1]", True],
    ]
    assert table.rows["reference"].tolist() == ["test2024"] * 4
    assert list(table.rows[list(TABLE_COLUMNS)].columns) == list(TABLE_COLUMNS)


def test_vacancies_are_dropped_and_bare_species_need_no_occupancy(tmp_path):
    data = dataset(("CU", "VA", "ZR"), [(0.5, 0.0, 0.5)], [[[-5000]]])
    put(tmp_path, "cu_zr.json", data)
    # Two sublattices of half a site each; the second holds only Zr (a bare species, occupancy 1).
    two = dataset(("CU", "ZR"), [(0.5, 0.5)], [[[-6000]]])
    two["solver"].update(
        sublattice_site_ratios=[0.5, 0.5],
        sublattice_configurations=[[["CU", "ZR"], "ZR"]],
        sublattice_occupancies=[[[0.5, 0.5], 1]],
    )
    put(tmp_path, "two.json", two)
    table, _ = read_espei_folder(tmp_path)
    assert table.rows[["A", "B", "x_B", "hmix_kJ_per_mol"]].values.tolist() == [
        ["Cu", "Zr", 0.5, -5.0],
        ["Cu", "Zr", 0.75, -6.0],
    ]


def test_mole_fraction_rules():
    assert mole_fraction([["AL", "NI"]], [[0.3, 0.7]], [1.0], ("AL", "NI"), "x") == pytest.approx(0.7)
    assert mole_fraction([["AL", "VA"]], [[1.0, 0.0]], [1.0], ("AL", "NI"), "x") == 0.0
    with pytest.raises(ValueError, match=r"formula unit holds 0\.5 mol"):
        mole_fraction([["AL", "NI"], "VA"], [[0.5, 0.5], 1.0], [0.5, 0.5], ("AL", "NI"), "x")


def test_non_numeric_value_is_rejected_with_its_json_path_and_others_load(tmp_path):
    data = dataset(("AL", "NI"), [(0.2, 0.8), (0.5, 0.5), (0.8, 0.2), (0.9, 0.1)], [[[-12000, "oops", None, "-3"]]])
    path = put(tmp_path, "bad_value.json", data)
    table, _ = read_espei_folder(tmp_path)
    rejects = table.rejects.to_dict("records")
    assert [(r["file"], r["location"]) for r in rejects] == [
        (str(path), "values[0][0][1]"),
        (str(path), "values[0][0][2]"),
        (str(path), "values[0][0][3]"),
    ]
    assert [r["reason"] for r in rejects] == [
        "non-numeric value: values[0][0][1] = 'oops' (a number in J/mol expected)",
        "missing value: values[0][0][2] = None (a number in J/mol expected)",
        "non-numeric value: values[0][0][3] = '-3' (a number in J/mol expected)",
    ]
    assert all(pd.isna(r["line"]) for r in rejects)
    assert json.loads(rejects[0]["raw"])["value"] == "oops"
    assert table.rows["location"].tolist() == ["values[0][0][0]"]
    assert table.rows["hmix_kJ_per_mol"].tolist() == [-12.0]


def test_nan_value_and_bad_temperature_go_through_row_validation(tmp_path):
    text = json.dumps(dataset(("AL", "NI"), [(0.5, 0.5)], [[[-1000]]], T=-5))
    put(tmp_path, "t.json", text)
    put(tmp_path, "nan.json", json.dumps(dataset(("AL", "NI"), [(0.4, 0.6)], [[[float("nan")]]])))
    table, _ = read_espei_folder(tmp_path)
    assert sorted(table.rejects["reason"]) == [
        "T_K not positive: T_K = -5",
        "non-finite value: hmix_kJ_per_mol = nan",
    ]
    assert set(table.rejects["location"]) == {"values[0][0][0]"}


def test_malformed_json_is_a_reject_with_its_line(tmp_path):
    path = put(tmp_path, "broken.json", '{\n  "components": ["AL", "NI"],\n  "phases": ["LIQUID"\n}\n')
    put(tmp_path, "good.json", dataset(("AL", "NI"), [(0.5, 0.5)], [[[-1000]]]))
    table, _ = read_espei_folder(tmp_path)
    reject = table.rejects.iloc[0]
    assert (reject["file"], reject["line"], reject["location"]) == (str(path), 4, "column 1")
    assert reject["reason"].startswith("invalid JSON: ") and reject["raw"] == "}"
    assert len(table.rows) == 1  # the other file still loads


@pytest.mark.parametrize(
    ("change", "location", "reason"),
    [
        (lambda d: d.pop("conditions"), "conditions", "unexpected structure: missing key 'conditions'"),
        (lambda d: d["conditions"].update(T="hot"), "conditions.T", "unexpected structure: 'T' is str"),
        (lambda d: d["conditions"].update(T=[]), "conditions.T", "unexpected structure: expected a number"),
        (
            lambda d: d.update(values=[[[-1, -2, -3]]]),
            "values[0][0]",
            "unexpected structure: expected [1][1][2]",
        ),
        (
            lambda d: d.update(values=[[[-1, -2]], [[-1, -2]]]),
            "values",
            "unexpected structure: 2 pressure rows",
        ),
        (lambda d: d.update(components=["VA"]), "components", "unexpected structure: no element"),
        (lambda d: d.update(components=["AL", "QQ"]), "components[1]", "unknown element: 'QQ'"),
        (lambda d: d.update(phases=["LIQUID", "FCC_A1"]), "phases", "unexpected structure: non-equilibrium"),
        (lambda d: d["solver"].pop("sublattice_site_ratios"), "solver.sublattice_site_ratios", "unexpected"),
        (
            lambda d: d["solver"].update(sublattice_occupancies=[[[0.5, 0.5]]]),
            "solver.sublattice_occupancies",
            "unexpected structure: expected a list of 2",
        ),
    ],
    ids=[
        "no conditions",
        "T text",
        "T empty",
        "values short",
        "values long",
        "only VA",
        "element",
        "phases",
        "no ratios",
        "occupancies",
    ],
)
def test_unexpected_structure_names_the_json_path(tmp_path, change, location, reason):
    data = dataset(("AL", "NI"), [(0.4, 0.6), (0.5, 0.5)], [[[-1000, -2000]]])
    change(data)
    path = put(tmp_path, "s.json", data)
    table, _ = read_espei_folder(tmp_path)
    assert len(table.rows) == 0 and len(table.rejects) == 1
    reject = table.rejects.iloc[0]
    assert (reject["file"], reject["location"]) == (str(path), location)
    assert reject["reason"].startswith(reason)


def test_bad_site_fractions_reject_one_configuration_only(tmp_path):
    data = dataset(("AL", "NI"), [(0.5, 0.3), (0.5, 0.5), (1.2, -0.2)], [[[-1000, -2000, -3000]]])
    path = put(tmp_path, "occ.json", data)
    table, _ = read_espei_folder(tmp_path)
    got = [(r["location"], r["reason"]) for r in table.rejects.to_dict("records")]
    assert got == [
        ("solver.sublattice_occupancies[0][0]", "site fractions: sum to 0.8, not 1 (1 value(s) not loaded)"),
        (
            "solver.sublattice_occupancies[2][0]",
            "site fractions: not numbers in [0, 1] (1 value(s) not loaded)",
        ),
    ]
    assert set(table.rejects["file"]) == {str(path)}
    assert table.rows["hmix_kJ_per_mol"].tolist() == [-2.0]


def test_estimated_dataset_is_kept_out_and_logged(tmp_path, caplog):
    put(tmp_path, "est.json", dataset(("TI", "V"), [(0.5, 0.5)], [[[0]]], reference="estimated"))
    put(tmp_path, "tag.json", dataset(("CR", "V"), [(0.5, 0.5)], [[[-5000]]], tags=["Estimated"]))
    with caplog.at_level(logging.WARNING, logger="hmixal.espei"):
        table, _ = read_espei_folder(tmp_path)
    assert table.rows["status"].tolist() == ["estimated", "estimated"]
    assert table.rows["hmix_kJ_per_mol"].isna().all()
    assert "est.json: estimated dataset: 1 point(s) kept out" in caplog.text
    assert len(merge_dataset([table]).dataset) == 0


def test_other_outputs_and_phases_are_skipped_and_listed(tmp_path, caplog):
    put(tmp_path, "zpf.json", {"output": "ZPF", "phases": ["LIQUID", "FCC_A1"], "components": ["AL", "NI"]})
    put(tmp_path, "fcc.json", {**dataset(("AL", "NI"), [(0.5, 0.5)], [[[-1]]]), "phases": ["FCC_A1"]})
    put(tmp_path, "sub/ok.json", dataset(("AL", "NI"), [(0.5, 0.5)], [[[-1000]]]))
    put(tmp_path, "ternary.json", dataset(("AL", "CU", "NI"), [(0.2, 0.3, 0.5)], [[[-1000]]]))
    with caplog.at_level(logging.INFO, logger="hmixal.espei"):
        table, skipped = read_espei_folder(tmp_path)
    assert [(Path(s.file).name, s.reason) for s in skipped] == [
        ("fcc.json", "phases ['FCC_A1'], not LIQUID"),
        ("ternary.json", "3 components besides VA (AL-CU-NI), not 2"),
        ("zpf.json", "output ZPF, not HM_MIX"),
    ]
    assert "skipped" in caplog.text and len(table.rows) == 1
    assert table.rows["source"].tolist() == ["sub/ok.json"]  # relative to the folder: machine-independent


def test_empty_folder_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no ESPEI JSON files"):
        read_espei_folder(tmp_path)


def test_bibtex_reading_and_citation_format(tmp_path):
    bib = tmp_path / "refs.bib"
    bib.write_text(
        '@article{a2000x,\nauthor = {M{\\"{u}}ller, A. and Smith, B. and Doe, C.},\n'
        'title = {{Heat of mixing in Al--Ni}},\njournal = "J. Test",\nvolume = 12,\npages = {1--9},\n'
        "year = {2000},\ndoi = {10.1/x}\n}\n@book{b1990,\nauthor = {Solo, H.},\nyear = {1990}}\n",
        encoding="utf-8",
    )
    entries = read_bibtex(bib)
    assert entries["a2000x"]["volume"] == "12" and entries["a2000x"]["journal"] == "J. Test"
    assert format_citation("a2000x", entries["a2000x"]) == (
        "Müller et al. (2000). Heat of mixing in Al–Ni. J. Test 12, 1–9. doi:10.1/x [a2000x]"
    )
    assert format_citation("b1990", entries["b1990"]) == "Solo (1990). [b1990]"
    assert delatex("R{\\\"{o}}sner and Ch\\'{e}") == "Rösner and Ché"
    put(tmp_path, "d.json", dataset(("AL", "NI"), [(0.5, 0.5)], [[[-1000]]], reference="a2000x"))
    table, _ = read_espei_folder(tmp_path, bibtex=bib)
    assert table.rows["reference"].iloc[0].startswith("Müller et al. (2000)")


def test_read_calorimetry_script(tmp_path, run_script):
    folder = tmp_path / "espei"
    put(folder, "ok.json", dataset(("AL", "NI"), [(0.5, 0.5), (0.6, 0.4)], [[[-1000, "x"]]]))
    put(folder, "est.json", dataset(("TI", "V"), [(0.5, 0.5)], [[[0]]], reference="estimated"))
    spec = {
        "input": {},
        "output": {"table": str(tmp_path / "out" / "cal.csv"), "rejects": str(tmp_path / "out" / "rej.csv")},
        "params": {"folder": str(folder)},
        "log": str(tmp_path / "cal.log"),
    }
    done: subprocess.CompletedProcess = run_script("read_calorimetry.py", spec)
    log = (tmp_path / "cal.log").read_text()
    assert done.returncode == 0, done.stderr + log
    rows = pd.read_csv(tmp_path / "out" / "cal.csv", keep_default_na=False)
    assert list(rows.columns) == list(TABLE_COLUMNS)
    assert rows["status"].tolist() == ["estimated", "value"]
    rejects = pd.read_csv(tmp_path / "out" / "rej.csv")
    assert rejects["location"].tolist() == ["values[0][0][1]"]
    assert "estimated dataset" in log and "3 point(s) read" in log and "1 rejected" in log
