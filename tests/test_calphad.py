"""Tests of the CALPHAD source: tolerant TDB reader, ΔH_mix curves, consensus rule, derived tables."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize_scalar

from hmixal.calphad.consensus import Candidate, choose_candidate, is_low_confidence, source_rank
from hmixal.calphad.curves import hmix_curve, hmix_excess, liquid_temperature
from hmixal.calphad.loading import liquid_binaries, load_liquid_database
from hmixal.calphad.scan import REPORT_COLUMNS, binary_reference, plain_load_check, scan_file
from hmixal.calphad.table import CANDIDATE_COLUMNS, CHOSEN_COLUMNS, derive_calphad_table
from hmixal.calphad.tdb import (
    canonical_keyword,
    expression_names,
    expression_problem,
    filter_liquid_tdb,
    fix_fortran_exponents,
    normalize_ranges,
    parse_references,
    split_commands,
)
from hmixal.elements import ELEMENTS, load_element_table
from hmixal.errors import InputError
from hmixal.resources import element_table_path

X = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
R = 8.3145  # J/mol/K, the gas constant pycalphad uses

HEADER = """\
$ hand-written test database, Al-Cu liquid: 0L = -40000 + 5*T, 1L = +10000
ELEMENT VA VACUUM 0 0 0 !
ELEMENT AL FCC_A1 26.98 4577.3 28.32 !
ELEMENT CU FCC_A1 63.55 5004.1 33.15 !
ELEMENT ZN HCP_ZN 65.38 5657.0 41.63 !
FUNCTION GLAL 298.15 +11000-11.8*T; 6000 N !
FUNCTION GLCU 298.15 +13000-9.5*T; 6000 N !
"""
LIQUID = """\
PHASE LIQUID:L % 1 1.0 !
CONSTITUENT LIQUID:L :AL,CU: !
PARAMETER G(LIQUID,AL;0) 298.15 +GLAL#; 6000 N !
PARAMETER G(LIQUID,CU;0) 298.15 +GLCU#; 6000 N !
PARAMETER L(LIQUID,AL,CU;0) 298.15 -40000+5*T; 6000 N !
PARAMETER L(LIQUID,AL,CU;1) 298.15 +10000; 6000 N !
"""


def expected_alcu(x_cu: np.ndarray) -> np.ndarray:
    """ΔH_mix (kJ/mol) of the hand-written Al–Cu liquid: x_Al x_Cu [−40000 + 10000 (x_Al − x_Cu)]."""
    x_al = 1.0 - x_cu
    return x_al * x_cu * (-40000.0 + 10000.0 * (x_al - x_cu)) / 1000.0


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    """Write a test file and return its path."""
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def curve(path: Path, a: str = "Al", b: str = "Cu", temperature: float = 1400.0) -> np.ndarray:
    """ΔH_mix of a binary from a test file."""
    return hmix_curve(load_liquid_database(path), a, b, X, temperature)


# ----------------------------------------------------------------------------------------- reader pieces


def test_keyword_abbreviations() -> None:
    assert canonical_keyword("PARA") == "PARAMETER"
    assert canonical_keyword("const") == "CONSTITUENT"
    assert canonical_keyword("TYPE_DEF") == "TYPE_DEFINITION"
    assert canonical_keyword("LIST-OF-REFERENCE") == "LIST_OF_REFERENCES"
    assert canonical_keyword("L-A") is None
    assert canonical_keyword("PA") is None  # too short to be a keyword


def test_fortran_exponent_and_names() -> None:
    assert fix_fortran_exponents("1.0D-5*P+2D3") == "1.0E-5*P+2E3"
    assert fix_fortran_exponents("GHSERND#+1") == "GHSERND#+1"  # a D inside a name is not an exponent
    assert expression_names("+VX40#+VX41#*T-R*T*LN(T)+1.2E+03*EXP(T)") == {"VX40", "VX41"}


def test_normalize_ranges_variants() -> None:
    assert normalize_ranges("298.15 -1000+2*T; 6000 N REF: 91Din", "x") == ("298.15 -1000+2*T; 6000 N", "91DIN")
    assert normalize_ranges(",, -69245-35*T;,, N 12KHV1", "x") == ("298.15 -69245-35*T; 6000 N", "12KHV1")
    glued = normalize_ranges("100.00-7258.5+122.8*T;250.00 Y -5855.1+65.4*T;3000.00 N!", "x")[0]
    assert glued == "100 -7258.5+122.8*T; 250 Y -5855.1+65.4*T; 3000 N"
    assert normalize_ranges("298.15 +4400; 3000 91DIN", "x") == ("298.15 +4400; 3000 N", "91DIN")
    assert normalize_ranges("298.15 +1; 6000 N REF5", "x")[1] == "REF5"
    assert normalize_ranges("298.15 +1; 6000 N REF 5", "x")[1] == "5"
    assert normalize_ranges("298.15 +1; 6000 N REF:0", "x")[1] == "0"
    assert normalize_ranges("298.15 1.0D-5*P; 2000 N", "x")[0] == "298.15 1.0E-5*P; 2000 N"
    with pytest.raises(ValueError, match="no ';'"):
        normalize_ranges("298.15 -1000", "where")
    with pytest.raises(ValueError, match="lower temperature limit"):
        normalize_ranges("GHSERAL#; 6000 N", "where")


def test_comment_cut_before_splitting_on_bang() -> None:
    text = "ELEMENT AL FCC_A1 1 2 3 ! $ a comment ! that continues\nELEMENT CU FCC_A1 1 2 3 !\n"
    commands, notes = split_commands(text)
    assert [c.keyword for c in commands] == ["ELEMENT", "ELEMENT"]
    assert commands[1].line == 2
    assert notes == []


# -------------------------------------------------------------------------------------------- pitfalls


def test_plain_database_matches_the_redlich_kister_formula(tmp_path: Path) -> None:
    path = write(tmp_path, "alcu.tdb", HEADER + LIQUID)
    ldb = load_liquid_database(path)
    assert liquid_binaries(ldb) == [("Al", "Cu")]
    values = hmix_curve(ldb, "Al", "Cu", X, 1400.0)
    np.testing.assert_allclose(values, expected_alcu(X), atol=1e-9)
    excess, outside = hmix_excess(ldb, "Al", "Cu", X, 1400.0)
    np.testing.assert_allclose(excess, values, atol=1e-9)
    assert not outside
    # Asking for the elements the other way round gives the mirrored curve.
    np.testing.assert_allclose(hmix_curve(ldb, "Cu", "Al", X, 1400.0), values[::-1], atol=1e-9)


def test_fortran_d_exponent(tmp_path: Path) -> None:
    text = HEADER + LIQUID.replace("-40000+5*T", "-4.0D+04+5.0D0*T")
    np.testing.assert_allclose(curve(write(tmp_path, "d.tdb", text)), expected_alcu(X), atol=1e-9)


def test_comment_with_bang_does_not_swallow_the_next_command(tmp_path: Path) -> None:
    # Splitting on "!" before cutting comments would glue "with several words" (and, on the second line, the
    # rest of the comment) to the next command and lose it; here both interaction parameters must survive.
    liquid = """\
