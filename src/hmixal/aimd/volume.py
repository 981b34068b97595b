"""The volume loop: from the stages' (volume, mean pressure) points to the next volume until P ≈ 0, the
acceptance of the production run's pressure, and the correction of a run's H to P = 0.

Engine-agnostic and pure (docs/aimd.md §5). The paper adjusted the NVT volume "so that the pressure
oscillated around a mean value of between −2 and 2 kbar" (seed §4.2). A 2-ps stage of a 100-atom liquid
measures its mean pressure only to ~3–5 kbar (and block averaging understates even that), so no single stage
can show it; the loop therefore uses every stage it has run:

1. all stages are fitted together by weighted least squares with a Murnaghan P(V) — unknowns the
   zero-pressure volume V₀, the bulk modulus B and B′, with priors on ln B (centred on the run's guess) and on
   B′, so that one volume, or volumes too close to resolve the slope, fall back on the guess and well-spread
   volumes decide; each stage's SE is floored at the median of the stages' SEs, and the covariance is scaled
   by the Birge ratio when the scatter exceeds the error bars;
2. converged when at least min_stages stages exist and the fitted pressure at the current volume lies within
   target ± tolerance with a standard error of at most max_sem_kbar;
3. otherwise the next stage runs at the fitted volume of the target pressure, the step clipped to
   ±max_step_fraction and to the bounds (fractions of the start volume);
4. no_liquid when the fitted pressure at the upper bound, where a stage has run, still lies above the window
   by more than significance_sigma standard errors — the fluid does not contract to P = 0 at any volume
   allowed (a fluid above its critical point has P > 0 at every density); exhausted when the same holds
   below the window at the lower bound;
5. after max_iterations stages, converged at the fitted target volume (production there, its own pressure
   judged by accept_production) if the fit places it to within one step, else exhausted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np
from scipy.optimize import least_squares

from hmixal.aimd.enthalpy import BOLTZMANN_EV_PER_K
from hmixal.aimd.statistics import block_average
from hmixal.errors import InputError, reject_unknown_keys
from hmixal.settings import FromMapping, field_names

# 1 kbar·Å³ = 1e8 Pa × 1e-30 m³ = 1e-22 J; × N_A / 1000 → kJ/mol
KBAR_A3_TO_KJ_PER_MOL = 1.0e-22 * 6.02214076e23 / 1000.0

ACTIONS = ("converged", "run", "exhausted", "no_liquid")
PRODUCTION_ACTIONS = ("accepted", "corrected", "extend", "rejected")
_SAME_VOLUME = 1e-9  # relative: stages this close count as one volume


@dataclass(frozen=True)
class VolumePoint:
    """One stage: cell volume (Å³), mean pressure and its SE (kbar); optionally the stage's H per atom = ⟨E_total⟩/N
    with its SE (kJ/mol, no pV term) and the number of atoms, which the zero-pressure correction needs."""

    volume_A3: float
    pressure_kbar: float
    pressure_sem_kbar: float
    h_kJ_per_mol: float | None = None
    h_sem_kJ_per_mol: float | None = None
    n_atoms: int | None = None
    # T(∂P/∂T)_V from the run's own fluctuations, ⟨δP δE⟩/(k_B T) (kbar), and its SE: see thermal_pressure_kbar
    thermal_pressure_kbar: float | None = None
    thermal_pressure_sem_kbar: float | None = None


@dataclass(frozen=True)
class VolumeSettings(FromMapping):
    """Everything the volume loop, the production's acceptance and the zero-pressure correction need.

    Pressures in kbar; volume bounds as fractions of the run's start volume (``start_volume_A3``; None: the
    first stage's volume). Defaults and their reasons: docs/aimd.md §5.
    """

    SECTION: ClassVar[str] = "aimd volume settings"

    target_kbar: float = 0.0
    tolerance_kbar: float = 2.0  # seed §4.2: mean pressure within −2 … 2 kbar
    max_sem_kbar: float = 3.0
    bulk_modulus_guess_kbar: float = 1000.0
    bulk_modulus_prior_factor: float = 3.0
    bulk_modulus_derivative: float = 4.5
    bulk_modulus_derivative_sd: float = 1.5
    max_step_fraction: float = 0.15
    volume_bounds: tuple[float, float] = (0.6, 1.8)
    max_iterations: int = 10
    min_stages: int = 2
    significance_sigma: float = 2.0
    production_max_sem_kbar: float = 2.5
    production_max_correctable_kbar: float = 6.0
    alpha_t_max: float = 0.8
    enthalpy_fit_window: float = 0.1
    start_volume_A3: float | None = None

    def __post_init__(self) -> None:
        positive = (
            "tolerance_kbar", "max_sem_kbar", "bulk_modulus_guess_kbar", "max_step_fraction", "significance_sigma",
            "production_max_sem_kbar", "production_max_correctable_kbar", "alpha_t_max", "enthalpy_fit_window",
        )  # fmt: skip
        for name in positive:
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not (math.isfinite(value) and value > 0)
            ):
                raise InputError(None, None, f"volume setting {name} must be a positive number, got {value!r}")
        if not (isinstance(self.target_kbar, int | float) and math.isfinite(self.target_kbar)):
            raise InputError(None, None, f"volume setting target_kbar must be finite, got {self.target_kbar!r}")
        if not (isinstance(self.bulk_modulus_prior_factor, int | float) and self.bulk_modulus_prior_factor > 1):
            raise InputError(
                None, None, f"bulk_modulus_prior_factor must exceed 1, got {self.bulk_modulus_prior_factor!r}"
            )
        if not (isinstance(self.bulk_modulus_derivative, int | float) and 1.5 <= self.bulk_modulus_derivative <= 12):
            raise InputError(
                None, None, f"bulk_modulus_derivative must lie in [1.5, 12], got {self.bulk_modulus_derivative!r}"
            )
        if not (isinstance(self.bulk_modulus_derivative_sd, int | float) and 0 < self.bulk_modulus_derivative_sd < 20):
            raise InputError(
                None, None, f"bulk_modulus_derivative_sd must lie in (0, 20), got {self.bulk_modulus_derivative_sd!r}"
            )
        if not self.max_step_fraction < 1:
            raise InputError(None, None, f"max_step_fraction must be below 1, got {self.max_step_fraction!r}")
        bounds = self.volume_bounds
        if (
            not isinstance(bounds, tuple)
            or len(bounds) != 2
            or not all(isinstance(b, int | float) and math.isfinite(b) for b in bounds)
            or not 0 < bounds[0] < 1 < bounds[1]
        ):
            raise InputError(
                None, None, f"volume_bounds must be (lower, upper) with 0 < lower < 1 < upper, got {bounds!r}"
            )
        for name in ("max_iterations", "min_stages"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(None, None, f"volume setting {name} must be a positive integer, got {value!r}")
        if self.min_stages > self.max_iterations:
            raise InputError(
                None, None, f"min_stages ({self.min_stages}) must not exceed max_iterations ({self.max_iterations})"
            )
        if self.production_max_correctable_kbar < self.tolerance_kbar:
            raise InputError(
                None, None,
                f"production_max_correctable_kbar ({self.production_max_correctable_kbar}) must be at least "
                f"tolerance_kbar ({self.tolerance_kbar})",
            )  # fmt: skip
        if self.start_volume_A3 is not None:
            _positive_volume(self.start_volume_A3)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> VolumeSettings:
        """Settings from config (field names as keys; ``volume_bounds`` a two-item list; unknown keys fail)."""
        out = dict(values or {})
        reject_unknown_keys(out, field_names(cls), cls.SECTION)
        if "volume_bounds" in out:
            bounds = out["volume_bounds"]
            if isinstance(bounds, str) or not isinstance(bounds, Sequence) or len(bounds) != 2:
                raise InputError(None, None, f"volume_bounds must be a list [lower, upper], got {bounds!r}")
            try:
                out["volume_bounds"] = tuple(float(b) for b in bounds)
            except (TypeError, ValueError):
                raise InputError(None, None, f"volume_bounds must be two numbers, got {bounds!r}") from None
        return cls(**out)

    def bounds_A3(self, start_volume_A3: float) -> tuple[float, float]:
        """Absolute volume bounds (Å³) for a run starting at ``start_volume_A3``."""
        start = _positive_volume(start_volume_A3)
        return self.volume_bounds[0] * start, self.volume_bounds[1] * start

    def for_run(self, start_volume_A3: float, bulk_modulus_guess_kbar: float | None = None) -> VolumeSettings:
        """These settings for one run: its start volume and, when given, its bulk-modulus guess."""
        guess = self.bulk_modulus_guess_kbar if bulk_modulus_guess_kbar is None else bulk_modulus_guess_kbar
        return replace(self, start_volume_A3=float(start_volume_A3), bulk_modulus_guess_kbar=guess)


def _positive_volume(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not (math.isfinite(value) and value > 0):
        raise InputError(None, None, f"start volume must be a positive number of Å^3, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class VolumeDecision:
    """What the loop does next, with the fit behind it: 'converged' (production at volume_A3: the last stage's
    volume, or the fitted one at the iteration cap), 'run' (a stage at volume_A3), 'exhausted' (given up at a
    bound or the cap) or 'no_liquid' (no liquid near P = 0 within the bounds)."""

    action: str
    volume_A3: float
    rule: str
    reason: str
    fitted_pressure_kbar: float = math.nan
    fitted_pressure_sem_kbar: float = math.nan
    target_volume_A3: float = math.nan
    bulk_modulus_kbar: float = math.nan


@dataclass(frozen=True)
class PressureFit:
    """The stages' joint Murnaghan fit: u = ln V₀ (Å³), w = ln B (kbar) and B′, with their covariance."""

    ln_v0: float
    ln_b: float
    b_prime: float
    covariance: tuple[tuple[float, ...], ...]
    n_points: int
    n_volumes: int
    birge_ratio: float
    bulk_modulus_source: str  # 'stages' when the data, not the prior, fix B

    @property
    def v0_A3(self) -> float:
        """Volume (Å³) where the fitted pressure is zero."""
        return math.exp(self.ln_v0)

    @property
    def bulk_modulus_kbar(self) -> float:
        """Fitted (or, with one volume, guessed) bulk modulus at V₀ (kbar)."""
        return math.exp(self.ln_b)

    def _sigma(self, grad: Sequence[float]) -> float:
        g = np.asarray(grad, dtype=float)
        return float(math.sqrt(max(0.0, g @ np.array(self.covariance) @ g)))

    def pressure_at(self, volume_A3: float) -> tuple[float, float]:
        """Fitted pressure (kbar) at a volume and its standard error."""
        b, bp = self.bulk_modulus_kbar, self.b_prime
        x = self.ln_v0 - math.log(volume_A3)
        p = _murnaghan(volume_A3, self.ln_v0, self.ln_b, bp)
        grad = (b * math.exp(bp * x), p, b / bp * x * math.exp(bp * x) - p / bp)
        return p, self._sigma(grad)

    def volume_at(self, pressure_kbar: float) -> tuple[float, float]:
        """Fitted volume (Å³) of a pressure and its standard error; inf beyond the Murnaghan form's reach."""
        b, bp = self.bulk_modulus_kbar, self.b_prime
        base = 1.0 + bp * pressure_kbar / b
        if base <= 0:
            return math.inf, math.inf
        volume = math.exp(self.ln_v0 - math.log(base) / bp)
        ratio = (pressure_kbar / b) / base
        grad = (1.0, ratio, math.log(base) / bp**2 - ratio / bp)
        return volume, volume * self._sigma(grad)

    def work_A3_kbar(self, volume_A3: float) -> float:
        """∫ P dV (kbar·Å³) of the fitted P(V) from ``volume_A3`` to V₀ (≥ 0: the Murnaghan well)."""
        return _murnaghan_work(volume_A3, self.ln_v0, self.ln_b, self.b_prime)


