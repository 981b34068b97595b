"""The EMT potential (Al, Cu, Ag, Au, Ni, Pd, Pt) for the ASE engine: asap3 with one fixed cutoff, and helpers.

EMT runs the AIMD protocol on any laptop through ``hmixal.aimd.ase_engine`` (``aimd.ase.calculator: emt``), so
that plan → simulate → retrain closes without VASP and every piece of the protocol meets real dynamics in CI.
EMT is not DFT, and every output says which engine made it. Details and checks: docs/aimd_emt.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from ase import Atoms, units
from ase.calculators.calculator import Calculator

from hmixal.aimd.structure import random_liquid_cell, start_volume_A3
from hmixal.elements import load_element_table
from hmixal.errors import InputError

EMT_ELEMENTS: tuple[str, ...] = ("Ag", "Al", "Au", "Cu", "Ni", "Pd", "Pt")
BACKENDS: tuple[str, ...] = ("asap3", "ase")

# EMT cutoff, fixed for every cell (docs/aimd_emt.md, "Fixed cutoff"): ASE's EMT takes the largest s0 of its parameter
# table (Ag, 3.01 bohr; K. W. Jacobsen, P. Stoltze, J. K. Nørskov, Surf. Sci. 366, 394 (1996)) whatever the
# cell holds, whereas asap3 takes it from the elements present. We give asap3 ASE's choice: logistic cutoff
# midway between the 3rd and 4th fcc neighbour shells of Ag, neighbour list 0.5 Å beyond it.
_BOHR_A = 0.5291772  # the value both ASE's table and asap3 use for the EMT parameters
_BETA = 1.809  # (16π/3)^(1/3)/√2, rounded as in both implementations
_S0_MAX_BOHR = 3.01
CUTOFF_A = 0.5 * _BETA * _S0_MAX_BOHR * _BOHR_A * (math.sqrt(3.0) + 2.0)
NEIGHBOUR_LIST_CUTOFF_A = CUTOFF_A + 0.5


def thermostat_temperature(temperature_K: float, n_atoms: int) -> float:
    """Thermostat target giving a true temperature T when the centre of mass is fixed (docs/aimd_emt.md).

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


def start_cell(
    counts: Mapping[str, int], seed: int, packing_fraction: float = 0.3, elements: pd.DataFrame | None = None
) -> Atoms:
    """A random cubic cell at the Vegard volume of the elements' molar volumes, for tests and benchmarks.

    The minimum distance is the hard-sphere diameter filling ``packing_fraction`` of the cell:
    d = (6 φ V / (π N))^(1/3); ``elements``: an element table (default the packaged one)."""
    _check_elements(counts)
    table = load_element_table() if elements is None else elements
    volume = start_volume_A3(dict(counts), {s: float(table.loc[s, "MolarVolume"]) for s in counts})
    n = sum(counts.values())
    min_distance = (6.0 * packing_fraction * volume / (math.pi * n)) ** (1.0 / 3.0)
    cell = random_liquid_cell(dict(counts), volume, min_distance, seed)
    length = cell.cell_length_A
    return Atoms(cell.symbols, positions=np.array(cell.positions), cell=[length] * 3, pbc=True)
