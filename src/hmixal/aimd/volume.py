"""The volume loop's update rule: from (volume, mean pressure) points to the next volume, until P ≈ 0.

Engine-agnostic and pure. The paper adjusted the NVT volume "so that the pressure oscillated around a mean
value of between −2 and 2 kbar, which enables us to neglect the pV term" (seed §4.2). Each iteration is a
short NVT run at one volume; its mean pressure (after equilibration) and standard error feed next_volume:

1. converged when |⟨P⟩ − P_target| ≤ tolerance and the standard error is at most max_sem_kbar (a mean
   known only to ±5 kbar cannot be said to lie within ±2 kbar);
2. otherwise, if two points bracket the target, linear interpolation between the closest bracketing pair
   (regula falsi: stays inside the bracket, so noise cannot throw it out);
3. else a secant through the two latest points at different volumes, if its slope is physical
   (dP/dV < 0, bulk modulus within [B/10, 10·B] of the guess);
4. else a bulk-modulus step V·(1 + (⟨P⟩ − P_target)/B) with the guess B.
Every step is clipped to ±max_step_fraction of the current volume and to [v_min, v_max]; the loop stops
after max_iterations points without convergence, or when the clipped step would repeat a bound.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from hmixal.errors import InputError


@dataclass(frozen=True)
class VolumePoint:
    """One short run: its cell volume (Å³), mean pressure and the standard error of that mean (kbar)."""

    volume_A3: float
    pressure_kbar: float
    pressure_sem_kbar: float


@dataclass(frozen=True)
class VolumeSettings:
    """Convergence window and step control of the volume loop (pressures in kbar, volumes in Å³)."""

    target_kbar: float = 0.0
    tolerance_kbar: float = 2.0  # seed §4.2: mean pressure within −2 … 2 kbar
    max_sem_kbar: float = 2.0
    bulk_modulus_guess_kbar: float = 1000.0  # 100 GPa: between liquid Al (~40 GPa) and liquid W/Re (~200 GPa)
    max_step_fraction: float = 0.08
    v_min_A3: float = 0.0
    v_max_A3: float = math.inf
    max_iterations: int = 8

    def __post_init__(self) -> None:
        for name in ("tolerance_kbar", "max_sem_kbar", "bulk_modulus_guess_kbar", "max_step_fraction"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise InputError(None, None, f"volume setting {name} must be a positive number, got {value!r}")
        if not math.isfinite(self.target_kbar):
            raise InputError(None, None, f"volume setting target_kbar must be finite, got {self.target_kbar!r}")
        if not (0.0 <= self.v_min_A3 < self.v_max_A3):
            raise InputError(
                None, None, f"volume bounds must satisfy 0 ≤ v_min < v_max, got {self.v_min_A3}, {self.v_max_A3}"
            )
        if isinstance(self.max_iterations, bool) or not isinstance(self.max_iterations, int) or self.max_iterations < 1:
            raise InputError(None, None, f"max_iterations must be a positive integer, got {self.max_iterations!r}")

    @classmethod
    def around(cls, start_volume_A3: float, lower: float = 0.7, upper: float = 1.4, **kwargs: float) -> VolumeSettings:
        """Settings with volume bounds as fractions of a start volume (default 0.7–1.4 ×)."""
        if not math.isfinite(start_volume_A3) or start_volume_A3 <= 0:
            raise InputError(None, None, f"start volume must be positive, got {start_volume_A3!r}")
        return cls(v_min_A3=lower * start_volume_A3, v_max_A3=upper * start_volume_A3, **kwargs)  # type: ignore[arg-type]


@dataclass(frozen=True)
class VolumeDecision:
    """What the loop does next: 'converged' (keep the last volume), 'run' (at volume_A3) or 'exhausted'."""

    action: str
    volume_A3: float
    rule: str
    reason: str


def pressure_converged(point: VolumePoint, settings: VolumeSettings) -> bool:
    """Whether a point's mean pressure lies in the target window and is known well enough to say so."""
    return (
        abs(point.pressure_kbar - settings.target_kbar) <= settings.tolerance_kbar
        and point.pressure_sem_kbar <= settings.max_sem_kbar
    )


