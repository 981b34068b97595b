"""Tests of the ASE-calculator MD engine (hmixal.aimd.ase_engine): settings, conversions, stages with real EMT MD."""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.emt import EMT as AseEMT
from ase.md.velocitydistribution import thermalize_momenta

from hmixal.aimd import ase_engine as ae
from hmixal.aimd import emt
from hmixal.aimd.engine import CellState, Engine, StageState
from hmixal.aimd.trace import TRACE_COLUMNS
from hmixal.errors import InputError

pytest.importorskip("asap3")

T_K = 1400.0
NOW = dt.datetime(2025, 1, 1)  # job start: the engine only logs the time since
# 1 amu·Å²/fs² in eV: 1.66053906660e-27 kg × 1e-20 m² / 1e-30 s² / 1.602176634e-19 J/eV (CODATA 2018)
AMU_A2_PER_FS2_IN_EV = 1.66053906660e-27 * 1e-20 / 1e-30 / 1.602176634e-19


def random_state(counts: dict[str, int], seed: int) -> CellState:
    """A random liquid start cell (no velocities) from the EMT engine's start-cell builder."""
    atoms = emt.start_cell(counts, seed)
    return ae.atoms_to_state(atoms)


def run(engine: ae.AseEngine, stage_dir: Path, state: CellState, duration_fs: float, label: str = "test") -> Any:
    """Prepare and run one stage at T_K; return its status."""
    engine.prepare_stage(stage_dir, state, T_K, duration_fs, label)
    return engine.run_stage(stage_dir, NOW)


def stage_bytes(stage_dir: Path) -> dict[str, bytes]:
    """Every file of a stage directory (relative name → bytes)."""
    return {str(p.relative_to(stage_dir)): p.read_bytes() for p in sorted(stage_dir.rglob("*")) if p.is_file()}


# Test factories for the 'module:factory' calculator setting (this module is importable under __name__).
def emt_factory() -> AseEMT:
    """ASE's own EMT, as a factory would return an ML potential."""
    return AseEMT()


class EnergyOnlyEMT(AseEMT):
    """EMT that, like many ML calculators, does not list 'free_energy' (the conserved energy needs a fallback)."""

    implemented_properties: ClassVar[list[str]] = ["energy", "forces", "stress"]


class NoStressEMT(AseEMT):
    """EMT without stress: the volume loop could not read a pressure."""

    implemented_properties: ClassVar[list[str]] = ["energy", "forces"]


def no_stress_factory() -> NoStressEMT:
    """A calculator without stress."""
    return NoStressEMT()


def energy_only_factory() -> EnergyOnlyEMT:
    """A calculator without 'free_energy'."""
    return EnergyOnlyEMT()


DEVICES_SEEN: list[str] = []


def device_factory(device: str) -> AseEMT:
    """A factory with a 'device' parameter: the engine passes its device setting."""
    DEVICES_SEEN.append(device)
    return AseEMT()


def model_factory(weights_path: str) -> AseEMT:
    """A factory that describes its model through the optional hmixal_model attribute."""
    calculator = AseEMT()
    calculator.hmixal_model = {"name": "toy-emt", "version": "0.1", "weights_path": weights_path}
    return calculator


def not_a_calculator() -> str:
    """A factory returning something that is not an ASE calculator."""
    return "EMT"


# ---------------------------------------------------------------------------------------------------------
# Settings and conversions


def test_engine_has_the_protocol_methods() -> None:
    """AseEngine offers every method of engine.Engine with the same parameters (the protocol calls them so)."""
    engine = ae.AseEngine()
    assert engine.name == "ase"
    for name, member in vars(Engine).items():
        if callable(member) and not name.startswith("_"):
            ours = inspect.signature(getattr(ae.AseEngine, name)).parameters
            assert list(ours) == list(inspect.signature(member).parameters), name


