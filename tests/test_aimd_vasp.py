"""The VASP path of the AIMD loop: systems, input sets, custodian-guarded runs with a stand-in VASP, parsing.

The stand-in (tests/fake_vasp/fake_vasp.py) writes VASP-format output and, on request, real VASP error
messages, a stall, a STOPCAR stop or a mid-step kill. Parsing is also checked on hand-written files in VASP's
own format (not produced by the stand-in), so the two cannot agree on a wrong format.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pymatgen.core import SETTINGS
from pymatgen.io.vasp.inputs import Incar, Kpoints, Poscar, Potcar

from hmixal.aimd.engine import StageState
from hmixal.aimd.frames import read_frames
from hmixal.aimd.protocol import ProtocolSettings, prepare_run
from hmixal.aimd.structure import min_pair_distance, random_liquid_cell, start_volume_A3
from hmixal.aimd.systems import melting_points, plan_runs, read_plan, run_temperature
from hmixal.aimd.trace import make_trace, read_trace
from hmixal.aimd.vasp.engine import VaspEngine
from hmixal.aimd.vasp.inputs import (
    POTCAR_SPEC,
    MDSettings,
    cell_structure,
    md_incar,
    potcar_symbols,
    rescaled_poscar,
    write_md_inputs,
)
from hmixal.aimd.vasp.parse import (
    THERMO_COLUMNS,
    TruncatedRunError,
    concatenate_segments,
    parse_md_segment,
    read_oszicar_md,
    read_xdatcar,
)
from hmixal.aimd.vasp.run import (
    SEGMENT_RECORD,
    RunnerSettings,
    _next_segment,
    import_run,
    md_handlers,
    prepare_stage,
    run_stage,
    stage_frames,
    stage_status,
    stage_trace,
)
from hmixal.elements import load_element_table
from hmixal.errors import InputError
from vasp_outputs import OSZICAR_MD, XDATCAR, write_vasp_dir

FAKE_VASP = Path(__file__).parent / "fake_vasp" / "fake_vasp.py"
MOLAR_VOLUMES = {"Ir": 8.52, "Ti": 10.64, "Os": 8.42, "Zr": 14.02}
FAST = {"polling_time_step_s": 0.02, "monitor_freq": 1}


# ---------------------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture
def psp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PMG_VASP_PSP_DIR with tiny fake POTCARs (header keywords only) for the elements used here."""
    root = tmp_path / "psp"
    folder = root / "POT_GGA_PAW_PBE_54"
    folder.mkdir(parents=True)
    for symbol in ("Ir", "Ti_pv", "Os_pv", "Zr_sv"):
        element = symbol.split("_")[0]
        (folder / f"POTCAR.{symbol}").write_text(
            f"  PAW_PBE {symbol} 06Sep2000\n 9.0\n parameters from PSCTR are:\n   VRHFIN ={element}: fake\n"
            f"   LEXCH  = PE\n   TITEL  = PAW_PBE {symbol} 06Sep2000\n"
            "   POMASS =  100.000; ZVAL   =    9.000    mass and valenz\n"
            "   ENMAX  =  210.000; ENMIN  =  150.000 eV\n   LPAW   =      T    paw PP\n"
            " END of PSCTR-controll parameters\n local part\n  0.1 0.2 0.3\n End of Dataset\n"
        )
    monkeypatch.setitem(SETTINGS, "PMG_VASP_PSP_DIR", str(root))
    return root


@pytest.fixture
def no_psp(monkeypatch: pytest.MonkeyPatch) -> None:
    """No POTCAR directory configured."""
    monkeypatch.delitem(SETTINGS, "PMG_VASP_PSP_DIR", raising=False)


def fake_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **config: object) -> None:
    path = tmp_path / "fake_vasp.json"
    path.write_text(json.dumps(config))
    monkeypatch.setenv("FAKE_VASP_CONFIG", str(path))


def runner(**kwargs: object) -> RunnerSettings:
    return RunnerSettings(vasp_cmd=(sys.executable, str(FAKE_VASP)), **{**FAST, **kwargs})  # type: ignore[arg-type]


def small_poscar(seed: int = 1) -> Poscar:
    counts = {"Ir": 4, "Ti": 4}
    cell = random_liquid_cell(counts, start_volume_A3(counts, MOLAR_VOLUMES) * 1.1, 2.0, seed)
    return Poscar(cell_structure(cell), comment="Ir4Ti4 2750 K")


def make_stage(path: Path, duration_fs: float, settings: MDSettings | None = None) -> Path:
    return prepare_stage(path, small_poscar(), 2750.0, duration_fs, settings or MDSettings(), "Ir4Ti4 2750 K")


def calls(seg: Path) -> list[dict[str, dict[str, str]]]:
    return [json.loads(line) for line in (seg / "fake_vasp.calls").read_text().splitlines()]


# ---------------------------------------------------------------------------------------------------------
# 1. which systems, at which temperature


