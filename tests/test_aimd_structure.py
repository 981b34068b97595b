"""Random liquid start cells: counts, start volume and non-overlapping placement."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hmixal.aimd.structure import (
    AVOGADRO,
    LiquidCell,
    composition_counts,
    min_pair_distance,
    random_liquid_cell,
    start_volume_A3,
)
from hmixal.errors import InputError

# Magpie molar volumes (cm^3/mol) of the element table, as used by the pipeline
MOLAR_VOLUMES = {"Ir": 8.52, "Ti": 10.64, "Cu": 7.11, "Ag": 10.27}


def brute_force_min_distance(positions: np.ndarray, length: float) -> float:
    """Minimum-image distance by looping over pairs and the 27 neighbouring images (independent check)."""
    best = np.inf
    shifts = [np.array(s) * length for s in itertools.product((-1, 0, 1), repeat=3)]
    for i, j in itertools.combinations(range(len(positions)), 2):
        for shift in shifts:
            best = min(best, float(np.linalg.norm(positions[i] - positions[j] + shift)))
    return best


def test_composition_counts_equimolar_and_rounding() -> None:
    assert composition_counts("Ir", "Ti", 0.5, 100) == {"Ir": 50, "Ti": 50}
    assert composition_counts("Ir", "Ti", 0.25, 100) == {"Ir": 75, "Ti": 25}
    # half-up, not Python's half-to-even: 0.5 of 99 atoms gives 50 B atoms (49.5 → 50)
    assert composition_counts("Cu", "Ag", 0.5, 99) == {"Cu": 49, "Ag": 50}
    assert composition_counts("Cu", "Ag", 0.0, 10) == {"Cu": 10, "Ag": 0}


@pytest.mark.parametrize(
    ("a", "b", "x", "n", "words"),
    [
        ("Ir", "Ir", 0.5, 100, "two different"),
        ("Ir", "Xx", 0.5, 100, "unknown element"),
        ("Ir", "Ti", 1.5, 100, "[0, 1]"),
        ("Ir", "Ti", float("nan"), 100, "[0, 1]"),
        ("Ir", "Ti", 0.5, 0, "positive integer"),
        ("Ir", "Ti", 0.5, True, "positive integer"),
    ],
)
def test_composition_counts_rejects(a: str, b: str, x: float, n: int, words: str) -> None:
    with pytest.raises(InputError, match=words.replace("[", r"\[").replace("]", r"\]")):
        composition_counts(a, b, x, n)


def test_start_volume_is_vegard_on_molar_volumes() -> None:
    volume = start_volume_A3({"Ir": 50, "Ti": 50}, MOLAR_VOLUMES)
    expected = 50 * (8.52 + 10.64) * 1e24 / AVOGADRO
    assert volume == pytest.approx(expected, rel=1e-12)
    assert volume == pytest.approx(1590.80, abs=0.01)
    # zero counts need no molar volume
    assert start_volume_A3({"Cu": 10, "Zr": 0}, MOLAR_VOLUMES) == pytest.approx(10 * 7.11e24 / AVOGADRO)


def test_start_volume_rejects_bad_input() -> None:
    with pytest.raises(InputError, match="no molar volume given for Zr"):
        start_volume_A3({"Cu": 1, "Zr": 1}, MOLAR_VOLUMES)
    with pytest.raises(InputError, match="must be positive"):
        start_volume_A3({"Cu": 1}, {"Cu": -1.0})
    with pytest.raises(InputError, match="non-negative integer"):
        start_volume_A3({"Cu": -1}, MOLAR_VOLUMES)
    with pytest.raises(InputError, match="no atoms"):
        start_volume_A3({"Cu": 0}, MOLAR_VOLUMES)
    with pytest.raises(InputError, match="empty"):
        start_volume_A3({}, MOLAR_VOLUMES)


def test_random_cell_paper_size_has_no_close_pairs() -> None:
    counts = composition_counts("Ir", "Ti", 0.5, 100)
    volume = start_volume_A3(counts, MOLAR_VOLUMES)
    cell = random_liquid_cell(counts, volume, 2.0, seed=11)
    assert isinstance(cell, LiquidCell)
    assert cell.n_atoms == 100
    assert cell.symbols == ("Ir",) * 50 + ("Ti",) * 50
    assert cell.counts() == {"Ir": 50, "Ti": 50}
    assert cell.positions.shape == (100, 3)
    assert cell.cell_length_A**3 == pytest.approx(volume)
    assert cell.volume_A3 == pytest.approx(volume)
    assert (cell.positions >= 0).all() and (cell.positions < cell.cell_length_A).all()
    d_min = brute_force_min_distance(cell.positions, cell.cell_length_A)
    assert d_min >= 2.0
    assert min_pair_distance(cell.positions, cell.cell_length_A) == pytest.approx(d_min)
    # both species spread over the whole box, not one packed first into a corner
    for symbol in ("Ir", "Ti"):
        centre = cell.positions[np.array(cell.symbols) == symbol].mean(axis=0) / cell.cell_length_A
        assert np.all(np.abs(centre - 0.5) < 0.15)


def test_random_cell_is_seeded_and_read_only() -> None:
    counts = {"Cu": 20, "Ag": 12}
    volume = start_volume_A3(counts, MOLAR_VOLUMES)
    one = random_liquid_cell(counts, volume, 1.8, seed=3)
    two = random_liquid_cell(counts, volume, 1.8, seed=3)
    other = random_liquid_cell(counts, volume, 1.8, seed=4)
    assert np.array_equal(one.positions, two.positions)
    assert not np.allclose(one.positions, other.positions)
    with pytest.raises(ValueError, match="read-only"):
        one.positions[0, 0] = 1.0


def test_random_cell_reports_impossible_packing() -> None:
    # 100 hard spheres of diameter 3 Å in 1000 Å^3: packing fraction 1.41, far beyond random jamming
    with pytest.raises(InputError, match=r"could not place atom \d+ of 100.*packing fraction 1\.41"):
        random_liquid_cell({"Cu": 100}, 1000.0, 3.0, seed=1, max_attempts=200)


@pytest.mark.parametrize(
    ("counts", "volume", "d", "attempts", "words"),
    [
        ({"Cu": 10}, 0.0, 2.0, 10, "volume must be positive"),
        ({"Cu": 10}, float("inf"), 2.0, 10, "volume must be positive"),
        ({"Cu": 10}, 1000.0, -1.0, 10, "non-negative"),
        ({"Cu": 10}, 1000.0, 6.0, 10, "exceeds half the cell length"),
        ({"Cu": 10}, 1000.0, 2.0, 0, "max_attempts"),
        ({"Qq": 10}, 1000.0, 2.0, 10, "unknown element"),
        ({"Cu": 2.5}, 1000.0, 2.0, 10, "non-negative integer"),
    ],
)
def test_random_cell_rejects_bad_arguments(
    counts: dict[str, int], volume: float, d: float, attempts: int, words: str
) -> None:
    with pytest.raises(InputError, match=words):
        random_liquid_cell(counts, volume, d, seed=0, max_attempts=attempts)
