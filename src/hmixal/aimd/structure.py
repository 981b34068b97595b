"""Random liquid start cells: composition counts, start volume and bulk-modulus guess of a liquid at T, and
non-overlapping atoms. The rules and the data behind their constants: docs/aimd.md §2."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hmixal.elements import ELEMENTS
from hmixal.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

AVOGADRO = 6.02214076e23  # 1/mol, exact since the 2019 SI redefinition
_A3_PER_CM3 = 1.0e24

DEFAULT_MAX_ATTEMPTS = 20000

# Liquid volume at T from the room-temperature solid's (docs/aimd.md §2):
#   V_liq(T) = V_solid · R / max(1 − c · (T − Tm)/Tm, MIN_DENSITY_RATIO)
# R = V_liq(Tm)/V_solid(298 K): median 1.115 (0.97 Bi … 1.14 Al) over Al, Fe (Assael et al., J. Phys. Chem.
# Ref. Data 35, 285 (2006)) and Ag, Au, As, Ba, Be, Bi, Ca (CRC Handbook, "Density of molten elements").
# c = (−dρ/dT)·Tm/ρ(Tm), the liquid's density slope made dimensionless: median 0.116 (0.07 Bi … 0.24 Fe) over
# the same elements but Be (no slope given). Both rounded.
LIQUID_VOLUME_RATIO_AT_MELTING = 1.11
LIQUID_REDUCED_EXPANSION = 0.12
# beyond half the density at Tm a liquid is near its liquid–vapour critical region; the linear law is not
# extrapolated further (the volume loop finds the rest, or reports no_liquid)
MIN_DENSITY_RATIO = 0.5
# K_T of the liquid at Tm / B of the room-temperature solid: 0.46 for Fe (liquid K_S = 109.7 GPa, γ = 1.735 at
# 1811 K, Anderson & Ahrens, J. Geophys. Res. 99, 4273 (1994); α = 1.32e-4 /K from Assael et al. 2006;
# K_T = K_S/(1 + αγT) = 77.6 GPa; solid 170 GPa), rounded to 0.5
LIQUID_MODULUS_FACTOR = 0.5
# above Tm the liquid softens as it expands, B ∝ (V_m/V)^δ with the Anderson–Grüneisen parameter δ ≈ B′
# (taken 4.5, the volume loop's B′; liquid Fe: K_S′ = 4.66, Anderson & Ahrens 1994)
ANDERSON_GRUNEISEN_DELTA = 4.5
# fallback when pymatgen has no solid bulk modulus (Ga, Ge, Sr, Zr, Tc, In, Os, Pu): B ≈ k·ΔH_vap/V_m, the
# cohesive-energy density, k = 3.0 the median ratio over the 62 elements with a value (spread ×/÷ 1.8)
COHESIVE_MODULUS_FACTOR = 3.0


@dataclass(frozen=True, eq=False)
class LiquidCell:
    """A cubic periodic cell of atoms: symbols grouped by element, Cartesian positions in Å (read-only)."""

    symbols: tuple[str, ...]
    positions: np.ndarray
    cell_length_A: float

    @property
    def n_atoms(self) -> int:
        """Number of atoms in the cell."""
        return len(self.symbols)

    @property
    def volume_A3(self) -> float:
        """Cell volume in Å³."""
        return float(self.cell_length_A**3)

    def counts(self) -> dict[str, int]:
        """Atoms per element, in the order the elements first appear."""
        out: dict[str, int] = {}
        for symbol in self.symbols:
            out[symbol] = out.get(symbol, 0) + 1
        return out


def _check_counts(counts: Mapping[str, int]) -> None:
    if not counts:
        raise InputError(None, None, "composition is empty")
    for symbol, n in counts.items():
        if symbol not in ELEMENTS:
            raise InputError(None, None, f"unknown element symbol {symbol!r}")
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise InputError(None, None, f"count of {symbol} must be a non-negative integer, got {n!r}")
    if sum(counts.values()) == 0:
        raise InputError(None, None, "composition has no atoms")


def composition_counts(a: str, b: str, x_b: float, n_atoms: int) -> dict[str, int]:
    """Atoms of A and B for a cell of ``n_atoms`` at mole fraction ``x_b`` of B (B count rounded half up)."""
    if a == b:
        raise InputError(None, None, f"a binary needs two different elements, got {a}-{b}")
    for symbol in (a, b):
        if symbol not in ELEMENTS:
            raise InputError(None, None, f"unknown element symbol {symbol!r}")
    if not (0.0 <= x_b <= 1.0) or not np.isfinite(x_b):
        raise InputError(None, None, f"x_B must lie in [0, 1], got {x_b!r}")
    if isinstance(n_atoms, bool) or not isinstance(n_atoms, (int, np.integer)) or n_atoms < 1:
        raise InputError(None, None, f"n_atoms must be a positive integer, got {n_atoms!r}")
    # floor(x + 0.5) rather than round(): Python's round() is half-to-even, which would make 0.5 of an
    # odd cell depend on parity; half-up is the documented, parity-independent rule.
    n_b = int(np.floor(x_b * n_atoms + 0.5))
    return {a: int(n_atoms) - n_b, b: n_b}


def start_volume_A3(counts: Mapping[str, int], molar_volumes_cm3: Mapping[str, float]) -> float:
    """Start volume (Å³) of a cell with these counts: Vegard's rule on the pure elements' molar volumes."""
    _check_counts(counts)
    total = 0.0
    for symbol, n in counts.items():
        if n == 0:
            continue
        if symbol not in molar_volumes_cm3:
            raise InputError(None, None, f"no molar volume given for {symbol}")
        vm = float(molar_volumes_cm3[symbol])
        if not np.isfinite(vm) or vm <= 0.0:
            raise InputError(None, None, f"molar volume of {symbol} must be positive, got {vm!r}")
        total += n * vm * _A3_PER_CM3 / AVOGADRO
    return total


def liquid_molar_volume_cm3(molar_volume_cm3: float, melting_point_K: float, temperature_K: float) -> float:
    """Molar volume (cm³/mol) of the liquid element at T from its room-temperature solid's (module constants)."""
    for name, value in (("molar volume", molar_volume_cm3), ("melting point", melting_point_K),
                        ("temperature", temperature_K)):  # fmt: skip
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float | np.floating)
            or not (math.isfinite(value) and value > 0)
        ):
            raise InputError(None, None, f"{name} must be a positive number, got {value!r}")
    density_ratio = 1.0 - LIQUID_REDUCED_EXPANSION * (temperature_K - melting_point_K) / melting_point_K
    return float(molar_volume_cm3) * LIQUID_VOLUME_RATIO_AT_MELTING / max(density_ratio, MIN_DENSITY_RATIO)


