"""Trajectory frames of one run and the structure computed from them: diffusion, g(r), order, S_cc, liquid check.

Frames are read with ASE from any trajectory format it knows; the checks decide whether a run is a liquid and,
for a binary, whether it stayed mixed (docs/aimd_emt.md, "Liquid check" and "Phase separation").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hmixal.elements import ELEMENTS
from hmixal.errors import InputError

A2_PER_FS_TO_M2_PER_S = 1.0e-5  # 1 Å^2/fs = 1e-20 m^2 / 1e-15 s

# Liquid check (docs/aimd_emt.md, "Liquid check"). Self-diffusion coefficients of liquid metals near their
# melting points are ~1e-9 to 1e-8 m^2/s (T. Iida and R. I. L. Guthrie, The Physical Properties of Liquid
# Metals, Clarendon Press 1988, ch. 7); crystals are orders of magnitude lower. The threshold sits an order of
# magnitude below the liquid range.
MIN_DIFFUSION_M2_PER_S = 1.0e-10
# Wendt–Abraham ratio g(r_min)/g(r_peak): ~0.14 at the glass transition and larger in liquids (H. R. Wendt and
# F. F. Abraham, Phys. Rev. Lett. 41, 1244 (1978)); crystals lie far below.
MIN_WENDT_ABRAHAM_RATIO = 0.14
# The first minimum of g(r) is searched between the first peak and this multiple of its position: liquid
# metals have it at ~1.4–1.5 r_peak and the second peak beyond ~1.7 r_peak.
FIRST_MINIMUM_WINDOW = 1.7
DEFAULT_BIN_WIDTH_A = 0.05
# Diffusion fit window, as fractions of the analysed time span: past the ballistic/cage regime (< 1 ps in
# liquid metals) and short enough that many time origins contribute to each lag.
MSD_FIT_WINDOW: tuple[float, float] = (0.2, 0.5)
MIN_FRAMES = 5


@dataclass(frozen=True)
class Frames:
    """Snapshots of one run: symbols, Cartesian positions (F×N×3, Å), cell rows (F×3×3, Å), times (fs)."""

    symbols: tuple[str, ...]
    positions: np.ndarray
    cells: np.ndarray
    time_fs: np.ndarray
    source: str = ""

    def after(self, time_fs: float) -> Frames:
        """The frames at or after ``time_fs``."""
        keep = self.time_fs >= time_fs
        return Frames(self.symbols, self.positions[keep], self.cells[keep], self.time_fs[keep], self.source)

    def counts(self) -> dict[str, int]:
        """Atoms per element, alphabetical."""
        symbols, counts = np.unique(np.array(self.symbols), return_counts=True)
        return {str(s): int(c) for s, c in zip(symbols, counts, strict=True)}


def make_frames(
    symbols: Sequence[str],
    positions: np.ndarray,
    cells: np.ndarray,
    time_fs: Sequence[float] | np.ndarray,
    source: str = "",
) -> Frames:
    """Validate shapes, cells and times and build a Frames."""
    pos = np.asarray(positions, dtype=float)
    cell = np.asarray(cells, dtype=float)
    times = np.asarray(time_fs, dtype=float)
    n = len(symbols)
    if pos.ndim != 3 or pos.shape[1:] != (n, 3):
        raise InputError(source or None, None, f"positions must have shape (frames, {n}, 3), got {pos.shape}")
    if cell.shape != (pos.shape[0], 3, 3) or times.shape != (pos.shape[0],):
        raise InputError(source or None, None, "cells and times must have one entry per frame")
    if not (np.isfinite(pos).all() and np.isfinite(cell).all() and np.isfinite(times).all()):
        raise InputError(source or None, None, "frames hold non-finite numbers")
    if (np.abs(np.linalg.det(cell)) < 1e-6).any():
        raise InputError(source or None, None, "a frame has a singular (non-periodic or zero-volume) cell")
    if (np.diff(times) <= 0).any():
        raise InputError(source or None, None, "frame times must increase strictly")
    for symbol in set(symbols):
        if symbol not in ELEMENTS:
            raise InputError(source or None, None, f"unknown element {symbol!r}")
    return Frames(tuple(str(s) for s in symbols), pos, cell, times, source)


def read_frames(path: str | Path, frame_interval_fs: float | None = None, index: str = ":") -> Frames:
    """Read a trajectory with ASE (extxyz, .traj, XDATCAR…); times from ``info['time_fs']`` or the interval."""
    from ase.io import read  # ASE is only needed to read trajectory files

    source = str(path)
    try:
        images = read(source, index=index)
    except Exception as error:  # ASE raises many types for unreadable files; report them uniformly
        raise InputError(source, None, f"cannot read trajectory: {error}") from None
    if not images:
        raise InputError(source, None, "trajectory holds no frames")
    symbols = images[0].get_chemical_symbols()
    if any(img.get_chemical_symbols() != symbols for img in images):
        raise InputError(source, None, "frames differ in their atoms")
    if all("time_fs" in img.info for img in images):
        times = np.array([float(img.info["time_fs"]) for img in images])
    elif frame_interval_fs is not None and frame_interval_fs > 0:
        times = frame_interval_fs * np.arange(len(images), dtype=float)
    else:
        raise InputError(source, None, "frames carry no time_fs; pass frame_interval_fs (e.g. POTIM × NBLOCK)")
    positions = np.stack([img.get_positions() for img in images])
    cells = np.stack([np.array(img.get_cell()) for img in images])
    return make_frames(symbols, positions, cells, times, source)


def _fractional(frames: Frames) -> np.ndarray:
    return np.einsum("fnj,fjk->fnk", frames.positions, np.linalg.inv(frames.cells))


def _half_width(cells: np.ndarray) -> float:
    """Half the smallest distance between opposite cell faces over all frames (minimum-image limit)."""
    volumes = np.abs(np.linalg.det(cells))
    widths = [volumes / np.linalg.norm(np.cross(cells[:, i], cells[:, j]), axis=1) for i, j in ((1, 2), (2, 0), (0, 1))]
    return 0.5 * float(np.min(widths))


def unwrapped_positions(frames: Frames) -> np.ndarray:
    """Positions made continuous across periodic boundaries, with the mean displacement of all atoms removed.

    Fractional steps between frames are wrapped to [−½, ½) (atoms must move less than half a cell between
    frames), so an affine change of the cell (NPT) is not counted as motion.
    """
    frac = _fractional(frames)
    steps = np.diff(frac, axis=0)
    steps -= np.round(steps)
    cart = np.einsum("fnj,fjk->fnk", steps, frames.cells[1:])
    cart -= cart.mean(axis=1, keepdims=True)  # a drift of the whole cell is not diffusion
    start = frames.positions[:1]
    return np.concatenate([start, start + np.cumsum(cart, axis=0)], axis=0)


def mean_squared_displacement(frames: Frames) -> tuple[np.ndarray, np.ndarray]:
    """MSD (Å²) versus lag (fs), averaged over atoms and all time origins, for lags up to half the frames."""
    if len(frames.time_fs) < MIN_FRAMES:
        raise InputError(
            frames.source or None, None, f"MSD needs at least {MIN_FRAMES} frames, got {len(frames.time_fs)}"
        )
    u = unwrapped_positions(frames)
    intervals = np.diff(frames.time_fs)
    if not np.allclose(intervals, intervals[0], rtol=1e-6):
        raise InputError(frames.source or None, None, "MSD with time origins needs equally spaced frames")
    lags = np.arange(1, len(u) // 2 + 1)
    msd = np.array([np.mean(np.sum((u[lag:] - u[:-lag]) ** 2, axis=2)) for lag in lags])
    return lags * intervals[0], msd


def diffusion_coefficient(frames: Frames) -> float:
    """Self-diffusion coefficient (m²/s) from a straight-line fit MSD = 6 D t + c over the fit window."""
    lag_fs, msd = mean_squared_displacement(frames)
    span = frames.time_fs[-1] - frames.time_fs[0]
    window = (lag_fs >= MSD_FIT_WINDOW[0] * span) & (lag_fs <= MSD_FIT_WINDOW[1] * span)
    if window.sum() < 2:
        window = np.ones_like(lag_fs, dtype=bool)
    slope = np.polyfit(lag_fs[window], msd[window], 1)[0]
    return float(slope / 6.0 * A2_PER_FS_TO_M2_PER_S)


@dataclass(frozen=True)
class PairCorrelation:
    """Total and partial g(r) averaged over frames, with the mean pair counts per bin and atom counts."""

    r: np.ndarray
    total: np.ndarray
    partial: dict[tuple[str, str], np.ndarray]
    pair_counts: dict[tuple[str, str], np.ndarray]
    counts: dict[str, int]
    bin_width: float


def pair_correlation(
    frames: Frames, r_max: float | None = None, bin_width: float = DEFAULT_BIN_WIDTH_A
) -> PairCorrelation:
    """g(r) and partial g_ab(r) by minimum image, normalised per frame so that an ideal gas gives 1."""
    limit = _half_width(frames.cells)
    r_max = limit if r_max is None else min(r_max, limit)
    if bin_width <= 0 or r_max <= bin_width:
        raise InputError(frames.source or None, None, f"bad g(r) range: r_max {r_max:.3f} Å, bin {bin_width} Å")
    n_bins = int(r_max / bin_width)
    edges = np.arange(n_bins + 1) * bin_width
    species = sorted(set(frames.symbols))
    kind = np.array([species.index(s) for s in frames.symbols])
    n = len(kind)
    first, second = np.triu_indices(n, k=1)
    lo = np.minimum(kind[first], kind[second])
    hi = np.maximum(kind[first], kind[second])
    pair_type = lo * len(species) + hi
    n_types = len(species) ** 2
    counts = np.zeros((n_types, n_bins))
    weighted = np.zeros((n_types, n_bins))  # counts × volume: g is averaged over frames of differing volume
    frac = _fractional(frames)
    for f in range(len(frames.time_fs)):
        d = frac[f, second] - frac[f, first]
        d -= np.round(d)
        r = np.linalg.norm(d @ frames.cells[f], axis=1)
        inside = r < edges[-1]
        index = pair_type[inside] * n_bins + (r[inside] / bin_width).astype(int)
        hist = np.bincount(index, minlength=n_types * n_bins).reshape(n_types, n_bins)
        counts += hist
        weighted += hist * abs(np.linalg.det(frames.cells[f]))
    n_frames = len(frames.time_fs)
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    number = {s: int((kind == i).sum()) for i, s in enumerate(species)}
    partial: dict[tuple[str, str], np.ndarray] = {}
    pair_counts: dict[tuple[str, str], np.ndarray] = {}
    for i, a in enumerate(species):
        for j in range(i, len(species)):
            b = species[j]
            t = i * len(species) + j
            # unordered pairs: N_a (N_a − 1)/2 for like species, N_a N_b for unlike ones
            pairs = number[a] * (number[a] - 1) / 2.0 if i == j else number[a] * number[b]
            partial[(a, b)] = weighted[t] / n_frames / (pairs * shell) if pairs > 0 else np.zeros(n_bins)
            pair_counts[(a, b)] = counts[t] / n_frames
    total = weighted.sum(axis=0) / n_frames / (n * (n - 1) / 2.0 * shell)
    return PairCorrelation(0.5 * (edges[1:] + edges[:-1]), total, partial, pair_counts, number, bin_width)


def first_shell(r: np.ndarray, g: np.ndarray) -> tuple[float, float, float, float]:
    """First peak (r, g) and first minimum (r, g) of g(r), on a 3-bin running mean to damp bin noise.

    The peak is the maximum for r ≤ r_max/1.7, so that the window where the minimum is sought,
    (r_peak, 1.7 r_peak], lies inside the computed range; the cell must be large enough for the first peak to
    fall there (64 atoms suffice for the EMT metals: r_max/1.7 ≥ 2.7 Å against first peaks of 2.45–2.8 Å).
    """
    r = np.asarray(r, dtype=float)
    g = np.asarray(g, dtype=float)
    smooth = g.copy()
    smooth[1:-1] = (g[:-2] + g[1:-1] + g[2:]) / 3.0  # end bins keep their value: no zero padding at r_max
    searchable = np.flatnonzero(r <= r[-1] / FIRST_MINIMUM_WINDOW)
    if searchable.size < 2:
        raise InputError(None, None, f"g(r) range ends at {r[-1]:.2f} Å, too short to find its first shell")
    peak = int(searchable[np.argmax(smooth[searchable])])
    if not smooth[peak] > 0.0:
        raise InputError(
            None, None,
            f"no pair closer than {r[searchable[-1]]:.2f} Å (g(r) reaches {r[-1]:.2f} Å, half the cell; the first "
            f"shell is sought below {1 / FIRST_MINIMUM_WINDOW:.2f} of that): the cell is too small for the liquid "
            "checks, use more atoms",
        )  # fmt: skip
    # at least the next bin, for a peak so close to r = 0 that 1.7 r_peak falls inside its own bin
    end = max(peak + 2, int(np.searchsorted(r, FIRST_MINIMUM_WINDOW * r[peak], side="right")))
    window = np.arange(peak + 1, min(end, r.size))
    minimum = int(window[np.argmin(smooth[window])])
    return float(r[peak]), float(smooth[peak]), float(r[minimum]), float(smooth[minimum])


def coordination_numbers(gr: PairCorrelation, r_cut: float) -> dict[tuple[str, str], float]:
    """Mean number of b neighbours of an a atom within ``r_cut`` (Å), for every ordered species pair."""
    below = gr.r < r_cut
    out: dict[tuple[str, str], float] = {}
    for (a, b), per_bin in gr.pair_counts.items():
        pairs = float(per_bin[below].sum())
        if a == b:
            out[(a, a)] = 2.0 * pairs / gr.counts[a]
        else:
            out[(a, b)] = pairs / gr.counts[a]
            out[(b, a)] = pairs / gr.counts[b]
    return out


def warren_cowley_alpha(
    coordination: Mapping[tuple[str, str], float], counts: Mapping[str, int], a: str, b: str
) -> float:
    """First-shell Warren–Cowley α = 1 − Z_AB / (Z_A · N_B/(N − 1)): 0 random, > 0 like neighbours, < 0 unlike.

    N_B/(N − 1) rather than x_B is the random expectation in a finite cell: an A atom's possible neighbours
    are the N − 1 other atoms, N_B of which are B.
    """
    n = sum(counts.values())
    z_a = coordination[(a, a)] + coordination[(a, b)]
    return 1.0 - coordination[(a, b)] / (z_a * counts[b] / (n - 1))


@dataclass(frozen=True)
class ConcentrationFluctuation:
    """Bhatia–Thornton S_cc at the smallest cell wavevectors, normalised by x_A x_B (1 for random mixing)."""

    ratio_per_axis: tuple[float, float, float]
    ratio: float
    separated_ratio: float
    threshold: float
    phase_separated: bool


def separated_scc_ratio(n_atoms: int, x_b: float) -> float:
    """S_cc(q_min)/(x_A x_B) of two pure slabs normal to a cell axis: N sin²(π x_B) / (π² x_A x_B).

    The concentration profile is a square wave whose first Fourier component has amplitude
    N sin(π x_B)/π; squared and divided by N it gives S_cc.
    """
    return n_atoms * math.sin(math.pi * x_b) ** 2 / (math.pi**2 * x_b * (1.0 - x_b))


def concentration_fluctuation(frames: Frames, b: str) -> ConcentrationFluctuation:
    """S_cc(q)/(x_A x_B) at q = 2π × each reciprocal cell vector, averaged over frames; the largest decides.

    S_cc(q) = ⟨|Σ_j (c_j − x_B) exp(i q·r_j)|²⟩ / N with c_j = 1 for B atoms (Bhatia and Thornton, Phys. Rev.
    B 2, 3004 (1970)). Random mixing gives x_A x_B at any q ≠ 0 (ratio 1); a homogeneous liquid keeps an
    N-independent value, whereas two separated phases give a ratio growing with N (separated_scc_ratio). The
    threshold is the geometric mean of the two, sqrt(separated_scc_ratio): halfway on a log scale.
    """
    is_b = np.array([s == b for s in frames.symbols], dtype=float)
    n = is_b.size
    x_b = is_b.mean()
    if not 0.0 < x_b < 1.0:
        raise InputError(frames.source or None, None, f"S_cc needs a binary cell containing {b}")
    frac = _fractional(frames)  # q·r = 2π × fractional coordinate along each reciprocal vector
    amplitude = np.einsum("n,fnk->fk", is_b - x_b, np.exp(2j * np.pi * frac))
    s_cc = np.mean(np.abs(amplitude) ** 2, axis=0) / n
    ratios = s_cc / (x_b * (1.0 - x_b))
    separated = separated_scc_ratio(n, x_b)
    threshold = math.sqrt(separated)
    worst = float(ratios.max())
    return ConcentrationFluctuation(
        (float(ratios[0]), float(ratios[1]), float(ratios[2])), worst, separated, threshold, worst > threshold
    )


@dataclass(frozen=True)
class StructureCheck:
    """Liquid and mixing diagnostics of one run's production frames."""

    n_frames: int
    diffusion_m2_per_s: float
    r_peak_A: float
    r_min_A: float
    wendt_abraham_ratio: float
    liquid: bool
    coordination: dict[str, float]
    warren_cowley_alpha: float | None
    scc_ratio: float | None
    scc_threshold: float | None
    phase_separated: bool