def _murnaghan(volume: float | np.ndarray, ln_v0: float, ln_b: float, bp: float) -> Any:
    return math.exp(ln_b) / bp * (np.exp(bp * (ln_v0 - np.log(volume))) - 1.0)


def _murnaghan_work(volume: float, ln_v0: float, ln_b: float, bp: float) -> float:
    # F(V) = B·V₀/B′·[(V₀/V)^(B′−1)/(B′−1) + V/V₀] − B·V₀/(B′−1): dF/dV = −P, F(V₀) = 0, so ∫_V^V₀ P dV = F(V)
    v0, b = math.exp(ln_v0), math.exp(ln_b)
    ratio = v0 / volume
    return b * v0 / bp * (ratio ** (bp - 1.0) / (bp - 1.0) + 1.0 / ratio) - b * v0 / (bp - 1.0)


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


def _distinct_volumes(volumes: Sequence[float]) -> int:
    kept: list[float] = []
    for v in volumes:
        if not any(math.isclose(v, k, rel_tol=_SAME_VOLUME) for k in kept):
            kept.append(v)
    return len(kept)


def fit_pressure(history: Sequence[VolumePoint], settings: VolumeSettings, production: bool = False) -> PressureFit:
    """Joint weighted least-squares Murnaghan fit of all points (module docstring, step 1).

    ``production``: the last point is a production run, whose long average keeps its own SE (not floored)."""
    _check(history)
    volumes = np.array([p.volume_A3 for p in history])
    log_v = np.log(volumes)
    pressures = np.array([p.pressure_kbar for p in history])
    # an SE of 0 would be an exact point; a floor keeps the weights finite without changing any real stage
    sigma = np.maximum([p.pressure_sem_kbar for p in history], 1e-6)
    # equal stages at nearby volumes share one true SE, but a blocking estimate from 2 ps scatters by ±50 %:
    # floored at the stages' median SE, no stage gets a lucky weight
    stages = slice(0, len(sigma) - 1) if production and len(sigma) > 1 else slice(0, len(sigma))
    sigma[stages] = np.maximum(sigma[stages], float(np.median(sigma[stages])))
    guess = settings.bulk_modulus_guess_kbar
    prior = np.array([math.log(guess), settings.bulk_modulus_derivative])
    prior_sd = np.array([math.log(settings.bulk_modulus_prior_factor), settings.bulk_modulus_derivative_sd])
    n_volumes = _distinct_volumes(list(volumes))
    # start: the point closest to the target, inverted with the guessed B and B′
    best = int(np.argmin(np.abs(pressures) / np.maximum(sigma, 1.0)))
    base = 1.0 + prior[1] * pressures[best] / guess
    u0 = log_v[best] + (math.log(base) / prior[1] if base > 0.05 else pressures[best] / guess)
    # the search stays within e^±1 of the stages' volumes, 6 prior SDs of ln B and a physical range of B′
    lower = [log_v.min() - 1.0, prior[0] - 6 * prior_sd[0], 1.5]
    upper = [log_v.max() + 1.0, prior[0] + 6 * prior_sd[0], 12.0]
    theta0 = np.clip([u0, prior[0], prior[1]], lower, upper)

    def residuals(t: np.ndarray) -> np.ndarray:
        model = _murnaghan(volumes, t[0], t[1], t[2])
        return np.concatenate([(model - pressures) / sigma, (t[1:] - prior) / prior_sd])

    def jacobian(t: np.ndarray) -> np.ndarray:
        b, bp = math.exp(t[1]), t[2]
        grow = np.exp(bp * (t[0] - log_v))
        model = b / bp * (grow - 1.0)
        jac = np.zeros((len(volumes) + 2, 3))
        jac[:-2, 0] = b * grow / sigma
        jac[:-2, 1] = model / sigma
        jac[:-2, 2] = (b / bp * (t[0] - log_v) * grow - model / bp) / sigma
        jac[-2, 1], jac[-1, 2] = 1.0 / prior_sd[0], 1.0 / prior_sd[1]
        return jac

    theta = least_squares(residuals, theta0, jac=jacobian, bounds=(lower, upper), xtol=1e-12, ftol=1e-12).x
    jac = jacobian(theta)
    covariance = np.linalg.pinv(jac.T @ jac)
    chi2 = float(np.sum(residuals(theta)[:-2] ** 2))
    # parameters the data can fix: V₀ from one volume, B from two, B′ from three
    dof = len(volumes) - min(n_volumes, 3)
    birge = math.sqrt(max(1.0, chi2 / dof)) if dof >= 1 else 1.0
    covariance *= birge**2
    source = "stages" if n_volumes >= 2 and math.sqrt(covariance[1, 1]) < 0.5 * prior_sd[0] else "guess"
    cov = tuple(tuple(float(c) for c in row) for row in covariance)
    return PressureFit(float(theta[0]), float(theta[1]), float(theta[2]), cov, len(volumes), n_volumes, birge, source)


