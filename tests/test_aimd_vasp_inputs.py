"""VASP input set hardening: POTCAR choices per functional set, ENCUT ≥ ENMAX, POTCAR provenance, electron smearing.

POTCAR existence is checked against pymatgen's bundled summary data of the genuine POTCAR releases (read here
directly from the file, not through the module under test); ENMAX/TITEL/ZVAL checks use tiny fake POTCARs whose
header pymatgen parses like a real one.
"""

from __future__ import annotations

import bz2
import functools
import hashlib
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from pymatgen.core import SETTINGS, Lattice, Structure
from pymatgen.io.vasp.inputs import POTCAR_STATS_PATH, Incar, Poscar, Potcar
from pymatgen.io.vasp.sets import MPRelaxSet

from hmixal.aimd.vasp.inputs import (
    K_B_EV_PER_K,
    SUPPORTED_FUNCTIONALS,
    MDSettings,
    check_encut,
    check_potcar_matches,
    effective_incar,
    fermi_nbands,
    md_incar,
    nelect,
    potcar_provenance,
    potcar_symbols,
    potcar_zval,
    sigma_breaks_protocol,
    vasp_default_nbands,
    write_md_inputs,
)
from hmixal.elements import load_element_table
from hmixal.errors import InputError

DOCS = Path(__file__).parents[1] / "docs" / "aimd.md"
PAPER_ELEMENTS = ("Ir", "Os", "Re", "W", "As", "Al", "Ca", "Mg", "Mo", "Sc", "Si", "Ti", "V", "Zr")


@functools.cache
def summary_symbols(functional: str) -> dict[str, float]:
    """symbol → ZVAL of one functional set, read straight from pymatgen's bundled summary data."""
    with bz2.open(POTCAR_STATS_PATH, "rt", encoding="utf-8") as handle:
        data = json.load(handle)[functional]
    return {entry["symbol"]: entry["ZVAL"] for variants in data.values() for entry in variants}


def fake_potcar_text(symbol: str, enmax: float, zval: float, extra: str = "") -> str:
    element = re.match(r"[A-Z][a-z]?", symbol).group(0)  # type: ignore[union-attr]
    return (
        f"  PAW_PBE {symbol} 06Sep2000\n {zval:.1f}\n parameters from PSCTR are:\n   VRHFIN ={element}: fake\n"
        f"   LEXCH  = PE\n   TITEL  = PAW_PBE {symbol} 06Sep2000\n"
        f"   POMASS =  100.000; ZVAL   = {zval:8.3f}    mass and valenz\n"
        f"   ENMAX  = {enmax:8.3f}; ENMIN  =  150.000 eV\n   LPAW   =      T    paw PP\n"
        f" END of PSCTR-controll parameters\n local part\n  0.1 0.2 0.3{extra}\n End of Dataset\n"
    )


