"""The referee's run checks (hmixal.aimd.checks) on configurations and series whose answer is known.

Crystals against EMT liquids for the q6 order parameter, exact empty-sphere radii of fcc holes and a liquid
with a hole for the cavity check, drifting against flat conserved energies, and NELM counts of a run of the
stand-in VASP parsed by hmixal.aimd.vasp.parse.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ase import units
from ase.build import bulk
from ase.md.langevin import Langevin
from scipy.signal import lfilter

from hmixal.aimd import checks
from hmixal.aimd.frames import Frames, make_frames
from hmixal.aimd.trace import Trace, make_trace
from hmixal.aimd.vasp.parse import concatenate_segments, parse_md_segment, segment_metadata
from hmixal.errors import InputError

FAKE_VASP = Path(__file__).parent / "fake_vasp" / "fake_vasp.py"


# ---------------------------------------------------------------------------------------------------------
# configurations


def crystal_frames(kind: str, symbol: str, a: float, reps: int, noise_A: float, n_frames: int = 4) -> Frames:
    """A cubic crystal with independent Gaussian displacements (thermal noise) in each frame."""
    atoms = bulk(symbol, kind, a=a, cubic=True).repeat(reps)
    rng = np.random.default_rng(7)
    positions = np.array([atoms.get_positions() + rng.normal(0.0, noise_A, (len(atoms), 3)) for _ in range(n_frames)])
    cells = np.repeat(np.array(atoms.cell)[None], n_frames, axis=0)
    return make_frames(atoms.get_chemical_symbols(), positions, cells, 10.0 * np.arange(1, n_frames + 1))


def emt_liquid(symbol: str, a: float, temperature_K: float, n_frames: int, seed: int) -> Frames:
    """Frames of a 108-atom EMT liquid: an fcc cell melted at 2 T and held at T with a Langevin thermostat."""
    from asap3 import EMT  # the EMT engine's default backend

    atoms = bulk(symbol, "fcc", a=a, cubic=True).repeat(3)
    atoms.calc = EMT()
    rng = np.random.default_rng(seed)
    dyn = Langevin(atoms, 5 * units.fs, temperature_K=2 * temperature_K, friction=0.01 / units.fs, rng=rng)
    dyn.run(600)
    dyn.set_temperature(temperature_K=temperature_K)
    dyn.run(1000)
    positions, cells = [], []
    for _ in range(n_frames):
        dyn.run(50)
        positions.append(atoms.get_positions())
        cells.append(np.array(atoms.cell))
    times = 250.0 * np.arange(1, n_frames + 1)
    return make_frames(atoms.get_chemical_symbols(), np.array(positions), np.array(cells), times)


@pytest.fixture(scope="module")
def cu_liquid() -> Frames:
    """Liquid Cu (EMT) at 1500 K and −4 kbar: near zero pressure, as the volume loop leaves a run."""
    return emt_liquid("Cu", 3.85, 1500.0, 40, seed=3)


def joined(*parts: Frames) -> Frames:
    """Frames one after another, re-timed every 250 fs."""
    positions = np.concatenate([p.positions for p in parts])
    cells = np.concatenate([p.cells for p in parts])
    return make_frames(parts[0].symbols, positions, cells, 250.0 * np.arange(1, len(positions) + 1))


# ---------------------------------------------------------------------------------------------------------
# crystalline order


@pytest.mark.parametrize(("kind", "symbol", "a", "reps"), [("fcc", "Cu", 3.61, 3), ("bcc", "Fe", 2.87, 4)])
def test_crystals_are_solid_like(kind: str, symbol: str, a: float, reps: int) -> None:
    for noise in (0.1, 0.2):
        frames = crystal_frames(kind, symbol, a, reps, noise)
        result = checks.order_check(frames, f"{symbol} {kind}")
        assert result.solid_fraction_mean > 0.95, (noise, result)
        assert result.flag is not None and "crystallising" in result.flag and f"{symbol} {kind}" in result.flag
    # the cutoff from g(r) keeps the first shell: 12 neighbours in fcc, 8 + 6 in bcc
    r_peak, r_min = checks.first_shell_distances(frames)
    nearest = a / math.sqrt(2.0) if kind == "fcc" else a * math.sqrt(3.0) / 2.0
    assert abs(r_peak - nearest) < 0.15
    outer = a if kind == "fcc" else a * math.sqrt(2.0)  # first shell left out
    assert (a if kind == "bcc" else nearest) < r_min < outer


def test_liquid_is_not_solid_like_and_crystallisation_is_flagged(cu_liquid: Frames) -> None:
    liquid = checks.order_check(cu_liquid, "Cu liquid")
    assert liquid.flag is None
    assert liquid.solid_fraction_mean < 0.1 and liquid.solid_fraction_final < 0.1
    crystal = crystal_frames("fcc", "Cu", 3.61, 3, 0.15, n_frames=8)
    # a cell that crystallises in the last sixth of the run: flagged by its final frames
    late = checks.order_check(joined(cu_liquid, crystal), "Cu late", cutoff_A=liquid.cutoff_A)
    assert late.solid_fraction_mean < 0.2 < late.solid_fraction_final
    assert late.flag is not None and "last 5 frames" in late.flag
    # one ordered frame in the middle of a liquid run is a fluctuation, not crystallisation
    half = len(cu_liquid.time_fs) // 2
    blip = joined(
        Frames(cu_liquid.symbols, cu_liquid.positions[:half], cu_liquid.cells[:half], cu_liquid.time_fs[:half]),
        Frames(crystal.symbols, crystal.positions[:1], crystal.cells[:1], crystal.time_fs[:1]),
        Frames(cu_liquid.symbols, cu_liquid.positions[half:], cu_liquid.cells[half:], cu_liquid.time_fs[half:]),
    )
    fluctuation = checks.order_check(blip, "Cu blip", cutoff_A=liquid.cutoff_A)
    assert fluctuation.solid_fraction_max > 0.9 and fluctuation.flag is None


def test_q6_vectors_are_normalised_and_rotation_invariant() -> None:
    frames = crystal_frames("fcc", "Cu", 3.61, 3, 0.1, n_frames=1)
    pos, cell = frames.positions[0], frames.cells[0]
    q = checks.q6_vectors(pos, cell, 3.1)
    weights = np.array([1.0] + [2.0] * 6)
    assert np.allclose(np.sum(weights * np.abs(q) ** 2, axis=1), 1.0)
    # rotating the whole cell changes q6m but not the dot products that decide solid-likeness
    angle = 0.7
    rotation = np.array([[math.cos(angle), -math.sin(angle), 0], [math.sin(angle), math.cos(angle), 0], [0, 0, 1]])
    assert np.array_equal(
        checks.solid_like(pos, cell, 3.1), checks.solid_like(pos @ rotation.T, cell @ rotation.T, 3.1)
    )


# ---------------------------------------------------------------------------------------------------------
# cavities


def test_empty_sphere_radius_of_fcc_holes_is_exact() -> None:
    a = 3.61
    atoms = bulk("Cu", "fcc", a=a, cubic=True).repeat(3)
    cell = np.array(atoms.cell)
    # the octahedral hole of fcc lies a/2 from its six neighbours
    assert checks.largest_empty_radius(atoms.get_positions(), cell) == pytest.approx(a / 2.0, abs=0.02)
    # a vacancy: the empty site lies r_nn = a/√2 from its twelve neighbours
    vacancy = atoms.get_positions()[1:]
    assert checks.largest_empty_radius(vacancy, cell) == pytest.approx(a / math.sqrt(2.0), abs=0.02)
    # a sheared (non-orthogonal) description of the same crystal gives the same holes
    primitive = bulk("Cu", "fcc", a=a).repeat(4)
    assert checks.largest_empty_radius(primitive.get_positions(), np.array(primitive.cell)) == pytest.approx(
        a / 2.0, abs=0.02
    )


def test_hole_in_a_liquid_is_flagged_and_the_liquid_is_not(cu_liquid: Frames) -> None:
    label = "Cu108 1500 K"
    liquid = checks.cavity_check(cu_liquid, label)
    assert liquid.flag is None and liquid.n_frames == 40
    assert 0.8 < liquid.ratio_mean < 1.1 and liquid.ratio_max < checks.DEFAULT_MAX_CAVITY_RATIO
    # the same frames with every atom within 4.5 Å of the cell centre removed (a bubble of ~17 atoms)
    cell = cu_liquid.cells[0]
    centre = cell.sum(axis=0) / 2.0
    wrapped = np.mod(cu_liquid.positions @ np.linalg.inv(cell), 1.0) @ cell  # the engine does not wrap
    outside = np.linalg.norm(wrapped - centre, axis=2) > 4.5
    holed = [checks.largest_empty_radius(pos[keep], cell) for pos, keep in zip(wrapped, outside, strict=True)]
    assert min(holed) / liquid.r_nn_A > checks.DEFAULT_MAX_CAVITY_RATIO
    # as a run: the first holed frame with 0.1 Å of thermal noise in each of five frames
    rng = np.random.default_rng(5)
    kept = wrapped[0][outside[0]]
    frames = make_frames(
        [s for s, k in zip(cu_liquid.symbols, outside[0], strict=True) if k],
        np.array([kept + rng.normal(0.0, 0.1, kept.shape) for _ in range(5)]),
        cu_liquid.cells[:5],
        cu_liquid.time_fs[:5],
    )
    bubble = checks.cavity_check(frames, label, r_nn_A=liquid.r_nn_A)
    assert bubble.n_frames_over == 5 and bubble.flag is not None
    assert label in bubble.flag and "cavity" in bubble.flag


# ---------------------------------------------------------------------------------------------------------
# conserved-energy drift


def ar1(n: int, phi: float, sigma: float, seed: int) -> np.ndarray:
    """Stationary AR(1) noise with standard deviation sigma."""
    noise = np.random.default_rng(seed).normal(scale=sigma * math.sqrt(1.0 - phi**2), size=n)
    noise[0] /= math.sqrt(1.0 - phi**2)
    return lfilter([1.0], [1.0, -phi], noise)


def test_drift_is_measured_and_flagged_only_when_real() -> None:
    n_atoms, n = 100, 3000
    t = 3.0 * np.arange(1, n + 1)  # 9 ps at 3 fs
    noise = ar1(n, 0.9, 0.01, seed=1)  # 10 meV per cell, correlated over ~10 steps
    flat = checks.conserved_drift(t, -700.0 + noise, n_atoms, "flat run")
    assert flat.flag is None and abs(flat.slope_meV_per_atom_ps) < 3 * flat.slope_sem_meV_per_atom_ps
    drift = 5.0  # meV/atom/ps
    drifting = -700.0 + noise + drift * 1e-3 * n_atoms * t / 1000.0
    result = checks.conserved_drift(t, drifting, n_atoms, "hot run")
    assert abs(result.slope_meV_per_atom_ps - drift) < 3 * result.slope_sem_meV_per_atom_ps
    assert result.slope_sem_meV_per_atom_ps < 0.1 and result.span_ps == pytest.approx(8.997)
    assert result.flag is not None and result.flag.startswith("hot run: conserved energy drifts by +5.0")
    # the SE counts the correlation: white noise of the same size gives a smaller one
    white = checks.conserved_drift(t, -700.0 + ar1(n, 0.0, 0.01, seed=1), n_atoms, "white")
    assert white.slope_sem_meV_per_atom_ps < 0.5 * flat.slope_sem_meV_per_atom_ps


def test_drift_fits_one_intercept_per_segment() -> None:
    # a restarted run: the thermostat energy starts again at zero, so E jumps between segments
    t = 3.0 * np.arange(1, 601)
    segment = np.repeat([0, 1, 2], 200)
    energy = -700.0 + np.array([0.0, 0.4, -0.3])[segment] + ar1(600, 0.5, 0.002, seed=2)
    pooled = checks.conserved_drift(t, energy, 100, "restarted", segment)
    assert pooled.flag is None and pooled.n_segments == 3
    assert pooled.span_ps == pytest.approx(3 * 0.597)
    naive = checks.conserved_drift(t, energy, 100, "restarted")  # the jumps read as a slope
    assert abs(naive.slope_meV_per_atom_ps) > 10 * abs(pooled.slope_meV_per_atom_ps)
    with pytest.raises(InputError, match="too few steps"):
        checks.conserved_drift(t[:3], energy[:3], 100, "short", [0, 1, 2])


# ---------------------------------------------------------------------------------------------------------
# SCF at NELM, from the stand-in VASP


def test_scf_at_nelm_counts() -> None:
    result = checks.scf_at_nelm([5, 6, 40, 7, 40, 8, 9, 5, 6, 7], 40, "run A")
    assert (result.n_at_nelm, result.n_steps, result.fraction) == (2, 10, 0.2)
    assert result.nelm == (40,) and result.max_scf_steps == 40
    assert result.flag is not None and "2 of 10 MD steps (20.0 %)" in result.flag and "run A" in result.flag
    ok = checks.scf_at_nelm([5] * 200 + [40], 40, "run B")
    assert ok.flag is None and ok.fraction == pytest.approx(1 / 201)
    # NELM per step (custodian raised it in a later segment): 40 is converged under NELM = 60
    mixed = checks.scf_at_nelm([40, 40, 40, 60], [40, 40, 60, 60], "run C")
    assert mixed.n_at_nelm == 3 and mixed.nelm == (40, 60)
    with pytest.raises(InputError, match="step 2 has 41 iterations > NELM"):
        checks.scf_at_nelm([5, 41], 40, "run D")


def fake_vasp_run(directory: Path, nsw: int, nelm: int, config: dict[str, object]) -> Path:
    """One run of the stand-in VASP (no custodian) in ``directory``."""
    directory.mkdir(parents=True)
    (directory / "INCAR").write_text(
        f"SYSTEM = Cu8\nIBRION = 0\nMDALGO = 2\nSMASS = 0\nNSW = {nsw}\nPOTIM = 3.0\nTEBEG = 2000\n"
        f"NELM = {nelm}\nNELMIN = 4\nALGO = Fast\nISMEAR = -1\nSIGMA = 0.17\n"
    )
    (directory / "POSCAR").write_text(
        "Cu8\n1.0\n 4.8 0 0\n 0 4.8 0\n 0 0 4.8\nCu\n8\nDirect\n"
        + "".join(f" {x} {y} {z}\n" for x in (0.0, 0.5) for y in (0.0, 0.5) for z in (0.25, 0.75))
    )
    (directory / "fake.json").write_text(json.dumps(config))
    env = {**os.environ, "FAKE_VASP_CONFIG": str(directory / "fake.json")}
    subprocess.run([sys.executable, str(FAKE_VASP)], cwd=directory, env=env, check=True, capture_output=True)
    return directory


def test_nelm_steps_and_drift_of_a_parsed_stand_in_run(tmp_path: Path) -> None:
    config = {"nelm_fraction": 0.2, "drift_eV_per_ps": 0.4, "conserved_noise_eV": 0.001, "seed": 11}
    run = fake_vasp_run(tmp_path / "run", nsw=150, nelm=12, config=config)
    segment = parse_md_segment(run)
    # independent count: electronic lines numbered 12 (= NELM) in the OSZICAR
    at_nelm = len(re.findall(r"^(?:DAV|RMM):\s+12\s", (run / "OSZICAR").read_text(), flags=re.MULTILINE))
    assert 15 <= at_nelm <= 45  # 20 % of 150 steps
    meta = segment_metadata([segment])
    assert meta["nelm"] == 12 and meta["segments"][0]["nelm"] == 12
    trace = make_trace(
        concatenate_segments([segment]), meta["composition"], meta["temperature_K"], "NVT", "vasp", str(run),
        {k: v for k, v in meta.items() if k not in ("composition", "temperature_K", "n_atoms", "engine")},
    )  # fmt: skip
    result = checks.run_checks(trace, None)
    assert isinstance(result.scf, checks.ScfCheck)
    assert result.scf.n_at_nelm == at_nelm and result.scf.n_steps == 150 and result.scf.nelm == (12,)
    assert isinstance(result.drift, checks.DriftCheck)
    # 0.4 eV/ps per cell of 8 atoms = 50 meV/atom/ps
    assert abs(result.drift.slope_meV_per_atom_ps - 50.0) < 3 * result.drift.slope_sem_meV_per_atom_ps + 1.0
    assert len(result.flags) == 2 and all(str(run) in f for f in result.flags)
    assert isinstance(result.cavity, checks.NotApplicable) and result.cavity.reason == "no frames"
    # from the production window only, and JSON-able for the run's status file
    later = checks.run_checks(trace, None, start_fs=225.0)
    assert isinstance(later.scf, checks.ScfCheck) and later.scf.n_steps == 76
    text = json.dumps(later.as_dict())
    assert json.loads(text)["scf"]["nelm"] == [12] and json.loads(text)["order"]["applicable"] is False


# ---------------------------------------------------------------------------------------------------------
# one run


def emt_like_trace(n: int = 2100) -> Trace:
    """A trace as the EMT engine writes it: no conserved quantity, no SCF counts."""
    t = 5.0 * np.arange(1, n + 1)
    table = pd.DataFrame(
        {"step": np.arange(1, n + 1), "time_fs": t, "temperature_K": 1500.0, "etotal_eV": -300.0,
         "epot_eV": -320.0, "pressure_kbar": 0.0}
    )  # fmt: skip
    return make_trace(table, {"Cu": 108}, 1500.0, "NPT", "emt", "emt/trace.csv")


def test_run_checks_reports_missing_columns_as_not_applicable(cu_liquid: Frames) -> None:
    result = checks.run_checks(emt_like_trace(), cu_liquid, checks.CheckSettings())
    assert isinstance(result.drift, checks.NotApplicable) and "no conserved_eV column" in result.drift.reason
    assert isinstance(result.scf, checks.NotApplicable) and "no scf_steps column" in result.scf.reason
    assert isinstance(result.cavity, checks.CavityCheck) and isinstance(result.order, checks.OrderCheck)
    assert result.flags == [] and result.label == "Cu108 1500 K (emt) [emt/trace.csv]"
    data = json.loads(json.dumps(result.as_dict()))
    assert data["drift"] == {"applicable": False, "reason": "the emt trace has no conserved_eV column"}
    assert data["order"]["applicable"] is True and data["order"]["n_frames"] == 40
    # frames after the start time only
    later = checks.run_checks(emt_like_trace(), cu_liquid, start_fs=5001.0)
    assert isinstance(later.order, checks.OrderCheck) and later.order.n_frames == 20


def test_check_settings_from_mapping() -> None:
    settings = checks.CheckSettings.from_mapping({"max_drift_meV_per_atom_ps": 2.0, "neighbour_cutoff_A": 3.4})
    assert settings.max_drift_meV_per_atom_ps == 2.0 and settings.neighbour_cutoff_A == 3.4
    with pytest.raises(InputError, match="unknown key"):
        checks.CheckSettings.from_mapping({"max_drift": 2.0})
    with pytest.raises(InputError, match="max_nelm_fraction must lie in"):
        checks.CheckSettings(max_nelm_fraction=5.0)
    with pytest.raises(InputError, match="q6_min_connections"):
        checks.CheckSettings(q6_min_connections=0)
