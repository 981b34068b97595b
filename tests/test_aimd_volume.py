"""The volume loop (joint pressure fit, decisions, bounds), the production's acceptance and the zero-pressure
correction, on synthetic liquids with correlated noise (tests/volume_loop_model.py)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from hmixal.aimd.volume import (
    KBAR_A3_TO_KJ_PER_MOL,
    VolumePoint,
    VolumeSettings,
    accept_production,
    fit_pressure,
    next_volume,
    pressure_converged,
    zero_pressure_correction,
)
from hmixal.errors import InputError
from volume_loop_model import Liquid, Noise, physical_noise_kbar, run_loop, sample_stage

V0 = 1750.0  # Å^3, a 100-atom liquid


def murnaghan(volume: float, v0: float, b: float, bp: float) -> float:
    """Murnaghan pressure (units of b), independent of the module's own form."""
    return b / bp * ((v0 / volume) ** bp - 1.0)


def exact_points(liquid: Liquid, volumes: list[float], sem: float = 0.5, h_sem: float = 0.05) -> list[VolumePoint]:
    """Noise-free stages of a model liquid with the given error bars."""
    return [VolumePoint(v, liquid.pressure(v), sem, liquid.energy(v), h_sem, liquid.n_atoms) for v in volumes]


# ------------------------------------------------------------------------------------------------ settings


def test_unit_conversion() -> None:
    # 1 kbar·Å³ = 1e8 Pa × 1e-30 m³ = 1e-22 J; × N_A / 1000
    assert pytest.approx(0.0602214076, rel=1e-12) == KBAR_A3_TO_KJ_PER_MOL