def test_temperature_rule_reproduces_the_paper() -> None:
    tm = melting_points(load_element_table())
    # seed §4.2: Ir 2750, Re 3500, W 3700 K; Os 3300 K lies below Os's own melting point (3306 K)
    assert run_temperature(tm["Ir"], tm["Ti"]) == 2750.0
    assert run_temperature(tm["Re"], tm["Zr"]) == 3500.0
    assert run_temperature(tm["W"], tm["Al"]) == 3700.0
    assert run_temperature(tm["Os"], tm["Zr"]) == 3350.0
    assert run_temperature(1000.0, 1234.0, margin_K=20.0, round_to_K=100.0) == 1300.0
    with pytest.raises(InputError, match="margin_K"):
        run_temperature(1000.0, 1000.0, margin_K=-1.0)
    with pytest.raises(InputError, match="melting point"):
        run_temperature(float("nan"), 1000.0)


def test_plan_runs_shares_pure_runs_and_keeps_overrides() -> None:
    tm = melting_points(load_element_table())
    config = {
        "binaries": ["Ti-Ir", {"system": "Ir-Zr"}, {"system": "Os-Zr", "T_K": 3300}, {"system": "Ir-Ti", "x_B": 0.25}],
    }
    plan = plan_runs(config, tm)
    systems = plan.systems
    assert list(systems["system"]) == ["Ir-Ti", "Ir-Zr", "Os-Zr", "Ir-Ti"]
    assert list(systems["T_K"]) == [2750.0, 2750.0, 3300.0, 2750.0]
    assert list(systems["T_source"]) == ["rule", "rule", "override", "rule"]
    assert list(systems["x_B"]) == [0.5, 0.5, 0.5, 0.25]
    runs = plan.runs.set_index("run_id")
    # Ir at 2750 K is computed once for Ir-Ti, Ir-Zr and the x = 0.25 cell
    assert list(runs.index) == [
        "Ir50Ti50_2750K", "Ir100_2750K", "Ti100_2750K", "Ir50Zr50_2750K", "Zr100_2750K",
        "Os50Zr50_3300K", "Os100_3300K", "Zr100_3300K", "Ir75Ti25_2750K",
    ]  # fmt: skip
    assert set(systems["pure_A_run"]) == {"Ir100_2750K", "Os100_3300K"}
    row = runs.loc["Ir50Ti50_2750K"]
    assert tuple(row[["kind", "A", "B", "n_A", "n_B", "n_atoms"]]) == ("alloy", "Ir", "Ti", 50, 50, 100)
    assert runs.loc["Ti100_2750K", "kind"] == "pure" and runs.loc["Ti100_2750K", "n_atoms"] == 100
    # byte-identical tables for the same input
    again = plan_runs(config, tm)
    assert again.runs.to_csv() == plan.runs.to_csv() and again.systems.to_csv() == plan.systems.to_csv()


def test_plan_runs_reads_symbols_in_any_case_with_x_of_b_as_written() -> None:
    tm = melting_points(load_element_table())
    plan = plan_runs({"binaries": [{"system": "ti-IR", "x_B": 0.25}, "IR-zr"]}, tm)
    # 'ti-IR' at x_B = 0.25 is 25 % Ir: the stored pair is Ir-Ti with x_Ti = 0.75.
    assert list(plan.systems["system"]) == ["Ir-Ti", "Ir-Zr"]
    assert list(plan.systems["x_B"]) == [0.75, 0.5]
    with pytest.raises(InputError, match="entry 1: unknown element 'Xx'"):
        plan_runs({"binaries": ["Xx-Ti"]}, tm)


def birch_murnaghan(volume: float, v0: float, b0: float, b0_prime: float) -> float:
    """Third-order Birch–Murnaghan pressure (units of b0), as in the stand-in VASP."""
    eta = (v0 / volume) ** (2.0 / 3.0)
    return 1.5 * b0 * (eta**3.5 - eta**2.5) * (1.0 + 0.75 * (b0_prime - 4.0) * (eta - 1.0))


