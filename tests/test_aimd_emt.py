"""Tests of the EMT potential (hmixal.aimd.emt) and of EMT through the AIMD protocol's ASE engine, end to end."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms, units
from ase.calculators.emt import EMT as AseEMT
from ase.lattice.cubic import FaceCenteredCubic
from ase.md.nose_hoover_chain import IsotropicMTKNPT
from ase.md.velocitydistribution import Stationary, thermalize_momenta

from hmixal.aimd import emt
from hmixal.aimd.ase_engine import AseEngine, AseEngineSettings, atoms_to_state
from hmixal.aimd.engine import StageState
from hmixal.aimd.enthalpy import EV_TO_KJ_PER_MOL
from hmixal.aimd.frames import MIN_DIFFUSION_M2_PER_S, MIN_WENDT_ABRAHAM_RATIO, make_frames, structure_check
from hmixal.aimd.protocol import ProtocolSettings, advance_run, prepare_run
from hmixal.aimd.results import binary_result
from hmixal.dataset import read_dataset_csv
from hmixal.elements import load_element_table
from hmixal.errors import InputError

pytest.importorskip("asap3")

# Liquid Ag–Cu, x = 0.5, 1400 K. Experiment ≈ +4 kJ/mol (Hultgren et al., Selected Values of the
# Thermodynamic Properties of Binary Alloys, ASM 1973; Witusiewicz et al., J. Alloys Compd. 385, 133 (2004)).
# EMT through isotropic MTK NPT at P = 0, 256 atoms, 100 ps, 6 seeds (the engine before the NVT protocol,
# docs/aimd_emt.md): +0.34 ± 0.04 kJ/mol.
AGCU_EMT_256_NPT = (0.34, 0.04)
SE_CALIBRATION = 1.4  # measured spread of the NVT protocol's values over its quoted SEs (see the slow test)


def random_cell(counts: dict[str, int], seed: int) -> Atoms:
    """A dense random cell."""
    return emt.start_cell(counts, seed)


@pytest.mark.parametrize("counts", [{"Cu": 64}, {"Ag": 64}, {"Ag": 32, "Cu": 32}, {"Ni": 40}, {"Al": 20, "Pt": 20}])
def test_fixed_cutoff_asap3_matches_ase(counts: dict[str, int]) -> None:
    atoms = random_cell(counts, seed=1)
    atoms.rattle(0.05, seed=2)
    reference = atoms.copy()
    reference.calc = AseEMT()
    fast = atoms.copy()
    fast.calc = emt.make_calculator("asap3")
    n = len(atoms)
    de = (fast.get_potential_energy() - reference.get_potential_energy()) / n * EV_TO_KJ_PER_MOL
    assert abs(de) < 1e-4  # kJ/mol per atom
    assert np.abs(fast.get_forces() - reference.get_forces()).max() < 1e-4  # eV/Å
    assert np.abs(fast.get_stress() - reference.get_stress()).max() < 1e-6  # eV/Å³


def test_asap3_default_cutoff_would_shift_pure_copper() -> None:
    """Why the cutoff is fixed: asap3's own choice for a Cu-only cell differs from the alloy's (pitfall 5)."""
    from asap3 import EMT as AsapDefault

    atoms = random_cell({"Cu": 64}, seed=3)
    fixed = atoms.copy()
    fixed.calc = emt.make_calculator("asap3")
    default = atoms.copy()
    default.calc = AsapDefault()
    shift = (default.get_potential_energy() - fixed.get_potential_energy()) / 64 * EV_TO_KJ_PER_MOL
    assert abs(shift) > 0.3


def test_protocol_helpers() -> None:
    assert emt.thermostat_temperature(1400.0, 256) == pytest.approx(1400.0 * 765 / 768)
    assert abs(emt.CUTOFF_A - 5.377) < 1e-3  # mean of the 3rd and 4th fcc shells of Ag
    with pytest.raises(InputError, match="backend must be one of"):
        emt.make_calculator("gulp")
    with pytest.raises(InputError, match="no parameters for Fe"):
        emt.start_cell({"Fe": 10}, 1)


def test_backends_follow_the_same_trajectory(tmp_path: Path) -> None:
    """asap3 with the fixed cutoff and ASE's own EMT give the same MD, step for step (same seed and start)."""
    state = atoms_to_state(random_cell({"Ag": 16, "Cu": 16}, seed=5))
    tables = []
    for calculator in ("emt", "emt-ase"):
        settings = AseEngineSettings(calculator=calculator, sample_interval=5, frame_interval=5, start_steps=50)
        engine = AseEngine(settings, 5)
        stage = tmp_path / calculator / "vol_00"  # one stage name: one stage seed for both
        engine.prepare_stage(stage, state, 1400.0, 250.0, "Ag16Cu16 1400 K")
        assert engine.run_stage(stage, dt.datetime.now()).state is StageState.FINISHED
        tables.append(engine.stage_trace(stage).table)
    a, b = tables
    assert np.abs(a["epot_eV"] - b["epot_eV"]).max() / 32 * EV_TO_KJ_PER_MOL < 1e-4
    assert np.abs(a["pressure_kbar"] - b["pressure_kbar"]).max() < 0.05


