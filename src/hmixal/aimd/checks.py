"""Run checks a referee asks of an AIMD run: conserved-energy drift, SCF at NELM, cavities, crystalline order.

Each check is a pure function returning a small frozen dataclass with the measured value, the threshold and
``flag`` (None, or a message naming the run); ``run_checks`` makes all of them for one run from its trace and
frames. A check whose input the engine does not produce (no ``scf_steps`` or ``conserved_eV`` column, no
NELM, no frames) is reported as not applicable, never estimated some other way.

- Drift: slope of the Nosé–Hoover conserved quantity E = F + EK + SP + SK (VASP's OSZICAR ``E``), in
  meV/atom/ps, fitted with one intercept per segment (VASP restarts the thermostat at SP = SK = 0, so the
  conserved quantity jumps between segments) and an SE inflated by the residuals' statistical
  inefficiency. Flagged when it exceeds the threshold and differs from zero by more than ``sigma_limit`` SE.
- SCF at NELM: VASP moves the ions on after NELM electronic iterations whether or not EDIFF was reached, so
  such a step has unconverged forces. Flagged when their fraction of the MD steps exceeds the threshold.
- Cavity: in each frame the radius of the largest sphere free of atom centres (grid search with periodic
  images, refined locally), divided by the nearest-neighbour distance r_nn (first peak of g(r)). A vacancy
  has ratio 1 and a dense liquid's own holes reach about that; a bubble (liquid under tension, or above its
  critical point) lasts and is larger. Flagged when more than a fraction of the frames exceed the ratio.
- Crystalline order: Steinhardt q6 vectors per atom over the neighbours within the first minimum of g(r);
  two neighbours are connected when their normalised q6 vectors have a dot product above 0.5, and an atom
  with at least 7 connections is solid-like (P. R. ten Wolde, M. J. Ruiz-Montero and D. Frenkel, J. Chem.
  Phys. 104, 9932 (1996)). Reported as the solid-like fraction averaged over the frames, over the last
  tenth of them, and its maximum. A liquid near its melting point forms short-lived ordered clusters (one
  frame of an EMT Ni liquid had 37 % solid-like atoms, the run's mean 4.5 %), so the flag is on the averages,
  not the maximum: a cell that crystallised, even late, ends with a solid-like final tenth.
Thresholds, their reasons and the measurements behind them: docs/aimd.md, "Run checks".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import sph_harm_y

from hmixal.aimd.frames import Frames, first_shell, pair_correlation
from hmixal.aimd.statistics import DRIFT_SIGMA_LIMIT, statistical_inefficiency
from hmixal.aimd.systems import run_label
from hmixal.aimd.trace import Trace
from hmixal.errors import InputError
from hmixal.settings import FromMapping

# Drift: a symptom of forces that are not the gradient of the energy being sampled (time step too long, SCF not
# converged) rather than a bias in itself, since the thermostat removes the heat. Over the paper's ≥ 10 ps
# production (seed §4.2) 1 meV/atom/ps amounts to 10 meV/atom ≈ 1 kJ/mol of spurious work, a fifth of the
# 4.9 kJ/mol cross-validated RMSE of the paper's model: larger drifts are errors the data set would resolve.
DEFAULT_MAX_DRIFT_MEV_PER_ATOM_PS = 1.0
# Unconverged SCF: an occasional step at NELM is harmless, a systematic fraction biases the forces.
DEFAULT_MAX_NELM_FRACTION = 0.01
# Cavity: largest empty-sphere radius / r_nn. Measured on 108-atom EMT liquids (asap3) over 100 frames each:
# near zero pressure (Cu 1500 and 2000 K, Al 1100 K, Ni 2000 K) the frame means are 0.89–1.01 and single
# frames reach 1.21; Cu at −16 kbar and 2000 K averages 1.17 and reaches 1.39; removing the 9–22 atoms within
# 3.5–5 Å of a point of a Cu liquid frame gives 1.26–1.57. A cavity is flagged when more than a tenth of the
# frames exceed 1.3 r_nn: a bubble that persists, not a fluctuation.
DEFAULT_MAX_CAVITY_RATIO = 1.3
DEFAULT_MAX_CAVITY_FRAME_FRACTION = 0.1
# Coarse grid of the empty-sphere search; the local refinement makes the result independent of it: on EMT liquid
# frames 0.5, 0.75 and 0.8 Å agree within 0.01 Å with a 0.12 Å grid search, 0.75 Å taking ~4 ms per frame.
DEFAULT_CAVITY_GRID_A = 0.75
# Order: the ten Wolde–Frenkel criterion; see the module docstring.
Q6_DEGREE = 6
TEN_WOLDE_MIN_DOT = 0.5
TEN_WOLDE_MIN_CONNECTIONS = 7
# Solid-like fraction, measured on the same liquids: run means 0.005–0.045, single frames up to 0.37 (Ni near
# its melting point, a transient cluster); fcc and bcc crystals with 0.1–0.2 Å random displacements ≥ 0.99.
# Flagged when the mean over all frames or over the last tenth exceeds 0.2: a crystallite of a fifth of the
# cell that lasts.
DEFAULT_MAX_SOLID_FRACTION = 0.2
FINAL_WINDOW_FRACTION = 0.1

_FS_PER_PS = 1000.0
_MEV_PER_EV = 1000.0


@dataclass(frozen=True)
class CheckSettings(FromMapping):
    """Thresholds of the run checks (defaults and their reasons in the module constants)."""

    SECTION: ClassVar[str] = "aimd checks"

    max_drift_meV_per_atom_ps: float = DEFAULT_MAX_DRIFT_MEV_PER_ATOM_PS
    drift_sigma_limit: float = DRIFT_SIGMA_LIMIT
    max_nelm_fraction: float = DEFAULT_MAX_NELM_FRACTION
    max_cavity_ratio: float = DEFAULT_MAX_CAVITY_RATIO
    max_cavity_frame_fraction: float = DEFAULT_MAX_CAVITY_FRAME_FRACTION
    cavity_grid_A: float = DEFAULT_CAVITY_GRID_A
    max_solid_fraction: float = DEFAULT_MAX_SOLID_FRACTION
    q6_min_dot: float = TEN_WOLDE_MIN_DOT
    q6_min_connections: int = TEN_WOLDE_MIN_CONNECTIONS
    neighbour_cutoff_A: float | None = None  # None: the first minimum of the run's g(r)

    def __post_init__(self) -> None:
        positive = ("max_drift_meV_per_atom_ps", "drift_sigma_limit", "max_cavity_ratio", "cavity_grid_A")
        for name in positive:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise InputError(None, None, f"aimd checks: {name} must be a positive number, got {value!r}")
        for name in ("max_nelm_fraction", "max_cavity_frame_fraction", "max_solid_fraction", "q6_min_dot"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise InputError(None, None, f"aimd checks: {name} must lie in [0, 1], got {value!r}")
        count = self.q6_min_connections
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise InputError(None, None, f"aimd checks: q6_min_connections must be a positive integer, got {count!r}")
        cut = self.neighbour_cutoff_A
        if cut is not None and (isinstance(cut, bool) or not isinstance(cut, int | float) or not cut > 0):
            raise InputError(None, None, f"aimd checks: neighbour_cutoff_A must be positive or null, got {cut!r}")


@dataclass(frozen=True)
class NotApplicable:
    """A check this run's data cannot support, and why (never replaced by an estimate)."""

    check: str
    reason: str
    flag: None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"applicable": False, "reason": self.reason}