def write_plan(path: Path, rows: list[dict[str, object]]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_plan_csv_top_n(tmp_path: Path) -> None:
    tm = melting_points(load_element_table())
    plan_csv = write_plan(
        tmp_path / "plan.csv",
        [
            {"A": "W", "B": "Ru", "x_at_max": 0.3, "sigma_max": 9.0},
            {"A": "Ir", "B": "Sc", "x_at_max": 0.6, "sigma_max": 8.0},
            {"A": "Os", "B": "Ti", "x_at_max": 0.5, "sigma_max": 7.0},
        ],
    )
    assert read_plan(plan_csv, 2) == [("Ru", "W", 0.5), ("Ir", "Sc", 0.5)]
    # x_at_max refers to the plan's B (Ru, 0.3); the canonical order Ru-W has B = W, so x_B = 0.7
    assert read_plan(plan_csv, 2, "x_at_max") == [("Ru", "W", pytest.approx(0.7)), ("Ir", "Sc", 0.6)]
    plan = plan_runs({"plan": {"path": str(plan_csv), "top_n": 2}}, tm)
    assert list(plan.systems["system"]) == ["Ru-W", "Ir-Sc"]
    assert list(plan.systems["T_K"]) == [3700.0, 2750.0]
    # a rank column, when present, orders the plan
    ranked = write_plan(
        tmp_path / "ranked.csv",
        [{"A": "Ir", "B": "Sc", "x_at_max": 0.5, "rank": 2}, {"A": "Os", "B": "Ti", "x_at_max": 0.5, "rank": 1}],
    )
    assert read_plan(ranked, 1) == [("Os", "Ti", 0.5)]


@pytest.mark.parametrize(
    ("rows", "top_n", "words"),
    [
        ([{"A": "Ir", "B": "Ti"}], 1, "missing column"),
        ([{"A": "Ir", "B": "Ti", "x_at_max": "half"}], 1, ":2: x_at_max 'half' is not a number"),
        ([{"A": "Ir", "B": "Ti", "x_at_max": 1.0}], 1, ":2: x_at_max 1.0 must lie strictly"),
        ([{"A": "Ir", "B": "Qq", "x_at_max": 0.5}], 1, ":2: unknown element"),
        ([{"A": "Ir", "B": "Ti", "x_at_max": 0.5}, {"A": "Ti", "B": "Ir", "x_at_max": 0.5}], 2, ":3: binary Ir-Ti"),
        ([{"A": "Ir", "B": "Ti", "x_at_max": 0.5}], 2, "fewer than top_n"),
        ([{"A": "Ir", "B": "Ti", "x_at_max": 0.5}], 0, "top_n"),
    ],
)
def test_plan_csv_rejects(tmp_path: Path, rows: list[dict[str, object]], top_n: int, words: str) -> None:
    with pytest.raises(InputError, match=words):
        read_plan(write_plan(tmp_path / "plan.csv", rows), top_n)


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({}, "no binaries"),
        ({"binaries": ["Ir-Ti"], "colour": 1}, "unknown key"),
        ({"binaries": ["Ir-Ti-Os"]}, "not a binary"),
        ({"binaries": [{"system": "Ir-Ti", "T": 3000}]}, "unknown key"),
        ({"binaries": [{"system": "Ir-Ti", "T_K": -5}]}, "T_K must be positive"),
        ({"binaries": [{"system": "Ir-Ti", "x_B": 0.001}]}, "leaves no atom"),
        ({"binaries": [{"x_B": 0.5}]}, "missing 'system'"),
        ({"binaries": [42]}, "expected 'A-B'"),
        ({"binaries": ["Ir-Ti"], "n_atoms": 1}, "n_atoms"),
        ({"binaries": ["Ir-Ti"], "temperature": {"offset": 5}}, "unknown key"),
        ({"plan": {"top_n": 3}}, "expected keys path, top_n"),
    ],
)
def test_plan_runs_rejects(config: dict[str, object], words: str) -> None:
    with pytest.raises(InputError, match=words):
        plan_runs(config, {"Ir": 2719.0, "Ti": 1941.0, "Os": 3306.0})


# ---------------------------------------------------------------------------------------------------------
# 2. input sets (Ir–Ti at 2750 K, the paper's system)

EXPECTED_INCAR = {
    "SYSTEM": "Ir50Ti50 2750 K",
    "PREC": "Normal",
    "ENCUT": 400.0,
    "EDIFF": 1e-4,
    "ALGO": "Fast",
    "LREAL": "Auto",
    "NELM": 100,
    "NELMIN": 4,
    "ISMEAR": -1,  # Fermi–Dirac electrons at the ionic temperature (docs/aimd.md §3)
    "SIGMA": 0.236977,  # k_B · 2750 K in eV
    "ISPIN": 1,
    "IBRION": 0,
    "MDALGO": 2,
    "ISIF": 2,
    "SMASS": 0.0,
    "TEBEG": 2750.0,
    "TEEND": 2750.0,
    "NSW": 667,
    "POTIM": 3.0,
    "ISYM": 0,
    "NBLOCK": 1,
    "NWRITE": 1,
    "LWAVE": False,
    "LCHARG": False,
    # NELECT = 50·9 (Ir) + 50·10 (Ti_pv) = 950: ⌈475 + 10 k_BT · 1/(eV·atom) · 100⌉ = ⌈475 + 236.98⌉
    "NBANDS": 712,
}


