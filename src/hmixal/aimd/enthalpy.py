"""Enthalpy of one liquid from its trace (H per atom in kJ/mol with a standard error) and ΔH_mix of three runs.

H is formed per step by one of ENTHALPY_METHODS, equilibration is discarded, and the rest is block-averaged
(docs/aimd_emt.md, "Enthalpy").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hmixal.aimd.statistics import (
    DEFAULT_MIN_BLOCKS,
    DEFAULT_MIN_DISCARD_FRACTION,
    block_average,
    detect_equilibration,
    drift_test,
)
from hmixal.aimd.trace import Trace
from hmixal.errors import InputError

# How H per atom is formed from the trace (docs/aimd_emt.md, "Enthalpy"):
#   etotal        H = <E_tot>/N              VASP NVT at |P| <= 2 kbar (the paper's definition)
#   epot_kinetic  H = <E_pot>/N + 3/2 k_B T  NPT at P_ext = 0; the kinetic term is exact
#   internal      H = <E_int + E_kin>/N      electrons at the ionic temperature (Fermi smearing): E_int = F + TS
ENTHALPY_METHODS: tuple[str, ...] = ("etotal", "epot_kinetic", "internal")

BOLTZMANN_EV_PER_K = 8.617333262e-5  # k_B / e, exact in the 2019 SI (truncated as in CODATA 2018)
EV_TO_KJ_PER_MOL = 96.48533212  # e · N_A / 1000 (CODATA 2018)


@dataclass(frozen=True)
class EnthalpyEstimate:
    """H per atom (kJ/mol) of one run with its SE, the production window and the thermodynamic checks."""

    h_kJ_per_mol: float
    sem_kJ_per_mol: float
    sem_converged: bool
    method: str
    start_index: int
    start_time_fs: float
    detected_start_index: int
    n_samples: int
    n_effective: float
    block_size: int
    drift_kJ_per_mol: float
    drift_sigma: float
    mean_temperature_K: float
    temperature_sem_K: float
    mean_pressure_kbar: float
    pressure_sem_kbar: float
    mean_volume_A3_per_atom: float | None


def enthalpy(
    trace: Trace,
    method: str,
    min_discard_fraction: float = DEFAULT_MIN_DISCARD_FRACTION,
    min_blocks: int = DEFAULT_MIN_BLOCKS,
) -> EnthalpyEstimate:
    """H per atom in kJ/mol after discarding equilibration (docs/aimd_emt.md, "Enthalpy")."""
    if method not in ENTHALPY_METHODS:
        raise InputError(
            trace.source or None, None, f"enthalpy method must be one of {ENTHALPY_METHODS}, got {method!r}"
        )
    table = trace.table
    n = trace.n_atoms
    if method == "etotal":
        per_atom = table["etotal_eV"].to_numpy() / n
    elif method == "internal":
        if "eint_eV" not in table:
            raise InputError(trace.source or None, None, "enthalpy method 'internal' needs the eint_eV column")
        kinetic = table["etotal_eV"].to_numpy() - table["epot_eV"].to_numpy()
        per_atom = (table["eint_eV"].to_numpy() + kinetic) / n
    else:
        per_atom = table["epot_eV"].to_numpy() / n + 1.5 * BOLTZMANN_EV_PER_K * trace.target_temperature_K
    series = per_atom * EV_TO_KJ_PER_MOL
    equilibration = detect_equilibration(series, min_discard_fraction)
    start = equilibration.start
    kept = series[start:]
    if kept.size < 2 * min_blocks:
        raise InputError(
            trace.source or None, None,
            f"only {kept.size} samples after equilibration; need at least {2 * min_blocks}: record more often "
            "(the engine's sample interval) or run the stage longer",
        )  # fmt: skip
    h = block_average(kept, min_blocks)
    drift = drift_test(table["time_fs"].to_numpy()[start:], kept)
    temperature = block_average(table["temperature_K"].to_numpy()[start:], min_blocks)
    pressure = block_average(table["pressure_kbar"].to_numpy()[start:], min_blocks)
    volume = float(table["volume_A3"].to_numpy()[start:].mean()) / n if "volume_A3" in table else None
    return EnthalpyEstimate(
        h_kJ_per_mol=h.mean,
        sem_kJ_per_mol=h.sem,
        sem_converged=h.converged,
        method=method,
        start_index=start,
        start_time_fs=float(table["time_fs"].iloc[start]),
        detected_start_index=equilibration.detected_start,
        n_samples=int(kept.size),
        n_effective=equilibration.n_effective,
        block_size=h.block_size,
        drift_kJ_per_mol=drift.change,
        drift_sigma=drift.sigma,
        mean_temperature_K=temperature.mean,
        temperature_sem_K=temperature.sem,
        mean_pressure_kbar=pressure.mean,
        pressure_sem_kbar=pressure.sem,
        mean_volume_A3_per_atom=volume,
    )


def mixing_enthalpy(
    h_alloy: float, sem_alloy: float, h_a: float, sem_a: float, h_b: float, sem_b: float, x_b: float
) -> tuple[float, float]:
    """ΔH_mix = H_AB − x_A H_A − x_B H_B and its SE (independent runs: errors add in quadrature)."""
    if not 0.0 < x_b < 1.0:
        raise InputError(None, None, f"x_B must lie in (0, 1), got {x_b!r}")
    x_a = 1.0 - x_b
    value = h_alloy - x_a * h_a - x_b * h_b
    return value, math.sqrt(sem_alloy**2 + (x_a * sem_a) ** 2 + (x_b * sem_b) ** 2)