def _check(history: Sequence[VolumePoint]) -> None:
    if not history:
        raise InputError(None, None, "the volume loop needs at least one (volume, pressure) point")
    for i, p in enumerate(history):
        if not (math.isfinite(p.volume_A3) and p.volume_A3 > 0):
            raise InputError(None, None, f"volume point {i + 1}: volume must be positive, got {p.volume_A3!r}")
        if not math.isfinite(p.pressure_kbar):
            raise InputError(None, None, f"volume point {i + 1}: pressure must be finite, got {p.pressure_kbar!r}")
        if not (math.isfinite(p.pressure_sem_kbar) and p.pressure_sem_kbar >= 0):
            raise InputError(
                None, None, f"volume point {i + 1}: standard error must be ≥ 0, got {p.pressure_sem_kbar!r}"
            )


def _proposal(history: Sequence[VolumePoint], s: VolumeSettings) -> tuple[float, str]:
    last = history[-1]
    excess = [p.pressure_kbar - s.target_kbar for p in history]
    # pressure falls as volume grows: points above target lie below the target volume and vice versa
    below = [p for p, e in zip(history, excess, strict=True) if e > 0]
    above = [p for p, e in zip(history, excess, strict=True) if e < 0]
    if below and above:
        lo = max(below, key=lambda p: p.volume_A3)
        hi = min(above, key=lambda p: p.volume_A3)
        if lo.volume_A3 < hi.volume_A3:
            frac = (lo.pressure_kbar - s.target_kbar) / (lo.pressure_kbar - hi.pressure_kbar)
            return lo.volume_A3 + frac * (hi.volume_A3 - lo.volume_A3), "bracket"
    distinct = [p for p in history[:-1] if not math.isclose(p.volume_A3, last.volume_A3, rel_tol=1e-9)]
    if distinct:
        prev = distinct[-1]
        slope = (last.pressure_kbar - prev.pressure_kbar) / (last.volume_A3 - prev.volume_A3)
        modulus = -last.volume_A3 * slope
        if s.bulk_modulus_guess_kbar / 10 <= modulus <= 10 * s.bulk_modulus_guess_kbar:
            return last.volume_A3 + (s.target_kbar - last.pressure_kbar) / slope, "secant"
    factor = 1.0 + (last.pressure_kbar - s.target_kbar) / s.bulk_modulus_guess_kbar
    return last.volume_A3 * factor, "bulk modulus"


def next_volume(history: Sequence[VolumePoint], settings: VolumeSettings) -> VolumeDecision:
    """The loop's next move given all points so far (oldest first); see the module docstring for the rule."""
    _check(history)
    last = history[-1]
    if pressure_converged(last, settings):
        return VolumeDecision(
            "converged",
            last.volume_A3,
            "window",
            f"mean pressure {last.pressure_kbar:.2f} ± {last.pressure_sem_kbar:.2f} kbar within "
            f"{settings.target_kbar:g} ± {settings.tolerance_kbar:g} kbar",
        )
    if len(history) >= settings.max_iterations:
        return VolumeDecision(
            "exhausted",
            last.volume_A3,
            "max_iterations",
            f"{len(history)} volumes tried without a mean pressure in the window "
            f"(last {last.pressure_kbar:.2f} ± {last.pressure_sem_kbar:.2f} kbar)",
        )
    proposal, rule = _proposal(history, settings)
    step = settings.max_step_fraction * last.volume_A3
    clipped = min(max(proposal, last.volume_A3 - step), last.volume_A3 + step)
    clipped = min(max(clipped, settings.v_min_A3), settings.v_max_A3)
    if clipped != proposal:
        rule += " (clipped)"
    at_bound = clipped in (settings.v_min_A3, settings.v_max_A3)
    if at_bound and any(math.isclose(p.volume_A3, clipped, rel_tol=1e-9) for p in history):
        return VolumeDecision(
            "exhausted",
            clipped,
            "bound",
            f"the pressure asks for a volume beyond the bound {clipped:.1f} Å^3, which was already tried",
        )
    return VolumeDecision(
        "run",
        clipped,
        rule,
        f"mean pressure {last.pressure_kbar:.2f} ± {last.pressure_sem_kbar:.2f} kbar at {last.volume_A3:.1f} Å^3",
    )