def test_ir_ti_inputs_tag_by_tag(tmp_path: Path, no_psp: None) -> None:
    elements = load_element_table()
    run = plan_runs({"binaries": ["Ir-Ti"]}, melting_points(elements)).runs.iloc[0]
    counts = {run["A"]: int(run["n_A"]), run["B"]: int(run["n_B"])}
    protocol = ProtocolSettings()
    engine = VaspEngine(MDSettings(), runner())
    run_dir = prepare_run(tmp_path / run["run_id"], engine, counts, run["T_K"], protocol, 5, elements)
    stage = run_dir / "vol_00"
    incar = Incar.from_file(stage / "INCAR")
    assert dict(incar) == EXPECTED_INCAR  # 2 ps at 3 fs = 667 steps
    text = (stage / "INCAR").read_text()
    assert "EDIFF_PER_ATOM" not in text  # the MPMDSet pitfall (docs/aimd.md §3)
    kpoints = Kpoints.from_file(stage / "KPOINTS")
    assert kpoints.style == Kpoints.supported_modes.Gamma and tuple(kpoints.kpts[0]) == (1, 1, 1)
    poscar = Poscar.from_file(stage / "POSCAR", check_for_potcar=False)
    assert len(poscar.structure) == 100
    assert poscar.site_symbols == ["Ir", "Ti"] and poscar.natoms == [50, 50]
    record = json.loads((run_dir / "run.json").read_text())
    assert poscar.structure.volume == pytest.approx(record["start_volume_A3"], rel=1e-9)
    lattice = poscar.structure.lattice
    assert lattice.a == pytest.approx(lattice.b) == pytest.approx(lattice.c)
    assert min_pair_distance(poscar.structure.cart_coords, lattice.a) >= protocol.min_distance_A - 1e-9
    assert (stage / POTCAR_SPEC).read_text() == "Ir\nTi_pv\n"
    assert not (stage / "POTCAR").exists()
    assert record["composition"] == {"Ir": 50, "Ti": 50} and record["temperature_K"] == 2750.0
    with pytest.raises(InputError, match="already prepared"):
        prepare_run(run_dir, engine, counts, 2750.0, protocol, 5, elements)


def test_potcar_branches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, psp_dir: Path) -> None:
    poscar = small_poscar()
    report = write_md_inputs(tmp_path / "with", poscar, 2750.0, 10, MDSettings(), "x")
    assert report.potcar_written and report.files == ("INCAR", "KPOINTS", "POSCAR", "POTCAR")
    potcar = Potcar.from_file(tmp_path / "with" / "POTCAR")
    assert potcar.symbols == ["Ir", "Ti_pv"]
    assert not (tmp_path / "with" / POTCAR_SPEC).exists()
    monkeypatch.delitem(SETTINGS, "PMG_VASP_PSP_DIR")
    report = write_md_inputs(tmp_path / "with", poscar, 2750.0, 10, MDSettings(), "x")
    assert not report.potcar_written and not (tmp_path / "with" / "POTCAR").exists()  # no stale POTCAR left
    assert "VASP cannot run here" in report.message and "PMG_VASP_PSP_DIR" in report.message
    assert "Ir Ti_pv" in report.message
    # a stage without POTCAR refuses to start, with the same message
    stage = make_stage(tmp_path / "stage", 30.0)
    with pytest.raises(InputError, match=r"VASP cannot run here.*PMG_VASP_PSP_DIR"):
        run_stage(stage, runner())


def test_md_settings_validation() -> None:
    assert potcar_symbols(["Os", "Zr", "W"]) == ["Os_pv", "Zr_sv", "W_sv"]  # PBE_54 has no W_pv
    custom = MDSettings(extra_incar={"ncore": 4, "KPAR": 1})
    incar = md_incar(3300.0, 5, custom, "Os", nbands=700)
    assert incar["NCORE"] == 4 and incar["TEBEG"] == 3300.0
    for kwargs, words in (
        ({"extra_incar": {"ibrion": 2}}, "may not set IBRION"),
        ({"smass": -3}, "smass"),
        ({"encut_eV": 0}, "encut_eV"),
        ({"nelmin": 200}, "exceeds nelm"),
    ):
        with pytest.raises(InputError, match=words):
            MDSettings(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="unknown key"):
        MDSettings.from_mapping({"encut": 500})
    assert MDSettings.from_mapping({"encut_eV": 500}).encut_eV == 500
    with pytest.raises(InputError, match="NSW"):
        md_incar(3000.0, 0, MDSettings(), "x")


def test_rescaled_poscar_keeps_fractions_and_velocities() -> None:
    structure = small_poscar().structure
    velocities = np.full((len(structure), 3), 0.01).tolist()
    scaled = rescaled_poscar(Poscar(structure, velocities=velocities), structure.volume * 1.05)
    assert scaled.structure.volume == pytest.approx(structure.volume * 1.05)
    assert np.allclose(scaled.structure.frac_coords, structure.frac_coords)
    assert np.allclose(scaled.velocities, velocities)


# ---------------------------------------------------------------------------------------------------------
# 5. parsing, on files in VASP's own format


