"""Time the ASE engine: wall seconds per 1000 NVT steps of liquid Cu and Ag–Cu with asap3 EMT at 64/108/256 atoms.

Each case first equilibrates a random cell in one engine stage (200 Langevin + 400 Nosé–Hoover steps, 5 fs,
1400 K), then times ``repeats`` stages of 1000 steps from that state (``AseEngine.run_stage`` as the protocol
calls it: trace row every 5 steps, frame every 200, files written) and the same 1000 steps of bare
``NoseHooverChainNVT`` without recording, so the engine's own cost (stress, conserved energy, overlap check,
files) shows. Medians of ``repeats``; results go to benchmarks/ase_engine.json with the machine and date.

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_ase_engine.py [repeats]
The machine may be shared: medians damp, but do not remove, interference from other jobs.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import asap3
import ase
from ase import units
from ase.md.nose_hoover_chain import NoseHooverChainNVT

from hmixal.aimd import ase_engine, emt
from hmixal.aimd.engine import CellState, StageState

TEMPERATURE_K = 1400.0
STEPS = 1000
SIZES = (64, 108, 256)
OUT = Path(__file__).resolve().parent / "ase_engine.json"


def counts_for(system: str, n_atoms: int) -> dict[str, int]:
    """Cu, or equimolar Ag–Cu (Ag gets the odd atom)."""
    if system == "Cu":
        return {"Cu": n_atoms}
    return {"Ag": n_atoms - n_atoms // 2, "Cu": n_atoms // 2}


def equilibrated(engine: ase_engine.AseEngine, counts: dict[str, int], work: Path) -> CellState:
    """A liquid state with velocities: one 2 ps stage from a random cell."""
    atoms = emt.start_cell(counts, seed=1)
    stage = work / "equilibrate"
    engine.prepare_stage(stage, ase_engine.atoms_to_state(atoms), TEMPERATURE_K, 2000.0, "equilibrate")
    status = engine.run_stage(stage, dt.datetime.now())
    if status.state is not StageState.FINISHED:
        raise RuntimeError(f"equilibration failed: {status.reason}")
    return engine.final_state(stage)


def engine_seconds(engine: ase_engine.AseEngine, state: CellState, work: Path, repeat: int) -> float:
    """Wall time of one 1000-step engine stage (prepare + run + files)."""
    stage = work / f"timed_{repeat}"
    start = time.perf_counter()
    engine.prepare_stage(stage, state, TEMPERATURE_K, STEPS * engine.settings.timestep_fs, "timed")
    status = engine.run_stage(stage, dt.datetime.now())
    seconds = time.perf_counter() - start
    if status.state is not StageState.FINISHED:
        raise RuntimeError(f"timed stage failed: {status.reason}")
    return seconds


def bare_seconds(settings: ase_engine.AseEngineSettings, state: CellState) -> float:
    """Wall time of 1000 NoseHooverChainNVT steps with no observer."""
    atoms = ase_engine.state_to_atoms(state)
    atoms.calc = ase_engine.build_calculator(settings)
    target = emt.thermostat_temperature(TEMPERATURE_K, len(atoms))
    md = NoseHooverChainNVT(atoms, settings.timestep_fs * units.fs, target, settings.tdamp_fs * units.fs)
    start = time.perf_counter()
    md.run(STEPS)
    return time.perf_counter() - start


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else platform.processor()."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(repeats: int = 3) -> None:
    """Time every case, print a table, write benchmarks/ase_engine.json."""
    settings = ase_engine.AseEngineSettings()  # the defaults: asap3 EMT, 5 fs, rows every 5, frames every 200
    engine = ase_engine.AseEngine(settings, seed=0)
    cases = []
    began = time.perf_counter()
    print(f"seconds per {STEPS} NVT steps at {TEMPERATURE_K:g} K, {settings.timestep_fs:g} fs, median of {repeats}")
    with tempfile.TemporaryDirectory() as tmp:
        for system in ("Cu", "AgCu"):
            for n_atoms in SIZES:
                counts = counts_for(system, n_atoms)
                work = Path(tmp) / f"{system}{n_atoms}"
                state = equilibrated(engine, counts, work)
                timed = [engine_seconds(engine, state, work, r) for r in range(repeats)]
                bare = [bare_seconds(settings, state) for _ in range(repeats)]
                row = {
                    "system": system,
                    "composition": counts,
                    "n_atoms": n_atoms,
                    "engine_s_per_1000_steps": statistics.median(timed),
                    "engine_runs_s": timed,
                    "bare_nvt_s_per_1000_steps": statistics.median(bare),
                    "bare_runs_s": bare,
                }
                cases.append(row)
                print(
                    f"{system:5s} {n_atoms:4d} atoms  engine {row['engine_s_per_1000_steps']:6.2f} s  "
                    f"bare NVT {row['bare_nvt_s_per_1000_steps']:6.2f} s  "
                    f"(engine runs: {', '.join(f'{t:.2f}' for t in timed)})"
                )
    result = {
        "benchmark": "benchmarks/bench_ase_engine.py",
        "date": dt.date.today().isoformat(),
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
            "note": "shared machine: other jobs ran at the same time",
        },
        "versions": {"ase": ase.__version__, "asap3": asap3.__version__},
        "settings": settings.as_json(),
        "temperature_K": TEMPERATURE_K,
        "steps": STEPS,
        "repeats": repeats,
        "cases": cases,
        "total_wall_s": time.perf_counter() - began,
    }
    OUT.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"total {result['total_wall_s']:.0f} s; wrote {OUT}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