def pressure_converged(point: VolumePoint, settings: VolumeSettings) -> bool:
    """Whether one point's own mean pressure lies in the target window and is known to within max_sem_kbar."""
    return (
        abs(point.pressure_kbar - settings.target_kbar) <= settings.tolerance_kbar
        and point.pressure_sem_kbar <= settings.max_sem_kbar
    )


def _tried(history: Sequence[VolumePoint], volume: float) -> bool:
    return any(math.isclose(p.volume_A3, volume, rel_tol=1e-4) for p in history)


def next_volume(history: Sequence[VolumePoint], settings: VolumeSettings) -> VolumeDecision:
    """The loop's next move given all stages so far (oldest first); see the module docstring for the rule."""
    _check(history)
    s = settings
    start = s.start_volume_A3 if s.start_volume_A3 is not None else history[0].volume_A3
    v_min, v_max = s.bounds_A3(start)
    last = history[-1]
    fit = fit_pressure(history, s)
    p_now, sem_now = fit.pressure_at(last.volume_A3)
    v_target, _ = fit.volume_at(s.target_kbar)
    b = fit.bulk_modulus_kbar

    def decide(action: str, volume: float, rule: str, reason: str) -> VolumeDecision:
        return VolumeDecision(action, volume, rule, reason, p_now, sem_now, v_target, b)

    where = (
        f"fitted pressure {p_now:.2f} ± {sem_now:.2f} kbar at {last.volume_A3:.1f} Å^3 from {fit.n_points} stage(s) "
        f"at {fit.n_volumes} volume(s), B = {b / 10:.0f} GPa ({fit.bulk_modulus_source})"
    )
    if len(history) >= s.min_stages and abs(p_now - s.target_kbar) <= s.tolerance_kbar and sem_now <= s.max_sem_kbar:
        window = f"within {s.target_kbar:g} ± {s.tolerance_kbar:g} kbar, SE ≤ {s.max_sem_kbar:g}"
        return decide("converged", last.volume_A3, "window", f"{where}: {window}")
    if v_target > v_max and _tried(history, v_max):
        p_hi, sem_hi = fit.pressure_at(v_max)
        if p_hi - s.target_kbar - s.tolerance_kbar > s.significance_sigma * sem_hi:
            return decide(
                "no_liquid", v_max, "upper bound",
                f"fitted pressure {p_hi:.2f} ± {sem_hi:.2f} kbar at the upper bound {v_max:.1f} Å^3 "
                f"({s.volume_bounds[1]:g} × the start volume): the fluid does not contract to "
                f"{s.target_kbar:g} kbar at any volume allowed — no liquid near P = 0 at this temperature "
                "(e.g. above its critical point); if the start volume was badly underestimated instead, widen "
                "volume_bounds",
            )  # fmt: skip
    if v_target < v_min and _tried(history, v_min):
        p_lo, sem_lo = fit.pressure_at(v_min)
        if s.target_kbar - s.tolerance_kbar - p_lo > s.significance_sigma * sem_lo:
            return decide(
                "exhausted", v_min, "lower bound",
                f"fitted pressure {p_lo:.2f} ± {sem_lo:.2f} kbar at the lower bound {v_min:.1f} Å^3 "
                f"({s.volume_bounds[0]:g} × the start volume): the cell is still under tension there and asks for "
                "a smaller volume; the start volume is overestimated — check it or lower volume_bounds",
            )  # fmt: skip
    if len(history) >= s.max_iterations:
        v_sem = fit.volume_at(s.target_kbar)[1]
        if v_min <= v_target <= v_max and v_sem <= s.max_step_fraction * v_target:
            # the production, 5× longer than a stage, measures the pressure at the best volume there is; its own
            # mean pressure is then judged (accept_production) rather than the run given up after all these stages
            return decide(
                "converged", v_target, "iteration cap",
                f"{len(history)} stages without a fitted pressure within {s.target_kbar:g} ± {s.tolerance_kbar:g} "
                f"kbar at SE ≤ {s.max_sem_kbar:g}; {where}; production at the fitted volume {v_target:.1f} ± "
                f"{v_sem:.1f} Å^3, where its own mean pressure is judged",
            )  # fmt: skip
        return decide("exhausted", last.volume_A3, "max_iterations",
                      f"{len(history)} stages without convergence and the target volume not placed to within one "
                      f"step ({s.max_step_fraction:.0%}); {where}")  # fmt: skip
    step = s.max_step_fraction * last.volume_A3
    proposal = min(max(v_target, last.volume_A3 - step), last.volume_A3 + step)
    proposal = min(max(proposal, v_min), v_max)
    rule = "fit" if proposal == v_target else "fit (clipped)"
    return decide("run", proposal, rule, f"{where}; target pressure at {v_target:.1f} Å^3")