@dataclass(frozen=True)
class DriftCheck:
    """Slope of the conserved quantity (meV/atom/ps) with its SE, fitted with one intercept per segment."""

    slope_meV_per_atom_ps: float
    slope_sem_meV_per_atom_ps: float
    span_ps: float
    n_steps: int
    n_segments: int
    threshold_meV_per_atom_ps: float
    sigma_limit: float
    flag: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"applicable": True, **asdict(self)}


@dataclass(frozen=True)
class ScfCheck:
    """MD steps whose SCF ran to NELM iterations (unconverged forces): count, fraction and the NELM values."""

    n_steps: int
    n_at_nelm: int
    fraction: float
    nelm: tuple[int, ...]
    max_scf_steps: int
    threshold_fraction: float
    flag: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"applicable": True, **asdict(self), "nelm": list(self.nelm)}


@dataclass(frozen=True)
class CavityCheck:
    """Largest empty-sphere radius per frame against the nearest-neighbour distance (first g(r) peak)."""

    n_frames: int
    r_nn_A: float
    radius_mean_A: float
    radius_max_A: float
    ratio_mean: float
    ratio_max: float
    worst_time_fs: float
    n_frames_over: int
    threshold_ratio: float
    threshold_frame_fraction: float
    grid_A: float
    flag: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"applicable": True, **asdict(self)}