def test_parse_real_format_md_output(tmp_path: Path) -> None:
    seg = parse_md_segment(write_vasp_dir(tmp_path / "run"))
    table = seg.table
    assert list(table.columns[: len(THERMO_COLUMNS)]) == list(THERMO_COLUMNS)
    assert list(table["step"]) == [1, 2, 3]
    assert list(table["time_fs"]) == [3.0, 6.0, 9.0]
    assert list(table["temperature_K"]) == [2000.0, 2012.0, 1995.0]
    assert table["epot_eV"].tolist() == pytest.approx([-338.80148, -338.90631, -338.77586])
    # E_total = F + EK: OSZICAR's E also holds the thermostat's SP + SK (step 2), which is not the liquid's
    assert table["etotal_eV"].tolist() == pytest.approx([-322.51448, -322.52331, -322.52986])
    assert table["thermostat_eV"].tolist() == pytest.approx([0.0, 0.0154, 0.0])
    assert table["e0_eV"].tolist() == pytest.approx([-338.80148, -338.90612, -338.775])
    assert table["pressure_kbar"].tolist() == pytest.approx([-7.15, 5.62, -0.92])
    assert seg.pressure_source == "OUTCAR total pressure"
    assert seg.counts == {"Al": 2, "Ni": 2} and seg.n_atoms == 4 and seg.volume_A3 == 80.0
    assert seg.terminated_normally and not seg.truncated and seg.issues == ()
    trace = make_trace(table, seg.counts, seg.temperature_target_K, "NVT", "vasp")
    assert len(trace.table) == 3


def test_pressure_without_total_lines_adds_the_kinetic_term(tmp_path: Path) -> None:
    seg = parse_md_segment(write_vasp_dir(tmp_path / "old", total_lines=False))
    kinetic = 2.0 / 3.0 * np.array([16.287, 16.383, 16.246]) / 80.0 * 1602.1766208
    assert seg.table["pressure_kbar"].to_numpy() == pytest.approx(np.array([-10.25, 2.50, -4.00]) + kinetic)
    assert "kinetic pressure computed" in seg.issues[0]


def test_truncated_run_is_reported_not_averaged(tmp_path: Path) -> None:
    run = write_vasp_dir(tmp_path / "killed", outcar_steps=2, footer=False)
    cut = OSZICAR_MD + "       N       E\nRMM:   1    -0.3388E+03\n     4 T=  2001. E= -.3225"
    (run / "OSZICAR").write_text(cut)
    (run / "vasprun.xml").write_text('<?xml version="1.0"?>\n<modeling>\n <calculation>\n')
    with pytest.raises(TruncatedRunError, match=r"half-written line.*no timing footer.*2 complete steps"):
        parse_md_segment(run)
    seg = parse_md_segment(run, allow_truncated=True)
    assert seg.truncated and not seg.terminated_normally
    assert seg.n_steps == 2 and list(seg.table["step"]) == [1, 2]
    assert "2 complete steps" in seg.issues[0]
    # pymatgen alone would have read the cut line as a 4th step with E = -0.3225 eV
    assert len(read_oszicar_md(run / "OSZICAR").steps) == 3


def test_malformed_oszicar_lines_name_file_and_line(tmp_path: Path) -> None:
    run = write_vasp_dir(tmp_path / "bad")
    lines = OSZICAR_MD.splitlines(keepends=True)
    (run / "OSZICAR").write_text("".join(lines[:3]) + "     1 T=  2000. E= ******** F= x\n" + "".join(lines[4:]))
    with pytest.raises(InputError, match=r"OSZICAR:4: malformed MD line"):
        parse_md_segment(run)
    (run / "OSZICAR").write_text(OSZICAR_MD.replace("     3 T=", "     4 T="))
    with pytest.raises(InputError, match=r"OSZICAR:\d+: MD step 4 where step 3"):
        parse_md_segment(run)
    (run / "OSZICAR").write_text(OSZICAR_MD)
    (run / "INCAR").write_text("IBRION = 2\nNSW = 3\n")
    with pytest.raises(InputError, match="not an MD run"):
        parse_md_segment(run)


def test_step_counts_must_agree_in_a_finished_run(tmp_path: Path) -> None:
    run = write_vasp_dir(tmp_path / "mismatch", outcar_steps=2)
    with pytest.raises(TruncatedRunError, match="OSZICAR has 3 steps, OUTCAR 2 pressures"):
        parse_md_segment(run)


def test_xdatcar_frames_and_cut_frame(tmp_path: Path) -> None:
    path = tmp_path / "XDATCAR"
    path.write_text(XDATCAR)
    frames, truncated = read_xdatcar(path, potim_fs=3.0, time_offset_fs=30.0)
    assert not truncated and frames.positions.shape == (3, 4, 3)
    assert frames.symbols == ("Al", "Al", "Ni", "Ni")
    assert frames.time_fs.tolist() == [33.0, 36.0, 39.0]
    assert frames.positions[1, 0, 0] == pytest.approx(0.11 * 4.308869)
    path.write_text(XDATCAR + "Direct configuration=     4\n   0.13000000  0.1000")
    with pytest.raises(TruncatedRunError, match="3 complete frames"):
        read_xdatcar(path, 3.0)
    assert read_xdatcar(path, 3.0, allow_truncated=True)[1]
    path.write_text(XDATCAR.replace("configuration=     2", "configuration=     7"))
    with pytest.raises(InputError, match=r"XDATCAR:13: configuration 7 where frame 2"):
        read_xdatcar(path, 3.0)