@dataclass(frozen=True)
class ProductionDecision:
    """The production's pressure verdict: accepted (bool), action ('accepted', 'corrected', 'extend',
    'rejected') and the reason."""

    accepted: bool
    action: str
    reason: str


def accept_production(point: VolumePoint, settings: VolumeSettings) -> ProductionDecision:
    """Judge the production run's mean pressure (docs/aimd.md §5): in the window, correctable, too uncertain or off."""
    _check([point])
    s = settings
    excess = point.pressure_kbar - s.target_kbar
    text = f"production mean pressure {point.pressure_kbar:.2f} ± {point.pressure_sem_kbar:.2f} kbar"
    if point.pressure_sem_kbar > s.production_max_sem_kbar:
        return ProductionDecision(
            False, "extend",
            f"{text}: SE above {s.production_max_sem_kbar:g} kbar; extend the production (raise production_ps)",
        )  # fmt: skip
    if abs(excess) <= s.tolerance_kbar:
        return ProductionDecision(True, "accepted", f"{text}: within {s.target_kbar:g} ± {s.tolerance_kbar:g} kbar")
    if abs(excess) <= s.production_max_correctable_kbar:
        return ProductionDecision(
            True, "corrected",
            f"{text}: outside ± {s.tolerance_kbar:g} kbar but within ± {s.production_max_correctable_kbar:g} kbar, "
            "where the first-order correction of H to P = 0 holds; H is corrected",
        )  # fmt: skip
    return ProductionDecision(
        False, "rejected",
        f"{text}: beyond ± {s.production_max_correctable_kbar:g} kbar; rerun the volume loop with the production "
        "as a further stage",
    )  # fmt: skip