@dataclass(frozen=True)
class OrderCheck:
    """Fraction of solid-like atoms (ten Wolde–Frenkel q6 criterion): mean over frames and the last tenth, max."""

    n_frames: int
    cutoff_A: float
    solid_fraction_mean: float
    solid_fraction_final: float
    n_final_frames: int
    solid_fraction_max: float
    worst_time_fs: float
    threshold_fraction: float
    min_dot: float
    min_connections: int
    flag: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"applicable": True, **asdict(self)}


@dataclass(frozen=True)
class RunChecks:
    """All checks of one run; inapplicable ones are NotApplicable."""

    label: str
    drift: DriftCheck | NotApplicable
    scf: ScfCheck | NotApplicable
    cavity: CavityCheck | NotApplicable
    order: OrderCheck | NotApplicable

    @property
    def flags(self) -> list[str]:
        """The messages of the checks that flagged this run."""
        return [c.flag for c in (self.drift, self.scf, self.cavity, self.order) if c.flag is not None]

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form: one entry per check plus the list of flags."""
        return {
            "label": self.label,
            "drift": self.drift.as_dict(),
            "scf": self.scf.as_dict(),
            "cavity": self.cavity.as_dict(),
            "order": self.order.as_dict(),
            "flags": self.flags,
        }


# ---------------------------------------------------------------------------------------------------------
# Conserved-energy drift


def conserved_drift(
    time_fs: Sequence[float] | np.ndarray,
    conserved_eV: Sequence[float] | np.ndarray,
    n_atoms: int,
    label: str,
    segment: Sequence[int] | np.ndarray | None = None,
    threshold_meV_per_atom_ps: float = DEFAULT_MAX_DRIFT_MEV_PER_ATOM_PS,
    sigma_limit: float = DRIFT_SIGMA_LIMIT,
) -> DriftCheck:
    """Pooled within-segment least-squares slope of the conserved energy, SE inflated by the residuals' g."""
    t = np.asarray(time_fs, dtype=float)
    e = np.asarray(conserved_eV, dtype=float)
    seg = np.zeros(t.size, dtype=int) if segment is None else np.asarray(segment, dtype=int)
    if t.shape != e.shape or t.shape != seg.shape or t.ndim != 1:
        raise InputError(None, None, f"drift of {label}: times, energies and segments differ in length")
    if not (np.isfinite(t).all() and np.isfinite(e).all()):
        raise InputError(None, None, f"drift of {label}: non-finite times or energies")
    if n_atoms < 1:
        raise InputError(None, None, f"drift of {label}: n_atoms must be positive, got {n_atoms}")
    labels, inverse = np.unique(seg, return_inverse=True)
    counts = np.bincount(inverse)
    tc = t - (np.bincount(inverse, t) / counts)[inverse]
    ec = e - (np.bincount(inverse, e) / counts)[inverse]
    sxx = float(tc @ tc)
    dof = t.size - labels.size - 1
    if sxx <= 0.0 or dof < 1:
        raise InputError(None, None, f"drift of {label}: too few steps per segment to fit a slope ({t.size} steps)")
    slope = float(tc @ ec) / sxx  # eV/fs
    residual = ec - slope * tc
    g = statistical_inefficiency(residual)
    slope_sem = math.sqrt(float(residual @ residual) / dof / sxx * g)
    scale = _MEV_PER_EV * _FS_PER_PS / n_atoms
    value, sem = slope * scale, slope_sem * scale
    span_ps = float(np.sum([np.ptp(t[inverse == k]) for k in range(labels.size)])) / _FS_PER_PS
    flag = None
    if abs(value) > threshold_meV_per_atom_ps and abs(value) > sigma_limit * sem:
        flag = (
            f"{label}: conserved energy drifts by {value:+.2f} ± {sem:.2f} meV/atom/ps over {span_ps:.2f} ps "
            f"(limit {threshold_meV_per_atom_ps:g}): shorten POTIM or tighten EDIFF"
        )
    return DriftCheck(value, sem, span_ps, int(t.size), int(labels.size), threshold_meV_per_atom_ps, sigma_limit, flag)


