"""A synthetic liquid for the volume loop: Birch–Murnaghan P(V), E(V) from thermodynamics, and stages with
correlated noise whose mean and standard error are estimated as the runner does (equilibration detection,
then block averaging). Shared by tests/test_aimd_volume.py and benchmarks/bench_volume_loop.py.

Noise model: AR(1) per-step noise x_t = φ x_{t−1} + √(1 − φ²) σ ε_t with φ = exp(−1/τ) (τ in steps), which
has standard deviation σ and autocorrelation exp(−lag/τ). A 100-atom refractory liquid has per-step pressure
fluctuations of 15–25 kbar (δP² ≈ k_B T B / V) and correlation times of 20–60 steps of 3 fs; a 2-ps stage is
667 steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from hmixal.aimd.statistics import block_average, detect_equilibration
from hmixal.aimd.volume import KBAR_A3_TO_KJ_PER_MOL, VolumeDecision, VolumePoint

STAGE_STEPS = 667  # 2 ps of 3-fs steps


@dataclass(frozen=True)
class Liquid:
    """A model liquid cell: Birch–Murnaghan EOS (V0 in Å³, B0 in kbar, B0'), thermal pressure T(∂P/∂T)_V
    (kbar, constant), the energy per atom at V0 (kJ/mol) and the number of atoms."""

    v0_A3: float
    b0_kbar: float
    b0_prime: float = 4.5
    thermal_pressure_kbar: float = 300.0
    e0_kJ_mol: float = -500.0
    n_atoms: int = 100

    def pressure(self, volume_A3: float) -> float:
        """Third-order Birch–Murnaghan pressure (kbar)."""
        eta = (self.v0_A3 / volume_A3) ** (2.0 / 3.0)
        return 1.5 * self.b0_kbar * (eta**3.5 - eta**2.5) * (1.0 + 0.75 * (self.b0_prime - 4.0) * (eta - 1.0))

    def cold_energy(self, volume_A3: float) -> float:
        """Birch–Murnaghan energy relative to V0 (kbar·Å³ per cell): −∫_{V0}^{V} P dV."""
        eta = (self.v0_A3 / volume_A3) ** (2.0 / 3.0)
        return (
            9.0
            * self.v0_A3
            * self.b0_kbar
            / 16.0
            * ((eta - 1.0) ** 3 * self.b0_prime + (eta - 1.0) ** 2 * (6.0 - 4.0 * eta))
        )

    def energy(self, volume_A3: float) -> float:
        """E per atom (kJ/mol) from (∂E/∂V)_T = T(∂P/∂T)_V − P with a constant thermal pressure."""
        per_cell = self.thermal_pressure_kbar * (volume_A3 - self.v0_A3) + self.cold_energy(volume_A3)
        return self.e0_kJ_mol + per_cell * KBAR_A3_TO_KJ_PER_MOL / self.n_atoms


@dataclass(frozen=True)
class Noise:
    """Per-step noise of one stage: pressure σ (kbar), energy σ per atom (kJ/mol), correlation time (steps)."""

    pressure_kbar: float = 20.0
    energy_kJ_mol: float = 4.0
    tau_steps: float = 40.0
    steps: int = STAGE_STEPS


def physical_noise_kbar(
    volume_A3: float, modulus_kbar: float, temperature_K: float = 3000.0, n_atoms: int = 100
) -> float:
    """Per-step pressure noise of a cell: δP² ≈ k_B·T·B/V plus the kinetic term ((2/3V)·k_B·T·√(3N/2))²."""
    kt = 1.380649e-23 * temperature_K  # J
    volume = volume_A3 * 1e-30  # m^3
    virial = kt * modulus_kbar * 1e8 / volume
    kinetic = (2.0 / (3.0 * volume) * kt * math.sqrt(1.5 * n_atoms)) ** 2
    return math.sqrt(virial + kinetic) / 1e8  # Pa → kbar


def ar1(n: int, sigma: float, tau: float, rng: np.random.Generator) -> np.ndarray:
    """An AR(1) series of n steps, stationary from the first step, with sd σ and correlation time τ."""
    phi = math.exp(-1.0 / tau)
    kicks = rng.standard_normal(n) * sigma * math.sqrt(1.0 - phi * phi)
    kicks[0] = rng.standard_normal() * sigma  # x_0 drawn from the stationary distribution
    return lfilter([1.0], [1.0, -phi], kicks)


def mean_and_sem(series: np.ndarray) -> tuple[float, float]:
    """Mean and SE as the runner computes them: detect equilibration, then block-average the rest."""
    start = detect_equilibration(series).start
    block = block_average(series[start:])
    return block.mean, block.sem


def sample_stage(liquid: Liquid, volume_A3: float, noise: Noise, rng: np.random.Generator) -> VolumePoint:
    """One NVT stage at ``volume_A3``: mean pressure and energy with block-averaged standard errors."""
    pressure = liquid.pressure(volume_A3) + ar1(noise.steps, noise.pressure_kbar, noise.tau_steps, rng)
    energy = liquid.energy(volume_A3) + ar1(noise.steps, noise.energy_kJ_mol, noise.tau_steps, rng)
    p, p_sem = mean_and_sem(pressure)
    e, e_sem = mean_and_sem(energy)
    return VolumePoint(volume_A3, p, p_sem, e, e_sem, liquid.n_atoms)


def run_loop(
    liquid: Liquid,
    start_A3: float,
    decide: Callable[[Sequence[VolumePoint]], VolumeDecision],
    noise: Noise,
    seed: int,
    max_stages: int = 100,
) -> tuple[VolumeDecision, list[VolumePoint]]:
    """Drive a volume loop as the runner does (one stage per decision) until it stops asking for runs."""
    rng = np.random.default_rng(seed)
    history: list[VolumePoint] = []
    volume = start_A3
    for _ in range(max_stages):
        history.append(sample_stage(liquid, volume, noise, rng))
        decision = decide(history)
        if decision.action != "run":
            return decision, history
        volume = decision.volume_A3
    raise RuntimeError(f"loop still running after {max_stages} stages")