@dataclass(frozen=True)
class ZeroPressureCorrection:
    """H per atom (kJ/mol) moved to P = 0: the production's H plus ``correction_kJ_per_mol`` (uncertainty
    ``sem_kJ_per_mol``, independent of the production's own SE), and how it was obtained."""

    h_kJ_per_mol: float
    h_sem_kJ_per_mol: float
    correction_kJ_per_mol: float
    sem_kJ_per_mol: float
    method: str  # where T(∂P/∂T)_V mostly came from: 'fluctuation' (the production's ⟨δP δE⟩), 'stages' (their
    # slope) or 'bound' (0 ≤ αT ≤ alpha_t_max)
    usable: bool  # False when V₀ lies farther from the production volume than enthalpy_fit_window
    v0_A3: float
    v0_sem_A3: float
    production_volume_A3: float
    production_pressure_kbar: float
    thermal_pressure_kbar: float
    thermal_pressure_sem_kbar: float
    bulk_modulus_kbar: float
    n_stages_used: int
    n_volumes_used: int
    note: str


_POINT_KEYS = ("volume_A3", "pressure_kbar", "pressure_sem_kbar", "h_kJ_per_mol", "h_sem_kJ_per_mol", "n_atoms")


def _as_point(value: VolumePoint | Mapping[str, Any], what: str) -> VolumePoint:
    if isinstance(value, VolumePoint):
        point = value
    else:
        missing = [k for k in _POINT_KEYS if value.get(k) is None]
        if missing:
            raise InputError(None, None, f"{what}: missing {', '.join(missing)}")
        point = VolumePoint(
            *(value[k] for k in _POINT_KEYS),
            value.get("thermal_pressure_kbar"),
            value.get("thermal_pressure_sem_kbar"),
        )
    _check([point])
    h, h_sem, n = point.h_kJ_per_mol, point.h_sem_kJ_per_mol, point.n_atoms
    if h is None or h_sem is None or n is None:
        raise InputError(None, None, f"{what}: the zero-pressure correction needs H, its SE and n_atoms")
    if not (math.isfinite(h) and math.isfinite(h_sem) and h_sem >= 0):
        raise InputError(None, None, f"{what}: H and its SE must be finite (SE ≥ 0), got {h!r} ± {h_sem!r}")
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise InputError(None, None, f"{what}: n_atoms must be a positive integer, got {n!r}")
    return point


