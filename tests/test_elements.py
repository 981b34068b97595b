"""Tests of the element property table: the committed table, the SGTE derivation and bad input."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pycalphad import Database

from hmixal.elements import (
    COLUMNS,
    ELEMENTS,
    MAGPIE_FILES,
    MAGPIE_PROPERTIES,
    PROPERTIES,
    SGTE_PROPERTIES,
    UNITS,
    build_element_table,
    default_table_path,
    element_index,
    load_element_table,
    load_sgte,
    property_matrix,
    read_magpie_properties,
    sgte_melting_point,
)
from hmixal.errors import InputError, MissingArtifactError

# SGTE unary 5.0 (Dinsdale 1991; docs/elements.md): Hfus at the SGTE melting point, kJ/mol.
CHECKED_HFUS = {"Al": 10.711, "Cu": 13.263, "W": 52.314, "Ir": 41.124}
# Seed §2.1: ΔH_fus(C) = 117.3 kJ/mol "taken from the SGTE database" (Dinsdale 1991).
PAPER_HFUS_C = 117.3
# Elements that melt from BCC, not their reference phase, in SGTE 5.0 (docs/elements.md).
MELT_FROM_BCC = "Ti Zr Hf Mn Ca Sr Be Th U Pu La Ce Pr Nd Sm Gd Tb Dy Yb Y Sc Tl".split()

# A synthetic one-element database with closed-form answers. G_fcc has H(298.15 K) = 0 (the SER phase);
# BCC = FCC + 2000 - 2T overtakes FCC above 1000 K; liquid = FCC + 10000 - 10T + 0.001T^2.
# Liquid vs FCC: 0.001T^2 - 10T + 10000 = 0 at T = 1127.0167 K; liquid vs BCC: 0.001T^2 - 8T + 8000 = 0
# at T = 1171.5729 K, which is the melting point because BCC is then the most stable solid.
TOY_TDB = """\
ELEMENT VA   VACUUM   0.0 0.0 0.0 !
ELEMENT AL   FCC_A1   26.98 0.0 0.0 !
TYPE_DEFINITION % SEQ * !
PHASE LIQUID % 1 1 !
CONSTITUENT LIQUID : AL : !
PHASE FCC_A1 % 1 1 !
CONSTITUENT FCC_A1 : AL : !
PHASE BCC_A2 % 2 1 3 !
CONSTITUENT BCC_A2 : AL : VA : !
PARAMETER G(FCC_A1,AL;0) 200 -7453.75+100*T-25*T*LN(T); 6000 N !
PARAMETER G(BCC_A2,AL:VA;0) 200 -5453.75+98*T-25*T*LN(T); 6000 N !
PARAMETER G(LIQUID,AL;0) 200 2546.25+90*T-25*T*LN(T)+0.001*T**2; 6000 N !
"""
TM_BCC = (8 - math.sqrt(32)) / 0.002
TM_FCC = (10 - math.sqrt(60)) / 0.002


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    """The committed element table."""
    return load_element_table()


@pytest.fixture
def toy_tdb(tmp_path: Path) -> Path:
    """The synthetic database written to a file."""
    path = tmp_path / "toy.tdb"
    path.write_text(TOY_TDB, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def sgte_db(refdata_dir: Path) -> Database:
    """The real SGTE unary 5.0 database."""
    return load_sgte(refdata_dir / "sgte_unary" / "unary50.tdb")


# ---- the committed table ----------------------------------------------------------------------------


def test_committed_table_is_complete(table: pd.DataFrame) -> None:
    assert list(table.index) == list(ELEMENTS)
    assert len(table) == 70
    assert [c for c in COLUMNS if c != "symbol"] == list(table.columns)
    values = table[list(PROPERTIES)].to_numpy(dtype=float)
    assert values.shape == (70, 22)
    assert np.isfinite(values).all()
    assert set(UNITS) >= set(PROPERTIES)
    assert (table["source_sgte"].str.contains("Dinsdale, CALPHAD 15 \\(1991\\) 317")).all()
    assert (table["source_magpie"].str.contains("magpie_elementdata")).all()
    assert table.loc["Fe", "Z"] == 26 and table.loc["Pu", "Z"] == 94


def test_committed_table_checked_values(table: pd.DataFrame) -> None:
    for symbol, hfus in CHECKED_HFUS.items():
        assert table.loc[symbol, "Hfus"] == pytest.approx(hfus, abs=5e-4), symbol
    assert table.loc["C", "Hfus"] == pytest.approx(PAPER_HFUS_C, abs=0.1)
    assert table.loc["C", "Tm_sgte_K"] == pytest.approx(4765, abs=1)
    # Magpie spot values (matminer 0.10.1 tables).
    assert table.loc["Fe", "MeltT"] == 1811
    assert table.loc["W", "Density"] == 19250
    assert table.loc["Cu", "Column"] == 11


def test_committed_table_is_consistent(table: pd.DataFrame) -> None:
    tm = table["Tm_sgte_K"]
    # At Tm the two Gibbs energies are equal, so Sfus = Hfus / Tm.
    np.testing.assert_allclose(table["Sfus"], 1000 * table["Hfus"] / tm, rtol=1e-6)
    np.testing.assert_allclose(table["Hfus"], table["Hliq"] - table["Hsol"], atol=1e-8)
    np.testing.assert_allclose(table["Cpfus"], table["Cpliq"] - table["Cpsol"], atol=1e-8)
    assert (table["Hfus"] > 0).all() and (table["Sfus"] > 0).all()
    # Magpie's MeltT agrees with SGTE within 6 K except for C (graphite), Er and Ir.
    far = set(table.index[(table["MeltT"] - tm).abs() > 6])
    assert far == {"C", "Er", "Ir"}
    assert all(f"Magpie MeltT {table.loc[s, 'MeltT']:g} K" in table.loc[s, "notes"] for s in far)


def test_committed_table_documents_choices(table: pd.DataFrame) -> None:
    for symbol in MELT_FROM_BCC:
        assert table.loc[symbol, "solid_phase_at_Tm"] == "BCC_A2", symbol
        assert "melts from BCC_A2" in table.loc[symbol, "notes"], symbol
    assert table.loc["Co", "solid_phase_at_Tm"] == "FCC_A1" and table.loc["Co", "sgte_reference_phase"] == "HCP_A3"
    nonreference = table["solid_phase_at_Tm"] != table["sgte_reference_phase"]
    assert set(table.index[nonreference]) == {*MELT_FROM_BCC, "Co", "Hg"}
    assert table.loc["P", "solid_phase_at_Tm"] == "WHITE_P"
    assert table.loc["P", "Tm_sgte_K"] == pytest.approx(317.3, abs=0.01)
    assert "RED_P would melt at 852" in table.loc["P", "notes"]
    assert table.loc["Hg", "sgte_reference_phase"] == "LIQUID"
    assert table.loc["Hg", "Hliq"] < 0 and table.loc["Hg", "Hsol"] < 0
    assert "HCP_A3 skipped" in table.loc["Hg", "notes"]
    assert table.loc["Zn", "solid_phase_at_Tm"] == "HCP_ZN"
    assert "ELEMENT line names HCP_A3" in table.loc["Zn", "notes"]
    assert table.loc["Fe", "notes"] == ""


def test_property_matrix_and_index(table: pd.DataFrame) -> None:
    matrix = property_matrix(table)
    index = element_index()
    assert matrix.shape == (70, 22) and matrix.dtype == float
    assert index["Li"] == 0 and index["Pu"] == 69 and len(index) == 70
    assert matrix[index["W"], PROPERTIES.index("Hfus")] == table.loc["W", "Hfus"]
    sub = property_matrix(table, elements=("Cu", "Al"), properties=("Hfus", "MeltT"))
    np.testing.assert_array_equal(sub, table.loc[["Cu", "Al"], ["Hfus", "MeltT"]].to_numpy())
    with pytest.raises(InputError, match="lacks element"):
        property_matrix(table.drop(index="W"))
    with pytest.raises(InputError, match="lacks propert"):
        property_matrix(table.drop(columns="Hfus"))


# ---- bad tables ----------------------------------------------------------------------------------------


def _corrupt(tmp_path: Path, edit: Callable[[pd.DataFrame], pd.DataFrame]) -> Path:
    raw = pd.read_csv(default_table_path(), dtype=str, keep_default_na=False)
    path = tmp_path / "elements.csv"
    edit(raw).to_csv(path, index=False)
    return path


def test_corrupted_table_missing_column(tmp_path: Path) -> None:
    path = _corrupt(tmp_path, lambda t: t.drop(columns="Sfus"))
    with pytest.raises(InputError, match=r"elements\.csv:1: missing column\(s\): Sfus"):
        load_element_table(path)


def test_corrupted_table_non_numeric_value(tmp_path: Path) -> None:
    def edit(t: pd.DataFrame) -> pd.DataFrame:
        t.loc[t["symbol"] == "Cu", "Density"] = "heavy"
        return t

    line = ELEMENTS.index("Cu") + 2
    with pytest.raises(InputError, match=rf"elements\.csv:{line}: column Density: 'heavy' is not a finite"):
        load_element_table(_corrupt(tmp_path, edit))


def test_corrupted_table_empty_and_infinite_values(tmp_path: Path) -> None:
    def empty(t: pd.DataFrame) -> pd.DataFrame:
        t.loc[t["symbol"] == "Li", "Hfus"] = ""
        return t

    with pytest.raises(InputError, match=r"elements\.csv:2: column Hfus"):
        load_element_table(_corrupt(tmp_path, empty))

    def infinite(t: pd.DataFrame) -> pd.DataFrame:
        t.loc[t["symbol"] == "Be", "Cpliq"] = "inf"
        return t

    with pytest.raises(InputError, match=r"elements\.csv:3: column Cpliq: 'inf'"):
        load_element_table(_corrupt(tmp_path, infinite))


def test_corrupted_table_fractional_z(tmp_path: Path) -> None:
    def edit(t: pd.DataFrame) -> pd.DataFrame:
        t.loc[t["symbol"] == "Be", "Z"] = "4.5"
        return t

    with pytest.raises(InputError, match=r"elements\.csv:3: column Z: '4.5' is not an integer"):
        load_element_table(_corrupt(tmp_path, edit))


def test_corrupted_table_rows(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="missing element\\(s\\): W"):
        load_element_table(_corrupt(tmp_path, lambda t: t[t["symbol"] != "W"]))
    with pytest.raises(InputError, match="element Li appears twice"):
        load_element_table(_corrupt(tmp_path, lambda t: pd.concat([t, t.iloc[:1]])))

    def unknown(t: pd.DataFrame) -> pd.DataFrame:
        t.loc[t["symbol"] == "Li", "symbol"] = "Xx"
        return t

    with pytest.raises(InputError, match=r"elements\.csv:2: unknown element symbol 'Xx'"):
        load_element_table(_corrupt(tmp_path, unknown))


def test_missing_table_file(tmp_path: Path) -> None:
    with pytest.raises(MissingArtifactError, match="write_element_table"):
        load_element_table(tmp_path / "absent.csv")


# ---- Magpie reading ------------------------------------------------------------------------------------


def test_magpie_values_and_missing_value(tmp_path: Path) -> None:
    real = read_magpie_properties(("Al", "Hg"))
    assert real.loc["Al", "MeltT"] == 933.47 and real.loc["Hg", "MeltT"] == 234.32
    assert list(real.columns) == list(MAGPIE_PROPERTIES)
    # A copy of the tables for Z = 1..13 where Al's ionization energy is "Missing".
    for prop in MAGPIE_PROPERTIES:
        lines = ["1.0"] * 13
        if prop == "FirstIonizationEnergy":
            lines[12] = "Missing"
        (tmp_path / f"{MAGPIE_FILES[prop]}.table").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"FirstIonizationEnergy\.table:13: FirstIonizationEnergy of Al"):
        read_magpie_properties(("Al",), tmp_path)
    (tmp_path / "FirstIonizationEnergy.table").write_text("1.0\n" * 13)
    (tmp_path / "Density.table").unlink()
    with pytest.raises(InputError, match="Magpie table for Density not found"):
        read_magpie_properties(("Al",), tmp_path)


# ---- the SGTE derivation on a synthetic database ----------------------------------------------------


def test_melting_point_uses_the_most_stable_solid(toy_tdb: Path) -> None:
    melt = sgte_melting_point(load_sgte(toy_tdb), "Al")
    t = TM_BCC
    assert melt.Tm_K == pytest.approx(t, abs=1e-6)
    assert melt.solid_phase == "BCC_A2" and melt.reference_phase == "FCC_A1"
    assert melt.notes == ("melts from BCC_A2, not from the reference phase FCC_A1",)
    p = melt.properties
    assert p["Hsol"] == pytest.approx((-5453.75 + 25 * t) / 1000, abs=1e-9)
    assert p["Hliq"] == pytest.approx((2546.25 + 25 * t - 0.001 * t**2) / 1000, abs=1e-9)
    assert p["Hfus"] == pytest.approx((8000 - 0.001 * t**2) / 1000, abs=1e-9)
    assert p["Sfus"] == pytest.approx(8 - 0.002 * t, abs=1e-8)
    assert p["Ssol"] == pytest.approx(-98 + 25 * math.log(t) + 25, abs=1e-8)
    assert p["Cpsol"] == pytest.approx(25, abs=1e-8)
    assert p["Cpliq"] == pytest.approx(25 - 0.002 * t, abs=1e-8)
    assert p["Cpfus"] == pytest.approx(-0.002 * t, abs=1e-8)
    assert set(p) == set(SGTE_PROPERTIES)


def test_melting_point_with_a_chosen_solid(toy_tdb: Path) -> None:
    melt = sgte_melting_point(load_sgte(toy_tdb), "Al", solid_phase="FCC_A1")
    assert melt.Tm_K == pytest.approx(TM_FCC, abs=1e-6)
    assert melt.solid_phase == "FCC_A1"
    assert melt.properties["Hfus"] == pytest.approx((10000 - 0.001 * TM_FCC**2) / 1000, abs=1e-9)
    assert any("BCC_A2 would melt at 1171.57 K" in note for note in melt.notes)
    with pytest.raises(InputError, match="chosen solid phase HCP_A3 is not in the database"):
        sgte_melting_point(load_sgte(toy_tdb), "Al", solid_phase="HCP_A3")


def test_mixed_sublattice_solid_is_skipped_and_noted(tmp_path: Path) -> None:
    # An HCP_A3 whose only sublattice mixes Al and vacancies is not a pure end member: skipped, with a note.
    path = tmp_path / "mixed.tdb"
    extra = (
        "PHASE HCP_A3 % 1 1 !\nCONSTITUENT HCP_A3 : AL,VA : !\n"
        "PARAMETER G(HCP_A3,AL;0) 200 -99999; 6000 N !\n"  # would be the most stable solid if it were used
    )
    path.write_text(TOY_TDB + extra, encoding="utf-8")
    melt = sgte_melting_point(load_sgte(path), "Al")
    assert melt.Tm_K == pytest.approx(TM_BCC, abs=1e-6)
    assert "solid HCP_A3 skipped: HCP_A3 of AL is not a single-species end member" in melt.notes


def test_tdb_missing_an_element(toy_tdb: Path) -> None:
    with pytest.raises(InputError, match=r"toy\.tdb: Cu: no LIQUID Gibbs energy"):
        build_element_table(toy_tdb, elements=("Al", "Cu"))


def test_tdb_without_a_melting_point(tmp_path: Path) -> None:
    # The liquid never becomes stable below 6000 K.
    path = tmp_path / "never.tdb"
    path.write_text(TOY_TDB.replace("2546.25+90*T", "92546.25+100*T"), encoding="utf-8")
    with pytest.raises(InputError, match=r"never\.tdb: Al: no melting point between 200.0 and 6000.0 K"):
        sgte_melting_point(load_sgte(path), "Al", tdb=path)


def test_unreadable_or_absent_tdb(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="SGTE database not found"):
        load_sgte(tmp_path / "absent.tdb")
    bad = tmp_path / "bad.tdb"
    bad.write_text("PARAMETER G(LIQUID,AL;0) 200 +*; 6000 N !\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.tdb: pycalphad cannot read the database"):
        load_sgte(bad)


def test_toy_table_row(toy_tdb: Path) -> None:
    row = build_element_table(toy_tdb, elements=("Al",)).iloc[0]
    assert list(row.index) == list(COLUMNS)
    assert row["symbol"] == "Al" and row["Z"] == 13 and row["MeltT"] == 933.47
    assert row["Tm_sgte_K"] == pytest.approx(TM_BCC, abs=1e-6)
    assert "Magpie MeltT 933.47 K vs SGTE Tm 1171.6 K" in row["notes"]
    assert row["source_sgte"].startswith("toy.tdb sha256:")


# ---- the real SGTE database --------------------------------------------------------------------------


@pytest.mark.refdata
def test_checked_hfus_from_sgte(sgte_db: Database) -> None:
    for symbol, hfus in CHECKED_HFUS.items():
        assert sgte_melting_point(sgte_db, symbol).properties["Hfus"] == pytest.approx(hfus, abs=5e-4)
    carbon = sgte_melting_point(sgte_db, "C")
    assert carbon.properties["Hfus"] == pytest.approx(PAPER_HFUS_C, abs=0.1)
    assert carbon.solid_phase == "GRAPHITE"
    titanium = sgte_melting_point(sgte_db, "Ti")
    assert titanium.solid_phase == "BCC_A2" and titanium.reference_phase == "HCP_A3"
    assert titanium.Tm_K == pytest.approx(1941, abs=0.1)


@pytest.mark.refdata
@pytest.mark.slow
def test_regenerated_table_equals_committed(refdata_dir: Path) -> None:
    fresh = build_element_table(refdata_dir / "sgte_unary" / "unary50.tdb").set_index("symbol")
    committed = load_element_table()
    numeric = ["Z", *PROPERTIES, "Tm_sgte_K"]
    np.testing.assert_allclose(
        fresh[numeric].to_numpy(dtype=float), committed[numeric].to_numpy(dtype=float), rtol=1e-9, atol=1e-9
    )
    text = ["solid_phase_at_Tm", "sgte_reference_phase", "notes", "source_magpie", "source_sgte"]
    pd.testing.assert_frame_equal(fresh[text], committed[text], check_dtype=False)