@pytest.fixture
def fake_psp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PMG_VASP_PSP_DIR with fake PBE_54 POTCARs; Mg_pv's ENMAX (403.9 eV) exceeds the protocol's 400 eV."""
    folder = tmp_path / "psp" / "POT_GGA_PAW_PBE_54"
    folder.mkdir(parents=True)
    for symbol, enmax, zval in (("Ir", 210.9, 9.0), ("Ti_pv", 222.3, 10.0), ("Mg_pv", 403.9, 8.0), ("Mg", 200.0, 2.0)):
        (folder / f"POTCAR.{symbol}").write_text(fake_potcar_text(symbol, enmax, zval))
    monkeypatch.setitem(SETTINGS, "PMG_VASP_PSP_DIR", str(tmp_path / "psp"))
    return folder


@pytest.fixture
def no_psp(monkeypatch: pytest.MonkeyPatch) -> None:
    """No POTCAR directory configured."""
    monkeypatch.delitem(SETTINGS, "PMG_VASP_PSP_DIR", raising=False)


def grid_poscar(counts: dict[str, int], seed: int = 0) -> Poscar:
    """A cubic cell with the species grouped in the given order, atoms on a jittered grid (no overlaps)."""
    n = sum(counts.values())
    side = math.ceil(n ** (1 / 3))
    rng = np.random.default_rng(seed)
    grid = np.array([(i, j, k) for i in range(side) for j in range(side) for k in range(side)][:n], float)
    frac = (grid + 0.5 + rng.uniform(-0.1, 0.1, grid.shape)) / side
    species = [e for e, c in counts.items() for _ in range(c)]
    return Poscar(Structure(Lattice.cubic(2.6 * side), species, frac))


# ---------------------------------------------------------------------------------------------------------
# 1. POTCAR choices exist in their functional set


@pytest.mark.parametrize("functional", SUPPORTED_FUNCTIONALS)
def test_every_project_element_has_a_potcar_of_the_set(functional: str) -> None:
    elements = list(load_element_table().index)
    assert len(elements) == 70
    symbols = potcar_symbols(elements, functional)
    available = summary_symbols(functional)
    missing = [(e, s) for e, s in zip(elements, symbols, strict=True) if s not in available]
    assert missing == []
    for element, symbol in zip(elements, symbols, strict=True):
        assert re.match(r"[A-Z][a-z]?", symbol).group(0) == element  # type: ignore[union-attr]
        assert potcar_zval(symbol, functional) == available[symbol]


def test_the_materials_project_choice_was_the_bug() -> None:
    # MPRelaxSet's W_pv is not part of PBE_54: every W run would have failed once real POTCARs were configured
    assert MPRelaxSet.CONFIG["POTCAR"]["W"] == "W_pv" and "W_pv" not in summary_symbols("PBE_54")
    assert potcar_symbols(["W"], "PBE_54") == ["W_sv"]


def test_docs_list_the_symbols_the_code_uses() -> None:
    text = DOCS.read_text(encoding="utf-8")
    rows = {}
    for line in text.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] in PAPER_ELEMENTS:
            rows[cells[0]] = (cells[1], cells[2], cells[3])
    assert set(rows) == set(PAPER_ELEMENTS)
    for functional, column in (("PBE_54", 0), ("PBE_64", 1)):
        symbols = potcar_symbols(PAPER_ELEMENTS, functional)
        assert [rows[e][column] for e in PAPER_ELEMENTS] == symbols
        assert [float(rows[e][2]) for e in PAPER_ELEMENTS] == [summary_symbols(functional)[s] for s in symbols]


def test_overrides_and_functional_sets_are_validated() -> None:
    with pytest.raises(InputError, match=r"W → 'W_pv' is not a W POTCAR of the PBE_54 set; choose one of W, W_sv"):
        MDSettings(potcar_overrides={"W": "W_pv"})
    with pytest.raises(InputError, match="Mg → 'Ti_pv' is not a Mg POTCAR"):
        MDSettings(potcar_overrides={"Mg": "Ti_pv"})
    with pytest.raises(InputError, match="'Xx' has no POTCAR"):
        MDSettings(potcar_overrides={"Xx": "Xx"})
    with pytest.raises(InputError, match="must map element"):
        MDSettings(potcar_overrides=["Mg"])  # type: ignore[arg-type]
    with pytest.raises(InputError, match="not supported: choose one of PBE_54, PBE_64"):
        MDSettings(potcar_functional="PBE_52")
    with pytest.raises(InputError, match="not supported"):
        potcar_symbols(["Ir"], "LDA_64")
    settings = MDSettings.from_mapping({"potcar_overrides": {"Mg": "Mg"}, "potcar_functional": "PBE_64"})
    assert potcar_symbols(["Ir", "Mg"], settings.potcar_functional, settings.potcar_overrides) == ["Ir", "Mg"]
    with pytest.raises(InputError, match="POTCAR 'W_pv' is not part of the PBE_54 set"):
        potcar_zval("W_pv", "PBE_54")


# ---------------------------------------------------------------------------------------------------------
# 2. ENCUT against ENMAX


def test_encut_below_enmax_is_refused_before_anything_is_written(tmp_path: Path, fake_psp: Path) -> None:
    poscar = grid_poscar({"Ir": 4, "Mg": 4})
    target = tmp_path / "run"
    with pytest.raises(InputError) as info:
        write_md_inputs(target, poscar, 2750.0, 10, MDSettings(), "Ir4Mg4")
    message = str(info.value)
    for words in ("ENCUT = 400 eV", "Mg (Mg_pv): ENMAX = 403.9 eV", "encut_eV to ≥ 404 eV", "potcar_overrides"):
        assert words in message
    assert "Ir (Ir)" not in message  # only the offending POTCAR is named
    assert not target.exists()
    # the two fixes named in the message both work
    assert write_md_inputs(target, poscar, 2750.0, 10, MDSettings(encut_eV=404.0), "x").potcar_written
    fixed = write_md_inputs(tmp_path / "b", poscar, 2750.0, 10, MDSettings(potcar_overrides={"Mg": "Mg"}), "x")
    assert fixed.potcar_symbols == ("Ir", "Mg")
    # a larger factor (Pulay stress margin) refuses the same ENCUT
    with pytest.raises(InputError, match=r"below 1.3 × ENMAX.*≥ 526 eV"):
        write_md_inputs(tmp_path / "c", poscar, 2750.0, 10, MDSettings(encut_eV=404.0, encut_enmax_factor=1.3), "x")


def test_check_encut_on_an_existing_potcar(tmp_path: Path) -> None:
    potcar = tmp_path / "POTCAR"
    potcar.write_text(fake_potcar_text("Ir", 210.9, 9.0) + fake_potcar_text("Mg_pv", 403.9, 8.0))
    with pytest.raises(InputError, match=r"POTCAR: ENCUT = 400 eV is below 1 × ENMAX for Mg \(Mg_pv\)"):
        check_encut(potcar, Incar({"ENCUT": 400}))
    with pytest.raises(InputError, match="ENMAX for Mg"):
        check_encut(Potcar.from_file(str(potcar)), MDSettings())
    check_encut(potcar, Incar({"ENCUT": 410}))
    with pytest.raises(InputError, match=r"below 1\.1 × ENMAX"):
        check_encut(potcar, Incar({"ENCUT": 410}), factor=1.1)
    (tmp_path / "INCAR").write_text("ENCUT = 450\n")
    check_encut(potcar, tmp_path / "INCAR")
    with pytest.raises(InputError, match="INCAR has no ENCUT"):
        check_encut(potcar, Incar({"PREC": "Normal"}))
    potcar.write_text(fake_potcar_text("Ir", 210.9, 9.0).replace(" End of Dataset\n", ""))
    with pytest.raises(InputError, match="without 'End of Dataset'"):
        check_encut(potcar, MDSettings())
    with pytest.raises(InputError, match="POTCAR not found"):
        check_encut(tmp_path / "nothing", MDSettings())


def test_without_potcars_the_report_says_encut_was_not_checked(tmp_path: Path, no_psp: None) -> None:
    report = write_md_inputs(tmp_path / "r", grid_poscar({"Ir": 4, "Mg": 4}), 2750.0, 10, MDSettings(), "x")
    assert not report.potcar_written and report.potcar_provenance == ()
    assert "ENMAX could not be checked" in report.message
    assert (tmp_path / "r" / "POTCAR.spec").read_text() == "Ir\nMg_pv\n"


def test_potcar_order_is_checked_against_the_species(tmp_path: Path, fake_psp: Path) -> None:
    report = write_md_inputs(tmp_path / "r", grid_poscar({"Ir": 4, "Ti": 4}), 2750.0, 10, MDSettings(), "x")
    check_potcar_matches(report.directory / "POTCAR", ["Ir", "Ti"], MDSettings())
    with pytest.raises(InputError, match=r"holds Ir Ti_pv.*need Ti_pv Ir in this order"):
        check_potcar_matches(report.directory / "POTCAR", ["Ti", "Ir"], MDSettings())


# ---------------------------------------------------------------------------------------------------------
# 3. provenance


def test_provenance_hashes_each_potcar_and_copies_no_content(tmp_path: Path, fake_psp: Path) -> None:
    poscar = grid_poscar({"Ir": 4, "Ti": 4})
    one = write_md_inputs(tmp_path / "one", poscar, 2750.0, 10, MDSettings(), "x")
    two = write_md_inputs(tmp_path / "two", poscar, 3300.0, 10, MDSettings(), "x")
    assert one.potcar_provenance == two.potcar_provenance  # stable
    records = list(one.potcar_provenance)
    assert [(r["element"], r["symbol"], r["ENMAX"], r["ZVAL"]) for r in records] == [
        ("Ir", "Ir", 210.9, 9.0), ("Ti", "Ti_pv", 222.3, 10.0)
    ]  # fmt: skip
    assert records[1]["TITEL"] == "PAW_PBE Ti_pv 06Sep2000" and {r["functional"] for r in records} == {"PBE_54"}
    # each hash is that of the POTCAR.<symbol> file it came from (checkable against the user's own copy)
    for record in records:
        source = fake_psp / f"POTCAR.{record['symbol']}"
        assert record["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert potcar_provenance(one.directory / "POTCAR", "PBE_54") == records
    # without a named set: the sets whose pymatgen data list that TITEL (fake Ir copies the real Ir TITEL)
    assert potcar_provenance(one.directory / "POTCAR")[0]["functional"] == "PBE_54/PBE_64"
    text = json.dumps(records)
    assert "local part" not in text and "0.1 0.2 0.3" not in text  # no POTCAR content leaves the POTCAR
    # a changed Ti_pv changes Ti_pv's hash only
    source = fake_psp / "POTCAR.Ti_pv"
    source.write_text(fake_potcar_text("Ti_pv", 222.3, 10.0, extra=" 0.4"))
    three = write_md_inputs(tmp_path / "three", poscar, 2750.0, 10, MDSettings(), "x")
    assert three.potcar_provenance[0]["sha256"] == records[0]["sha256"]
    assert three.potcar_provenance[1]["sha256"] != records[1]["sha256"]


def test_effective_incar_is_plain_json(tmp_path: Path, no_psp: None) -> None:
    settings = MDSettings(ncore=8, extra_incar={"KPAR": 1, "LREAL": "Auto"})
    report = write_md_inputs(tmp_path / "r", grid_poscar({"Ir": 4, "Ti": 4}), 3300.0, 7, settings, "x")
    incar = effective_incar(report.directory / "INCAR")
    assert json.loads(json.dumps(incar)) == incar and list(incar) == sorted(incar)
    assert incar["ISMEAR"] == -1 and incar["NSW"] == 7 and incar["NCORE"] == 8 and incar["LWAVE"] is False
    assert incar["NBANDS"] == report.nbands
    with pytest.raises(InputError, match="INCAR not found"):
        effective_incar(tmp_path / "nothing")


# ---------------------------------------------------------------------------------------------------------
# 4. electrons at the ionic temperature


def test_fermi_inputs_for_a_100_atom_ir_ti_cell_at_3300_k(tmp_path: Path, no_psp: None) -> None:
    report = write_md_inputs(tmp_path / "r", grid_poscar({"Ir": 50, "Ti": 50}), 3300.0, 5, MDSettings(), "IrTi")
    incar = Incar.from_file(report.directory / "INCAR")
    assert incar["ISMEAR"] == -1
    assert incar["SIGMA"] == pytest.approx(0.2844, abs=5e-5)  # k_B · 3300 K
    # NELECT = 50·9 (Ir) + 50·10 (Ti_pv) = 950; 475 occupied bands + 10 k_BT · 1 state/eV/atom · 100 atoms
    # = 475 + 284.4 → 760, above VASP's default max(476 + 50, 570) = 570
    assert incar["NBANDS"] == report.nbands == 760
    assert vasp_default_nbands(950, 100) == 570
    # the property the rule is for: 10 k_BT of empty states above E_F at the assumed density of states
    kt = K_B_EV_PER_K * 3300.0
    assert (incar["NBANDS"] - 950 / 2) / (100 * 1.0) >= 10 * kt
    assert sigma_breaks_protocol(MDSettings()) and not sigma_breaks_protocol(MDSettings(smearing="gaussian"))


def test_nbands_uses_the_potcar_zval_when_there_is_one(tmp_path: Path, fake_psp: Path) -> None:
    (fake_psp / "POTCAR.Ti_pv").write_text(fake_potcar_text("Ti_pv", 222.3, 4.0))  # not the real ZVAL 10
    report = write_md_inputs(tmp_path / "r", grid_poscar({"Ir": 50, "Ti": 50}), 3300.0, 5, MDSettings(), "x")
    n_electrons = 50 * 9.0 + 50 * 4.0
    assert nelect(["Ir", "Ti_pv"], [50, 50], "PBE_54", Potcar.from_file(str(report.directory / "POTCAR"))) == 650
    assert report.nbands == fermi_nbands(n_electrons, 100, 3300.0) == math.ceil(325 + 10 * K_B_EV_PER_K * 3300 * 100)


def test_nbands_rule_never_goes_below_vasp_default() -> None:
    assert fermi_nbands(950, 100, 10.0) == vasp_default_nbands(950, 100)
    assert fermi_nbands(950, 100, 3300.0, window_kT=12.0) > fermi_nbands(950, 100, 3300.0)
    assert fermi_nbands(950, 100, 3300.0, states_per_eV_atom=2.0) > fermi_nbands(950, 100, 3300.0)
    with pytest.raises(InputError, match="NELECT > 0"):
        fermi_nbands(0.0, 100, 3300.0)


def test_gaussian_inputs_keep_the_cold_electrons(tmp_path: Path, no_psp: None) -> None:
    settings = MDSettings(smearing="gaussian", extra_incar={"NBANDS": 640})
    incar = md_incar(3300.0, 5, settings, "x")
    assert incar["ISMEAR"] == 0 and incar["SIGMA"] == 0.05 and incar["NBANDS"] == 640
    report = write_md_inputs(
        tmp_path / "r", grid_poscar({"Ir": 4, "Ti": 4}), 3300.0, 5, MDSettings(smearing="gaussian"), "x"
    )
    assert report.nbands is None and "NBANDS" not in Incar.from_file(report.directory / "INCAR")


def test_smearing_and_site_settings_are_validated() -> None:
    with pytest.raises(InputError, match="fermi smearing needs NBANDS"):
        md_incar(3300.0, 5, MDSettings(), "x")
    incar = md_incar(3300.0, 5, MDSettings(ncore=4, maxmix=60), "x", nbands=700)
    assert incar["NCORE"] == 4 and incar["MAXMIX"] == 60 and incar["NBANDS"] == 700
    plain = md_incar(3300.0, 5, MDSettings(), "x", nbands=700)
    assert "NCORE" not in plain and "MAXMIX" not in plain  # written only when set
    for kwargs, words in (
        ({"smearing": "mp"}, "smearing must be one of gaussian, fermi"),
        ({"sigma_eV": 0.1}, "sigma_eV applies to gaussian smearing only"),
        ({"smearing": "gaussian", "nbands_window_kT": 12.0}, "apply to fermi smearing only"),
        ({"nbands_states_per_eV_atom": 0.0}, "nbands_states_per_eV_atom must be a positive number"),
        ({"encut_enmax_factor": -1.0}, "encut_enmax_factor"),
        ({"ncore": 0}, "ncore must be a positive integer"),
        ({"maxmix": 2.5}, "maxmix must be a positive integer"),
        ({"ncore": True}, "ncore"),
        ({"ncore": 4, "extra_incar": {"ncore": 8}}, "NCORE is set twice"),
        ({"extra_incar": {"ISMEAR": 1}}, "may not set ISMEAR"),
        ({"extra_incar": {"sigma": 0.1}}, "may not set SIGMA"),
        ({"extra_incar": {"ENCUT": 520}}, "may not set ENCUT"),
        ({"extra_incar": {"NBANDS": 900}}, "may not set NBANDS"),  # fermi: the NBANDS rule decides
    ):
        with pytest.raises(InputError, match=words):
            MDSettings(**kwargs)  # type: ignore[arg-type]
    assert MDSettings(smearing="gaussian", sigma_eV=0.1).sigma_eV == 0.1
    with pytest.raises(InputError, match="NBANDS must be a positive integer"):
        md_incar(3300.0, 5, MDSettings(), "x", nbands=0)