def _thermal_slope(stages: Sequence[VolumePoint], fit: PressureFit, per_atom: float) -> tuple[float, float] | None:
    """WLS slope of y = H − ∫_V^V₀ P dV against V (kJ/mol per Å³) and its SE; None with < 2 volumes."""
    if _distinct_volumes([p.volume_A3 for p in stages]) < 2:
        return None
    v = np.array([p.volume_A3 for p in stages])
    y = np.array([p.h_kJ_per_mol - fit.work_A3_kbar(p.volume_A3) * per_atom for p in stages])  # type: ignore[operator]
    sems = np.maximum([p.h_sem_kJ_per_mol for p in stages], 1e-9)  # type: ignore[arg-type]
    weights = 1.0 / np.maximum(sems, float(np.median(sems))) ** 2  # floored at the median, as for the pressures
    x = v - np.average(v, weights=weights)
    sxx = float(np.sum(weights * x * x))
    slope = float(np.sum(weights * x * y) / sxx)
    intercept = float(np.average(y, weights=weights))
    sem = math.sqrt(1.0 / sxx)
    dof = len(v) - 2
    if dof >= 1:  # Birge ratio, as for the pressure fit
        chi2 = float(np.sum(weights * (y - intercept - slope * x) ** 2))
        sem *= math.sqrt(max(1.0, chi2 / dof))
    return slope, sem


