"""Statistics of a correlated series: blocking (mean and standard error), equilibration detection, drift test.

Engine-neutral and free of units: the enthalpy, the volume loop and the referee's checks apply them to
per-step series of an MD run (docs/aimd_emt.md, "Equilibration" and "Block averaging").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hmixal.errors import InputError

DEFAULT_MIN_BLOCKS = 8
DEFAULT_MIN_DISCARD_FRACTION = 0.1
DEFAULT_MAX_DISCARD_FRACTION = 0.5
DEFAULT_EQUILIBRATION_CANDIDATES = 100
# A drift of more than this many standard errors is flagged (enthalpy warnings, drift check)
DRIFT_SIGMA_LIMIT = 3.0


@dataclass(frozen=True)
class BlockingLevel:
    """One level of Flyvbjerg–Petersen blocking: block size, number of blocks, SE of the mean and its error."""

    block_size: int
    n_blocks: int
    sem: float
    sem_error: float


@dataclass(frozen=True)
class BlockAverage:
    """Mean and standard error of a correlated series from the blocking plateau (``converged``: plateau seen)."""

    mean: float
    sem: float
    sem_error: float
    block_size: int
    n_blocks: int
    converged: bool
    levels: tuple[BlockingLevel, ...]


def _as_series(values: Sequence[float] | np.ndarray, what: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise InputError(None, None, f"{what}: expected a 1-d series, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise InputError(None, None, f"{what}: series holds non-finite values")
    return array


def blocking_levels(values: Sequence[float] | np.ndarray, min_blocks: int = DEFAULT_MIN_BLOCKS) -> list[BlockingLevel]:
    """Flyvbjerg–Petersen blocking (J. Chem. Phys. 91, 461 (1989)): SE of the mean at block sizes 1, 2, 4, …"""
    x = _as_series(values, "blocking")
    if min_blocks < 2:
        raise InputError(None, None, f"min_blocks must be at least 2, got {min_blocks}")
    if x.size < min_blocks:
        raise InputError(None, None, f"blocking needs at least {min_blocks} samples, got {x.size}")
    levels = []
    size = 1
    while x.size >= min_blocks:
        n = x.size
        sem = math.sqrt(float(x.var()) / (n - 1))
        levels.append(BlockingLevel(size, n, sem, sem / math.sqrt(2.0 * (n - 1))))
        half = n // 2
        x = 0.5 * (x[0 : 2 * half : 2] + x[1 : 2 * half : 2])  # an odd last sample is dropped, as in FP
        size *= 2
    return levels


def block_average(values: Sequence[float] | np.ndarray, min_blocks: int = DEFAULT_MIN_BLOCKS) -> BlockAverage:
    """Mean and standard error from the first blocking level that no later level exceeds by its error bar.

    The SE rises with block size until blocks are longer than the correlation time, then fluctuates on a
    plateau. The chosen level k is the smallest with SE_j − SE_k ≤ δSE_j for every later level j (δ: FP's
    error of the SE estimate); the plateau counts as reached (``converged``) when at least two later levels
    confirm it. Otherwise the SE of the last level is returned and is a lower bound. On AR(1) series with
    100–1000 effective samples this rule is within ~5 % (low) of the exact SE (tests/test_aimd_analysis.py).
    """
    x = _as_series(values, "block average")
    levels = blocking_levels(x, min_blocks)
    chosen = len(levels) - 1
    for k, level in enumerate(levels):
        if all(later.sem - level.sem <= later.sem_error for later in levels[k + 1 :]):
            chosen = k
            break
    pick = levels[chosen]
    converged = len(levels) - 1 - chosen >= 2
    return BlockAverage(
        float(x.mean()), pick.sem, pick.sem_error, pick.block_size, pick.n_blocks, converged, tuple(levels)
    )


def statistical_inefficiency(values: Sequence[float] | np.ndarray) -> float:
    """g = 1 + 2 Σ_t (1 − t/n) C(t), summed until the autocorrelation C(t) first drops to ≤ 0 (g ≥ 1)."""
    x = _as_series(values, "statistical inefficiency")
    n = x.size
    if n < 2:
        return 1.0
    dx = x - x.mean()
    variance = float(dx @ dx) / n
    if variance == 0.0:
        return 1.0
    spectrum = np.fft.rfft(dx, 2 * n)
    autocov = np.fft.irfft(spectrum * np.conj(spectrum), 2 * n)[:n] / np.arange(n, 0, -1)
    corr = autocov[1:] / variance
    stop = np.flatnonzero(corr <= 0.0)
    last = int(stop[0]) if stop.size else corr.size
    lags = np.arange(1, last + 1)
    return max(1.0, 1.0 + 2.0 * float(np.sum((1.0 - lags / n) * corr[:last])))


@dataclass(frozen=True)
class Equilibration:
    """Where production starts: index ``start`` of the first kept sample, and how it was chosen."""

    start: int
    detected_start: int
    statistical_inefficiency: float
    n_effective: float


def detect_equilibration(
    values: Sequence[float] | np.ndarray,
    min_fraction: float = DEFAULT_MIN_DISCARD_FRACTION,
    max_fraction: float = DEFAULT_MAX_DISCARD_FRACTION,
    n_candidates: int = DEFAULT_EQUILIBRATION_CANDIDATES,
) -> Equilibration:
    """Chodera's automated equilibration detection (J. Chem. Theory Comput. 12, 1799 (2016)), with a floor.

    Among ``n_candidates`` start points in [0, max_fraction·n] the one maximising the effective number of
    uncorrelated samples (n − t0)/g(t0) is detected; the start is max(detected, ceil(min_fraction·n)).
    """
    x = _as_series(values, "equilibration detection")
    if not 0.0 <= min_fraction <= max_fraction < 1.0:
        raise InputError(None, None, f"need 0 <= min_fraction <= max_fraction < 1, got {min_fraction}, {max_fraction}")
    n = x.size
    if n < 4:
        raise InputError(None, None, f"equilibration detection needs at least 4 samples, got {n}")
    candidates = np.unique(np.linspace(0, int(max_fraction * n), max(2, n_candidates)).astype(int))
    best = (-1.0, 0, 1.0)
    for t0 in candidates:
        g = statistical_inefficiency(x[t0:])
        n_eff = (n - t0) / g
        if n_eff > best[0]:  # strict: ties keep the earlier start
            best = (n_eff, int(t0), g)
    floor = math.ceil(min_fraction * n)
    start = max(best[1], floor)
    g = best[2] if start == best[1] else statistical_inefficiency(x[start:])
    return Equilibration(start, best[1], g, (n - start) / g)


@dataclass(frozen=True)
class Drift:
    """Linear trend of a series: change over the window, its standard error and the ratio of the two."""

    change: float
    change_sem: float
    sigma: float


def drift_test(times: Sequence[float] | np.ndarray, values: Sequence[float] | np.ndarray) -> Drift:
    """Least-squares slope × time span, with an SE inflated by the residuals' statistical inefficiency."""
    t = _as_series(times, "drift test times")
    y = _as_series(values, "drift test values")
    if t.size != y.size or t.size < 3:
        raise InputError(None, None, "drift test needs matching series of at least 3 samples")
    tc = t - t.mean()
    sxx = float(tc @ tc)
    slope = float(tc @ (y - y.mean())) / sxx
    residual = y - y.mean() - slope * tc
    g = statistical_inefficiency(residual)
    slope_sem = math.sqrt(float(residual @ residual) / (t.size - 2) / sxx * g)
    span = float(t[-1] - t[0])
    change_sem = slope_sem * span
    change = slope * span
    return Drift(change, change_sem, abs(change) / change_sem if change_sem > 0 else 0.0)