# ---------------------------------------------------------------------------------------------------------
# SCF iterations at NELM


def scf_at_nelm(
    scf_steps: Sequence[int] | np.ndarray,
    nelm: int | Sequence[int] | np.ndarray,
    label: str,
    threshold_fraction: float = DEFAULT_MAX_NELM_FRACTION,
) -> ScfCheck:
    """Count the MD steps whose electronic iterations reached NELM (one NELM, or one per step)."""
    steps = np.asarray(scf_steps, dtype=float)
    limit = np.broadcast_to(np.asarray(nelm, dtype=float), steps.shape) if steps.ndim == 1 else None
    if limit is None or steps.size == 0:
        raise InputError(None, None, f"SCF check of {label}: needs a 1-d series of iteration counts")
    if not (np.isfinite(steps).all() and (steps == np.round(steps)).all() and (steps >= 0).all()):
        raise InputError(None, None, f"SCF check of {label}: iteration counts must be non-negative integers")
    if not (limit >= 1).all():
        raise InputError(None, None, f"SCF check of {label}: NELM must be a positive integer")
    if (steps > limit).any():
        k = int(np.flatnonzero(steps > limit)[0])
        raise InputError(None, None, f"SCF check of {label}: step {k + 1} has {int(steps[k])} iterations > NELM")
    at = steps >= limit
    n_at = int(at.sum())
    fraction = n_at / steps.size
    flag = None
    if fraction > threshold_fraction:
        flag = (
            f"{label}: {n_at} of {steps.size} MD steps ({100 * fraction:.1f} %) ran to NELM, their SCF "
            f"unconverged (limit {100 * threshold_fraction:g} %): raise NELM or change ALGO"
        )
    values = tuple(sorted({int(v) for v in limit}))
    return ScfCheck(int(steps.size), n_at, fraction, values, int(steps.max()), threshold_fraction, flag)


# ---------------------------------------------------------------------------------------------------------
# Geometry shared by the structural checks


def _half_width(cell: np.ndarray) -> float:
    volume = abs(float(np.linalg.det(cell)))
    return 0.5 * min(volume / float(np.linalg.norm(np.cross(cell[i], cell[j]))) for i, j in ((1, 2), (2, 0), (0, 1)))


def first_shell_distances(frames: Frames) -> tuple[float, float]:
    """Nearest-neighbour distance (first g(r) peak) and first minimum of g(r), Å, over all frames."""
    gr = pair_correlation(frames)
    r_peak, _, r_min, _ = first_shell(gr.r, gr.total)
    return r_peak, r_min


_SHIFTS = np.array([[i, j, k] for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)], dtype=float)


def _periodic_tree(positions: np.ndarray, cell: np.ndarray) -> cKDTree:
    """A KD-tree of the atoms wrapped into the cell plus their 26 neighbouring images."""
    frac = np.linalg.solve(cell.T, positions.T).T
    frac -= np.floor(frac)
    images = (frac[None, :, :] + _SHIFTS[:, None, :]).reshape(-1, 3) @ cell
    return cKDTree(images)