def test_emt_crystal_is_not_liquid() -> None:
    """Real EMT dynamics of fcc Cu at 900 K (below EMT's melting point) fail the liquid check."""
    atoms = FaceCenteredCubic("Cu", size=(3, 3, 3), latticeconstant=3.61)  # 108 atoms
    atoms.calc = emt.make_calculator("asap3")
    thermalize_momenta(atoms, 900.0, rng=np.random.default_rng(0))
    Stationary(atoms)
    md = IsotropicMTKNPT(atoms, 5 * units.fs, 900.0, 0.0, 100 * units.fs, 500 * units.fs)
    positions, cells = [], []
    for _ in range(20):
        md.run(50)
        positions.append(atoms.get_positions())
        cells.append(np.array(atoms.get_cell()))
    frames = make_frames(atoms.get_chemical_symbols(), np.array(positions), np.array(cells), 250.0 * np.arange(20))
    check = structure_check(frames)
    assert not check.liquid
    assert check.diffusion_m2_per_s < MIN_DIFFUSION_M2_PER_S
    assert check.wendt_abraham_ratio < MIN_WENDT_ABRAHAM_RATIO


@pytest.mark.slow
def test_rule_scripts_run_a_binary_and_collect(tmp_path: Path, aimd_jobs) -> None:
    """The rule scripts as Snakemake calls them: three aimd_run jobs → one binary row → the results table."""
    aimd = {"engine": "ase", "protocol": {"volume_run_ps": 1.0, "production_ps": 3.0}, "reset_failed": False,
            "ase": {"calculator": "emt", "frame_interval": 20}}  # fmt: skip
    plan, outcomes = aimd_jobs.runs({"system": "Ag-Cu", "T_K": 1400}, 64, aimd)
    run = aimd_jobs.run
    system = plan.systems.iloc[0]
    inputs = {"alloy": outcomes[system["alloy_run"]], "pure_a": outcomes[system["pure_A_run"]],
              "pure_b": outcomes[system["pure_B_run"]]}  # fmt: skip
    outputs = {"row": str(tmp_path / "AgCu.csv"), "details": str(tmp_path / "AgCu.json")}
    report = run("aimd_hmix.py", {"input": inputs, "output": outputs,
                                  "params": {"checks": {}, "protocol": aimd["protocol"]}}, "hmix")  # fmt: skip
    assert report.startswith("0\n"), report
    report = run("aimd_collect.py", {"input": {"rows": [outputs["row"]]},
                                     "output": {"table": str(tmp_path / "aimd_results.csv")}}, "collect")  # fmt: skip
    assert report.startswith("0\n"), report
    table = read_dataset_csv(tmp_path / "aimd_results.csv", "potential_md")
    assert table.rejects.empty and len(table.rows) == 1
    row = table.rows.iloc[0]
    assert row["source_type"] == "potential_md" and row["reference"].startswith("engine=emt;")
    assert row["source"].count(";") == 2 and row["status"] == "value"
    details = json.loads(Path(outputs["details"]).read_text())
    assert len(details["runs"]) == 3 and details["row"]["status"] == "value"


@pytest.mark.slow
def test_agcu_nvt_protocol_matches_the_npt_reference(tmp_path: Path) -> None:
    """256 atoms, 100 ps of NVT production after the volume loop (~60 s a binary): the NPT value within errors."""
    elements = load_element_table()
    protocol = ProtocolSettings(volume_run_ps=2.0, production_ps=100.0)
    dirs = []
    for seed, counts in enumerate(({"Ag": 128, "Cu": 128}, {"Ag": 256}, {"Cu": 256}), start=1):
        engine = AseEngine(AseEngineSettings(calculator="emt"), seed)
        run_dir = prepare_run(tmp_path / str(seed), engine, counts, 1400.0, protocol, seed, elements)
        advance_run(run_dir, engine, protocol)
        dirs.append(run_dir)
    row = binary_result(*dirs, protocol=protocol).row
    assert row["status"] == "value", row["comment"]
    reference, reference_sem = AGCU_EMT_256_NPT
    # Over the 7 NVT binaries measured (benchmarks/emt_nvt_vs_npt.json and this one) the RMS of
    # (value − NPT)/SE is 1.36: the quoted SE of a run with a small P = 0 correction is ~1.4× too small
    # (docs/aimd_emt.md). The comparison allows 3 of those calibrated SEs.
    calibrated = SE_CALIBRATION * math.hypot(row["uncertainty_kJ_per_mol"], reference_sem)
    assert abs(row["hmix_kJ_per_mol"] - reference) < 3 * calibrated
