"""Local MD engine: liquid runs with ASE and the EMT potential (Al, Cu, Ag, Au, Ni, Pd, Pt), and ΔH_mix from them.

The protocol of METHOD §13: random start cell, melt at max(2T, T + 1000 K), cool to T, then isotropic MTK NPT
at P = 0 with H averaged over that NPT run; EMT with one fixed cutoff for pure and alloy cells; thermostat
target corrected for the 3 degrees of freedom lost to the fixed centre of mass. EMT demonstrates the loop; it
is not DFT, and every output says which engine made it. Details and checks: docs/aimd_emt.md.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from ase import Atoms, units
from ase.calculators.calculator import Calculator
from ase.md.langevin import Langevin
from ase.md.nose_hoover_chain import IsotropicMTKNPT
from ase.md.velocitydistribution import Stationary, thermalize_momenta

from hmixal.aimd import analysis
from hmixal.aimd.structure import composition_counts, random_liquid_cell, start_volume_A3
from hmixal.elements import load_element_table
from hmixal.errors import InputError
from hmixal.io import atomic_path, write_text
from hmixal.splits import derive_seed

log = logging.getLogger(__name__)

EMT_ELEMENTS: tuple[str, ...] = ("Ag", "Al", "Au", "Cu", "Ni", "Pd", "Pt")
BACKENDS: tuple[str, ...] = ("asap3", "ase")
TRACE_FILE = "trace.csv"
TRAJECTORY_FILE = "trajectory.extxyz"
RUN_FILE = "run.json"
ENTHALPY_METHOD = "epot_kinetic"  # NPT at P = 0: H = <E_pot> + 3/2 RT (analysis.ENTHALPY_METHODS)

# EMT cutoff, fixed for every cell (METHOD §13 pitfall 5): ASE's EMT takes the largest s0 of its parameter
# table (Ag, 3.01 bohr; K. W. Jacobsen, P. Stoltze, J. K. Nørskov, Surf. Sci. 366, 394 (1996)) whatever the
# cell holds, whereas asap3 takes it from the elements present. We give asap3 ASE's choice: logistic cutoff
# midway between the 3rd and 4th fcc neighbour shells of Ag, neighbour list 0.5 Å beyond it.
_BOHR_A = 0.5291772  # the value both ASE's table and asap3 use for the EMT parameters
_BETA = 1.809  # (16π/3)^(1/3)/√2, rounded as in both implementations
_S0_MAX_BOHR = 3.01
CUTOFF_A = 0.5 * _BETA * _S0_MAX_BOHR * _BOHR_A * (math.sqrt(3.0) + 2.0)
NEIGHBOUR_LIST_CUTOFF_A = CUTOFF_A + 0.5
_KBAR_PER_EV_A3 = 10.0 / units.GPa

_LABEL = re.compile(r"^((?:[A-Z][a-z]?\d+)+)_(\d+(?:\.\d+)?)K$")
_COUNT = re.compile(r"([A-Z][a-z]?)(\d+)")


@dataclass(frozen=True)
class EMTSettings:
    """Protocol of one EMT liquid run (defaults: METHOD §13's suggested protocol, 256 atoms)."""

    n_atoms: int = 256
    timestep_fs: float = 5.0  # energy-conserving for EMT metals (METHOD §13); 8 fs drifts
    melt_steps: int = 300
    cool_steps: int = 200
    production_steps: int = 20000
    tdamp_fs: float = 100.0
    pdamp_fs: float = 500.0
    friction_per_fs: float = 0.01  # Langevin friction of the melt and cool stages only
    sample_interval: int = 5  # steps between rows of the per-step table
    frame_interval: int = 200  # steps between trajectory frames (MSD, g(r), S_cc)
    packing_fraction: float = 0.3  # hard-sphere packing of the random start: sets the minimum distance
    min_discard_fraction: float = 0.1  # floor of the equilibration discard (analysis.detect_equilibration)
    backend: str = "asap3"


# One binary end to end in well under a minute on one core: for CI and tests, not for numbers.
CI_SETTINGS = EMTSettings(n_atoms=64, production_steps=3000, frame_interval=100)


def check_settings(settings: EMTSettings) -> EMTSettings:
    """Return the settings if they are usable, else raise InputError naming the bad one."""
    positive_int = ("n_atoms", "production_steps", "sample_interval", "frame_interval")
    for name in positive_int:
        value = getattr(settings, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(None, None, f"aimd.emt.{name} must be a positive integer, got {value!r}")
    for name in ("melt_steps", "cool_steps"):
        value = getattr(settings, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InputError(None, None, f"aimd.emt.{name} must be a non-negative integer, got {value!r}")
    for name in ("timestep_fs", "tdamp_fs", "pdamp_fs", "friction_per_fs"):
        value = getattr(settings, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise InputError(None, None, f"aimd.emt.{name} must be a positive number, got {value!r}")
    # 0.35: random sequential insertion jams near 0.38 (hmixal.aimd.structure)
    for name, low, high in (
        ("packing_fraction", 0.05, 0.35),
        ("min_discard_fraction", 0.0, analysis.DEFAULT_MAX_DISCARD_FRACTION),
    ):
        value = getattr(settings, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise InputError(None, None, f"aimd.emt.{name} must be a number in [{low}, {high}], got {value!r}")
    if settings.frame_interval % settings.sample_interval:
        raise InputError(None, None, "aimd.emt.frame_interval must be a multiple of sample_interval")
    if settings.backend not in BACKENDS:
        raise InputError(None, None, f"aimd.emt.backend must be one of {', '.join(BACKENDS)}, got {settings.backend!r}")
    n_frames = settings.production_steps // settings.frame_interval + 1
    if n_frames < 2 * analysis.MIN_FRAMES:
        raise InputError(
            None, None, f"production_steps/frame_interval gives {n_frames} frames; need {2 * analysis.MIN_FRAMES}"
        )
    return settings


def settings_from_config(section: Mapping[str, Any] | None, base: EMTSettings = EMTSettings()) -> EMTSettings:
    """EMTSettings from the config's ``aimd.emt`` mapping (unknown keys are an error)."""
    section = dict(section or {})
    known = {f.name for f in fields(EMTSettings)}
    unknown = sorted(set(section) - known)
    if unknown:
        raise InputError(
            None, None, f"unknown aimd.emt setting(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )
    return check_settings(replace(base, **section))


def melt_temperature(temperature_K: float) -> float:
    """Melting stage temperature: max(2T, T + 1000 K), so that every EMT metal melts fast (METHOD §13)."""
    return max(2.0 * temperature_K, temperature_K + 1000.0)


def thermostat_temperature(temperature_K: float, n_atoms: int) -> float:
    """Thermostat target giving a true temperature T when the centre of mass is fixed (METHOD §13 pitfall 4).

    ASE's Nosé–Hoover chain drives the kinetic energy to 3N k_B T_set / 2, but with zero total momentum that
    energy is spread over 3N − 3 degrees of freedom: T_set = T (3N − 3)/(3N).
    """
    return temperature_K * (3 * n_atoms - 3) / (3 * n_atoms)


def true_temperature(atoms: Atoms) -> float:
    """Kinetic temperature with 3N − 3 degrees of freedom (the centre of mass is fixed)."""
    dof = 3 * len(atoms) - 3
    return 2.0 * atoms.get_kinetic_energy() / (dof * units.kB)


def _check_elements(counts: Mapping[str, int]) -> None:
    outside = sorted(set(counts) - set(EMT_ELEMENTS))
    if outside:
        raise InputError(None, None, f"EMT has no parameters for {', '.join(outside)} (has {', '.join(EMT_ELEMENTS)})")


def make_calculator(backend: str = "asap3") -> Calculator:
    """An EMT calculator with the fixed cutoff (asap3: fast C++; ase: ASE's pure-Python reference)."""
    if backend == "ase":
        from ase.calculators.emt import EMT

        return EMT()  # ASE's default cutoff is already the fixed one (largest s0 of its table)
    if backend != "asap3":
        raise InputError(None, None, f"EMT backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    try:
        from asap3 import EMT as AsapEMT
        from asap3.Internal.EMTParameters import EMTStandardParameters
    except ImportError as error:
        raise InputError(
            None, None, f"asap3 is not installed ({error}); pip install asap3, or use backend 'ase'"
        ) from None

    class FixedCutoffParameters(EMTStandardParameters):  # type: ignore[misc]
        """asap3's standard EMT parameters with the cutoff of the whole table, not of the elements present."""

        def calc_cutoff(self) -> None:
            r4nn = 2.0 * CUTOFF_A * 2.0 / (math.sqrt(3.0) + 2.0)  # 4th fcc neighbour distance of Ag
            slope = math.log(9999.0) / (r4nn - CUTOFF_A)  # logistic factor 1e-4 at the 4th shell
            self.cutoff = (CUTOFF_A, slope, NEIGHBOUR_LIST_CUTOFF_A / CUTOFF_A)

    return AsapEMT(FixedCutoffParameters())


def engine_description(backend: str) -> str:
    """Engine name with versions, as written into traces and results (``reference`` column)."""
    import ase

    if backend == "asap3":
        import asap3

        version = f"ASE {ase.__version__} + asap3 {asap3.__version__}"
    else:
        version = f"ASE {ase.__version__}"
    return f"EMT ({version}; fixed cutoff {CUTOFF_A:.3f} Å)"


def run_label(counts: Mapping[str, int], temperature_K: float) -> str:
    """Directory name of a run: elements alphabetically with counts, then the temperature (``Ag128Cu128_1400K``)."""
    body = "".join(f"{s}{n}" for s, n in sorted(counts.items()) if n > 0)
    temperature = f"{temperature_K:g}"
    return f"{body}_{temperature}K"


def parse_run_label(label: str) -> tuple[dict[str, int], float]:
    """Counts and temperature from a run label (inverse of :func:`run_label`)."""
    match = _LABEL.match(label)
    if not match:
        raise InputError(None, None, f"not a run label like 'Ag128Cu128_1400K': {label!r}")
    counts = {s: int(n) for s, n in _COUNT.findall(match.group(1))}
    return counts, float(match.group(2))


def binary_run_labels(a: str, b: str, x_b: float, temperature_K: float, n_atoms: int) -> tuple[str, str, str]:
    """Run labels a binary needs: (alloy, pure A, pure B); pure runs are shared by binaries at the same T."""
    alloy = composition_counts(a, b, x_b, n_atoms)
    if min(alloy.values()) == 0:
        raise InputError(None, None, f"x_B = {x_b} leaves no {min(alloy, key=alloy.__getitem__)} atom in {n_atoms}")
    return (
        run_label(alloy, temperature_K),
        run_label({a: n_atoms}, temperature_K),
        run_label({b: n_atoms}, temperature_K),
    )


def start_cell(
    counts: Mapping[str, int], settings: EMTSettings, seed: int, elements: pd.DataFrame | None = None
) -> Atoms:
    """Random liquid start: Vegard volume from the elements' molar volumes, minimum distance from the packing.

    ``elements``: the run's element table (the rule passes the one the pipeline uses); default the packaged one."""
    table = load_element_table() if elements is None else elements
    volume = start_volume_A3(dict(counts), {s: float(table.loc[s, "MolarVolume"]) for s in counts})
    n = sum(counts.values())
    # hard spheres of diameter d filling `packing_fraction` of the cell: d = (6 φ V / (π N))^(1/3)
    min_distance = (6.0 * settings.packing_fraction * volume / (math.pi * n)) ** (1.0 / 3.0)
    cell = random_liquid_cell(dict(counts), volume, min_distance, seed)
    length = cell.cell_length_A
    return Atoms(cell.symbols, positions=np.array(cell.positions), cell=[length] * 3, pbc=True)


@dataclass(frozen=True)
class LiquidRun:
    """Files of one finished run and its wall time (not written to the files, so they stay reproducible)."""

    directory: Path
    trace: Path
    trajectory: Path
    run_info: Path
    wall_seconds: float


def run_liquid(
    counts: Mapping[str, int],
    temperature_K: float,
    out_dir: str | Path,
    settings: EMTSettings = EMTSettings(),
    seed: int = 0,
    elements: pd.DataFrame | None = None,
) -> LiquidRun:
    """One liquid (pure or alloy) by the EMT protocol; writes trace.csv, trajectory.extxyz and run.json."""
    check_settings(settings)
    counts = {s: int(n) for s, n in sorted(counts.items()) if n > 0}
    _check_elements(counts)
    if sum(counts.values()) < 2:
        raise InputError(None, None, f"a liquid needs at least 2 atoms, got {counts}")
    if not math.isfinite(temperature_K) or temperature_K <= 0:
        raise InputError(None, None, f"temperature must be positive, got {temperature_K!r}")
    out = Path(out_dir)
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    atoms = start_cell(counts, settings, int(rng.integers(2**31)), elements)
    n = len(atoms)
    atoms.calc = make_calculator(settings.backend)
    dt = settings.timestep_fs * units.fs
    hot = melt_temperature(temperature_K)
    thermalize_momenta(atoms, hot, rng=rng)
    Stationary(atoms)
    # Langevin for melting and cooling: robust from a random start with close contacts. Its random forces move
    # the centre of mass (fixcm=True is deprecated in ASE 3.28 as not sampling NVT exactly, and MTK accepts no
    # FixCom constraint), so the total momentum is zeroed before the momentum-conserving MTK production.
    friction = settings.friction_per_fs / units.fs
    for stage_temperature, steps in ((hot, settings.melt_steps), (temperature_K, settings.cool_steps)):
        if steps:
            Langevin(atoms, dt, temperature_K=stage_temperature, friction=friction, fixcm=False, rng=rng).run(steps)
    Stationary(atoms)
    target = thermostat_temperature(temperature_K, n)
    md = IsotropicMTKNPT(
        atoms,
        dt,
        temperature_K=target,
        pressure_au=0.0,
        tdamp=settings.tdamp_fs * units.fs,
        pdamp=settings.pdamp_fs * units.fs,
    )
    rows: list[tuple[float, ...]] = []
    images: list[Atoms] = []

    def record() -> None:
        step = md.nsteps
        epot = float(atoms.get_potential_energy())
        ekin = float(atoms.get_kinetic_energy())
        pressure = -float(np.trace(atoms.get_stress(voigt=False, include_ideal_gas=True))) / 3.0
        volume = float(atoms.get_volume())
        rows.append(
            (
                step,
                step * settings.timestep_fs,
                true_temperature(atoms),
                epot + ekin,
                epot,
                pressure * _KBAR_PER_EV_A3,
                volume,
            )
        )
        if step % settings.frame_interval == 0:
            image = Atoms(
                atoms.get_chemical_symbols(), positions=atoms.get_positions(), cell=atoms.get_cell(), pbc=True
            )
            image.info["time_fs"] = step * settings.timestep_fs
            image.info["step"] = step
            images.append(image)

    md.attach(record, interval=settings.sample_interval)
    md.run(settings.production_steps)
    table = pd.DataFrame(rows, columns=[*analysis.TRACE_COLUMNS, "volume_A3"])
    table["step"] = table["step"].astype(np.int64)
    engine = engine_description(settings.backend)
    trace = analysis.make_trace(
        table,
        counts,
        float(temperature_K),
        "NPT",
        engine,
        str(out / TRACE_FILE),
        {"thermostat_temperature_K": target, "timestep_fs": settings.timestep_fs, "seed": seed},
    )
    out.mkdir(parents=True, exist_ok=True)
    analysis.write_trace(trace, out / TRACE_FILE)
    from ase.io import write

    with atomic_path(out / TRAJECTORY_FILE) as tmp:
        write(tmp, images, format="extxyz", columns=["symbols", "positions"], write_results=False)
    info = {
        "composition": counts,
        "temperature_K": float(temperature_K),
        "melt_temperature_K": hot,
        "thermostat_temperature_K": target,
        "seed": seed,
        "engine": engine,
        "cutoff_A": CUTOFF_A,
        "neighbour_list_cutoff_A": NEIGHBOUR_LIST_CUTOFF_A,
        "settings": asdict(settings),
        "protocol": "random cell -> Langevin melt -> Langevin cool -> IsotropicMTKNPT (P = 0) production",
    }
    write_text(json.dumps(info, sort_keys=True, indent=1) + "\n", out / RUN_FILE)
    wall = time.perf_counter() - started
    log.info("%s at %g K: %d atoms, %d steps in %.1f s", counts, temperature_K, n, settings.production_steps, wall)
    return LiquidRun(out, out / TRACE_FILE, out / TRAJECTORY_FILE, out / RUN_FILE, wall)


def analyse_liquid(run_dir: str | Path, settings: EMTSettings = EMTSettings()) -> analysis.RunAnalysis:
    """Analyse one finished run directory (trace.csv + trajectory.extxyz) with the EMT enthalpy definition."""
    run_dir = Path(run_dir)
    trace = analysis.read_trace(run_dir / TRACE_FILE)
    frames = analysis.read_frames(run_dir / TRAJECTORY_FILE)
    return analysis.analyse_run(trace, frames, ENTHALPY_METHOD, settings.min_discard_fraction)


def reference_text(settings: EMTSettings) -> str:
    """The ``reference`` of EMT results: engine, versions and protocol, and that it is not DFT."""
    return (
        f"hmixal {engine_description(settings.backend)}, not DFT: {settings.n_atoms} atoms, IsotropicMTKNPT at P = 0, "
        f"{settings.production_steps} x {settings.timestep_fs:g} fs, H = <E_pot> + 3/2 RT"
    )


@dataclass(frozen=True)
class BinaryResult:
    """ΔH_mix results row of one binary and the analyses of its three runs (alloy, pure A, pure B)."""

    row: dict[str, Any]
    runs: tuple[analysis.RunAnalysis, ...]

    def details_json(self) -> str:
        """Row and run analyses as sorted JSON (the per-binary details file)."""
        body = {"row": self.row, "runs": [asdict(run) for run in self.runs]}
        return json.dumps(body, sort_keys=True, indent=1) + "\n"


def binary_hmix(
    alloy_dir: str | Path,
    pure_a_dir: str | Path,
    pure_b_dir: str | Path,
    settings: EMTSettings = EMTSettings(),
) -> BinaryResult:
    """ΔH_mix of a binary from its three run directories (alloy, pure A, pure B), with the run analyses."""
    dirs = [Path(alloy_dir), Path(pure_a_dir), Path(pure_b_dir)]
    runs = tuple(analyse_liquid(d, settings) for d in dirs)
    row = analysis.binary_result(runs[0], runs[1], runs[2], reference_text(settings), [str(d) for d in dirs])
    return BinaryResult(row, runs)


def run_binary(
    a: str,
    b: str,
    x_b: float,
    temperature_K: float,
    out_dir: str | Path,
    settings: EMTSettings = EMTSettings(),
    seed: int = 0,
) -> BinaryResult:
    """Run the two pure liquids and the alloy (seeds derived from ``seed`` and the run label), return ΔH_mix."""
    out = Path(out_dir)
    labels = binary_run_labels(a, b, x_b, temperature_K, settings.n_atoms)
    for label in labels:
        counts, _ = parse_run_label(label)
        run_liquid(counts, temperature_K, out / label, settings, derive_seed(seed, "aimd-emt", label))
    return binary_hmix(out / labels[0], out / labels[1], out / labels[2], settings)