def test_concatenation_renumbers_steps_and_accumulates_time(tmp_path: Path) -> None:
    one = parse_md_segment(write_vasp_dir(tmp_path / "a"))
    two_dir = write_vasp_dir(tmp_path / "b")
    (two_dir / "INCAR").write_text("IBRION = 0\nPOTIM = 1.5\nNSW = 3\nTEBEG = 2000\n")  # custodian halved POTIM
    two = parse_md_segment(two_dir)
    table = concatenate_segments([one, two])
    assert list(table["step"]) == [1, 2, 3, 4, 5, 6]
    assert table["time_fs"].tolist() == [3.0, 6.0, 9.0, 10.5, 12.0, 13.5]
    (two_dir / "OUTCAR").write_text((two_dir / "OUTCAR").read_text().replace("80.00", "81.00"))
    with pytest.raises(InputError, match="volume"):
        concatenate_segments([one, parse_md_segment(two_dir)])


# ---------------------------------------------------------------------------------------------------------
# 3. custodian-guarded runs with the stand-in VASP


def test_handler_set_is_the_md_set() -> None:
    names = [type(h).__name__ for h in md_handlers(runner())]
    assert names == [
        "VaspErrorHandler", "MeshSymmetryErrorHandler", "PositiveEnergyErrorHandler", "FrozenJobErrorHandler",
        "StdErrHandler", "LargeSigmaHandler", "IncorrectSmearingHandler",
    ]  # fmt: skip
    before = os.environ.get("CUSTODIAN_WALLTIME_START")
    start = dt.datetime(2030, 1, 1, 12, 0, 0)
    handlers = md_handlers(runner(walltime_s=3600.0), start)
    assert type(handlers[-1]).__name__ == "WalltimeHandler"
    assert handlers[-1].start_time == start and handlers[-1].wall_time == 3600.0
    assert os.environ.get("CUSTODIAN_WALLTIME_START") == before


def test_clean_run_finishes_and_joins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, psp_dir: Path) -> None:
    fake_config(tmp_path, monkeypatch)
    stage = make_stage(tmp_path / "stage", 30.0)
    status = run_stage(stage, runner())
    assert status.state is StageState.FINISHED and status.time_done_fs == 30.0 and status.n_segments == 1
    record = json.loads((stage / "seg_000" / SEGMENT_RECORD).read_text())
    effective = record.pop("effective_incar")
    assert record == {"corrections": [], "message": "", "outcome": "completed", "incar_changes": {}}
    assert effective["IBRION"] == 0 and effective["NSW"] == 10  # the INCAR VASP ran, recorded with the segment
    trace = stage_trace(stage)
    assert trace.engine == "vasp" and trace.ensemble == "NVT" and trace.composition == {"Ir": 4, "Ti": 4}
    assert list(trace.table["step"]) == list(range(1, 11))
    assert stage_frames(stage).positions.shape == (10, 8, 3)
    assert json.loads((stage / "stage.json").read_text())["state"] == "finished"


def test_subspace_matrix_warning_switches_lreal_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, psp_dir: Path
) -> None:
    # a warning, not fatal: VASP runs on, custodian's monitor kills it, sets LREAL = .FALSE. and reruns
    message = "WARNING: Sub-Space-Matrix is not hermitian in DAV"
    fake_config(tmp_path, monkeypatch, step_seconds=0.05,
                errors=[{"message": message, "at_step": 2, "while_incar": {"LREAL": "Auto"}}])  # fmt: skip
    stage = make_stage(tmp_path / "stage", 60.0)
    status = run_stage(stage, runner())
    assert status.state is StageState.FINISHED
    seg = stage / "seg_000"
    record = json.loads((seg / SEGMENT_RECORD).read_text())
    assert record["outcome"] == "completed"
    assert [c["handler"] for c in record["corrections"]] == ["VaspErrorHandler"]
    assert record["corrections"][0]["errors"] == ["subspacematrix"]
    assert record["corrections"][0]["actions"] == [{"dict": "INCAR", "action": {"_set": {"LREAL": False}}}]
    assert Incar.from_file(seg / "INCAR")["LREAL"] is False
    runs = calls(seg)
    assert [r["incar"]["LREAL"] for r in runs] == ["Auto", "False"]
    assert len(stage_trace(stage).table) == 20  # the interrupted attempt's steps are not mixed in


