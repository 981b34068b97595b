"""The volume loop's update rule, on a synthetic Birch–Murnaghan P(V) with noise."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hmixal.aimd.volume import (
    VolumeDecision,
    VolumePoint,
    VolumeSettings,
    next_volume,
    pressure_converged,
)
from hmixal.errors import InputError


def birch_murnaghan(volume: float, v0: float, b0: float, b0_prime: float) -> float:
    """Third-order Birch–Murnaghan pressure (units of b0)."""
    eta = (v0 / volume) ** (2.0 / 3.0)
    return 1.5 * b0 * (eta**3.5 - eta**2.5) * (1.0 + 0.75 * (b0_prime - 4.0) * (eta - 1.0))


def run_loop(
    v0: float, b0: float, b0p: float, start: float, sem: float, seed: int, settings: VolumeSettings
) -> tuple[VolumeDecision, list[VolumePoint]]:
    """The loop as the runner drives it: one short run per volume, noisy mean pressure, until not 'run'."""
    rng = np.random.default_rng(seed)
    history: list[VolumePoint] = []
    volume = start
    while True:
        pressure = birch_murnaghan(volume, v0, b0, b0p) + rng.normal(0.0, sem)
        history.append(VolumePoint(volume, pressure, sem))
        decision = next_volume(history, settings)
        if decision.action != "run":
            return decision, history
        volume = decision.volume_A3


@pytest.mark.parametrize("b0", [400.0, 1500.0, 2500.0])
@pytest.mark.parametrize("start_ratio", [0.88, 1.0 + 1e-3, 1.15])
def test_loop_converges_on_noisy_birch_murnaghan(b0: float, start_ratio: float) -> None:
    v0 = 1750.0  # Å^3, a 100-atom liquid
    start = v0 * start_ratio
    settings = VolumeSettings.around(start, max_iterations=10)
    for seed in range(5):
        decision, history = run_loop(v0, b0, 4.5, start, 0.8, seed, settings)
        assert decision.action == "converged", (decision, history)
        assert len(history) <= 8
        final = history[-1]
        assert abs(final.pressure_kbar) <= 2.0
        # the true pressure at the final volume is in the window up to the noise (3σ)
        assert abs(birch_murnaghan(final.volume_A3, v0, b0, 4.5)) <= 2.0 + 3 * 0.8
        assert decision.volume_A3 == final.volume_A3


def test_first_step_uses_the_bulk_modulus_guess() -> None:
    settings = VolumeSettings(bulk_modulus_guess_kbar=1000.0, max_step_fraction=0.5)
    decision = next_volume([VolumePoint(1000.0, 50.0, 1.0)], settings)
    assert decision.action == "run"
    assert decision.rule == "bulk modulus"
    assert decision.volume_A3 == pytest.approx(1050.0)  # V (1 + P/B)


def test_secant_then_bracket() -> None:
    settings = VolumeSettings(max_step_fraction=0.5)
    # two points on the same side: secant through them (slope −0.5 kbar/Å^3, B = 500 kbar at 1000 Å^3)
    history = [VolumePoint(980.0, 30.0, 0.5), VolumePoint(1000.0, 20.0, 0.5)]
    decision = next_volume(history, settings)
    assert decision.rule == "secant"
    assert decision.volume_A3 == pytest.approx(1040.0)
    # points on both sides: interpolate between the closest bracketing pair, not the latest two
    history = [VolumePoint(900.0, 80.0, 0.5), VolumePoint(1000.0, 20.0, 0.5), VolumePoint(1100.0, -20.0, 0.5)]
    decision = next_volume(history, settings)
    assert decision.rule == "bracket"
    assert decision.volume_A3 == pytest.approx(1050.0)
    assert 1000.0 < decision.volume_A3 < 1100.0


def test_unphysical_secant_falls_back_to_bulk_modulus() -> None:
    settings = VolumeSettings(max_step_fraction=0.5, bulk_modulus_guess_kbar=1000.0)
    # noise made the pressure rise with volume: the secant would run away
    history = [VolumePoint(1000.0, 10.0, 0.5), VolumePoint(1010.0, 12.0, 0.5)]
    decision = next_volume(history, settings)
    assert decision.rule == "bulk modulus"
    assert decision.volume_A3 == pytest.approx(1010.0 * 1.012)


def test_steps_are_clipped_and_bounds_end_the_loop() -> None:
    settings = VolumeSettings(max_step_fraction=0.05, v_min_A3=900.0, v_max_A3=1080.0)
    decision = next_volume([VolumePoint(1000.0, 300.0, 0.5)], settings)
    assert decision.volume_A3 == pytest.approx(1050.0)
    assert decision.rule == "bulk modulus (clipped)"
    decision = next_volume([VolumePoint(1050.0, 200.0, 0.5)], settings)
    assert decision.volume_A3 == pytest.approx(1080.0)
    history = [VolumePoint(1050.0, 200.0, 0.5), VolumePoint(1080.0, 190.0, 0.5)]
    decision = next_volume(history, settings)
    assert decision.action == "exhausted"
    assert decision.rule == "bound"


def test_max_iterations_and_uncertain_means() -> None:
    settings = VolumeSettings(max_iterations=2)
    history = [VolumePoint(1000.0, 40.0, 0.5), VolumePoint(1040.0, 10.0, 0.5)]
    decision = next_volume(history, settings)
    assert decision.action == "exhausted"
    assert "2 volumes tried" in decision.reason
    # a mean inside ±2 kbar with a standard error of 4 kbar is not converged
    point = VolumePoint(1000.0, 1.0, 4.0)
    assert not pressure_converged(point, VolumeSettings())
    assert next_volume([point], VolumeSettings()).action == "run"
    assert pressure_converged(VolumePoint(1000.0, -1.9, 1.0), VolumeSettings())
    assert pressure_converged(VolumePoint(1000.0, 6.0, 1.0), VolumeSettings(target_kbar=5.0))


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


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"tolerance_kbar": 0.0}, "tolerance_kbar"),
        ({"bulk_modulus_guess_kbar": -5.0}, "bulk_modulus_guess_kbar"),
        ({"v_min_A3": 2000.0, "v_max_A3": 1000.0}, "volume bounds"),
        ({"max_iterations": 0}, "max_iterations"),
        ({"target_kbar": math.inf}, "target_kbar"),
    ],
)
def test_bad_settings_are_rejected(kwargs: dict[str, float], words: str) -> None:
    with pytest.raises(InputError, match=words):
        VolumeSettings(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="start volume"):
        VolumeSettings.around(0.0)