def _liquid_volumes(
    counts: Mapping[str, int],
    molar_volumes_cm3: Mapping[str, float],
    melting_points_K: Mapping[str, float],
    temperature_K: float,
) -> dict[str, float]:
    _check_counts(counts)
    out = {}
    for symbol, n in counts.items():
        if n == 0:
            continue
        for what, table in (("molar volume", molar_volumes_cm3), ("melting point", melting_points_K)):
            if symbol not in table:
                raise InputError(None, None, f"no {what} given for {symbol}")
        out[symbol] = liquid_molar_volume_cm3(
            float(molar_volumes_cm3[symbol]), float(melting_points_K[symbol]), temperature_K
        )
    return out


def liquid_start_volume_A3(
    counts: Mapping[str, int],
    molar_volumes_cm3: Mapping[str, float],
    melting_points_K: Mapping[str, float],
    temperature_K: float,
) -> float:
    """Start volume (Å³) of a liquid cell at T: Vegard's rule on the elements' liquid molar volumes at T."""
    volumes = _liquid_volumes(counts, molar_volumes_cm3, melting_points_K, temperature_K)
    return sum(counts[s] * v * _A3_PER_CM3 / AVOGADRO for s, v in volumes.items())


def solid_bulk_modulus_GPa(
    symbol: str, heat_of_vaporization_kJ: float | None = None, molar_volume_cm3: float | None = None
) -> tuple[float, str]:
    """Bulk modulus (GPa) of the room-temperature solid: pymatgen's value, else k·ΔH_vap/V_m; and its source."""
    if symbol not in ELEMENTS:
        raise InputError(None, None, f"unknown element symbol {symbol!r}")
    from pymatgen.core import Element  # pymatgen is slow to import; only needed here

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pymatgen warns "No data available" for the elements it lacks
        value = Element(symbol).bulk_modulus
    if value is not None:
        return float(value), "pymatgen"
    if heat_of_vaporization_kJ is None or molar_volume_cm3 is None:
        raise InputError(
            None, None, f"pymatgen has no bulk modulus for {symbol}: give its heat of vaporization and molar volume"
        )
    if not (heat_of_vaporization_kJ > 0 and molar_volume_cm3 > 0):
        raise InputError(None, None, f"heat of vaporization and molar volume of {symbol} must be positive")
    # kJ/mol ÷ cm³/mol = kJ/cm³ = GPa
    return COHESIVE_MODULUS_FACTOR * heat_of_vaporization_kJ / molar_volume_cm3, "cohesive energy density"


