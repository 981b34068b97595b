"""Tests of the local EMT engine (hmixal.aimd.emt): fixed cutoff, protocol helpers, real MD end to end."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms, units
from ase.calculators.emt import EMT as AseEMT
from ase.lattice.cubic import FaceCenteredCubic
from ase.md.nose_hoover_chain import IsotropicMTKNPT
from ase.md.velocitydistribution import Stationary, thermalize_momenta

from hmixal.aimd import analysis as an
from hmixal.aimd import emt
from hmixal.dataset import read_dataset_csv
from hmixal.elements import default_table_path
from hmixal.errors import InputError

pytest.importorskip("asap3")

# Liquid Ag–Cu, x = 0.5, 1400 K. Experiment ≈ +4 kJ/mol (Hultgren et al., Selected Values of the
# Thermodynamic Properties of Binary Alloys, ASM 1973; Witusiewicz et al., J. Alloys Compd. 385, 133 (2004)).
# EMT reference from long runs while planning (METHOD §13): +0.31 ± 0.07 at 256 atoms, +0.44 ± 0.08 at 108.
AGCU_EMT_256 = (0.31, 0.07)


def random_cell(counts: dict[str, int], seed: int) -> Atoms:
    """A dense random cell from the engine's own start-cell builder."""
    return emt.start_cell(counts, emt.EMTSettings(n_atoms=sum(counts.values())), seed)


@pytest.mark.parametrize("counts", [{"Cu": 64}, {"Ag": 64}, {"Ag": 32, "Cu": 32}, {"Ni": 40}, {"Al": 20, "Pt": 20}])
def test_fixed_cutoff_asap3_matches_ase(counts: dict[str, int]) -> None:
    atoms = random_cell(counts, seed=1)
    atoms.rattle(0.05, seed=2)
    reference = atoms.copy()
    reference.calc = AseEMT()
    fast = atoms.copy()
    fast.calc = emt.make_calculator("asap3")
    n = len(atoms)
    de = (fast.get_potential_energy() - reference.get_potential_energy()) / n * an.EV_TO_KJ_PER_MOL
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
    shift = (default.get_potential_energy() - fixed.get_potential_energy()) / 64 * an.EV_TO_KJ_PER_MOL
    assert abs(shift) > 0.3


