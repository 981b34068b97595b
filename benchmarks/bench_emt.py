"""Time the EMT engine: one liquid (melt, cool, NPT production, files) at the CI and default sizes, and the
cost per MD step of asap3 versus ASE's pure-Python EMT (median of several runs).

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_emt.py [repeats] [--skip-default]
The machine may be shared: medians damp, but do not remove, interference from other jobs.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from ase import units
from ase.md.nose_hoover_chain import IsotropicMTKNPT
from ase.md.velocitydistribution import Stationary, thermalize_momenta

from hmixal.aimd import emt

LIQUIDS = ({"Ag": 1}, {"Cu": 1}, {"Ag": 1, "Cu": 1})  # proportions; scaled to the setting's n_atoms


def scaled(proportions: dict[str, int], n_atoms: int) -> dict[str, int]:
    """Counts for ``n_atoms`` in the given proportions (equimolar for two elements)."""
    if len(proportions) == 1:
        return {next(iter(proportions)): n_atoms}
    return {s: n_atoms // 2 for s in proportions}


def liquid_seconds(settings: emt.EMTSettings, counts: dict[str, int], repeats: int) -> list[float]:
    """Wall times of ``repeats`` complete liquid runs (each with its own seed) at 1400 K."""
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(repeats):
            run = emt.run_liquid(counts, 1400.0, Path(tmp) / str(seed), settings, seed)
            times.append(run.wall_seconds)
    return times


def ms_per_npt_step(backend: str, n_atoms: int, steps: int) -> float:
    """Milliseconds per IsotropicMTKNPT step of liquid Cu (random start, after 20 warm-up steps)."""
    atoms = emt.start_cell({"Cu": n_atoms}, emt.EMTSettings(n_atoms=n_atoms), seed=1)
    atoms.calc = emt.make_calculator(backend)
    thermalize_momenta(atoms, 1400.0)
    Stationary(atoms)
    md = IsotropicMTKNPT(atoms, 2 * units.fs, 1400.0, 0.0, 100 * units.fs, 500 * units.fs)
    md.run(20)
    start = time.perf_counter()
    md.run(steps)
    return 1000.0 * (time.perf_counter() - start) / steps


def main(repeats: int = 3, skip_default: bool = False) -> None:
    """Print median wall times per liquid and per-step costs."""
    cases = [("CI (64 atoms, 3000 steps)", emt.CI_SETTINGS)]
    if not skip_default:
        cases.append(("default (256 atoms, 20000 steps)", emt.EMTSettings()))
    print(f"median of {repeats} runs per liquid at 1400 K (melt 300 + cool 200 + production steps)")
    for label, settings in cases:
        for proportions in LIQUIDS:
            counts = scaled(proportions, settings.n_atoms)
            times = liquid_seconds(settings, counts, repeats)
            name = "".join(f"{s}{n}" for s, n in counts.items())
            runs = ", ".join(f"{t:.1f}" for t in times)
            print(f"{label:36s} {name:12s} {statistics.median(times):7.1f} s  (runs: {runs})")
    print("ms per IsotropicMTKNPT step, liquid Cu, median of 3")
    for n_atoms in (108, 256):
        for backend, steps in (("asap3", 500), ("ase", 20)):
            cost = statistics.median(ms_per_npt_step(backend, n_atoms, steps) for _ in range(3))
            print(f"{backend:6s} {n_atoms:4d} atoms {cost:8.2f} ms/step")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(int(args[0]) if args else 3, "--skip-default" in sys.argv)