def thermal_pressure_kbar(
    pressure_kbar: Sequence[float] | np.ndarray, energy_eV: Sequence[float] | np.ndarray, temperature_K: float
) -> tuple[float, float]:
    """T(∂P/∂T)_V (kbar) of an NVT run from its fluctuations, ⟨δP δE⟩/(k_B T), and its blocking SE.

    In the canonical ensemble (∂⟨P⟩/∂T)_V = ⟨δP δE⟩/(k_B T²) with E the total energy of the cell (eV) and P the
    instantaneous pressure; checked on EMT liquid Cu (256 atoms, 1400 K, 35 ps): 0.0792 kbar/K from the
    fluctuations against 0.0730 ± 0.0024 kbar/K from ⟨P⟩ at 1300 and 1500 K (docs/aimd.md §5)."""
    p = np.asarray(pressure_kbar, dtype=float)
    e = np.asarray(energy_eV, dtype=float)
    if p.shape != e.shape or p.size < 2 * 8:
        raise InputError(None, None, f"need matching pressure and energy series of ≥ 16 steps, got {p.size}")
    product = (p - p.mean()) * (e - e.mean()) / (BOLTZMANN_EV_PER_K * temperature_K)
    block = block_average(product)
    return block.mean, block.sem


def zero_pressure_correction(
    stages: Sequence[VolumePoint | Mapping[str, Any]],
    production: VolumePoint | Mapping[str, Any],
    settings: VolumeSettings | None = None,
) -> ZeroPressureCorrection:
    """H per atom at P = 0 from the production and the volume stages (docs/aimd.md §5, "Zero-pressure H").

    H(0) = E(V₀) with (∂E/∂V)_T = T(∂P/∂T)_V − P:  H(0) = H_prod + γ·(V₀ − V_prod) − ∫_{V_prod}^{V₀} P dV,
    V₀ and P(V) from the joint pressure fit of stages and production, γ = T(∂P/∂T)_V (taken constant) the
    slope of H − ∫_V^V₀ P dV over the stages within ``enthalpy_fit_window`` of V₀, combined with the range
    0 ≤ γ ≤ alpha_t_max·B (γ = αT·B) as a uniform prior. Without a slope (one stage volume) that range alone
    gives γ: correction ≈ ½·alpha_t_max·P·V ± that / √3.
    """
    s = settings or VolumeSettings()
    points = [_as_point(p, f"volume stage {i + 1}") for i, p in enumerate(stages)]
    prod = _as_point(production, "production")
    n_atoms = {p.n_atoms for p in [*points, prod]}
    if len(n_atoms) != 1:
        raise InputError(None, None, f"stages and production must have one cell size, got n_atoms {sorted(n_atoms)}")
    per_atom = KBAR_A3_TO_KJ_PER_MOL / prod.n_atoms  # type: ignore[operator]
    fit = fit_pressure([*points, prod], s, production=True)
    v0, v0_sem = fit.volume_at(0.0)
    window = [p for p in points if abs(math.log(p.volume_A3 / v0)) <= s.enthalpy_fit_window]

    def thermal(f: PressureFit) -> tuple[float, float, str]:
        """γ (kJ/mol per Å³), its SE and its source for one set of P(V) parameters.

        The physical range 0 ≤ αT ≤ alpha_t_max (γ = αT·B) enters as a prior: its midpoint with a uniform
        distribution's SD (GUM type B), combined with the stages' slope by inverse variance. A slope from
        stages a few Å³ apart then cannot outweigh what is known of liquids, and a precise one decides.
        """
        mid = 0.5 * s.alpha_t_max * f.bulk_modulus_kbar * per_atom
        mid_var = (mid / math.sqrt(3.0)) ** 2
        # (estimate, SE, name): the range, the stages' slope, and the production's own fluctuations
        sources = [(mid, math.sqrt(mid_var), "bound")]
        data = _thermal_slope(window, f, per_atom)
        if data is not None:
            sources.append((data[0], data[1], "stages"))
        if prod.thermal_pressure_kbar is not None and prod.thermal_pressure_sem_kbar:
            sources.append(
                (prod.thermal_pressure_kbar * per_atom, prod.thermal_pressure_sem_kbar * per_atom, "fluctuation")
            )
        weights = [1.0 / max(se, 1e-12) ** 2 for _, se, _ in sources]
        gamma = sum(w * g for w, (g, _, _) in zip(weights, sources, strict=True)) / sum(weights)
        if gamma <= 0:  # the data insist on γ ≤ 0, which no liquid that expands on heating has
            return mid, math.sqrt(mid_var), "bound"
        return gamma, math.sqrt(1.0 / sum(weights)), sources[int(np.argmax(weights))][2]

    slope = _thermal_slope(window, fit, per_atom)
    method = thermal(fit)[2]

    def correction(f: PressureFit) -> tuple[float, float, float]:
        """(correction, γ, its SE) for one set of P(V) parameters."""
        gamma, gamma_sem, _ = thermal(f)
        work = -f.work_A3_kbar(prod.volume_A3) * per_atom
        return work + gamma * (f.v0_A3 - prod.volume_A3), gamma, gamma_sem

    value, gamma, gamma_sem = correction(fit)
    # propagate the P(V) fit's covariance (ln V₀, ln B, B′) by central differences, then γ's own SE
    cov = np.array(fit.covariance)
    grad = np.zeros(3)
    for k, name in enumerate(("ln_v0", "ln_b", "b_prime")):
        step = 1e-6 * max(1.0, abs(getattr(fit, name)))
        up = correction(replace(fit, **{name: getattr(fit, name) + step}))[0]
        down = correction(replace(fit, **{name: getattr(fit, name) - step}))[0]
        grad[k] = (up - down) / (2 * step)
    # γ·(V₀ − V_prod) is a product of two uncertain factors: with either near zero the first-order terms vanish
    # and the product of their variances is what is left
    variance = float(grad @ cov @ grad) + gamma_sem**2 * ((v0 - prod.volume_A3) ** 2 + v0_sem**2)
    sem = math.sqrt(max(0.0, variance))
    h_prod, h_prod_sem = prod.h_kJ_per_mol, prod.h_sem_kJ_per_mol
    assert h_prod is not None and h_prod_sem is not None
    n_window = _distinct_volumes([p.volume_A3 for p in window])
    bound = f"0 <= alpha*T <= {s.alpha_t_max:g}"
    if slope is None:
        note = f"fewer than two stage volumes within {s.enthalpy_fit_window:.0%} of V0: T(dP/dT)_V from {bound}"
    else:
        note = (f"T(dP/dT)_V: stages ({len(window)} at {n_window} volumes within {s.enthalpy_fit_window:.0%} of V0) "
                f"{slope[0] / per_atom:.0f} ± {slope[1] / per_atom:.0f} kbar combined with {bound}")  # fmt: skip
        if slope[0] + 2 * slope[1] <= 0:
            note += "; the stages' slope is not positive (a bad stage?)"
    if prod.thermal_pressure_kbar is not None:
        note += (
            f"; production fluctuations {prod.thermal_pressure_kbar:.0f} ± {prod.thermal_pressure_sem_kbar:.0f} kbar"
        )
    left_out = len(points) - len(window)
    if left_out:
        note += f"; {left_out} stage(s) farther than {s.enthalpy_fit_window:.0%} from V0 not used for the slope"
    distance = math.log(v0 / prod.volume_A3)
    usable = abs(distance) <= s.enthalpy_fit_window
    if not usable:
        note += (f"; V0 lies {distance:+.1%} from the production volume, beyond the {s.enthalpy_fit_window:.0%} "
                 "the correction is made for: rerun the production nearer V0")  # fmt: skip
    return ZeroPressureCorrection(
        h_kJ_per_mol=h_prod + value,
        h_sem_kJ_per_mol=math.hypot(h_prod_sem, sem),
        correction_kJ_per_mol=value,
        sem_kJ_per_mol=sem,
        method=method,
        usable=usable,
        v0_A3=v0,
        v0_sem_A3=v0_sem,
        production_volume_A3=prod.volume_A3,
        production_pressure_kbar=prod.pressure_kbar,
        thermal_pressure_kbar=gamma / per_atom,
        thermal_pressure_sem_kbar=gamma_sem / per_atom,
        bulk_modulus_kbar=fit.bulk_modulus_kbar,
        n_stages_used=len(window),
        n_volumes_used=n_window,
        note=note,
    )


__all__ = [
    "ACTIONS",
    "KBAR_A3_TO_KJ_PER_MOL",
    "PRODUCTION_ACTIONS",
    "PressureFit",
    "ProductionDecision",
    "VolumeDecision",
    "VolumePoint",
    "VolumeSettings",
    "ZeroPressureCorrection",
    "accept_production",
    "fit_pressure",
    "next_volume",
    "pressure_converged",
    "zero_pressure_correction",
]