def largest_empty_radius(positions: np.ndarray, cell: np.ndarray, grid_A: float = DEFAULT_CAVITY_GRID_A) -> float:
    """Radius (Å) of the largest sphere free of atom centres in one periodic frame.

    Distances from a grid of spacing ≤ ``grid_A`` to the nearest atom (26 periodic images, so any cell not
    sheared beyond half a lattice vector) are maximised, then refined three times on finer local grids around
    the eight best points. The result is a lower bound of the exact radius, within 0.01 Å of it on the
    liquid frames measured (DEFAULT_CAVITY_GRID_A).
    """
    tree = _periodic_tree(positions, cell)
    n = np.maximum(1, np.ceil(np.linalg.norm(cell, axis=1) / grid_A).astype(int))
    axes = [np.arange(k) / k for k in n]
    frac = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    points = frac @ cell
    distance, _ = tree.query(points)
    order = np.argsort(distance)[-8:]  # the best few: the global maximum may sit next to any of them
    best_points, best = points[order], distance[order]
    step = np.linalg.norm(cell, axis=1) / n
    offsets = np.stack(np.meshgrid(*([np.linspace(-1.0, 1.0, 5)] * 3), indexing="ij"), axis=-1).reshape(-1, 3)
    for _ in range(3):
        trial = (best_points[:, None, :] + (offsets * step / 2.0)[None, :, :]).reshape(-1, 3)
        d, _ = tree.query(trial)
        d = d.reshape(len(best_points), -1)
        pick = np.argmax(d, axis=1)
        best_points = trial.reshape(len(best_points), -1, 3)[np.arange(len(best_points)), pick]
        best = d[np.arange(len(best_points)), pick]
        step = step / 2.0
    return float(best.max())


def cavity_check(
    frames: Frames,
    label: str,
    r_nn_A: float | None = None,
    threshold_ratio: float = DEFAULT_MAX_CAVITY_RATIO,
    threshold_frame_fraction: float = DEFAULT_MAX_CAVITY_FRAME_FRACTION,
    grid_A: float = DEFAULT_CAVITY_GRID_A,
) -> CavityCheck:
    """Largest empty sphere of each frame over r_nn (first g(r) peak); flagged if too many frames exceed it."""
    if len(frames.time_fs) == 0:
        raise InputError(frames.source or None, None, f"cavity check of {label}: no frames")
    r_nn = first_shell_distances(frames)[0] if r_nn_A is None else float(r_nn_A)
    radii = np.array(
        [largest_empty_radius(frames.positions[k], frames.cells[k], grid_A) for k in range(len(frames.time_fs))]
    )
    ratios = radii / r_nn
    worst = int(np.argmax(ratios))
    over = int((ratios > threshold_ratio).sum())
    flag = None
    if over > threshold_frame_fraction * ratios.size:
        flag = (
            f"{label}: {over} of {ratios.size} frames hold an empty sphere larger than {threshold_ratio:g} r_nn "
            f"(largest {radii[worst]:.2f} Å = {ratios[worst]:.2f} r_nn at {frames.time_fs[worst]:.0f} fs; limit "
            f"{100 * threshold_frame_fraction:g} % of frames): a cavity, the liquid is under tension or boiling; "
            "check the volume and the pressure"
        )
    return CavityCheck(
        n_frames=int(ratios.size),
        r_nn_A=r_nn,
        radius_mean_A=float(radii.mean()),
        radius_max_A=float(radii[worst]),
        ratio_mean=float(ratios.mean()),
        ratio_max=float(ratios[worst]),
        worst_time_fs=float(frames.time_fs[worst]),
        n_frames_over=over,
        threshold_ratio=threshold_ratio,
        threshold_frame_fraction=threshold_frame_fraction,
        grid_A=grid_A,
        flag=flag,
    )


# ---------------------------------------------------------------------------------------------------------
# Crystalline order: Steinhardt q6 and the ten Wolde–Frenkel solid-like count