def bulk_modulus_guess_kbar(
    counts: Mapping[str, int], temperature_K: float | None = None, elements: pd.DataFrame | None = None
) -> float:
    """Isothermal bulk modulus guess (kbar) of the liquid cell at T (at the elements' melting points when T is None).

    Per element: LIQUID_MODULUS_FACTOR × the solid's modulus (``solid_bulk_modulus_GPa``), softened above Tm as
    (V_liq(Tm)/V_liq(T))^ANDERSON_GRUNEISEN_DELTA; mixed by Reuss' rule (compliances weighted by volume
    fraction). ``elements``: the element table (MolarVolume, Tm_sgte_K, HeatVaporization); the committed one
    when None.
    """
    _check_counts(counts)
    if elements is None:
        from hmixal.elements import load_element_table

        elements = load_element_table()
    present = [s for s, n in counts.items() if n > 0]
    missing = sorted(set(present) - set(elements.index))
    if missing:
        raise InputError(None, None, f"element(s) {', '.join(missing)} not in the element table")
    compliance, volume = 0.0, 0.0
    for symbol in present:
        row = elements.loc[symbol]
        solid, _ = solid_bulk_modulus_GPa(symbol, float(row["HeatVaporization"]), float(row["MolarVolume"]))
        v_melt = liquid_molar_volume_cm3(float(row["MolarVolume"]), float(row["Tm_sgte_K"]), float(row["Tm_sgte_K"]))
        v_hot = v_melt
        if temperature_K is not None:
            v_hot = liquid_molar_volume_cm3(float(row["MolarVolume"]), float(row["Tm_sgte_K"]), temperature_K)
        modulus = LIQUID_MODULUS_FACTOR * solid * (v_melt / v_hot) ** ANDERSON_GRUNEISEN_DELTA
        share = counts[symbol] * v_hot
        compliance += share / modulus
        volume += share
    return 10.0 * volume / compliance  # GPa → kbar


def minimum_image_distances(positions: np.ndarray, point: np.ndarray, cell_length_A: float) -> np.ndarray:
    """Distances (Å) from ``point`` to each row of ``positions`` in a cubic periodic cell (minimum image)."""
    delta = positions - point
    delta -= cell_length_A * np.round(delta / cell_length_A)
    return np.sqrt(np.einsum("ij,ij->i", delta, delta))


def min_pair_distance(positions: np.ndarray, cell_length_A: float) -> float:
    """Smallest minimum-image distance (Å) between any two atoms of a cubic periodic cell."""
    n = len(positions)
    if n < 2:
        return float("inf")
    delta = positions[:, None, :] - positions[None, :, :]
    delta -= cell_length_A * np.round(delta / cell_length_A)
    dist = np.sqrt(np.einsum("ijk,ijk->ij", delta, delta))
    return float(dist[np.triu_indices(n, k=1)].min())


def random_liquid_cell(
    counts: dict[str, int],
    volume_A3: float,
    min_distance_A: float,
    seed: int,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> LiquidCell:
    """Place atoms at random in a cube of ``volume_A3`` with no pair closer than ``min_distance_A``.

    Random sequential insertion with minimum-image distances; ``max_attempts`` bounds the trial positions
    per atom. Symbols are grouped by element in the order of ``counts`` (VASP's POSCAR wants species
    blocks); placement order is shuffled so neither species is packed first.
    """
    _check_counts(counts)
    if not np.isfinite(volume_A3) or volume_A3 <= 0.0:
        raise InputError(None, None, f"cell volume must be positive, got {volume_A3!r} Å^3")
    if not np.isfinite(min_distance_A) or min_distance_A < 0.0:
        raise InputError(None, None, f"minimum distance must be non-negative, got {min_distance_A!r} Å")
    if max_attempts < 1:
        raise InputError(None, None, f"max_attempts must be at least 1, got {max_attempts!r}")
    length = float(volume_A3 ** (1.0 / 3.0))
    if min_distance_A > length / 2.0 and sum(counts.values()) > 1:
        # beyond half the box an atom would clash with its own periodic images' neighbours' images
        raise InputError(None, None, f"minimum distance {min_distance_A} Å exceeds half the cell length {length:.3f} Å")
    symbols = tuple(s for s, n in counts.items() for _ in range(n))
    n_total = len(symbols)
    rng = np.random.default_rng(seed)
    order = rng.permutation(n_total)
    positions = np.empty((n_total, 3))
    placed = np.zeros(n_total, dtype=bool)
    for k, index in enumerate(order):
        for _ in range(max_attempts):
            trial = rng.random(3) * length
            if not placed.any() or minimum_image_distances(positions[placed], trial, length).min() >= min_distance_A:
                positions[index] = trial
                placed[index] = True
                break
        else:
            # packing fraction of hard spheres of diameter d: how crowded the request was
            fraction = n_total * np.pi * min_distance_A**3 / 6.0 / volume_A3
            raise InputError(
                None,
                None,
                f"could not place atom {k + 1} of {n_total} with no pair closer than {min_distance_A} Å "
                f"in {volume_A3:.1f} Å^3 after {max_attempts} attempts (hard-sphere packing fraction "
                f"{fraction:.2f}; random insertion jams near 0.38): lower min_distance_A or enlarge the cell",
            )
    positions.setflags(write=False)  # the dataclass is frozen; keep its array from being edited in place
    return LiquidCell(symbols=symbols, positions=positions, cell_length_A=length)