def test_zbrent_tightens_ediff_and_restarts_from_contcar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, psp_dir: Path
) -> None:
    # fatal: VASP stops; after the run custodian copies CONTCAR to POSCAR, sets EDIFF = 1e-6 and NELMIN = 8
    fake_config(tmp_path, monkeypatch, errors=[
        {"message": "ZBRENT: fatal error in bracketing", "at_step": 3, "fatal": True, "while_incar": {"EDIFF": 1e-4}},
    ])  # fmt: skip
    stage = make_stage(tmp_path / "stage", 30.0)
    status = run_stage(stage, runner())
    assert status.state is StageState.FINISHED
    seg = stage / "seg_000"
    incar = Incar.from_file(seg / "INCAR")
    assert incar["EDIFF"] == 1e-6 and incar["NELMIN"] == 8 and incar["IBRION"] == 0
    record = json.loads((seg / SEGMENT_RECORD).read_text())
    assert record["corrections"][0]["errors"] == ["zbrent"]
    assert [float(r["incar"]["EDIFF"]) for r in calls(seg)] == [1e-4, 1e-6]
    assert list((seg).glob("error.*.tar.gz"))  # custodian's backup of the failed attempt


def test_second_zbrent_would_leave_md_and_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, psp_dir: Path
) -> None:
    # custodian's second ZBRENT fix is IBRION = 1, a relaxation: the runner must not accept that as MD
    fake_config(tmp_path, monkeypatch, errors=[
        {"message": "ZBRENT: fatal error in bracketing", "at_step": 2, "fatal": True, "while_incar": {"IBRION": 0}},
    ])  # fmt: skip
    stage = make_stage(tmp_path / "stage", 30.0)
    status = run_stage(stage, runner())
    assert status.state is StageState.FAILED
    assert "IBRION 0 → 1" in status.reason and "no longer follows the NVT protocol" in status.reason


def test_frozen_job_is_killed_and_rerun_with_algo_normal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, psp_dir: Path
) -> None:
    fake_config(tmp_path, monkeypatch, stall={"at_step": 2, "while_incar": {"ALGO": "Fast"}})
    stage = make_stage(tmp_path / "stage", 30.0)
    status = run_stage(stage, runner(frozen_timeout_s=0.4))
    assert status.state is StageState.FINISHED
    seg = stage / "seg_000"
    record = json.loads((seg / SEGMENT_RECORD).read_text())
    assert [c["handler"] for c in record["corrections"]] == ["FrozenJobErrorHandler"]
    assert Incar.from_file(seg / "INCAR")["ALGO"] == "Normal"
    assert [r["incar"]["ALGO"] for r in calls(seg)] == ["Fast", "Normal"]


def test_walltime_stops_cleanly_and_next_job_continues(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, psp_dir: Path
) -> None:
    fake_config(tmp_path, monkeypatch, step_seconds=0.03)
    stage = make_stage(tmp_path / "stage", 300.0)  # 100 steps ≈ 3 s, more than the 1.5 s "job"
    first = run_stage(stage, runner(walltime_s=1.5, walltime_buffer_s=0.6))
    assert first.state is StageState.NEEDS_CONTINUATION
    assert 0 < first.time_done_fs < 300.0
    record = json.loads((stage / "seg_000" / SEGMENT_RECORD).read_text())
    assert record["outcome"] == "walltime"
    assert (stage / "seg_000" / "STOPCAR").read_text().strip() == "LSTOP = .TRUE."
    done_steps = round(first.time_done_fs / 3.0)
    # the next job: a new segment from CONTCAR (velocities included) for the remaining steps
    second = run_stage(stage, runner())
    assert second.state is StageState.FINISHED and second.n_segments == 2
    seg1 = stage / "seg_001"
    assert Incar.from_file(seg1 / "INCAR")["NSW"] == 100 - done_steps
    assert (seg1 / "POSCAR").read_text() == (stage / "seg_000" / "CONTCAR").read_text()
    assert Poscar.from_file(seg1 / "POSCAR", check_for_potcar=False).velocities is not None
    table = stage_trace(stage).table
    assert list(table["step"]) == list(range(1, 101))
    assert table["time_fs"].tolist() == pytest.approx(3.0 * np.arange(1, 101))
    assert stage_frames(stage).time_fs.tolist() == pytest.approx(3.0 * np.arange(1, 101))


def test_killed_job_keeps_complete_steps_and_continues(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, psp_dir: Path
) -> None:
    # the batch system kills everything (custodian too): no segment.json, half-written files
    fake_config(tmp_path, monkeypatch, kill_at_step=5)
    stage = make_stage(tmp_path / "stage", 30.0)
    seg = _next_segment(stage)
    done = subprocess.run([sys.executable, str(FAKE_VASP)], cwd=seg, check=False, capture_output=True)
    assert done.returncode == 137
    status = stage_status(stage)
    assert status.state is StageState.NEEDS_CONTINUATION and "interrupted" in status.reason
    assert status.time_done_fs == 12.0  # 4 complete steps
    fake_config(tmp_path, monkeypatch)
    final = run_stage(stage, runner())
    assert final.state is StageState.FINISHED
    assert Incar.from_file(stage / "seg_001" / "INCAR")["NSW"] == 6
    trace = stage_trace(stage)
    assert list(trace.table["step"]) == list(range(1, 11))
    assert trace.metadata["segments"][0]["truncated"] is True
    assert stage_frames(stage).positions.shape[0] == 10  # the cut frame of step 5 is dropped