PHASE LIQUID:L % 1 1.0 !
CONSTITUENT LIQUID:L :AL,CU: !
PARAMETER G(LIQUID,AL;0) 298.15 +GLAL#; 6000 N !
PARAMETER G(LIQUID,CU;0) 298.15 +GLCU#; 6000 N !
$ Al-Cu liquid! with several words
PARAMETER L(LIQUID,AL,CU;0) 298.15 -40000+5*T; 6000 N ! $ see below! then more
PARAMETER L(LIQUID,AL,CU;1) 298.15 +10000; 6000 N !
"""
    np.testing.assert_allclose(curve(write(tmp_path, "c.tdb", HEADER + liquid)), expected_alcu(X), atol=1e-9)


def test_reference_tails_after_final_n(tmp_path: Path) -> None:
    liquid = (
        LIQUID.replace("-40000+5*T; 6000 N !", "-40000+5*T;,,N REF: 91Din !")
        .replace("+10000; 6000 N !", "+10000; 6000.00  N\nREF:0 !")
        .replace("+GLAL#; 6000 N !", "+GLAL#; 6000 N 95DUP3 !")
    )
    np.testing.assert_allclose(curve(write(tmp_path, "r.tdb", HEADER + liquid)), expected_alcu(X), atol=1e-9)


def test_duplicated_function_keeps_the_first_definition(tmp_path: Path) -> None:
    header = HEADER + "FUNCTION LAC0 298.15 -40000+5*T; 6000 N !\nFUNCTION LAC0 298.15 +99999; 6000 N !\n"
    liquid = LIQUID.replace("-40000+5*T; 6000 N", "+LAC0#; 6000 N")
    path = write(tmp_path, "dup.tdb", header + liquid)
    ldb = load_liquid_database(path)
    assert any("FUNCTION LAC0 defined more than once" in n and "kept the first" in n for n in ldb.notes)
    np.testing.assert_allclose(hmix_curve(ldb, "Al", "Cu", X, 1400.0), expected_alcu(X), atol=1e-9)


def test_several_liquid_blocks_are_merged(tmp_path: Path) -> None:
    second = """\