def test_settings_from_mapping_bounds_and_run() -> None:
    settings = VolumeSettings.from_mapping({"volume_bounds": [0.5, 2.0], "max_iterations": 12, "max_sem_kbar": 4})
    assert settings.volume_bounds == (0.5, 2.0)
    assert settings.bounds_A3(1000.0) == pytest.approx((500.0, 2000.0))
    run = settings.for_run(1200.0, 450.0)
    assert (run.start_volume_A3, run.bulk_modulus_guess_kbar, run.max_iterations) == (1200.0, 450.0, 12)
    assert settings.for_run(1200.0).bulk_modulus_guess_kbar == settings.bulk_modulus_guess_kbar
    with pytest.raises(InputError, match=r"unknown key.*volume_bound\b"):
        VolumeSettings.from_mapping({"volume_bound": [0.5, 2.0]})
    with pytest.raises(InputError, match="volume_bounds must be a list"):
        VolumeSettings.from_mapping({"volume_bounds": "0.5 2"})


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"tolerance_kbar": 0.0}, "tolerance_kbar"),
        ({"bulk_modulus_guess_kbar": -5.0}, "bulk_modulus_guess_kbar"),
        ({"volume_bounds": (1.2, 1.8)}, "volume_bounds"),
        ({"volume_bounds": (0.6,)}, "volume_bounds"),
        ({"max_iterations": 0}, "max_iterations"),
        ({"min_stages": 5, "max_iterations": 3}, "min_stages"),
        ({"target_kbar": math.inf}, "target_kbar"),
        ({"bulk_modulus_prior_factor": 1.0}, "bulk_modulus_prior_factor"),
        ({"bulk_modulus_derivative": 0.5}, "bulk_modulus_derivative"),
        ({"max_step_fraction": 1.5}, "max_step_fraction"),
        ({"production_max_correctable_kbar": 1.0}, "production_max_correctable_kbar"),
        ({"start_volume_A3": -1.0}, "start volume"),
    ],
)
def test_bad_settings_are_rejected(kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(InputError, match=words):
        VolumeSettings(**kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------ the fit


def test_fit_recovers_a_murnaghan_liquid_and_falls_back_on_the_guess() -> None:
    volumes = [1600.0, 1700.0, 1750.0, 1800.0, 1900.0]
    points = [VolumePoint(v, murnaghan(v, V0, 800.0, 5.0), 0.5) for v in volumes]
    fit = fit_pressure(points, VolumeSettings(bulk_modulus_guess_kbar=300.0))
    assert fit.v0_A3 == pytest.approx(V0, rel=1e-4)
    assert fit.bulk_modulus_kbar == pytest.approx(800.0, rel=0.02)
    assert fit.b_prime == pytest.approx(5.0, abs=0.3)
    assert fit.bulk_modulus_source == "stages"
    assert fit.volume_at(0.0)[0] == pytest.approx(V0, rel=1e-4)
    p, sem = fit.pressure_at(1650.0)
    assert p == pytest.approx(murnaghan(1650.0, V0, 800.0, 5.0), abs=0.2)
    assert 0 < sem < 0.5  # five stages pin it down better than any one
    # one volume: the slope is the guess, V0 follows from the point through the guessed Murnaghan form
    one = fit_pressure([VolumePoint(1000.0, 50.0, 1.0)], VolumeSettings(bulk_modulus_guess_kbar=1000.0))
    assert one.bulk_modulus_source == "guess"
    assert one.bulk_modulus_kbar == pytest.approx(1000.0, rel=1e-6)
    assert one.v0_A3 == pytest.approx(1000.0 * (1 + 4.5 * 50.0 / 1000.0) ** (1 / 4.5), rel=1e-6)


def test_a_stage_with_a_lucky_small_error_bar_does_not_dominate() -> None:
    # three stages at one volume; the middle one's SE is implausibly small for a 2-ps stage
    points = [VolumePoint(1000.0, 10.0, 4.0), VolumePoint(1000.0, -10.0, 0.1), VolumePoint(1000.0, 10.0, 4.0)]
    p, _ = fit_pressure(points, VolumeSettings()).pressure_at(1000.0)
    assert p == pytest.approx(10.0 / 3.0, abs=0.01)  # the mean, not the lucky stage


# ------------------------------------------------------------------------------------------------ decisions


def test_first_step_inverts_the_guessed_murnaghan_form() -> None:
    settings = VolumeSettings(bulk_modulus_guess_kbar=1000.0, max_step_fraction=0.5)
    decision = next_volume([VolumePoint(1000.0, 50.0, 1.0)], settings)
    assert decision.action == "run"
    assert decision.rule == "fit"
    assert decision.volume_A3 == pytest.approx(1000.0 * (1 + 4.5 * 50.0 / 1000.0) ** (1 / 4.5), rel=1e-6)
    assert decision.bulk_modulus_kbar == pytest.approx(1000.0)


def test_one_stage_is_not_enough_two_in_the_window_converge() -> None:
    settings = VolumeSettings()
    first = VolumePoint(1000.0, 0.5, 1.0)
    decision = next_volume([first], settings)
    assert decision.action == "run"  # min_stages = 2: a single 2-ps stage can be a lucky one
    assert decision.volume_A3 == pytest.approx(1000.0, rel=1e-3)
    decision = next_volume([first, VolumePoint(decision.volume_A3, -0.8, 1.2)], settings)
    assert decision.action == "converged"
    assert decision.rule == "window"
    assert abs(decision.fitted_pressure_kbar) <= 2.0 and decision.fitted_pressure_sem_kbar <= 3.0
    # a mean inside ±2 kbar known only to ±5 is not converged
    noisy = [VolumePoint(1000.0, 1.0, 7.0), VolumePoint(1000.0, 1.0, 7.0)]
    assert next_volume(noisy, settings).action == "run"
    assert not pressure_converged(VolumePoint(1000.0, 1.0, 4.0), settings)
    assert pressure_converged(VolumePoint(1000.0, -1.9, 1.0), settings)
    assert pressure_converged(VolumePoint(1000.0, 6.0, 1.0), VolumeSettings(target_kbar=5.0))


def test_steps_are_clipped_to_the_step_and_the_bounds() -> None:
    settings = VolumeSettings(max_step_fraction=0.05, volume_bounds=(0.9, 1.08), start_volume_A3=1000.0)
    decision = next_volume([VolumePoint(1000.0, 300.0, 0.5)], settings)
    assert decision.volume_A3 == pytest.approx(1050.0)
    assert decision.rule == "fit (clipped)"
    decision = next_volume([VolumePoint(1000.0, 300.0, 0.5), VolumePoint(1050.0, 200.0, 0.5)], settings)
    assert decision.volume_A3 == pytest.approx(1080.0)


def test_no_liquid_when_the_fluid_stays_under_pressure_at_the_upper_bound() -> None:
    # a supercritical fluid: P > 0 at every density, falling slowly; no zero within 1.8 × the start volume
    def pressure(v: float) -> float:
        return 15.0 + 60.0 * (1000.0 / v) ** 3

    settings = VolumeSettings(bulk_modulus_guess_kbar=200.0)
    rng = np.random.default_rng(3)
    history: list[VolumePoint] = []
    volume = 1000.0
    for _ in range(settings.max_iterations):
        history.append(VolumePoint(volume, pressure(volume) + rng.normal(0.0, 2.0), 2.0))
        decision = next_volume(history, settings)
        if decision.action != "run":
            break
        volume = decision.volume_A3
    assert decision.action == "no_liquid"
    assert decision.rule == "upper bound"
    assert decision.volume_A3 == pytest.approx(1800.0)
    assert "no liquid near P = 0" in decision.reason and "1.8 × the start volume" in decision.reason


def test_tension_at_the_lower_bound_exhausts_the_loop() -> None:
    settings = VolumeSettings(start_volume_A3=1000.0, bulk_modulus_guess_kbar=500.0)
    history = [VolumePoint(1000.0, -300.0, 2.0), VolumePoint(850.0, -120.0, 2.0), VolumePoint(600.0, -40.0, 2.0)]
    decision = next_volume(history, settings)
    assert decision.action == "exhausted"
    assert decision.rule == "lower bound"
    assert "still under tension" in decision.reason


def test_iteration_cap_runs_production_at_the_fitted_volume_or_gives_up() -> None:
    settings = VolumeSettings(max_iterations=3)
    # the fit places V0 well, but the last stage's fitted pressure is outside ±2 kbar
    history = [VolumePoint(1000.0, 40.0, 2.0), VolumePoint(1040.0, 6.0, 2.0), VolumePoint(1030.0, 12.0, 2.0)]
    decision = next_volume(history, settings)
    assert decision.action == "converged"
    assert decision.rule == "iteration cap"
    assert decision.volume_A3 == pytest.approx(decision.target_volume_A3)
    assert decision.volume_A3 > 1040.0
    # stages that contradict each other: the zero-pressure volume is not placed to within a step
    soft = VolumeSettings(max_iterations=3, bulk_modulus_guess_kbar=50.0)
    wild = [VolumePoint(1000.0, 40.0, 1.0), VolumePoint(1000.0, -40.0, 1.0), VolumePoint(1000.0, 40.0, 1.0)]
    decision = next_volume(wild, soft)
    assert decision.action == "exhausted"
    assert decision.rule == "max_iterations"
    assert "3 stages" in decision.reason


@pytest.mark.parametrize(
    ("history", "words"),
    [
        ([], "at least one"),
        ([VolumePoint(-1.0, 0.0, 1.0)], "volume must be positive"),
        ([VolumePoint(1000.0, math.nan, 1.0)], "pressure must be finite"),
        ([VolumePoint(1000.0, 1.0, -1.0)], "standard error"),
    ],
)
def test_bad_history_is_rejected(history: list[VolumePoint], words: str) -> None:
    with pytest.raises(InputError, match=words):
        next_volume(history, VolumeSettings())


# The grid of the brief: soft to stiff liquids, per-step pressure noise 15–25 kbar with 20–60-step correlation
# (stage SEs from block averaging, as the protocol computes them), starts 15 % below to 40 % above V0, a
# bulk-modulus guess 2× off. benchmarks/bench_volume_loop.py runs the full grid with more seeds.
GRID = list(itertools.product((50.0, 1000.0, 3000.0), ((15.0, 20.0), (25.0, 60.0)), (0.85, 1.0, 1.4)))


@pytest.mark.parametrize(("modulus", "noise", "offset"), GRID)
def test_loop_converges_under_realistic_noise(modulus: float, noise: tuple[float, float], offset: float) -> None:
    sigma, tau = noise
    liquid = Liquid(V0, modulus, 4.5, 0.3 * modulus)
    start = offset * V0
    for seed, guess_factor in ((1, 0.5), (2, 2.0)):
        settings = VolumeSettings().for_run(start, modulus * guess_factor)
        decision, history = run_loop(
            liquid, start, lambda h, s=settings: next_volume(h, s), Noise(sigma, 4.0, tau), seed
        )
        assert decision.action == "converged", (decision, history)
        assert len(history) <= settings.max_iterations
        if sigma == 15.0:  # true stage SE ~4 kbar: the production volume lies within two of them of V0
            assert abs(liquid.pressure(decision.volume_A3)) <= 8.0


@pytest.mark.parametrize("modulus", [50.0, 200.0])
def test_soft_liquids_with_their_own_noise_end_near_v0(modulus: float) -> None:
    # a 5-GPa liquid's pressure fluctuates by ~4 kbar per step, not the 15–25 of a refractory one
    sigma = physical_noise_kbar(V0, modulus)
    assert sigma < 8.0
    liquid = Liquid(V0, modulus, 4.5, 0.3 * modulus)
    for seed, offset in itertools.product(range(3), (0.85, 1.4)):
        settings = VolumeSettings().for_run(offset * V0, modulus * 2.0)
        decision, _ = run_loop(
            liquid, offset * V0, lambda h, s=settings: next_volume(h, s), Noise(sigma, 4.0, 40.0), seed
        )
        assert decision.action == "converged"
        assert abs(liquid.pressure(decision.volume_A3)) <= 5.0


def test_old_rule_gave_up_at_the_right_volume_the_new_one_converges() -> None:
    # started at V0 with realistic noise (σ = 20 kbar per step, 40-step correlation: 2-ps SEs of ~3.5 kbar),
    # a rule asking one stage for SE ≤ 2 kbar never converges; the joint fit does within the cap
    liquid = Liquid(V0, 1000.0, 4.5, 300.0)
    single_stage_ok = 0
    for seed in range(6):
        decision, history = run_loop(
            liquid, V0, lambda h: next_volume(h, VolumeSettings()), Noise(20.0, 4.0, 40.0), seed
        )
        assert decision.action == "converged"
        single_stage_ok += any(p.pressure_sem_kbar <= 2.0 and abs(p.pressure_kbar) <= 2.0 for p in history)
    assert single_stage_ok <= 1


# ------------------------------------------------------------------------------------------------ production


@pytest.mark.parametrize(
    ("pressure", "sem", "action", "accepted"),
    [(1.5, 1.5, "accepted", True), (-4.0, 1.5, "corrected", True), (9.0, 1.5, "rejected", False),
     (0.5, 3.5, "extend", False)],
)  # fmt: skip
def test_accept_production(pressure: float, sem: float, action: str, accepted: bool) -> None:
    verdict = accept_production(VolumePoint(1000.0, pressure, sem), VolumeSettings())
    assert (verdict.action, verdict.accepted) == (action, accepted)
    assert f"{pressure:.2f} ± {sem:.2f} kbar" in verdict.reason


# ------------------------------------------------------------------------------------------------ P = 0


def test_zero_pressure_correction_recovers_the_exact_energy() -> None:
    # E(V) from (∂E/∂V)_T = T(∂P/∂T)_V − P integrated exactly (volume_loop_model.Liquid); H(0) = E(V0)
    liquid = Liquid(V0, 1000.0, 4.5, 300.0, e0_kJ_mol=-480.0)
    stages = exact_points(liquid, [1.08 * V0, 1.04 * V0, 0.98 * V0, 0.995 * V0])
    production = exact_points(liquid, [0.995 * V0], sem=0.2, h_sem=0.03)[0]
    result = zero_pressure_correction(stages, production)
    exact = liquid.e0_kJ_mol - production.h_kJ_per_mol  # type: ignore[operator]
    assert result.method == "stages" and result.usable
    assert result.correction_kJ_per_mol == pytest.approx(exact, abs=0.01)
    assert result.h_kJ_per_mol == pytest.approx(liquid.e0_kJ_mol, abs=0.01)
    assert result.v0_A3 == pytest.approx(V0, rel=2e-4)
    assert result.thermal_pressure_kbar == pytest.approx(300.0, rel=0.02)
    # first order: H(0) − H(V) = αT·P·V, not P·V (αT = 0.3 here)
    pv = production.pressure_kbar * production.volume_A3 * KBAR_A3_TO_KJ_PER_MOL / 100
    assert result.correction_kJ_per_mol == pytest.approx(0.3 * pv, rel=0.05)
    # its uncertainty is that of V0 times T(∂P/∂T)_V; the production's own SE (0.2 kbar, not floored to the
    # stages' 0.5) pins V0: αT·v·0.2 kbar
    assert result.sem_kJ_per_mol == pytest.approx(0.3 * V0 / 100 * 0.2 * KBAR_A3_TO_KJ_PER_MOL, rel=0.3)
    assert result.h_sem_kJ_per_mol == pytest.approx(math.hypot(0.03, result.sem_kJ_per_mol))


def test_zero_pressure_correction_with_noisy_stages_is_within_its_error_bar() -> None:
    liquid = Liquid(V0, 1000.0, 4.5, 300.0)
    rng = np.random.default_rng(7)
    noise = Noise(15.0, 4.0, 20.0)
    stages = [sample_stage(liquid, f * V0, noise, rng) for f in (1.06, 0.97, 1.02, 0.99, 1.0)]
    production = sample_stage(liquid, 1.005 * V0, Noise(15.0, 4.0, 20.0, 3335), rng)
    result = zero_pressure_correction(stages, production)
    exact = liquid.e0_kJ_mol - liquid.energy(production.volume_A3)
    assert result.method == "stages"
    assert abs(result.correction_kJ_per_mol - exact) <= 3.0 * result.sem_kJ_per_mol


def test_zero_pressure_correction_fallback_bounds_alpha_t() -> None:
    liquid = Liquid(V0, 1000.0, 4.5, 300.0)
    production = exact_points(liquid, [0.99 * V0], sem=0.5)[0]
    # every stage at the production's volume: no slope, αT bounded by 0.8 and its midpoint used
    result = zero_pressure_correction([production, production], production)
    assert result.method == "bound"
    assert "T(dP/dT)_V from 0 <= alpha*T <= 0.8" in result.note
    pv = production.pressure_kbar * production.volume_A3 * KBAR_A3_TO_KJ_PER_MOL / 100
    assert result.correction_kJ_per_mol == pytest.approx(0.4 * pv, rel=0.05)
    assert result.sem_kJ_per_mol >= 0.4 * pv / math.sqrt(3.0)
    # the exact correction (αT = 0.3) lies inside the bound's range
    exact = liquid.e0_kJ_mol - production.h_kJ_per_mol  # type: ignore[operator]
    assert abs(result.correction_kJ_per_mol - exact) <= 2.0 * result.sem_kJ_per_mol


def test_zero_pressure_correction_rejects_an_unphysical_slope_and_flags_far_productions() -> None:
    liquid = Liquid(V0, 1000.0, 4.5, 300.0)
    stages = exact_points(liquid, [0.97 * V0, 1.03 * V0])
    # H made to fall with volume: T(∂P/∂T)_V < 0, which no liquid that expands on heating has
    flipped = [VolumePoint(p.volume_A3, p.pressure_kbar, p.pressure_sem_kbar, -p.h_kJ_per_mol, 0.05, 100)  # type: ignore[operator]
               for p in stages]  # fmt: skip
    result = zero_pressure_correction(flipped, stages[0])
    assert result.method == "bound"
    assert "is not positive" in result.note
    far = exact_points(liquid, [0.85 * V0])[0]
    result = zero_pressure_correction(stages, far)
    assert not result.usable
    assert "rerun the production nearer V0" in result.note


def test_zero_pressure_correction_takes_the_protocols_mappings() -> None:
    liquid = Liquid(V0, 1000.0, 4.5, 300.0)
    keys = ("volume_A3", "pressure_kbar", "pressure_sem_kbar", "h_kJ_per_mol", "h_sem_kJ_per_mol", "n_atoms")
    stages = [dict(zip(keys, (p.volume_A3, p.pressure_kbar, p.pressure_sem_kbar, p.h_kJ_per_mol,
                              p.h_sem_kJ_per_mol, p.n_atoms), strict=True))
              for p in exact_points(liquid, [0.97 * V0, 1.03 * V0, 1.0 * V0])]  # fmt: skip
    result = zero_pressure_correction(stages[:2], stages[2])
    assert result.method == "stages"
    assert result.correction_kJ_per_mol == pytest.approx(0.0, abs=0.01)
    with pytest.raises(InputError, match="production: missing h_kJ_per_mol"):
        zero_pressure_correction(stages, {k: v for k, v in stages[0].items() if k != "h_kJ_per_mol"})
    with pytest.raises(InputError, match="one cell size"):
        zero_pressure_correction(stages, {**stages[0], "n_atoms": 64})
    with pytest.raises(InputError, match="needs H"):
        zero_pressure_correction([VolumePoint(1000.0, 1.0, 1.0)], VolumePoint(1000.0, 1.0, 1.0, 1.0, 1.0, 100))


def test_thermal_pressure_from_fluctuations_recovers_the_covariance() -> None:
    # P = P0 + b·δE + noise: ⟨δP δE⟩ = b σ_E², so T(∂P/∂T)_V = b σ_E² / (k_B T)
    from hmixal.aimd.enthalpy import BOLTZMANN_EV_PER_K
    from hmixal.aimd.volume import thermal_pressure_kbar

    rng = np.random.default_rng(3)
    energy = rng.normal(0.0, 0.5, 20000)
    pressure = 2.0 + 30.0 * energy + rng.normal(0.0, 10.0, energy.size)
    value, sem = thermal_pressure_kbar(pressure, energy, 1400.0)
    expected = 30.0 * 0.25 / (BOLTZMANN_EV_PER_K * 1400.0)
    assert abs(value - expected) < 4 * sem and sem < 0.05 * expected
    with pytest.raises(InputError, match="matching pressure and energy"):
        thermal_pressure_kbar(pressure[:10], energy[:10], 1400.0)


def test_zero_pressure_correction_uses_the_production_fluctuations() -> None:
    from hmixal.aimd.volume import zero_pressure_correction

    stages = [
        {"volume_A3": v, "pressure_kbar": p, "pressure_sem_kbar": 2.0, "h_kJ_per_mol": h, "h_sem_kJ_per_mol": 0.3,
         "n_atoms": 100}
        for v, p, h in ((1900.0, 12.0, 10.0), (1950.0, 3.0, 10.2), (1990.0, -4.0, 10.5))
    ]  # fmt: skip
    production = {**stages[1], "h_sem_kJ_per_mol": 0.05, "pressure_sem_kbar": 0.8}
    precise = {**production, "thermal_pressure_kbar": 80.0, "thermal_pressure_sem_kbar": 2.0}
    without = zero_pressure_correction(stages, production)
    with_fluct = zero_pressure_correction(stages, precise)
    # the precise fluctuation estimate dominates; the stages' slope (13 ± 8 kbar) pulls it a little
    assert with_fluct.method == "fluctuation" and 70.0 < with_fluct.thermal_pressure_kbar < 80.0
    assert "fluctuations 80 ± 2 kbar" in with_fluct.note
    assert with_fluct.thermal_pressure_sem_kbar < 0.5 * without.thermal_pressure_sem_kbar