def test_vasp_dying_under_custodian_fails_visibly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, psp_dir: Path
) -> None:
    fake_config(tmp_path, monkeypatch, kill_at_step=3)
    stage = make_stage(tmp_path / "stage", 30.0)
    status = run_stage(stage, runner())
    assert status.state is StageState.FAILED and "Validation failed: VasprunXMLValidator" in status.reason
    assert run_stage(stage, runner()).state is StageState.FAILED  # sticky: nothing reruns by itself
    fake_config(tmp_path, monkeypatch)
    status = run_stage(stage, runner(), reset_failed=True)
    assert status.state is StageState.FINISHED
    assert (stage / "seg_000.failed").is_dir() and len(stage_trace(stage).table) == 10


def test_max_errors_ends_a_hopeless_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, psp_dir: Path) -> None:
    fake_config(tmp_path, monkeypatch, errors=[{"message": "ERROR RSPHER: running out of buffer", "fatal": True}])
    stage = make_stage(tmp_path / "stage", 30.0)
    status = run_stage(stage, runner(max_errors=2))
    assert status.state is StageState.FAILED
    record = json.loads((stage / "seg_000" / SEGMENT_RECORD).read_text())
    assert record["outcome"] == "error"
    assert [c["errors"] for c in record["corrections"]] == [["rspher"], ["rspher"]]


# ---------------------------------------------------------------------------------------------------------
# 4. importing runs made outside the pipeline; the systems and runs tables


def test_import_of_outside_runs(tmp_path: Path) -> None:
    first, second = write_vasp_dir(tmp_path / "a"), write_vasp_dir(tmp_path / "b")
    trace_path, frames_path = import_run([first, second], tmp_path / "imported")
    trace = read_trace(trace_path)
    frames = read_frames(frames_path)
    assert list(trace.table["step"]) == [1, 2, 3, 4, 5, 6] and trace.engine == "vasp" and trace.ensemble == "NVT"
    assert frames.time_fs.tolist() == [3.0, 6.0, 9.0, 12.0, 15.0, 18.0]
    (second / "OUTCAR").write_text((second / "OUTCAR").read_text().replace("General timing", "cut"))
    with pytest.raises(TruncatedRunError, match="no timing footer"):
        import_run([first, second], tmp_path / "again")
    with pytest.raises(InputError, match="no run directories"):
        import_run([], tmp_path / "none")


def test_systems_and_runs_tables_are_checked_against_their_manifests(tmp_path: Path) -> None:
    from hmixal.aimd.systems import read_runs, read_systems
    from hmixal.io import write_csv

    plan = plan_runs({"binaries": ["Ir-Ti", "K-Na"], "n_atoms": 8}, melting_points(load_element_table()))
    folder = tmp_path / "results" / "aimd"
    write_csv(plan.systems, folder / "systems.csv")
    write_csv(plan.runs, folder / "runs.csv")
    systems, runs = read_systems(folder / "systems.csv"), read_runs(folder / "runs.csv")
    # Intact tables read back as written (whole numbers such as 2750.0 K come back as integers: %.10g).
    pd.testing.assert_frame_equal(systems, plan.systems, check_dtype=False)
    pd.testing.assert_frame_equal(runs, plan.runs, check_dtype=False)
    assert "Na" in set(systems["B"]) and "Na" in set(runs["A"])  # sodium, not a missing value
    assert set(runs.loc[runs["kind"] == "pure", "B"]) == {""}
    # Cut after the first system / the first three runs: valid tables of fewer runs, told apart by the manifest.
    for name, reader, keep, total in (("systems.csv", read_systems, 2, 2), ("runs.csv", read_runs, 4, 6)):
        path = folder / name
        path.write_text("".join(path.read_text().splitlines(keepends=True)[:keep]))
        with pytest.raises(InputError, match=rf"{path}: has {keep - 1} data rows but its writer recorded {total}"):
            reader(path)
    with pytest.raises(InputError, match=r"AIMD runs table not found"):
        read_runs(folder / "absent.csv")
    write_csv(plan.runs.assign(T_K="hot"), tmp_path / "runs.csv")
    with pytest.raises(InputError, match=r"runs.csv:2: column T_K: 'hot' is not a finite number"):
        read_runs(tmp_path / "runs.csv")
    write_csv(pd.concat([plan.runs, plan.runs.head(1)]), tmp_path / "runs.csv")
    with pytest.raises(InputError, match=r"runs.csv:8: run_id 'Ir4Ti4_2750K' appears twice"):
        read_runs(tmp_path / "runs.csv")
    write_csv(plan.systems.drop(columns="alloy_run"), tmp_path / "systems.csv")
    with pytest.raises(InputError, match=r"systems.csv:1: missing column\(s\): alloy_run"):
        read_systems(tmp_path / "systems.csv")