PHASE LIQUID % 1 1.0 !
CONSTITUENT LIQUID :AL,ZN: !
PARAMETER G(LIQUID,ZN;0) 298.15 +7000-10*T; 6000 N !
PARAMETER L(LIQUID,AL,ZN;0) 298.15 +10000; 6000 N !
"""
    ldb = load_liquid_database(write(tmp_path, "two.tdb", HEADER + LIQUID + second))
    assert liquid_binaries(ldb) == [("Al", "Cu"), ("Al", "Zn")]
    assert any("several PHASE LIQUID blocks" in n for n in ldb.notes)
    np.testing.assert_allclose(hmix_curve(ldb, "Al", "Zn", X, 1000.0), X * (1 - X) * 10.0, atol=1e-9)


def test_vacancy_second_sublattice(tmp_path: Path) -> None:
    liquid = (
        LIQUID.replace("% 1 1.0", "% 2 1 1.0")
        .replace(":AL,CU:", ":AL,CU:VA:")
        .replace("(LIQUID,AL;0)", "(LIQUID,AL:VA;0)")
        .replace("(LIQUID,CU;0)", "(LIQUID,CU:VA;0)")
        .replace("(LIQUID,AL,CU;", "(LIQUID,AL,CU:VA;")
    )
    ldb = load_liquid_database(write(tmp_path, "va.tdb", HEADER + liquid))
    assert ldb.db.phases["LIQUID"].sublattices == (1.0, 1.0)
    np.testing.assert_allclose(hmix_curve(ldb, "Al", "Cu", X, 1400.0), expected_alcu(X), atol=1e-9)
    np.testing.assert_allclose(hmix_excess(ldb, "Al", "Cu", X, 1400.0)[0], expected_alcu(X), atol=1e-9)


def test_stray_text_latin1_and_matcalc_commands(tmp_path: Path) -> None:
    text = (
        "$ Povoden-Karadeniz \xa9 2021, caf\xe9\n"
        "REFERENCE_ELEMENT AL !\nATTACH_CONTRIBUTION GP_MAT FCC_A1 ORDER_DISORDER !\n"
        + HEADER
        + "DEFAULT_COMMAND DEF_SYS_ELEMENT VA /- !l-a\n\n"
        + LIQUID.replace("PHASE LIQUID:L % 1 1.0 !", "PHASE LIQUID % 1  1.0 > \nRandom substitutional model. \n>> 6 !")
        + "PARAMETER HMVA(FCC_A1,AL:VA;0) 273 +0; 6000 N !\nPARAMETER TC(LIQUID,AL;0) 298.15 +10; 6000 N !\n"
    )
    path = write(tmp_path, "mc.tdb", text.encode("latin-1"))
    ldb = load_liquid_database(path)
    assert any("stray text 'l-a' before PHASE" in n for n in ldb.notes)
    assert any("dropped non-energy liquid parameters: TC×1" in n for n in ldb.notes)
    np.testing.assert_allclose(hmix_curve(ldb, "Al", "Cu", X, 1400.0), expected_alcu(X), atol=1e-9)


def test_parameter_calling_an_undefined_function_skips_that_binary(tmp_path: Path) -> None:
    second = (
        "PARAMETER L(LIQUID,AL,ZN;0) 298.15 +VX45#*T+1000; 6000 N !\nPARAMETER G(LIQUID,ZN;0) 298.15 +1; 6000 N !\n"
    )
    liquid = LIQUID.replace(":AL,CU:", ":AL,CU,ZN:") + second
    path = write(tmp_path, "undef.tdb", HEADER + liquid)
    liquid_tdb = filter_liquid_tdb(path.read_text(), path)
    assert "VX45" in liquid_tdb.unresolved[frozenset({"AL", "ZN"})]
    ldb = load_liquid_database(path)
    assert liquid_binaries(ldb) == [("Al", "Cu")]  # the dropped parameter no longer defines Al–Zn
    result = scan_file(path, tmp_path, {"Al": 933.47, "Cu": 1357.77, "Zn": 692.68}, X, 50, 2000, ELEMENTS, (), False)
    assert list(result.curves) == [("Al", "Cu")]


def test_unreadable_function_is_named_in_the_skip_reason(tmp_path: Path) -> None:
    header = HEADER + "FUNCTION LAC1 298.15 +10000 6000 N !\n"
    path = write(tmp_path, "badfun.tdb", header + LIQUID.replace("+10000; 6000 N", "+LAC1#; 6000 N"))
    reason = load_liquid_database(path).unresolved[frozenset({"AL", "CU"})]
    assert "calls undefined function(s) LAC1" in reason and "FUNCTION LAC1: no ';'" in reason


def test_references_from_reference_lists(tmp_path: Path) -> None:
    listed = LIQUID.replace("-40000+5*T; 6000 N !", "-40000+5*T; 6000 N REF7 !") + (
        "LIST_OF_REFERENCES\nNUMBER SOURCE\n  REF7 'A. Author, B. Author,\n   J. Test 1 (2000) 2; Al-Cu'\n"
        "  REF8 'Unused'\n!\n"
    )
    path = write(tmp_path, "db/listed.tdb", HEADER + listed)
    ldb = load_liquid_database(path)
    assert ldb.references["REF7"] == "A. Author, B. Author, J. Test 1 (2000) 2; Al-Cu"
    assert binary_reference(ldb, "db/listed.tdb", "Al", "Cu") == (
        "A. Author, B. Author, J. Test 1 (2000) 2; Al-Cu (in: db/listed.tdb)"
    )
    matcalc = "PHASE LIQUID % 1 1 !\nREF:21 !\n\nA00036-21   Al-Cu      J. Schuster,\n     A title, 1999.\n\n"
    refs, info = parse_references("DATABASE_INFO 'made for a test' !\n" + matcalc)
    assert refs == {"21": "Al-Cu: J. Schuster, A title, 1999."}
    assert info == "made for a test"


def test_pycalphad_alone_would_zero_an_undefined_function(tmp_path: Path) -> None:
    # Why the reader drops such parameters: pycalphad evaluates an undefined name as 0 without warning.
    from pycalphad import Database

    from hmixal.calphad.loading import LiquidDatabase

    text = HEADER + "TYPE_DEFINITION % SEQ * !\n" + LIQUID.replace("+10000; 6000 N", "+10000+VX45#; 6000 N")
    ldb = LiquidDatabase(path=tmp_path / "p.tdb", db=Database(text), phase="LIQUID", format="tdb")
    with pytest.raises(InputError, match="undefined function"):
        hmix_curve(ldb, "Al", "Cu", X, 1400.0)


def test_associate_liquid_matches_a_direct_minimisation(tmp_path: Path) -> None:
    # Ideal associate solution MG, SN, MG2SN with G(MG2SN) = 2 G(MG) + G(SN) − 60000 + 10 T.
    text = """\