def test_settings_from_mapping() -> None:
    settings = ae.AseEngineSettings.from_mapping({"timestep_fs": 4, "sample_interval": 2, "frame_interval": 10})
    assert settings.timestep_fs == 4.0 and isinstance(settings.timestep_fs, float)
    assert ae.AseEngineSettings.from_mapping(None) == ae.AseEngineSettings()
    with pytest.raises(InputError, match=r"unknown aimd\.ase setting.*timestep\b"):
        ae.AseEngineSettings.from_mapping({"timestep": 5.0})
    bad: list[dict[str, Any]] = [
        {"frame_interval": 12},  # not a multiple of sample_interval 5
        {"timestep_fs": 0},
        {"sample_interval": 2.5},
        {"start_steps": -1},
        {"thermostat": "berendsen"},
        {"calculator": "chgnet"},  # neither an EMT name nor module:factory
        {"calculator": "emt", "calculator_kwargs": {"model": "x"}},
        {"calculator": "emt", "device": "cuda"},
        {"calculator": "m:f", "device": "gpu"},
        {"calculator": "m:f", "calculator_kwargs": {"path": Path("/x")}},  # not JSON
    ]
    for values in bad:
        with pytest.raises(InputError, match=r"aimd\.ase"):
            ae.AseEngineSettings.from_mapping(values)


def test_atoms_state_round_trip_converts_velocity_units() -> None:
    atoms = emt.start_cell({"Ag": 20, "Cu": 12}, 3)
    thermalize_momenta(atoms, 1000.0, rng=np.random.default_rng(1))
    state = ae.atoms_to_state(atoms)
    assert state.velocities_A_per_fs is not None
    # kinetic energy from Å/fs and amu, with SI constants, equals ASE's (ASE units are Å, eV, amu)
    masses = atoms.get_masses()[:, None]
    kinetic = 0.5 * float(np.sum(masses * state.velocities_A_per_fs**2)) * AMU_A2_PER_FS2_IN_EV
    assert kinetic == pytest.approx(atoms.get_kinetic_energy(), rel=1e-6)
    # thermal speeds of metals at 1000 K are ~0.005 Å/fs (~500 m/s)
    assert 0.002 < float(np.sqrt(np.mean(state.velocities_A_per_fs**2))) < 0.02
    back = ae.state_to_atoms(state)
    assert np.allclose(back.get_momenta(), atoms.get_momenta(), rtol=1e-12, atol=0)
    assert np.array_equal(back.get_positions(), atoms.get_positions())
    assert np.array_equal(np.array(back.get_cell()), np.array(atoms.get_cell())) and back.pbc.all()
    assert ae.atoms_to_state(Atoms("Cu2", positions=[[0, 0, 0], [1, 1, 1]], cell=[3, 3, 3])).velocities_A_per_fs is None


# ---------------------------------------------------------------------------------------------------------
# One stage from a random cell, and what follows from it


@pytest.fixture(scope="module")
def first_stage(tmp_path_factory: pytest.TempPathFactory) -> tuple[ae.AseEngine, Path]:
    """64-atom Ag–Cu from a random cell: 400 steps of 5 fs (2 ps) at 1400 K."""
    engine = ae.AseEngine(ae.AseEngineSettings(frame_interval=50), seed=11)
    stage = tmp_path_factory.mktemp("run") / "vol_00"
    status = run(engine, stage, random_state({"Ag": 32, "Cu": 32}, 5), 2000.0, "vol_00 start")
    assert status.state is StageState.FINISHED, status.reason
    return engine, stage