def _neighbour_bonds(
    positions: np.ndarray, cell: np.ndarray, cutoff: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ordered neighbour pairs (i, j) within ``cutoff`` by minimum image, and the bond vectors j − i (Å)."""
    frac = np.linalg.solve(cell.T, positions.T).T
    d = frac[None, :, :] - frac[:, None, :]
    d -= np.round(d)
    vectors = d @ cell
    r2 = np.einsum("ijk,ijk->ij", vectors, vectors)
    np.fill_diagonal(r2, np.inf)
    i, j = np.nonzero(r2 < cutoff * cutoff)
    return i, j, vectors[i, j]


def q6_vectors(positions: np.ndarray, cell: np.ndarray, cutoff: float, degree: int = Q6_DEGREE) -> np.ndarray:
    """Normalised Steinhardt q_lm vectors (N × (l+1), m = 0…l; negative m follow by symmetry) of one frame.

    q_lm(i) is the mean of Y_lm over the bonds of atom i within ``cutoff``; atoms without neighbours get 0.
    """
    n = positions.shape[0]
    i, _, vectors = _neighbour_bonds(positions, cell, cutoff)
    r = np.linalg.norm(vectors, axis=1)
    polar = np.arccos(np.clip(vectors[:, 2] / r, -1.0, 1.0))
    azimuth = np.arctan2(vectors[:, 1], vectors[:, 0])
    m = np.arange(degree + 1)
    harmonics = sph_harm_y(degree, m[None, :], polar[:, None], azimuth[:, None])  # bonds × (l+1)
    q = np.zeros((n, degree + 1), dtype=complex)
    np.add.at(q, i, harmonics)
    counts = np.bincount(i, minlength=n)
    q[counts > 0] /= counts[counts > 0, None]
    # Σ_{m=−l..l} |q_lm|² = |q_l0|² + 2 Σ_{m>0} |q_lm|², since q_l,−m = (−1)^m q_lm*
    weights = np.where(m == 0, 1.0, 2.0)
    norm = np.sqrt(np.sum(weights * np.abs(q) ** 2, axis=1))
    q[norm > 0] /= norm[norm > 0, None]
    return q


def solid_like(
    positions: np.ndarray,
    cell: np.ndarray,
    cutoff: float,
    min_dot: float = TEN_WOLDE_MIN_DOT,
    min_connections: int = TEN_WOLDE_MIN_CONNECTIONS,
) -> np.ndarray:
    """Boolean per atom: at least ``min_connections`` neighbours whose q6·q6* exceeds ``min_dot`` (ten Wolde)."""
    q = q6_vectors(positions, cell, cutoff)
    i, j, _ = _neighbour_bonds(positions, cell, cutoff)
    weights = np.where(np.arange(q.shape[1]) == 0, 1.0, 2.0)
    dots = np.sum(weights * (q[i] * np.conj(q[j])).real, axis=1)
    connections = np.bincount(i[dots > min_dot], minlength=positions.shape[0])
    return connections >= min_connections


def order_check(
    frames: Frames,
    label: str,
    cutoff_A: float | None = None,
    threshold_fraction: float = DEFAULT_MAX_SOLID_FRACTION,
    min_dot: float = TEN_WOLDE_MIN_DOT,
    min_connections: int = TEN_WOLDE_MIN_CONNECTIONS,
) -> OrderCheck:
    """Solid-like fraction per frame; flagged when its mean over all frames or over the last tenth is too high."""
    n_frames = len(frames.time_fs)
    if n_frames == 0:
        raise InputError(frames.source or None, None, f"order check of {label}: no frames")
    cutoff = first_shell_distances(frames)[1] if cutoff_A is None else float(cutoff_A)
    limit = min(_half_width(cell) for cell in frames.cells)
    if cutoff >= limit:
        raise InputError(
            frames.source or None, None,
            f"order check of {label}: neighbour cutoff {cutoff:.2f} Å reaches half the cell width {limit:.2f} Å",
        )  # fmt: skip
    fractions = np.array(
        [
            solid_like(frames.positions[k], frames.cells[k], cutoff, min_dot, min_connections).mean()
            for k in range(n_frames)
        ]
    )
    worst = int(np.argmax(fractions))
    n_final = max(1, round(FINAL_WINDOW_FRACTION * n_frames))
    mean, final = float(fractions.mean()), float(fractions[-n_final:].mean())
    flag = None
    if max(mean, final) > threshold_fraction:
        flag = (
            f"{label}: {100 * mean:.0f} % of the atoms are solid-like (q6, ten Wolde–Frenkel) on average, "
            f"{100 * final:.0f} % over the last {n_final} frames (limit {100 * threshold_fraction:g} %): the cell "
            "is crystallising; raise the temperature or check the composition"
        )
    return OrderCheck(
        n_frames=n_frames,
        cutoff_A=cutoff,
        solid_fraction_mean=mean,
        solid_fraction_final=final,
        n_final_frames=n_final,
        solid_fraction_max=float(fractions[worst]),
        worst_time_fs=float(frames.time_fs[worst]),
        threshold_fraction=threshold_fraction,
        min_dot=min_dot,
        min_connections=min_connections,
        flag=flag,
    )


# ---------------------------------------------------------------------------------------------------------
# One run


def _segment_of_rows(trace: Trace) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Segment index of each row of the trace from its metadata (one segment when there is none)."""
    n = len(trace.table)
    segments = trace.metadata.get("segments")
    if not segments:
        return np.zeros(n, dtype=int), []
    sizes = [int(s.get("n_steps", -1)) for s in segments]
    if sum(sizes) != n or min(sizes) < 0:
        raise InputError(
            trace.source or None, None,
            f"trace metadata lists segments of {sizes} steps but the table has {n} rows",
        )  # fmt: skip
    return np.repeat(np.arange(len(sizes)), sizes), list(segments)


def _label(trace: Trace) -> str:
    name = f"{run_label(trace.composition, trace.target_temperature_K)} ({trace.engine})"
    return f"{name} [{trace.source}]" if trace.source else name


def run_checks(
    trace: Trace,
    frames: Frames | None,
    settings: CheckSettings = CheckSettings(),
    start_fs: float = 0.0,
    label: str | None = None,
) -> RunChecks:
    """All checks of one run on its steps and frames at or after ``start_fs`` (the production window)."""
    name = label or _label(trace)
    table = trace.table
    segment, segments = _segment_of_rows(trace)
    keep = table["time_fs"].to_numpy() >= start_fs
    if keep.sum() < 3:
        raise InputError(trace.source or None, None, f"{name}: fewer than 3 steps at or after {start_fs} fs")

    drift: DriftCheck | NotApplicable
    if "conserved_eV" not in table:
        drift = NotApplicable("drift", f"the {trace.engine} trace has no conserved_eV column")
    else:
        drift = conserved_drift(
            table["time_fs"].to_numpy()[keep], table["conserved_eV"].to_numpy()[keep], trace.n_atoms, name,
            segment[keep], settings.max_drift_meV_per_atom_ps, settings.drift_sigma_limit,
        )  # fmt: skip

    scf: ScfCheck | NotApplicable
    nelm = _nelm_per_row(trace, segments)
    if "scf_steps" not in table:
        scf = NotApplicable("scf", f"the {trace.engine} trace has no scf_steps column")
    elif nelm is None:
        scf = NotApplicable("scf", "NELM is not recorded in the trace metadata")
    else:
        scf = scf_at_nelm(table["scf_steps"].to_numpy()[keep], nelm[keep], name, settings.max_nelm_fraction)

    cavity: CavityCheck | NotApplicable
    order: OrderCheck | NotApplicable
    production = frames.after(start_fs) if frames is not None else None
    if production is None or len(production.time_fs) == 0:
        why = "no frames" if frames is None else f"no frames at or after {start_fs} fs"
        cavity, order = NotApplicable("cavity", why), NotApplicable("order", why)
    else:
        r_nn, r_min = first_shell_distances(production)
        cavity = cavity_check(
            production, name, r_nn, settings.max_cavity_ratio, settings.max_cavity_frame_fraction,
            settings.cavity_grid_A,
        )  # fmt: skip
        cutoff = settings.neighbour_cutoff_A if settings.neighbour_cutoff_A is not None else r_min
        order = order_check(
            production, name, cutoff, settings.max_solid_fraction, settings.q6_min_dot, settings.q6_min_connections
        )
    return RunChecks(name, drift, scf, cavity, order)


def _nelm_per_row(trace: Trace, segments: list[dict[str, Any]]) -> np.ndarray | None:
    """NELM of each row: per segment when every segment records it, else the run's single value, else None."""
    n = len(trace.table)
    if segments and all("nelm" in s and s["nelm"] is not None for s in segments):
        return np.repeat([float(s["nelm"]) for s in segments], [int(s["n_steps"]) for s in segments])
    value = trace.metadata.get("nelm")
    if value is None:
        return None
    return np.full(n, float(value))