ELEMENT VA VACUUM 0 0 0 !
ELEMENT MG HCP_A3 24.305 0 0 !
ELEMENT SN BCT_A5 118.71 0 0 !
SPECIES MG2SN MG2SN1 !
PHASE LIQUID % 1 1.0 !
CONSTITUENT LIQUID :MG,MG2SN,SN: !
PARAMETER G(LIQUID,MG;0) 298.15 +1000-10*T; 6000 N !
PARAMETER G(LIQUID,SN;0) 298.15 +2000-12*T; 6000 N !
PARAMETER G(LIQUID,MG2SN;0) 298.15 +2*1000-2*10*T+2000-12*T-60000+10*T; 6000 N !
"""
    ldb = load_liquid_database(write(tmp_path, "assoc.tdb", text))
    assert liquid_binaries(ldb) == [("Mg", "Sn")]
    temperature = 900.0
    values = hmix_curve(ldb, "Mg", "Sn", X, temperature)

    def reference(x_sn: float) -> float:
        """ΔH per mole of atoms from minimising G over the associate amount n (1 mol of atoms in total)."""

        def gibbs(n: float) -> float:
            mg, sn = 1 - x_sn - 2 * n, x_sn - n
            moles = np.array([mg, sn, n])
            y = moles / moles.sum()
            return float((-60000 + 10 * temperature) * n + R * temperature * moles.sum() * np.sum(y * np.log(y)))

        upper = min((1 - x_sn) / 2, x_sn)
        n = minimize_scalar(gibbs, bounds=(1e-12, upper - 1e-12), method="bounded", options={"xatol": 1e-12}).x
        return -60000 * n / 1000.0

    np.testing.assert_allclose(values, [reference(x) for x in X], atol=2e-3)


# -------------------------------------------------------------------------------------- bad input files


def test_file_without_liquid_phase(tmp_path: Path) -> None:
    path = write(tmp_path, "solid.tdb", HEADER + "PHASE FCC_A1 % 1 1 !\nCONSTITUENT FCC_A1 :AL,CU: !\n")
    with pytest.raises(InputError, match=r"solid\.tdb: no liquid phase"):
        load_liquid_database(path)
    row = scan_file(path, tmp_path, {}, X, 50, 2000, ELEMENTS, (), False).row
    assert row["status"] == "failed" and "no liquid phase" in str(row["error"])


def test_unreadable_and_missing_files(tmp_path: Path) -> None:
    garbage = write(tmp_path, "garbage.tdb", bytes(range(256)) * 4)
    with pytest.raises(InputError, match="no ELEMENT command"):
        load_liquid_database(garbage)
    with pytest.raises(InputError, match="cannot read file"):
        load_liquid_database(tmp_path / "absent.tdb")
    bad_dat = write(tmp_path, "broken.dat", "this is not a ChemSage file\n")
    with pytest.raises(InputError, match="ChemSage"):
        load_liquid_database(bad_dat)
    unreadable = write(tmp_path, "ranges.tdb", HEADER + LIQUID.replace("-40000+5*T; 6000 N", "-40000+5*T 6000 N"))
    with pytest.raises(InputError, match=r"ranges\.tdb:\d+: .*no ';'"):
        load_liquid_database(unreadable)
    bad_phase = write(tmp_path, "phase.tdb", HEADER + LIQUID.replace("% 1 1.0", "% 2 1.0"))
    with pytest.raises(InputError, match="declares 2 sublattices but 1 ratios"):
        load_liquid_database(bad_phase)
    row = scan_file(unreadable, tmp_path, {}, X, 50, 2000, ELEMENTS, (), False).row
    assert row["status"] == "failed" and row["error_line"] == 12  # the PARAMETER line of the file
    assert str(row["error"]).startswith("line 12: PARAMETER L(LIQUID,AL,CU;0): no ';'")


def test_expression_check_mirrors_pycalphad() -> None:
    assert expression_problem("-40000+5*T+GHSERAL#-3*T*LN(T)+1E-5*T**2+EXP(-T/100)") is None
    assert expression_problem("-40000+*5*T") == (
        "the expression '-40000+*5*T' is not valid arithmetic (invalid syntax at character 8)"
    )
    assert expression_problem("T if T else 0") is not None and "IfExp" in str(expression_problem("T if T else 0"))


# -------------------------------------------------------------------------------------- temperature rule


def test_temperature_rule() -> None:
    tm = {"Al": 933.47, "Cu": 1357.77, "W": 3695.0}
    assert liquid_temperature("Al", "Cu", tm) == pytest.approx(1407.77)
    assert liquid_temperature("Al", "W", tm) == 2000.0
    assert liquid_temperature("Al", "Cu", tm, t_offset=0, t_cap=5000) == pytest.approx(1357.77)
    with pytest.raises(InputError, match="no valid melting point for element 'Zn'"):
        liquid_temperature("Al", "Zn", tm)
    with pytest.raises(InputError, match="'Cu'"):
        liquid_temperature("Al", "Cu", {"Al": 933.47, "Cu": math.nan})


# --------------------------------------------------------------------------------------------- consensus


def cand(source: str, values: list[float] | np.ndarray, priority: int = 0, low: bool = False) -> Candidate:
    """A candidate curve on a three-point grid."""
    return Candidate(source=source, values=np.asarray(values, dtype=float), priority=priority, low_confidence=low)


def test_consensus_rejects_an_outlier() -> None:
    cands = [cand(f"f{i}", [-2.0 - 0.1 * i, -3.0 - 0.1 * i, -2.0]) for i in range(6)]
    cands.append(cand("outlier", [18.0, 21.0, 15.0], priority=-1))  # best priority, but far from the median
    result = choose_candidate(cands, disagreement_threshold=5.0)
    assert cands[result.chosen].source == "f2"  # the median curve itself
    assert result.reasons[6].startswith("not chosen") and "median of 7 sources" in result.reasons[6]
    assert result.flag == "sources disagree: spread 24.5 kJ/mol, 6/7 within 5 of the chosen"


def test_consensus_rejects_a_placeholder_zero() -> None:
    cands = [cand("zero", [0.0, 0.7, 0.1], priority=0), cand("real", [-20.0, -34.0, -20.0], priority=5)]
    result = choose_candidate(cands)
    assert result.chosen == 1
    assert result.reasons[0].startswith("placeholder")
    assert result.retained == [1]
    assert result.flag == ""
    # A near-zero curve is not a placeholder when every source is near zero.
    small = choose_candidate([cand("a", [0.3, 0.33, 0.3], 1), cand("b", [0.2, 0.25, 0.2], 0)])
    assert small.retained == [0, 1]


def test_consensus_two_disagreeing_sources_go_by_priority() -> None:
    cands = [cand("b_file", [-60.0, -62.0, -50.0], priority=6), cand("a_file", [-75.0, -77.5, -60.0], priority=4)]
    result = choose_candidate(cands, disagreement_threshold=5.0)
    assert result.chosen == 1
    assert "tie among 2 broken by folder priority" in result.reasons[1]
    assert "1/2 within 5" in result.flag and "chosen by folder priority" in result.flag
    # Equal priority: the path decides, so the result never depends on the order of the files.
    same = [cand("z", [1.0, 1.0, 1.0], 3), cand("y", [9.0, 9.0, 9.0], 3)]
    assert same[choose_candidate(same).chosen].source == "y"
    assert same[::-1][choose_candidate(same[::-1]).chosen].source == "y"


def test_consensus_low_confidence_and_single_candidates() -> None:
    cands = [cand("modified_x", [-5.0, -6.0, -5.0], priority=0, low=True), cand("ok", [-9.0, -10.0, -9.0], 9)]
    result = choose_candidate(cands)
    assert result.chosen == 1 and "set aside" in result.reasons[0]
    only = choose_candidate([cand("modified_x", [-5.0, -6.0, -5.0], low=True)])
    assert only.chosen == 0 and only.flag == "low-confidence source (modified or incomplete file)"
    with pytest.raises(ValueError, match="at least one"):
        choose_candidate([])


def test_low_confidence_and_rank() -> None:
    assert is_low_confidence("by_student_pycalphad_examples/test/Ag-Gd-Mg_incomplete_TDB_file/x.tdb")
    assert is_low_confidence("by_student_pycalphad_examples/Al-Mg-Zn/modified_almgzn_hay.tdb")
    assert not is_low_confidence("cost507/COST507.tdb")
    order = ("cost507/", "matcalc_opendb/")
    assert source_rank("cost507/COST507.tdb", order) < source_rank("matcalc_opendb/mc_fe.tdb", order)
    assert source_rank("other/x.tdb", order) == 2
    assert source_rank("cost507/modified_x.tdb", order) > source_rank("other/x.tdb", order)


# ------------------------------------------------------------------------------------ the derived tables


def make_refdata(root: Path) -> Path:
    """A small reference folder: two Al–Cu assessments, one outlier, a solid-only file, a text file."""
    write(root, "db1/alcu.tdb", HEADER + LIQUID)
    write(root, "db1/URL.txt", "https://doi.org/10.0000/example\n")
    write(root, "db2/AlCu_copy.TDB", HEADER + LIQUID.replace("-40000+5*T", "-40400"))
    write(root, "db3/outlier.tdb", HEADER + LIQUID.replace("-40000+5*T", "+80000"))
    write(root, "db3/solid.tdb", HEADER + "PHASE FCC_A1 % 1 1 !\nCONSTITUENT FCC_A1 :AL,CU: !\n")
    write(root, "db3/notes.txt", "Just some notes, no database here.\n")
    return root


def test_derive_calphad_table_on_a_small_folder(tmp_path: Path) -> None:
    root = make_refdata(tmp_path / "refdata")
    tm = {"Al": 933.47, "Cu": 1357.77, "Zn": 692.68}
    messages: list[str] = []
    chosen, candidates, report = derive_calphad_table(
        root, tm, x_grid=[0.25, 0.5, 0.75], progress=messages.append, verify_plain_load=True
    )
    assert list(chosen.columns) == CHOSEN_COLUMNS
    assert list(candidates.columns) == CANDIDATE_COLUMNS
    assert list(report.columns) == REPORT_COLUMNS
    assert len(messages) == 6
    assert set(chosen["source"]) == {"db1/alcu.tdb"}
    assert chosen["T_K"].unique().tolist() == [pytest.approx(1407.77)]
    np.testing.assert_allclose(chosen["hmix_kJ_per_mol"], expected_alcu(np.array([0.25, 0.5, 0.75])), atol=1e-6)
    assert (chosen["source_type"] == "calphad").all() and (chosen["n_candidates"] == 3).all()
    assert chosen["reference"].iloc[0] == "https://doi.org/10.0000/example"
    assert chosen["flag"].iloc[0].startswith("sources disagree")
    assert candidates.groupby("source")["chosen"].all().to_dict() == {
        "db1/alcu.tdb": True,
        "db2/AlCu_copy.TDB": False,
        "db3/outlier.tdb": False,
    }
    status = dict(zip(report["file"], report["status"], strict=True))
    assert status == {
        "db1/URL.txt": "not a database",
        "db1/alcu.tdb": "loaded",
        "db2/AlCu_copy.TDB": "loaded",
        "db3/notes.txt": "not a database",
        "db3/outlier.tdb": "loaded",
        "db3/solid.tdb": "failed",
    }
    row = report.set_index("file").loc["db1/alcu.tdb"]
    assert row["binaries"] == "Al-Cu" and row["plain_load_check"].startswith("max |Δ| = 0 kJ/mol over 1")
    failed = report.set_index("file").loc["db3/solid.tdb"]
    assert failed["error"].startswith("no liquid phase") and failed["error_line"] == ""  # no line to name
    # Same inputs, same tables.
    again = derive_calphad_table(root, tm, x_grid=[0.25, 0.5, 0.75], verify_plain_load=True)
    pd.testing.assert_frame_equal(again[0], chosen)
    pd.testing.assert_frame_equal(again[1], candidates)
    pd.testing.assert_frame_equal(again[2], report)


def test_derive_calphad_table_rejects_bad_arguments(tmp_path: Path) -> None:
    root = make_refdata(tmp_path / "refdata")
    tm = {"Al": 933.47, "Cu": 1357.77}
    with pytest.raises(InputError, match="between 0 and 1"):
        derive_calphad_table(root, tm, x_grid=[0.0, 0.5])
    with pytest.raises(InputError, match="strictly increasing"):
        derive_calphad_table(root, tm, x_grid=[0.5, 0.3])
    with pytest.raises(InputError, match="positive cap"):
        derive_calphad_table(root, tm, t_cap_K=0)
    with pytest.raises(InputError, match="threshold must be positive"):
        derive_calphad_table(root, tm, disagreement_threshold_kJ_per_mol=-1)
    with pytest.raises(InputError, match="folder not found"):
        derive_calphad_table(tmp_path / "nowhere", tm)
    # A binary whose melting point is missing is reported as skipped, not a crash.
    chosen, _, report = derive_calphad_table(root, {"Al": 933.47}, verify_plain_load=False)
    assert chosen.empty
    assert "no valid melting point for element 'Cu'" in report.set_index("file").loc["db1/alcu.tdb", "skipped"]


# --------------------------------------------------------------------------------------- reference data


@pytest.mark.refdata
@pytest.mark.parametrize(
    ("path", "a", "b", "temperature", "expected"),
    [
        # Values checked when the reference folder was assembled (refdata/SOURCES.md, "Notes for using").
        ("cost507/COST507.tdb", "Al", "Cu", 1373.0, -16.7),
        ("cost507/COST507.tdb", "Cu", "Zn", 1200.0, -10.2),
        ("cost507/COST507.tdb", "Mg", "Si", 1400.0, -21.0),
        ("matcalc_opendb/mc_ni_v2.034.tdb", "Al", "Ni", 1900.0, -51.8),
    ],
)
def test_sources_md_values(refdata_dir: Path, path: str, a: str, b: str, temperature: float, expected: float) -> None:
    ldb = load_liquid_database(refdata_dir / path)
    value = hmix_curve(ldb, a, b, [0.5], temperature)[0]
    assert value == pytest.approx(expected, abs=0.05)
    assert hmix_excess(ldb, a, b, [0.5], temperature)[0][0] == pytest.approx(value, abs=1e-9)


@pytest.mark.refdata
def test_filtered_load_agrees_with_plain_pycalphad(refdata_dir: Path) -> None:
    path = refdata_dir / "kawin_examples" / "NiCrAl.tdb"
    ldb = load_liquid_database(path)
    curves = {}
    for a, b in liquid_binaries(ldb):
        curves[(a, b)] = (hmix_curve(ldb, a, b, X, 1800.0), np.zeros(len(X)), "substitutional", 1800.0)
    assert len(curves) == 3
    check = plain_load_check(path, curves, X)
    assert check.startswith("max |Δ| = ") and check.endswith("over 3 binaries")
    assert float(check.split("= ")[1].split(" ")[0]) < 1e-9


@pytest.mark.refdata
def test_committed_table_regenerates(refdata_dir: Path, repo_dir: Path) -> None:
    table = pd.read_csv(repo_dir / "data" / "derived" / "calphad_hmix.csv", keep_default_na=False)
    assert list(table.columns) == CHOSEN_COLUMNS
    assert (table["A"] < table["B"]).all()
    assert set(table["A"]) | set(table["B"]) <= set(ELEMENTS)
    assert (table.groupby(["A", "B"]).size() == 9).all()
    melting = load_element_table(element_table_path())["MeltT"].to_dict()
    for a, b in [("Al", "Cu"), ("Cr", "Nb"), ("Fe", "La"), ("Mg", "Sn")]:
        rows = table[(table["A"] == a) & (table["B"] == b)]
        temperature = liquid_temperature(a, b, melting)
        assert rows["T_K"].iloc[0] == pytest.approx(temperature)
        values = hmix_curve(load_liquid_database(refdata_dir / rows["source"].iloc[0]), a, b, X, temperature)
        np.testing.assert_allclose(rows["hmix_kJ_per_mol"], np.round(values, 6), atol=1e-6)
    at_half = table[table["x_B"] == 0.5].set_index(["A", "B"])["hmix_kJ_per_mol"]
    assert at_half[("Cr", "Nb")] == pytest.approx(-2.6, abs=0.3)  # 12 files; the +21 outliers are not chosen
    assert at_half[("Fe", "La")] < -30  # the MatCalc placeholder ≈ 0 is not chosen
    assert at_half[("Mg", "Sn")] < -10  # associate liquids are treated, not skipped


@pytest.mark.refdata
@pytest.mark.slow
def test_full_derivation_matches_committed_tables(refdata_dir: Path, repo_dir: Path, tmp_path: Path) -> None:
    from hmixal.io import write_csv

    melting = load_element_table(element_table_path())["MeltT"].to_dict()
    tables = derive_calphad_table(refdata_dir, melting)
    for frame, name in zip(tables, ("calphad_hmix", "calphad_candidates", "calphad_load_report"), strict=True):
        write_csv(frame, tmp_path / f"{name}.csv")
        committed = (repo_dir / "data" / "derived" / f"{name}.csv").read_bytes()
        assert (tmp_path / f"{name}.csv").read_bytes() == committed, name