def test_stage_from_random_cell(first_stage: tuple[ae.AseEngine, Path]) -> None:
    engine, stage = first_stage
    status = engine.stage_status(stage)
    assert (status.state, status.time_done_fs, status.target_fs, status.n_segments) == (
        StageState.FINISHED,
        2000.0,
        2000.0,
        1,
    )
    spec = json.loads((stage / ae.STAGE_FILE).read_text())
    assert spec["n_steps"] == 400 and spec["random_start"] and spec["label"] == "vol_00 start"
    assert engine.start_state(stage).velocities_A_per_fs is None
    assert spec["thermostat_temperature_K"] == pytest.approx(T_K * (3 * 64 - 3) / (3 * 64))
    trace = engine.stage_trace(stage)
    assert list(trace.table.columns) == [*TRACE_COLUMNS, "volume_A3", ae.CONSERVED_COLUMN]
    assert len(trace.table) == 400 // 5 + 1 and trace.table["step"].iloc[-1] == 400
    assert trace.ensemble == "NVT" and trace.composition == {"Ag": 32, "Cu": 32}
    assert "EMT" in trace.engine and "asap3" in trace.engine
    assert trace.table["volume_A3"].nunique() == 1
    assert trace.metadata["outcome"] == "finished" and trace.metadata["seed"] == engine.stage_seed(stage)
    frames = engine.stage_frames(stage)
    assert frames.positions.shape == (400 // 50 + 1, 64, 3)
    assert np.array_equal(frames.time_fs, np.arange(0, 2001, 250.0))
    final = engine.final_state(stage)
    assert final.velocities_A_per_fs is not None and final.symbols == tuple(frames.symbols)
    # the final state is the last trace row: same potential energy and temperature
    atoms = ae.state_to_atoms(final)
    atoms.calc = emt.make_calculator("asap3")
    assert atoms.get_potential_energy() == pytest.approx(trace.table["epot_eV"].iloc[-1], abs=1e-5)
    assert emt.true_temperature(atoms) == pytest.approx(trace.table["temperature_K"].iloc[-1], rel=1e-6)
    assert np.abs(atoms.get_momenta().sum(axis=0)).max() < 1e-6  # total momentum zero
    record = json.loads((stage / ae.RECORD_FILE).read_text())
    assert record["state"] == "finished" and abs(record["conserved_drift_meV_per_atom_per_ps"]) < 1.0


def test_temperature_is_the_target(first_stage: tuple[ae.AseEngine, Path]) -> None:
    engine, stage = first_stage
    long_stage = stage.parent / "production"
    status = run(engine, long_stage, engine.final_state(stage), 15000.0)  # 3000 steps
    assert status.state is StageState.FINISHED
    temperature = engine.stage_trace(long_stage).table["temperature_K"].to_numpy()
    # 15 ps of 64 atoms: the mean's standard error is ~1.5 % (σ_T/T = 18 %, ~150 independent samples)
    assert np.mean(temperature) == pytest.approx(T_K, rel=0.04)


def test_conserved_energy_small_at_5fs_large_at_20fs(first_stage: tuple[ae.AseEngine, Path]) -> None:
    engine, stage = first_stage
    start = engine.final_state(stage)
    results = {}
    for timestep in (5.0, 20.0):
        big = ae.AseEngine(ae.AseEngineSettings(timestep_fs=timestep, frame_interval=50), seed=11)
        stage_dir = stage.parent / f"dt_{timestep:g}"
        status = run(big, stage_dir, start, 1500.0)
        assert status.state is StageState.FINISHED, status.reason
        results[timestep] = ae.conserved_energy(big.stage_trace(stage_dir))
    small, large = results[5.0], results[20.0]
    assert abs(small.drift_eV_per_atom_per_ps) < 0.3e-3  # < 0.3 meV/atom/ps
    assert abs(large.drift_eV_per_atom_per_ps) > 2e-3
    # velocity Verlet's energy error grows as dt²: 16× from 5 to 20 fs
    assert large.rms_eV_per_atom > 8 * small.rms_eV_per_atom


def test_next_stage_continues_velocities(first_stage: tuple[ae.AseEngine, Path]) -> None:
    engine, stage = first_stage
    final = engine.final_state(stage)
    next_stage = stage.parent / "vol_01"
    engine.prepare_stage(next_stage, final, T_K, 250.0, "vol_01")
    start = engine.start_state(next_stage)
    assert start.velocities_A_per_fs is not None
    assert np.allclose(start.velocities_A_per_fs, final.velocities_A_per_fs, rtol=1e-7, atol=1e-12)
    assert engine.run_stage(next_stage, NOW).state is StageState.FINISHED
    spec = json.loads((next_stage / ae.STAGE_FILE).read_text())
    assert not spec["random_start"]
    before = engine.stage_trace(stage).table.iloc[-1]
    after = engine.stage_trace(next_stage).table.iloc[0]
    assert after["epot_eV"] == pytest.approx(before["epot_eV"], abs=1e-5)
    assert after["temperature_K"] == pytest.approx(before["temperature_K"], rel=1e-5)


def test_scaled_state_runs_at_its_volume(first_stage: tuple[ae.AseEngine, Path]) -> None:
    engine, stage = first_stage
    final = engine.final_state(stage)
    scaled = final.scaled_to(1.05 * final.volume_A3)
    stage_dir = stage.parent / "vol_02"
    assert run(engine, stage_dir, scaled, 250.0).state is StageState.FINISHED
    trace = engine.stage_trace(stage_dir)
    assert np.allclose(trace.table["volume_A3"], 1.05 * final.volume_A3, rtol=1e-9)
    # a larger volume of the same liquid: lower pressure
    assert trace.table["pressure_kbar"].mean() < engine.stage_trace(stage).table["pressure_kbar"].mean()
    assert engine.stage_frames(stage_dir).cells[0] == pytest.approx(np.array(scaled.cell_A))


# ---------------------------------------------------------------------------------------------------------
# Reproducibility and restarts


def test_rerun_is_byte_identical_and_killed_stage_reruns(tmp_path: Path) -> None:
    state = random_state({"Cu": 32}, 2)
    settings = ae.AseEngineSettings(frame_interval=25, start_steps=50)
    first, second = tmp_path / "a" / "vol_00", tmp_path / "b" / "vol_00"
    run(ae.AseEngine(settings, seed=3), first, state, 500.0)
    run(ae.AseEngine(settings, seed=3), second, state, 500.0)
    reference = stage_bytes(first)
    assert set(reference) == {
        "stage.json",
        "start.extxyz",
        "trace.csv",
        "trajectory.extxyz",
        "final.extxyz",
        "record.json",
    }
    assert stage_bytes(second) == reference
    other = tmp_path / "c" / "vol_00"
    run(ae.AseEngine(settings, seed=4), other, state, 500.0)
    assert stage_bytes(other)["trace.csv"] != reference["trace.csv"]  # another seed, another random start
    # a job killed before the record: the stage reports not started and reruns from its start
    engine = ae.AseEngine(settings, seed=3)
    (first / ae.RECORD_FILE).unlink()
    (first / ae.FINAL_FILE).write_text("half-written")
    status = engine.stage_status(first)
    assert status.state is StageState.NOT_STARTED and "interrupted" in status.reason
    with pytest.raises(InputError, match="no final state"):
        engine.final_state(first)
    with pytest.raises(InputError, match="no trace: stage is not_started"):
        engine.stage_trace(first)  # the killed attempt's files are not taken as the stage's
    assert engine.run_stage(first, NOW).state is StageState.FINISHED
    assert stage_bytes(first) == reference
    # a finished stage is not run again, nor prepared again
    assert engine.run_stage(first, NOW).state is StageState.FINISHED
    with pytest.raises(InputError, match="already run"):
        engine.prepare_stage(first, state, T_K, 500.0, "again")
    # another engine setting or seed must not continue a prepared stage
    with pytest.raises(InputError, match="timestep_fs"):
        ae.AseEngine(ae.AseEngineSettings(timestep_fs=4.0, frame_interval=25, start_steps=50), 3).run_stage(first, NOW)
    with pytest.raises(InputError, match="seed"):
        ae.AseEngine(settings, seed=9).run_stage(first, NOW)


def test_extended_stage_reruns_to_the_longer_time(tmp_path: Path) -> None:
    """Production "longer if not converged": the extended stage equals one prepared that long from the start."""
    engine = ae.AseEngine(ae.AseEngineSettings(frame_interval=25, start_steps=50), seed=5)
    state = random_state({"Ag": 16, "Cu": 16}, 6)
    short, direct = tmp_path / "a" / "production", tmp_path / "b" / "production"
    run(engine, short, state, 250.0)
    before = engine.stage_trace(short).table
    engine.extend_stage(short, 200.0)  # shorter: nothing changes
    assert engine.stage_status(short).state is StageState.FINISHED
    engine.extend_stage(short, 500.0)
    status = engine.stage_status(short)
    assert status.state is StageState.NOT_STARTED and status.target_fs == 500.0 and "extended" in status.reason
    assert engine.run_stage(short, NOW).state is StageState.FINISHED
    after = engine.stage_trace(short).table
    assert len(after) == 21 and after.iloc[: len(before)].equals(before)  # the first 250 fs repeat exactly
    run(engine, direct, state, 500.0)
    extended, fresh = stage_bytes(short), stage_bytes(direct)
    for name in ("trace.csv", "trajectory.extxyz", "final.extxyz", "record.json"):
        assert extended[name] == fresh[name], name
    record = engine.stage_record(short)
    assert record["inputs"]["n_steps"] == 100 and record["inputs"]["duration_fs"] == 500.0
    assert record["outcome"]["state"] == "finished" and record["failed_attempts"] == []
    json.dumps(record)


def test_stage_names_give_different_seeds(tmp_path: Path) -> None:
    engine = ae.AseEngine(seed=1)
    assert engine.stage_seed(tmp_path / "vol_00") != engine.stage_seed(tmp_path / "vol_01")
    assert engine.stage_seed(tmp_path / "x" / "vol_00") == engine.stage_seed(tmp_path / "vol_00")


def test_blow_up_is_a_failed_stage(tmp_path: Path) -> None:
    """Two atoms 0.3 Å apart: the stage fails with its reason (no exception); failures stick until reset."""
    atoms = emt.start_cell({"Cu": 32}, 1)
    thermalize_momenta(atoms, T_K, rng=np.random.default_rng(0))
    atoms.positions[1] = atoms.positions[0] + [0.3, 0.0, 0.0]
    engine = ae.AseEngine(ae.AseEngineSettings(frame_interval=25), seed=0)
    stage = tmp_path / "vol_00"
    status = run(engine, stage, ae.atoms_to_state(atoms), 500.0)
    assert status.state is StageState.FAILED
    assert "overlap" in status.reason and "0.30 Å" in status.reason
    record = json.loads((stage / ae.RECORD_FILE).read_text())
    assert record["state"] == "failed" and record["reason"] == status.reason
    with pytest.raises(InputError, match="failed"):
        engine.final_state(stage)
    assert engine.run_stage(stage, NOW) == status  # sticky
    again = engine.run_stage(stage, NOW, reset_failed=True)  # same start, same dynamics: fails again
    assert again.state is StageState.FAILED and again.n_segments == 2
    assert (stage / "failed_1" / ae.RECORD_FILE).is_file()
    record = engine.stage_record(stage)
    assert record["outcome"]["attempt"] == 1 and record["failed_attempts"][0]["directory"] == "failed_1"
    assert record["failed_attempts"][0]["reason"] == status.reason


def test_too_large_timestep_blows_up(tmp_path: Path) -> None:
    """60 fs from a random cell: the start's close contacts blow up, and the stage says so (no exception)."""
    atoms = emt.start_cell({"Cu": 32}, 1)
    engine = ae.AseEngine(ae.AseEngineSettings(timestep_fs=60.0, sample_interval=1, frame_interval=5), seed=0)
    status = run(engine, tmp_path / "vol_00", ae.atoms_to_state(atoms), 3000.0)
    assert status.state is StageState.FAILED
    assert any(word in status.reason for word in ("temperature", "overlap", "non-finite"))


def test_runaway_temperature_is_a_failed_stage(tmp_path: Path) -> None:
    """Velocities at 6000 K for a 1400 K stage: above 3× the target, the stage fails at its first row."""
    atoms = emt.start_cell({"Cu": 32}, 1)
    thermalize_momenta(atoms, 6000.0, rng=np.random.default_rng(0))
    engine = ae.AseEngine(ae.AseEngineSettings(frame_interval=25), seed=0)
    status = run(engine, tmp_path / "vol_00", ae.atoms_to_state(atoms), 500.0)
    assert status.state is StageState.FAILED and status.time_done_fs == 0.0
    assert "temperature" in status.reason and "3 × target 1400 K" in status.reason


# ---------------------------------------------------------------------------------------------------------
# Calculators


def test_factory_calculator_matches_emt(tmp_path: Path) -> None:
    """'module:factory' with ASE's EMT gives the dynamics of asap3's fixed-cutoff EMT (same potential)."""
    state = random_state({"Ag": 16, "Cu": 16}, 4)
    settings = {"frame_interval": 25, "start_steps": 20}
    fast = ae.AseEngine(ae.AseEngineSettings(**settings), seed=2)
    factory = ae.AseEngine(ae.AseEngineSettings(calculator=f"{__name__}:emt_factory", **settings), seed=2)
    fallback = ae.AseEngine(ae.AseEngineSettings(calculator=f"{__name__}:energy_only_factory", **settings), seed=2)
    traces = {}
    for name, engine in (("fast", fast), ("factory", factory), ("fallback", fallback)):
        assert run(engine, tmp_path / name / "vol_00", state, 150.0).state is StageState.FINISHED
        traces[name] = engine.stage_trace(tmp_path / name / "vol_00").table
    assert "emt_factory" in factory.stage_trace(tmp_path / "factory" / "vol_00").engine
    # 30 steps of chaotic MD: the two EMT implementations stay within 1e-4 eV/atom
    assert np.abs(traces["factory"]["epot_eV"] - traces["fast"]["epot_eV"]).max() / 32 < 1e-4
    # without 'free_energy' the conserved energy comes from E_pot + E_kin + the chain's energy: the same numbers
    assert traces["fallback"].equals(traces["factory"])
    provenance = factory.provenance()
    assert provenance["calculator_class"] == "ase.calculators.emt.EMT" and provenance["is_dft"] is False


def test_provenance(tmp_path: Path) -> None:
    engine = ae.AseEngine(seed=7)
    fast = engine.provenance()
    fast_again = engine.provenance()
    fast_again["seed"] = -1  # callers get copies
    assert engine.provenance() == fast
    assert fast["engine"] == "ase" and fast["calculator"] == "emt" and fast["is_dft"] is False
    assert fast["calculator_class"].startswith("asap3") and fast["versions"]["asap3"]
    assert fast["cutoff_A"] == pytest.approx(emt.CUTOFF_A) and fast["seed"] == 7
    factory = ae.AseEngine(ae.AseEngineSettings(calculator=f"{__name__}:emt_factory")).provenance()
    assert factory["calculator_class"] == "ase.calculators.emt.EMT"
    assert factory["calculator_distribution"] == "ase" and factory["versions"]["ase"]
    assert factory["model"] is None
    weights = tmp_path / "model.pt"
    weights.write_bytes(b"not really weights")
    settings = ae.AseEngineSettings(
        calculator=f"{__name__}:model_factory", calculator_kwargs={"weights_path": str(weights)}
    )
    model = ae.AseEngine(settings).provenance()["model"]
    assert model == {
        "name": "toy-emt",
        "version": "0.1",
        "weights_path": str(weights),
        "weights_sha256": hashlib.sha256(b"not really weights").hexdigest(),
    }
    json.dumps(model)  # provenance is JSON


def test_device_goes_to_factories_that_take_it() -> None:
    DEVICES_SEEN.clear()
    ae.build_calculator(ae.AseEngineSettings(calculator=f"{__name__}:device_factory"))
    assert DEVICES_SEEN == ["cpu"]
    with pytest.raises(InputError, match="no 'device' parameter"):
        ae.build_calculator(ae.AseEngineSettings(calculator=f"{__name__}:emt_factory", device="cuda"))
    with pytest.raises(InputError, match=r"aimd\.ase\.device, not"):
        ae.build_calculator(
            ae.AseEngineSettings(calculator=f"{__name__}:device_factory", calculator_kwargs={"device": "cpu"})
        )


def test_calculator_problems_are_input_errors(tmp_path: Path) -> None:
    fe = CellState(("Fe", "Cu"), np.array([[0.0, 0, 0], [1.3, 1.3, 1.3]]), 2.9 * np.eye(3))
    with pytest.raises(InputError, match="EMT has no parameters for Fe"):
        ae.AseEngine().prepare_stage(tmp_path / "fe", fe, T_K, 100.0, "fe")
    # a factory whose calculator lacks the element fails on the start cell, with the calculator's message
    engine = ae.AseEngine(ae.AseEngineSettings(calculator=f"{__name__}:emt_factory", start_steps=0))
    engine.prepare_stage(tmp_path / "fe", fe, T_K, 100.0, "fe")
    with pytest.raises(InputError, match=r"failed on the stage's start cell.*No EMT-potential for Fe"):
        engine.run_stage(tmp_path / "fe", NOW)
    assert engine.stage_status(tmp_path / "fe").state is StageState.NOT_STARTED
    no_stress = ae.AseEngine(ae.AseEngineSettings(calculator=f"{__name__}:no_stress_factory"))
    no_stress.prepare_stage(tmp_path / "p", random_state({"Cu": 32}, 0), T_K, 100.0, "p")
    with pytest.raises(InputError, match="stress property not implemented; the protocol needs"):
        no_stress.run_stage(tmp_path / "p", NOW)
    for spec, message in (
        ("hmixal_no_such_module:make", "cannot import 'hmixal_no_such_module'"),
        (f"{__name__}:no_such_factory", "has no attribute"),
        (f"{__name__}:not_a_calculator", "not an ASE calculator"),
    ):
        with pytest.raises(InputError, match=message):
            ae.build_calculator(ae.AseEngineSettings(calculator=spec))
    nothing = ae.AseEngine().stage_status(tmp_path / "nothing")  # the protocol asks before it prepares
    assert (nothing.state, nothing.target_fs) == (StageState.NOT_STARTED, 0.0)
    with pytest.raises(InputError, match="prepare the stage first"):
        ae.AseEngine().run_stage(tmp_path / "nothing", NOW)
    with pytest.raises(InputError, match="positive"):
        ae.AseEngine().prepare_stage(tmp_path / "t", random_state({"Cu": 32}, 0), -5.0, 100.0, "t")