def structure_check(frames: Frames, bin_width: float = DEFAULT_BIN_WIDTH_A) -> StructureCheck:
    """Liquid (diffusion and Wendt–Abraham ratio) and, for binaries, phase-separation checks of frames."""
    if len(frames.time_fs) < MIN_FRAMES:
        raise InputError(
            frames.source or None,
            None,
            f"structure check needs at least {MIN_FRAMES} frames, got {len(frames.time_fs)}",
        )
    diffusion = diffusion_coefficient(frames)
    gr = pair_correlation(frames, bin_width=bin_width)
    r_peak, g_peak, r_min, g_min = first_shell(gr.r, gr.total)
    ratio = g_min / g_peak
    liquid = diffusion > MIN_DIFFUSION_M2_PER_S and ratio > MIN_WENDT_ABRAHAM_RATIO
    coordination = coordination_numbers(gr, r_min)
    species = sorted(gr.counts)
    alpha = scc_ratio = scc_threshold = None
    separated = False
    if len(species) == 2:
        a, b = species
        alpha = warren_cowley_alpha(coordination, gr.counts, a, b)
        fluctuation = concentration_fluctuation(frames, b)
        scc_ratio, scc_threshold, separated = fluctuation.ratio, fluctuation.threshold, fluctuation.phase_separated
    elif len(species) > 2:
        raise InputError(frames.source or None, None, f"only pure and binary cells are analysed, got {species}")
    return StructureCheck(
        n_frames=len(frames.time_fs),
        diffusion_m2_per_s=diffusion,
        r_peak_A=r_peak,
        r_min_A=r_min,
        wendt_abraham_ratio=ratio,
        liquid=bool(liquid),
        coordination={f"{a}-{b}": z for (a, b), z in sorted(coordination.items())},
        warren_cowley_alpha=alpha,
        scc_ratio=scc_ratio,
        scc_threshold=scc_threshold,
        phase_separated=bool(separated),
    )