def test_protocol_helpers() -> None:
    assert emt.melt_temperature(1400.0) == 2800.0
    assert emt.melt_temperature(800.0) == 1800.0
    assert emt.thermostat_temperature(1400.0, 256) == pytest.approx(1400.0 * 765 / 768)
    label = emt.run_label({"Cu": 128, "Ag": 128, "Au": 0}, 1400.0)
    assert label == "Ag128Cu128_1400K"
    assert emt.parse_run_label(label) == ({"Ag": 128, "Cu": 128}, 1400.0)
    assert emt.parse_run_label("Ni256_2000.5K") == ({"Ni": 256}, 2000.5)
    assert emt.binary_run_labels("Ag", "Cu", 0.25, 1400.0, 64) == ("Ag48Cu16_1400K", "Ag64_1400K", "Cu64_1400K")
    with pytest.raises(InputError, match="not a run label"):
        emt.parse_run_label("AgCu_1400")
    with pytest.raises(InputError, match="leaves no"):
        emt.binary_run_labels("Ag", "Cu", 0.001, 1400.0, 64)
    assert abs(emt.CUTOFF_A - 5.377) < 1e-3  # mean of the 3rd and 4th fcc shells of Ag


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"n_atom": 10}, "unknown aimd.emt setting"),
        ({"n_atoms": 0}, "n_atoms must be a positive integer"),
        ({"timestep_fs": -1.0}, "timestep_fs must be a positive number"),
        ({"melt_steps": -5}, "melt_steps must be a non-negative integer"),
        ({"backend": "lammps"}, "backend must be one of"),
        ({"frame_interval": 7}, "multiple of sample_interval"),
        ({"production_steps": 100}, "frames; need"),
        ({"packing_fraction": 0.5}, "packing_fraction must be a number"),
        ({"packing_fraction": "dense"}, "packing_fraction must be a number"),
        ({"min_discard_fraction": 0.9}, "min_discard_fraction"),
    ],
)
def test_settings_from_config_rejects_bad_values(section: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        emt.settings_from_config(section)


def test_settings_from_config_overrides() -> None:
    settings = emt.settings_from_config({"n_atoms": 108, "production_steps": 10000})
    assert settings.n_atoms == 108 and settings.production_steps == 10000 and settings.timestep_fs == 5.0


def test_run_rejects_bad_requests(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no parameters for Fe"):
        emt.run_liquid({"Fe": 10}, 2000.0, tmp_path, emt.CI_SETTINGS)
    with pytest.raises(InputError, match="temperature must be positive"):
        emt.run_liquid({"Cu": 10}, -1.0, tmp_path, emt.CI_SETTINGS)
    with pytest.raises(InputError, match="backend must be one of"):
        emt.make_calculator("gulp")


TINY = replace(emt.CI_SETTINGS, n_atoms=32, melt_steps=0, cool_steps=0, production_steps=50, frame_interval=5)


def test_backends_follow_the_same_trajectory(tmp_path: Path) -> None:
    """asap3 with the fixed cutoff and ASE's own EMT give the same MD, step for step (same seed)."""
    fast = emt.run_liquid({"Ag": 16, "Cu": 16}, 1400.0, tmp_path / "asap3", TINY, seed=5)
    slow = emt.run_liquid({"Ag": 16, "Cu": 16}, 1400.0, tmp_path / "ase", replace(TINY, backend="ase"), seed=5)
    a = an.read_trace(fast.trace).table
    b = an.read_trace(slow.trace).table
    assert np.abs(a["epot_eV"] - b["epot_eV"]).max() / 32 * an.EV_TO_KJ_PER_MOL < 1e-4
    assert np.abs(a["pressure_kbar"] - b["pressure_kbar"]).max() < 0.05


def test_run_is_reproducible_and_self_describing(tmp_path: Path) -> None:
    first = emt.run_liquid({"Cu": 32}, 1400.0, tmp_path / "one", TINY, seed=9)
    second = emt.run_liquid({"Cu": 32}, 1400.0, tmp_path / "two", TINY, seed=9)
    for name in (emt.TRACE_FILE, emt.TRAJECTORY_FILE, emt.RUN_FILE):
        assert (first.directory / name).read_bytes() == (second.directory / name).read_bytes()
    trace = an.read_trace(first.trace)
    assert trace.ensemble == "NPT" and "asap3" in trace.engine and trace.composition == {"Cu": 32}
    assert list(trace.table.columns) == [*an.TRACE_COLUMNS, "volume_A3"]
    assert len(trace.table) == TINY.production_steps // TINY.sample_interval + 1
    info = json.loads(first.run_info.read_text())
    assert info["melt_temperature_K"] == 2800.0 and info["thermostat_temperature_K"] == pytest.approx(1400 * 93 / 96)
    frames = an.read_frames(first.trajectory)
    assert len(frames.time_fs) == TINY.production_steps // TINY.frame_interval + 1
    other = emt.run_liquid({"Cu": 32}, 1400.0, tmp_path / "three", TINY, seed=10)
    assert other.trace.read_bytes() != first.trace.read_bytes()


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
    frames = an.make_frames(atoms.get_chemical_symbols(), np.array(positions), np.array(cells), 250.0 * np.arange(20))
    check = an.structure_check(frames)
    assert not check.liquid
    assert check.diffusion_m2_per_s < an.MIN_DIFFUSION_M2_PER_S
    assert check.wendt_abraham_ratio < an.MIN_WENDT_ABRAHAM_RATIO


def test_agcu_hmix_end_to_end_small(tmp_path: Path) -> None:
    """Ag–Cu x = 0.5 at 1400 K with the CI setting (64 atoms, 3000 steps): a value with an error bar."""
    result = emt.run_binary("Ag", "Cu", 0.5, 1400.0, tmp_path, emt.CI_SETTINGS, seed=20251125)
    row = result.row
    assert row["status"] == "value", row["comment"]
    assert (row["A"], row["B"], row["x_B"], row["T_K"], row["source_type"]) == ("Ag", "Cu", 0.5, 1400.0, "aimd")
    assert "not DFT" in row["reference"] and "asap3" in row["reference"]
    # 64 atoms and 15 ps per liquid: EMT's weak endothermic mixing (+0.3 … +0.5 at 108–256 atoms) within a
    # generous band, since the cell is small (finite-size shift) and the run short (SE ~0.3–0.5 kJ/mol)
    assert 0.0 < row["uncertainty_kJ_per_mol"] < 1.0
    assert -1.5 < row["hmix_kJ_per_mol"] < 2.5
    for run in result.runs:
        assert run.structure.liquid
        assert run.enthalpy.mean_temperature_K == pytest.approx(1400.0, abs=40.0)
        assert abs(run.enthalpy.mean_pressure_kbar) < 5.0
    path = tmp_path / "row.csv"
    an.write_results([row], path)
    assert read_dataset_csv(path, "aimd").rejects.empty
    details = json.loads(result.details_json())
    assert details["row"]["status"] == "value" and len(details["runs"]) == 3


def test_rule_scripts_run_collect_and_merge(tmp_path: Path, run_script) -> None:
    """The three rule scripts as Snakemake calls them: three runs → one binary row → the results table."""
    settings = {"n_atoms": 64, "production_steps": 1000, "frame_interval": 20}
    labels = emt.binary_run_labels("Ag", "Cu", 0.5, 1400.0, 64)
    files = {"trace": emt.TRACE_FILE, "trajectory": emt.TRAJECTORY_FILE, "run_info": emt.RUN_FILE}

    def run(script: str, inputs: dict, outputs: dict, params: dict, name: str) -> str:
        log = tmp_path / f"{name}.log"
        spec = {"input": inputs, "output": outputs, "params": params, "log": str(log)}
        done = run_script(script, spec)
        return f"{done.returncode}\n{done.stderr}\n{log.read_text() if log.exists() else ''}"

    for label in labels:
        outputs = {key: str(tmp_path / "runs" / label / file) for key, file in files.items()}
        params = {"label": label, "settings": settings, "seed": 7}
        report = run("aimd_emt_run.py", {"elements": str(default_table_path())}, outputs, params, label)
        assert report.startswith("0\n"), report
    traces = [str(tmp_path / "runs" / label / emt.TRACE_FILE) for label in labels]
    inputs = dict(zip(("alloy", "pure_a", "pure_b"), traces, strict=True))
    outputs = {"row": str(tmp_path / "AgCu.csv"), "details": str(tmp_path / "AgCu.json")}
    report = run("aimd_emt_hmix.py", inputs, outputs, {"settings": settings}, "hmix")
    assert report.startswith("0\n"), report
    outputs = {"table": str(tmp_path / "aimd_results.csv")}
    report = run("aimd_collect.py", {"rows": [str(tmp_path / "AgCu.csv")]}, outputs, {}, "collect")
    assert report.startswith("0\n"), report
    table = read_dataset_csv(tmp_path / "aimd_results.csv", "aimd")
    assert table.rejects.empty and len(table.rows) == 1
    assert table.rows["source"].iloc[0].count(";") == 2
    # a declared output outside the run directory's layout is refused
    outputs = {key: str(tmp_path / "elsewhere" / file) for key, file in files.items()}
    outputs["trajectory"] = str(tmp_path / "t.xyz")
    elements = {"elements": str(default_table_path())}
    report = run("aimd_emt_run.py", elements, outputs, {"label": labels[1], "settings": settings, "seed": 7}, "bad")
    assert not report.startswith("0\n") and "output trajectory must be" in report


@pytest.mark.slow
def test_agcu_hmix_default_protocol(tmp_path: Path) -> None:
    """The default protocol (256 atoms, 20 000 steps; ~80 s per liquid) reproduces the planning reference."""
    result = emt.run_binary("Ag", "Cu", 0.5, 1400.0, tmp_path, emt.EMTSettings(), seed=20251125)
    row = result.row
    assert row["status"] == "value", row["comment"]
    value, sem = row["hmix_kJ_per_mol"], row["uncertainty_kJ_per_mol"]
    assert sem < 0.2
    reference, reference_sem = AGCU_EMT_256
    assert abs(value - reference) < 3 * math.hypot(sem, reference_sem)
    for run in result.runs:
        assert run.enthalpy.sem_converged and run.structure.liquid
        assert run.enthalpy.mean_temperature_K == pytest.approx(1400.0, abs=3 * run.enthalpy.temperature_sem_K + 5)
