"""Random liquid start cells: composition counts, start volume from molar volumes, non-overlapping atoms."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from hmixal.elements import ELEMENTS
from hmixal.errors import InputError

AVOGADRO = 6.02214076e23  # 1/mol, exact since the 2019 SI redefinition
_A3_PER_CM3 = 1.0e24

DEFAULT_MAX_ATTEMPTS = 20000


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
