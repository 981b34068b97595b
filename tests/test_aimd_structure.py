"""Random liquid start cells: counts, start volume and non-overlapping placement."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hmixal.aimd.structure import (
    AVOGADRO,
    COHESIVE_MODULUS_FACTOR,
    LIQUID_MODULUS_FACTOR,
    MIN_DENSITY_RATIO,
    LiquidCell,
    bulk_modulus_guess_kbar,
    composition_counts,
    liquid_molar_volume_cm3,
    liquid_start_volume_A3,
    min_pair_distance,
    random_liquid_cell,
    solid_bulk_modulus_GPa,
    start_volume_A3,
)
from hmixal.elements import load_element_table
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


# ---------------------------------------------------------------------------------------------- liquid at T

# Liquid densities (kg/m^3) from the literature: ρ(T) = ρ_m − k (T − Tm), valid to T_max (docs/aimd.md §2).
# Al, Fe: Assael et al., J. Phys. Chem. Ref. Data 35, 285 (2006); Ag, Au: CRC Handbook, "Density of molten
# elements" (ρ_m at Tm; k from the same table).
LIQUID_DENSITIES = {
    # symbol: (molar mass g/mol, Tm K, ρ_m, k, T_max K)
    "Al": (26.9815, 933.47, 2377.23, 0.311, 1190.0),
    "Fe": (55.845, 1811.0, 7034.96, 0.926, 2480.0),
    "Ag": (107.8682, 1234.93, 9320.0, 0.9, 1773.0),
    "Au": (196.96657, 1337.33, 17310.0, 1.343, 1473.0),
}


@pytest.fixture(scope="module")
def elements():  # type: ignore[no-untyped-def]
    """The committed element table."""
    return load_element_table()


@pytest.mark.parametrize("symbol", sorted(LIQUID_DENSITIES))
def test_liquid_volume_rule_against_measured_densities(symbol: str, elements) -> None:  # type: ignore[no-untyped-def]
    mass, tm, rho_m, k, t_max = LIQUID_DENSITIES[symbol]
    solid = float(elements.loc[symbol, "MolarVolume"])
    melting = float(elements.loc[symbol, "Tm_sgte_K"])
    for t in (tm, t_max):
        measured = mass / (rho_m - k * (t - tm)) * 1000.0  # cm^3/mol
        # the rule's spread over its nine source elements is ±3 % at Tm (Bi, which contracts on melting, aside)
        # and grows with superheat, as the expansion coefficients spread by 2× (docs/aimd.md §2)
        assert liquid_molar_volume_cm3(solid, melting, t) == pytest.approx(measured, rel=0.03 if t == tm else 0.06)


def test_liquid_volume_rule_shape() -> None:
    at_melting = liquid_molar_volume_cm3(10.0, 1000.0, 1000.0)
    assert at_melting == pytest.approx(11.1)
    assert liquid_molar_volume_cm3(10.0, 1000.0, 2000.0) == pytest.approx(11.1 / (1 - 0.12))
    assert liquid_molar_volume_cm3(10.0, 1000.0, 900.0) < at_melting  # a supercooled liquid is denser
    # far above Tm the linear law is not extrapolated past half the density at Tm
    assert liquid_molar_volume_cm3(10.0, 500.0, 5000.0) == pytest.approx(at_melting / MIN_DENSITY_RATIO)
    with pytest.raises(InputError, match="temperature must be a positive number"):
        liquid_molar_volume_cm3(10.0, 1000.0, -5.0)


def test_liquid_start_volume_is_vegard_on_liquid_volumes() -> None:
    counts = {"Ir": 50, "Ti": 50}
    melting = {"Ir": 2719.0, "Ti": 1941.0}
    volume = liquid_start_volume_A3(counts, MOLAR_VOLUMES, melting, 2750.0)
    expected = sum(counts[s] * liquid_molar_volume_cm3(MOLAR_VOLUMES[s], melting[s], 2750.0) for s in counts)
    assert volume == pytest.approx(expected * 1e24 / AVOGADRO, rel=1e-12)
    # Ti is 800 K above its melting point: the cell is larger than Vegard on the solids × 1.11
    assert volume > 1.11 * start_volume_A3(counts, MOLAR_VOLUMES)
    assert liquid_start_volume_A3({"Ir": 10, "Zr": 0}, MOLAR_VOLUMES, melting, 2750.0) > 0  # zero counts need nothing
    with pytest.raises(InputError, match="no melting point given for Cu"):
        liquid_start_volume_A3({"Cu": 10}, MOLAR_VOLUMES, melting, 1500.0)


def test_solid_bulk_modulus_from_pymatgen_or_cohesive_energy(elements) -> None:  # type: ignore[no-untyped-def]
    value, source = solid_bulk_modulus_GPa("Fe")
    assert (value, source) == (pytest.approx(170.0), "pymatgen")
    os_row = elements.loc["Os"]
    value, source = solid_bulk_modulus_GPa("Os", float(os_row["HeatVaporization"]), float(os_row["MolarVolume"]))
    assert source == "cohesive energy density"
    assert value == pytest.approx(COHESIVE_MODULUS_FACTOR * os_row["HeatVaporization"] / os_row["MolarVolume"])
    with pytest.raises(InputError, match="pymatgen has no bulk modulus for Os"):
        solid_bulk_modulus_GPa("Os")


def test_cohesive_factor_is_the_median_over_the_elements(elements) -> None:  # type: ignore[no-untyped-def]
    ratios = []
    for symbol in elements.index:
        try:
            value, _ = solid_bulk_modulus_GPa(symbol)
        except InputError:
            continue
        ratios.append(value / (elements.loc[symbol, "HeatVaporization"] / elements.loc[symbol, "MolarVolume"]))
    assert len(ratios) == 62
    assert float(np.median(ratios)) == pytest.approx(COHESIVE_MODULUS_FACTOR, rel=0.05)


def test_bulk_modulus_guess(elements) -> None:  # type: ignore[no-untyped-def]
    # liquid Fe at its melting point: K_T = 77.6 GPa (Anderson & Ahrens 1994 with Assael et al. 2006)
    iron = bulk_modulus_guess_kbar({"Fe": 100}, 1811.0, elements)
    assert iron == pytest.approx(10 * LIQUID_MODULUS_FACTOR * 170.0, rel=1e-4)  # the table's Tm is 1810.95 K
    assert iron == pytest.approx(776.0, rel=0.15)
    assert bulk_modulus_guess_kbar({"Fe": 100}, None, elements) == pytest.approx(iron, rel=0.01)
    # superheated liquids soften: Al at 3700 K is ~4 × its melting point
    assert bulk_modulus_guess_kbar({"Al": 100}, 3700.0, elements) < 0.2 * bulk_modulus_guess_kbar({"Al": 100})
    # Reuss mixing lies between the pure liquids, nearer the softer
    ir, ti = (bulk_modulus_guess_kbar({s: 100}, 2750.0, elements) for s in ("Ir", "Ti"))
    mixed = bulk_modulus_guess_kbar({"Ir": 50, "Ti": 50}, 2750.0, elements)
    assert ti < mixed < 0.5 * (ir + ti)
    # an element pymatgen lacks (Zr) falls back on the cohesive energy density; the default table works
    assert bulk_modulus_guess_kbar({"Zr": 100}) > 0
    with pytest.raises(InputError, match="not in the element table"):
        bulk_modulus_guess_kbar({"Fe": 10}, 1811.0, elements.drop(index="Fe"))
