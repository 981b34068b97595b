"""Tests of the engine-agnostic analysis (hmixal.aimd.trace, statistics, enthalpy, frames, analysis) on synthetic
series and constructed configurations with known answers.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.signal import lfilter

from hmixal.aimd import analysis as an
from hmixal.aimd.enthalpy import BOLTZMANN_EV_PER_K, EV_TO_KJ_PER_MOL, enthalpy, mixing_enthalpy
from hmixal.aimd.frames import (
    MIN_DIFFUSION_M2_PER_S,
    MIN_WENDT_ABRAHAM_RATIO,
    Frames,
    concentration_fluctuation,
    coordination_numbers,
    diffusion_coefficient,
    first_shell,
    make_frames,
    pair_correlation,
    read_frames,
    separated_scc_ratio,
    structure_check,
    warren_cowley_alpha,
)
from hmixal.aimd.statistics import (
    DRIFT_SIGMA_LIMIT,
    block_average,
    blocking_levels,
    detect_equilibration,
    drift_test,
    statistical_inefficiency,
)
from hmixal.aimd.trace import Trace, make_trace, read_trace, write_trace
from hmixal.dataset import read_dataset_csv
from hmixal.errors import InputError


def ar1(n: int, phi: float, seed: int) -> np.ndarray:
    """Stationary AR(1) series x_t = φ x_{t−1} + ε_t with unit-variance noise."""
    noise = np.random.default_rng(seed).normal(size=n)
    noise[0] /= math.sqrt(1.0 - phi**2)  # start in the stationary distribution
    return lfilter([1.0], [1.0, -phi], noise)


def ar1_sem(n: int, phi: float) -> float:
    """Exact large-n standard error of the mean of an AR(1) series with unit-variance noise."""
    return math.sqrt(1.0 / (1.0 - phi**2) / n * (1.0 + phi) / (1.0 - phi))


# ------------------------------------------------------------------------------------------------------------
# statistics


@pytest.mark.parametrize("phi", [0.0, 0.5, 0.9])
def test_block_average_matches_the_exact_ar1_standard_error(phi: float) -> None:
    n = 2**14
    ratios = []
    for seed in range(5):
        x = ar1(n, phi, seed)
        result = block_average(x)
        assert result.mean == pytest.approx(x.mean())
        assert result.converged
        ratios.append(result.sem / ar1_sem(n, phi))
    # each estimate carries ~10 % noise at this length; the rule is documented as within ~5 % on average
    assert all(0.7 < r < 1.3 for r in ratios), ratios
    assert np.mean(ratios) == pytest.approx(1.0, abs=0.12)


def test_block_average_flags_a_series_shorter_than_its_correlation() -> None:
    x = ar1(1000, 0.995, seed=1)  # correlation time ~400 samples: no plateau in 1000 samples
    result = block_average(x)
    assert not result.converged
    assert result.sem < ar1_sem(1000, 0.995)  # a lower bound, as documented


def test_blocking_levels_halve_the_series() -> None:
    levels = blocking_levels(np.arange(100.0), min_blocks=8)
    assert [lv.n_blocks for lv in levels] == [100, 50, 25, 12]
    assert [lv.block_size for lv in levels] == [1, 2, 4, 8]
    first = levels[0]
    assert first.sem == pytest.approx(np.std(np.arange(100.0)) / math.sqrt(99))
    assert first.sem_error == pytest.approx(first.sem / math.sqrt(2 * 99))


@pytest.mark.parametrize(
    ("values", "min_blocks", "message"),
    [
        ([1.0, 2.0, np.nan, 4.0] * 10, 8, "non-finite"),
        ([1.0] * 5, 8, "at least 8 samples"),
        ([1.0] * 50, 1, "min_blocks"),
        (np.ones((10, 2)), 8, "1-d series"),
    ],
)
def test_block_average_rejects_bad_input(values: object, min_blocks: int, message: str) -> None:
    with pytest.raises(InputError, match=message):
        block_average(values, min_blocks)  # type: ignore[arg-type]


def test_statistical_inefficiency_of_ar1() -> None:
    phi = 0.9
    g = statistical_inefficiency(ar1(2**15, phi, seed=3))
    assert g == pytest.approx((1 + phi) / (1 - phi), rel=0.15)
    assert statistical_inefficiency(np.ones(10)) == 1.0


def test_equilibration_detection_removes_an_initial_transient() -> None:
    n, tau = 6000, 150.0
    t = np.arange(n)
    x = ar1(n, 0.8, seed=4) + 15.0 * np.exp(-t / tau)  # true stationary mean 0; noise SD ~1.7
    found = detect_equilibration(x, min_fraction=0.0)
    assert 2 * tau < found.start < 0.5 * n
    kept = block_average(x[found.start :])
    assert abs(kept.mean) < 3 * kept.sem  # the bias is gone
    assert x.mean() > 3 * ar1_sem(n, 0.8)  # whereas averaging everything is biased (by 15 τ/n = 0.375)
    floor = detect_equilibration(ar1(n, 0.5, seed=5), min_fraction=0.2)
    assert floor.start >= 0.2 * n


def test_equilibration_detection_rejects_bad_fractions() -> None:
    with pytest.raises(InputError, match="min_fraction"):
        detect_equilibration(np.zeros(100), min_fraction=0.6, max_fraction=0.5)
    with pytest.raises(InputError, match="at least 4"):
        detect_equilibration(np.zeros(3))


def test_drift_test_separates_trend_from_noise() -> None:
    t = np.arange(4000.0)
    noise = ar1(4000, 0.9, seed=6)
    assert drift_test(t, noise).sigma < DRIFT_SIGMA_LIMIT
    trended = drift_test(t, noise + 2e-3 * t)  # +8 over the window against SE(mean) ~0.3
    assert trended.sigma > DRIFT_SIGMA_LIMIT
    assert trended.change == pytest.approx(8.0, abs=1.5)


# ------------------------------------------------------------------------------------------------------------
# traces and enthalpy


def synthetic_trace(n_atoms: int = 100, n: int = 4000, epot: float = -300.0, seed: int = 0, **meta: object) -> Trace:
    """A trace whose E_pot fluctuates (AR(1), SD ~0.5 eV) about ``epot`` with P ≈ 0 and T ≈ 1500 K."""
    rng = np.random.default_rng(seed)
    e = epot + 0.2 * ar1(n, 0.9, seed)
    temperature = 1500.0 + 30.0 * rng.normal(size=n)
    ekin = 1.5 * BOLTZMANN_EV_PER_K * temperature * (n_atoms - 1)
    table = pd.DataFrame(
        {
            "step": np.arange(n),
            "time_fs": 3.0 * np.arange(n),
            "temperature_K": temperature,
            "etotal_eV": e + ekin,
            "epot_eV": e,
            "pressure_kbar": rng.normal(size=n),
            "volume_A3": np.full(n, 1700.0),
        }
    )
    composition = meta.pop("composition", {"Ag": n_atoms})
    return make_trace(table, composition, 1500.0, "NVT", "synthetic", "synthetic.csv", meta)  # type: ignore[arg-type]


def test_trace_round_trip(tmp_path: Path) -> None:
    trace = synthetic_trace(n=50, seed_note="x")
    path = tmp_path / "trace.csv"
    write_trace(trace, path)
    back = read_trace(path)
    assert back.composition == {"Ag": 100} and back.n_atoms == 100
    assert back.ensemble == "NVT" and back.engine == "synthetic" and back.target_temperature_K == 1500.0
    assert back.metadata == {"seed_note": "x"}
    pd.testing.assert_frame_equal(back.table, trace.table, rtol=1e-9)
    write_trace(back, tmp_path / "again.csv")
    assert (tmp_path / "again.csv").read_bytes() == path.read_bytes()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    return path


HEAD = '# composition: {"Ag": 2}\n# target_temperature_K: 1000\n# ensemble: "NVT"\n# engine: "x"\n'
COLS = "step,time_fs,temperature_K,etotal_eV,epot_eV,pressure_kbar\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HEAD + "step,time_fs\n1,1\n2,2\n", r"bad.csv:5: missing column\(s\): temperature_K"),
        (HEAD + COLS + "1,1,1,1,1,1\n2,2,X,1,1,1\n", r"bad.csv:7: column temperature_K: 'X'"),
        (HEAD + COLS + "1,1,1,1,1,1\n1,2,1,1,1,1\n", r"bad.csv:7: column step must increase"),
        (HEAD + COLS + "1,1,-1,1,1,1\n2,2,1,1,1,1\n", r"bad.csv:6: temperature_K is negative"),
        (HEAD + COLS + "1,1,1,1,1,1\n", "at least 2 steps"),
        (HEAD.replace('# engine: "x"\n', "") + COLS + "1,1,1,1,1,1\n", "missing metadata line"),
        (HEAD.replace('"Ag": 2', '"Xx": 2') + COLS + "1,1,1,1,1,1\n", "unknown element 'Xx'"),
        (HEAD.replace('"NVT"', '"NPH"') + COLS + "1,1,1,1,1,1\n2,2,1,1,1,1\n", "ensemble must be one of"),
        (HEAD.replace("1000", "-5") + COLS + "1,1,1,1,1,1\n2,2,1,1,1,1\n", "must be positive"),
        ('# composition: {"Ag": 2\n' + COLS, r"bad.csv:1: metadata composition: not JSON"),
        (HEAD, "no header line"),
    ],
)
def test_read_trace_rejects_bad_files(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        read_trace(_write(tmp_path, text))


def test_enthalpy_methods_and_units() -> None:
    trace = synthetic_trace(n_atoms=100, epot=-300.0)
    kinetic = enthalpy(trace, "epot_kinetic")
    # E_pot/N = −3 eV (+ noise), plus 3/2 k_B T at 1500 K
    expected = (-3.0 + 1.5 * BOLTZMANN_EV_PER_K * 1500.0) * EV_TO_KJ_PER_MOL
    assert kinetic.h_kJ_per_mol == pytest.approx(expected, abs=4 * kinetic.sem_kJ_per_mol)
    assert 0 < kinetic.sem_kJ_per_mol < 0.2
    total = enthalpy(trace, "etotal")
    # the synthetic kinetic energy has (N − 1) × 3/2 k_B T: E_tot/N is lower by 3/2 k_B T / N
    shift = 1.5 * BOLTZMANN_EV_PER_K * 1500.0 / 100 * EV_TO_KJ_PER_MOL
    assert total.h_kJ_per_mol == pytest.approx(kinetic.h_kJ_per_mol - shift, abs=0.05)
    assert kinetic.start_index >= 0.1 * 4000  # the documented floor
    assert kinetic.mean_temperature_K == pytest.approx(1500.0, abs=5.0)
    assert kinetic.mean_volume_A3_per_atom == pytest.approx(17.0)
    with pytest.raises(InputError, match="enthalpy method"):
        enthalpy(trace, "free_energy")


def test_mixing_enthalpy_and_error_propagation() -> None:
    value, sem = mixing_enthalpy(10.0, 0.3, 8.0, 0.4, 14.0, 0.2, x_b=0.25)
    assert value == pytest.approx(10.0 - 0.75 * 8.0 - 0.25 * 14.0)
    assert sem == pytest.approx(math.sqrt(0.3**2 + (0.75 * 0.4) ** 2 + (0.25 * 0.2) ** 2))
    with pytest.raises(InputError, match="x_B"):
        mixing_enthalpy(1, 0, 1, 0, 1, 0, x_b=1.0)


# ------------------------------------------------------------------------------------------------------------
# structure


def cubic_frames(symbols: list[str], positions: np.ndarray, length: float, dt_fs: float = 100.0) -> Frames:
    """Frames in a fixed cubic cell, one every ``dt_fs``."""
    n_frames = positions.shape[0]
    cells = np.broadcast_to(np.eye(3) * length, (n_frames, 3, 3))
    return make_frames(symbols, positions, cells, dt_fs * np.arange(n_frames), "constructed")


def fcc_positions(repeats: int, a: float) -> np.ndarray:
    """Sites of a cubic fcc supercell of ``repeats``³ conventional cells."""
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    grid = np.array([[i, j, k] for i in range(repeats) for j in range(repeats) for k in range(repeats)])
    return ((grid[:, None, :] + basis[None, :, :]).reshape(-1, 3)) * a


def test_ideal_gas_pair_correlation_is_one_and_it_diffuses() -> None:
    rng = np.random.default_rng(7)
    n, length, n_frames = 200, 20.0, 40
    start = rng.random((n, 3)) * length
    # random walk with D = σ²/(2 Δt) per axis: σ = 0.3 Å per 100 fs → D = 4.5e-4 Å²/fs = 4.5e-9 m²/s
    steps = rng.normal(scale=0.3, size=(n_frames - 1, n, 3))
    walk = np.concatenate([start[None], start + np.cumsum(steps, axis=0)]) % length  # wrapped, as XDATCAR
    frames = cubic_frames(["Ag"] * 100 + ["Cu"] * 100, walk, length)
    gr = pair_correlation(frames, bin_width=0.25)
    assert gr.r[-1] < 10.0  # minimum image: half the box
    far = gr.r > 2.0
    assert np.mean(gr.total[far]) == pytest.approx(1.0, abs=0.03)
    for g in gr.partial.values():
        assert np.mean(g[far]) == pytest.approx(1.0, abs=0.06)
    assert diffusion_coefficient(frames) == pytest.approx(4.5e-9, rel=0.2)
    check = structure_check(frames, bin_width=0.25)
    assert check.liquid  # no shell structure: the Wendt–Abraham ratio is ~1
    assert not check.phase_separated


def test_first_shell_search_stays_inside_the_range() -> None:
    r = np.arange(0.025, 4.5, 0.05)
    g = np.where(r < 2.0, 0.0, 3.0 * np.exp(-((r - 2.5) ** 2) / 0.1) + 0.6 + 0.1 * np.cos(3 * r))
    r_peak, g_peak, r_min, g_min = first_shell(r, g)
    assert r_peak == pytest.approx(2.5, abs=0.05) and g_peak == pytest.approx(3.5, abs=0.15)
    assert 2.5 < r_min <= 1.7 * r_peak and g_min < 0.7
    # a larger value beyond r_max/1.7 (e.g. noise at the edge of a small cell) is not taken as the peak
    g_edge = g.copy()
    g_edge[-3:] = 5.0
    assert first_shell(r, g_edge)[0] == pytest.approx(r_peak)
    with pytest.raises(InputError, match="too short"):
        first_shell(r[:3], g[:3])
    # a cell so small that no pair lies in the searched range (16 atoms of Ir–Ti): an error, not a division by zero
    small = r[r < 3.1]
    with pytest.raises(InputError, match="too small for the liquid checks"):
        first_shell(small, np.where(small < 2.0, 0.0, g[: small.size]))


def test_fcc_crystal_is_not_liquid() -> None:
    rng = np.random.default_rng(8)
    sites = fcc_positions(4, 3.61)  # 256 Cu atoms
    vibrating = sites[None] + rng.normal(scale=0.12, size=(12, len(sites), 3))  # thermal vibration, no diffusion
    frames = cubic_frames(["Cu"] * len(sites), vibrating, 4 * 3.61)
    check = structure_check(frames)
    assert check.r_peak_A == pytest.approx(3.61 / math.sqrt(2), abs=0.1)
    assert check.wendt_abraham_ratio < MIN_WENDT_ABRAHAM_RATIO
    assert check.diffusion_m2_per_s < MIN_DIFFUSION_M2_PER_S
    assert not check.liquid
    assert check.coordination["Cu-Cu"] == pytest.approx(12.0, abs=0.2)


def species_frames(separated: bool, seed: int) -> Frames:
    """256 fcc sites, half Ag half Cu: random occupation, or Cu on the sites with z < L/2 (two slabs)."""
    rng = np.random.default_rng(seed)
    sites = fcc_positions(4, 3.8)
    length = 4 * 3.8
    order = np.argsort(sites[:, 2], kind="stable") if separated else rng.permutation(len(sites))
    sites = sites[order]  # the first 128 rows become Cu
    symbols = ["Cu"] * 128 + ["Ag"] * 128
    frames = sites[None] + rng.normal(scale=0.1, size=(6, len(sites), 3))
    return cubic_frames(symbols, frames, length)


def test_phase_separation_indicator() -> None:
    mixed = concentration_fluctuation(species_frames(False, 9), "Cu")
    separated = concentration_fluctuation(species_frames(True, 9), "Cu")
    assert mixed.separated_ratio == pytest.approx(4 * 256 / math.pi**2)
    assert mixed.threshold == pytest.approx(math.sqrt(mixed.separated_ratio))
    assert mixed.ratio < 3.0 and not mixed.phase_separated
    assert separated.phase_separated
    # slab along z: a sharp square wave on a lattice is within 20 % of the continuum formula
    assert separated.ratio_per_axis[2] == pytest.approx(separated.separated_ratio, rel=0.2)
    gr_mixed = pair_correlation(species_frames(False, 10))
    gr_separated = pair_correlation(species_frames(True, 10))
    counts = {"Ag": 128, "Cu": 128}
    alpha_mixed = warren_cowley_alpha(coordination_numbers(gr_mixed, 3.3), counts, "Ag", "Cu")
    alpha_separated = warren_cowley_alpha(coordination_numbers(gr_separated, 3.3), counts, "Ag", "Cu")
    assert abs(alpha_mixed) < 0.1
    assert alpha_separated > 0.5


def test_separated_ratio_formula_is_symmetric() -> None:
    assert separated_scc_ratio(100, 0.3) == pytest.approx(separated_scc_ratio(100, 0.7))
    assert separated_scc_ratio(200, 0.5) == pytest.approx(2 * separated_scc_ratio(100, 0.5))


def test_frames_validation_and_reading(tmp_path: Path) -> None:
    from ase import Atoms
    from ase.io import write

    with pytest.raises(InputError, match="shape"):
        make_frames(["Ag"], np.zeros((2, 2, 3)), np.broadcast_to(np.eye(3), (2, 3, 3)), [0, 1])
    with pytest.raises(InputError, match="singular"):
        make_frames(["Ag"], np.zeros((1, 1, 3)), np.zeros((1, 3, 3)), [0])
    with pytest.raises(InputError, match="increase"):
        make_frames(["Ag"], np.zeros((2, 1, 3)), np.broadcast_to(np.eye(3), (2, 3, 3)), [1, 1])
    with pytest.raises(InputError, match="unknown element"):
        make_frames(["Qq"], np.zeros((1, 1, 3)), np.eye(3)[None], [0])
    images = [Atoms("AgCu", positions=[[0, 0, 0], [1, 1, 1]], cell=[5, 5, 5], pbc=True) for _ in range(3)]
    write(tmp_path / "plain.xyz", images, format="extxyz")
    with pytest.raises(InputError, match="frame_interval_fs"):
        read_frames(tmp_path / "plain.xyz")
    frames = read_frames(tmp_path / "plain.xyz", frame_interval_fs=15.0)
    assert frames.time_fs.tolist() == [0.0, 15.0, 30.0] and frames.counts() == {"Ag": 1, "Cu": 1}
    write(tmp_path / "XDATCAR", images, format="vasp-xdatcar")  # VASP's trajectory format reads the same way
    assert read_frames(tmp_path / "XDATCAR", frame_interval_fs=3.0).positions.shape == (3, 2, 3)
    (tmp_path / "junk.xyz").write_text("not a trajectory\n")
    with pytest.raises(InputError, match="cannot read trajectory"):
        read_frames(tmp_path / "junk.xyz", frame_interval_fs=1.0)


# ------------------------------------------------------------------------------------------------------------
# one binary → results row


def run_analysis(composition: dict[str, int], epot_per_atom: float, separated: bool, liquid: bool) -> an.RunAnalysis:
    """A RunAnalysis from a synthetic trace and constructed frames.

    liquid: ideal-gas walkers (mixed over the box, or the second element in z < L/2 and the first above,
    walking in x and y only); not liquid: a vibrating fcc crystal.
    """
    n = sum(composition.values())
    trace = synthetic_trace(n_atoms=n, epot=epot_per_atom * n, composition=composition)
    rng = np.random.default_rng(11)
    symbols = [s for s, c in composition.items() for _ in range(c)]
    length, n_frames = 4 * 3.8, 40
    if not liquid:
        pos = fcc_positions(4, 3.8)[None] + rng.normal(scale=0.1, size=(n_frames, n, 3))
    else:
        start = rng.random((n, 3)) * length
        if separated:
            start[:, 2] = np.where(np.arange(n) < n // 2, 0.5, 0.0) * length + start[:, 2] / 2
        steps = rng.normal(scale=0.3, size=(n_frames - 1, n, 3))
        if separated:
            steps[:, :, 2] = 0.0
        pos = np.concatenate([start[None], start + np.cumsum(steps, axis=0)])
    cells = np.broadcast_to(np.eye(3) * length, (n_frames, 3, 3))
    frames = make_frames(symbols, pos, cells, 100.0 * np.arange(n_frames), "frames")  # covers the trace
    return an.analyse_run(trace, frames, "epot_kinetic", bin_width=0.1)


def test_binary_result_statuses_and_dataset_contract(tmp_path: Path) -> None:
    pure_ag = run_analysis({"Ag": 256}, -3.0, separated=False, liquid=True)
    pure_cu = run_analysis({"Cu": 256}, -3.4, separated=False, liquid=True)
    alloy = run_analysis({"Ag": 128, "Cu": 128}, -3.25, separated=False, liquid=True)
    row = an.binary_result(alloy, pure_cu, pure_ag, "test engine, not DFT", ["r/alloy", "r/ag", "r/cu"])
    assert (row["A"], row["B"], row["x_B"], row["status"]) == ("Ag", "Cu", 0.5, "value")
    expected = alloy.enthalpy.h_kJ_per_mol - 0.5 * pure_ag.enthalpy.h_kJ_per_mol - 0.5 * pure_cu.enthalpy.h_kJ_per_mol
    assert row["hmix_kJ_per_mol"] == pytest.approx(expected, abs=1e-6)
    assert row["hmix_kJ_per_mol"] == pytest.approx(-0.05 * EV_TO_KJ_PER_MOL, abs=0.5)
    assert 0 < row["uncertainty_kJ_per_mol"] < 0.5
    assert row["source"] == "r/alloy;r/ag;r/cu" and row["T_K"] == 1500.0

    demixed = run_analysis({"Ag": 128, "Cu": 128}, -3.25, separated=True, liquid=True)
    row_x = an.binary_result(demixed, pure_ag, pure_cu, "test engine, not DFT", ["a", "b", "c"])
    assert row_x["status"] == "phase_separation" and row_x["hmix_kJ_per_mol"] is None

    frozen = run_analysis({"Cu": 256}, -3.4, separated=False, liquid=False)
    row_n = an.binary_result(alloy, pure_ag, frozen, "test engine, not DFT", ["a", "b", "d"])
    assert row_n["status"] == "not_computed" and row_n["comment"].startswith("not liquid: Cu256")

    path = tmp_path / "aimd_results.csv"
    an.write_results([row_n, row, row_x], path)
    table = read_dataset_csv(path, "aimd")
    assert table.rejects.empty
    assert sorted(table.rows["status"]) == ["not_computed", "phase_separation", "value"]
    collected = an.collect_results([path, path])
    assert len(collected) == 6 and list(collected.columns)[:4] == ["A", "B", "x_B", "hmix_kJ_per_mol"]

    with pytest.raises(InputError, match="pure Ag or Cu"):
        an.binary_result(alloy, pure_ag, alloy, "x", [])
    with pytest.raises(InputError, match="two elements"):
        an.binary_result(pure_ag, pure_ag, pure_cu, "x", [])
