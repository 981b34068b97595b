"""Engine-agnostic analysis of liquid MD runs: equilibration, block averages, enthalpy, ΔH_mix, structure checks.

Input is a per-step table (``step, time_fs, temperature_K, etotal_eV, epot_eV, pressure_kbar``, optionally
``volume_A3``; energies are cell totals in eV, the pressure includes the kinetic term) with metadata
(composition, target temperature, ensemble, engine), plus a trajectory of frames for the structural checks.
The VASP parser and the EMT engine both produce these. Choices, thresholds and sources: docs/aimd_emt.md.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hmixal.dataset import TABLE_COLUMNS
from hmixal.elements import ELEMENTS
from hmixal.errors import InputError
from hmixal.io import write_csv, write_text

TRACE_COLUMNS: tuple[str, ...] = ("step", "time_fs", "temperature_K", "etotal_eV", "epot_eV", "pressure_kbar")
# Kept when present: cell volume; the conserved quantity of the thermostatted dynamics (drift check); the
# electronic internal energy F + TS (Fermi smearing: H uses it); SCF iterations per MD step (NELM check).
OPTIONAL_TRACE_COLUMNS: tuple[str, ...] = ("volume_A3", "conserved_eV", "eint_eV", "scf_steps")
ENSEMBLES: tuple[str, ...] = ("NVT", "NPT")
# How H per atom is formed from the trace (docs/aimd_emt.md, "Enthalpy"):
#   etotal        H = <E_tot>/N              VASP NVT at |P| <= 2 kbar (the paper's definition)
#   epot_kinetic  H = <E_pot>/N + 3/2 k_B T  NPT at P_ext = 0; the kinetic term is exact
#   internal      H = <E_int + E_kin>/N      electrons at the ionic temperature (Fermi smearing): E_int = F + TS
ENTHALPY_METHODS: tuple[str, ...] = ("etotal", "epot_kinetic", "internal")

BOLTZMANN_EV_PER_K = 8.617333262e-5  # k_B / e, exact in the 2019 SI (truncated as in CODATA 2018)
EV_TO_KJ_PER_MOL = 96.48533212  # e · N_A / 1000 (CODATA 2018)
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
DEFAULT_MIN_BLOCKS = 8
DEFAULT_MIN_DISCARD_FRACTION = 0.1
DEFAULT_MAX_DISCARD_FRACTION = 0.5
DEFAULT_EQUILIBRATION_CANDIDATES = 100
DEFAULT_PRESSURE_TOLERANCE_KBAR = 2.0  # the paper's volume criterion (seed §4.2)
DRIFT_SIGMA_LIMIT = 3.0
# Diffusion fit window, as fractions of the analysed time span: past the ballistic/cage regime (< 1 ps in
# liquid metals) and short enough that many time origins contribute to each lag.
MSD_FIT_WINDOW: tuple[float, float] = (0.2, 0.5)
MIN_FRAMES = 5

_META_LINE = re.compile(r"^#\s*([A-Za-z_][A-Za-z0-9_]*):\s*(.*?)\s*$")
_REQUIRED_META = ("composition", "target_temperature_K", "ensemble", "engine")


# ---------------------------------------------------------------------------------------------------------
# The per-step table


@dataclass(frozen=True)
class Trace:
    """A validated per-step table of one MD run with its metadata (composition, target T, ensemble, engine)."""

    table: pd.DataFrame
    composition: dict[str, int]
    target_temperature_K: float
    ensemble: str
    engine: str
    source: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def n_atoms(self) -> int:
        """Number of atoms in the cell."""
        return sum(self.composition.values())


def _check_composition(value: object, source: str) -> dict[str, int]:
    if not isinstance(value, Mapping) or not value:
        raise InputError(source, None, f"composition must be a non-empty mapping element → count, got {value!r}")
    out: dict[str, int] = {}
    for symbol, count in value.items():
        if symbol not in ELEMENTS:
            raise InputError(source, None, f"composition: unknown element {symbol!r}")
        if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 0:
            raise InputError(source, None, f"composition: count of {symbol} must be a non-negative integer")
        if count > 0:
            out[str(symbol)] = int(count)
    if not out:
        raise InputError(source, None, "composition has no atoms")
    return dict(sorted(out.items()))


def make_trace(
    table: pd.DataFrame,
    composition: Mapping[str, int],
    target_temperature_K: float,
    ensemble: str,
    engine: str,
    source: str = "",
    metadata: Mapping[str, Any] | None = None,
    header_line: int | None = None,
) -> Trace:
    """Validate a per-step table and wrap it as a Trace (``header_line``: its line in a file, for messages)."""

    def line(row: int | None = None) -> int | None:
        if header_line is None:
            return None
        return header_line if row is None else header_line + 1 + row

    missing = [c for c in TRACE_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(source, line(), f"missing column(s): {', '.join(missing)} (need {', '.join(TRACE_COLUMNS)})")
    counts = _check_composition(composition, source)
    if isinstance(target_temperature_K, bool) or not isinstance(target_temperature_K, int | float | np.number):
        raise InputError(source, None, f"target temperature must be a number, got {target_temperature_K!r}")
    if not math.isfinite(target_temperature_K) or target_temperature_K <= 0:
        raise InputError(source, None, f"target temperature must be positive, got {target_temperature_K!r}")
    if ensemble not in ENSEMBLES:
        raise InputError(source, None, f"ensemble must be one of {', '.join(ENSEMBLES)}, got {ensemble!r}")
    columns = [*TRACE_COLUMNS, *(c for c in OPTIONAL_TRACE_COLUMNS if c in table.columns)]
    raw = table.reset_index(drop=True)
    clean = pd.DataFrame(index=raw.index)
    for column in columns:
        values = pd.to_numeric(raw[column], errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            row = int(bad[0])
            raise InputError(source, line(row), f"column {column}: {raw[column].iloc[row]!r} is not a finite number")
        clean[column] = values
    if len(clean) < 2:
        raise InputError(source, None, f"a trace needs at least 2 steps, got {len(clean)}")
    if (clean["step"] != np.round(clean["step"])).any():
        row = int(np.flatnonzero(clean["step"] != np.round(clean["step"]))[0])
        raise InputError(source, line(row), "column step must hold integers")
    for column in ("step", "time_fs"):
        not_increasing = np.flatnonzero(np.diff(clean[column].to_numpy()) <= 0)
        if not_increasing.size:
            raise InputError(source, line(int(not_increasing[0]) + 1), f"column {column} must increase strictly")
    for column, lowest in (("temperature_K", "negative"), ("volume_A3", "not positive")):
        if column not in clean:
            continue
        values = clean[column].to_numpy()
        bad = np.flatnonzero(values < 0 if column == "temperature_K" else values <= 0)
        if bad.size:
            raise InputError(source, line(int(bad[0])), f"{column} is {lowest}")
    clean["step"] = clean["step"].astype(np.int64)
    return Trace(clean, counts, float(target_temperature_K), ensemble, str(engine), source, dict(metadata or {}))


def write_trace(trace: Trace, path: str | Path) -> None:
    """Write a trace as CSV with ``# key: JSON`` metadata lines before the header (atomically)."""
    meta: dict[str, Any] = {
        "composition": trace.composition,
        "n_atoms": trace.n_atoms,
        "target_temperature_K": trace.target_temperature_K,
        "ensemble": trace.ensemble,
        "engine": trace.engine,
        **{k: v for k, v in trace.metadata.items() if k not in {"composition", "n_atoms"}},
    }
    lines = ["# hmixal MD trace (docs/aimd_emt.md): energies are cell totals in eV; P includes the kinetic term"]
    lines += [f"# {key}: {json.dumps(value, sort_keys=True)}" for key, value in meta.items()]
    body = trace.table.to_csv(index=False, float_format="%.10g", lineterminator="\n")
    write_text("\n".join(lines) + "\n" + body, path)


def read_trace(path: str | Path) -> Trace:
    """Read a trace written by :func:`write_trace` (the VASP parser writes the same format)."""
    path = Path(path)
    source = str(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise InputError(source, None, f"not UTF-8 text: {error.reason}") from None
    meta: dict[str, Any] = {}
    header = None
    for number, text in enumerate(lines, start=1):
        stripped = text.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            match = _META_LINE.match(stripped)
            if match:
                try:
                    meta[match.group(1)] = json.loads(match.group(2))
                except json.JSONDecodeError as error:
                    raise InputError(source, number, f"metadata {match.group(1)}: not JSON ({error.msg})") from None
            continue
        header = number
        break
    if header is None:
        raise InputError(source, None, "no header line")
    absent = [key for key in _REQUIRED_META if key not in meta]
    if absent:
        raise InputError(source, header, "missing metadata line(s): " + ", ".join(f"'# {k}: …'" for k in absent))
    try:
        table = pd.read_csv(io.StringIO("\n".join(lines[header - 1 :])), dtype=str, keep_default_na=False)
    except pd.errors.ParserError as error:
        raise InputError(source, None, f"CSV syntax: {error}") from None
    counts = _check_composition(meta["composition"], source)
    if "n_atoms" in meta and meta["n_atoms"] != sum(counts.values()):
        raise InputError(source, None, f"n_atoms {meta['n_atoms']} is not the sum of the composition {counts}")
    extra = {k: v for k, v in meta.items() if k not in {*_REQUIRED_META, "n_atoms"}}
    return make_trace(
        table, counts, meta["target_temperature_K"], str(meta["ensemble"]), str(meta["engine"]), source, extra, header
    )


# ---------------------------------------------------------------------------------------------------------
# Statistics of a correlated series


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


# ---------------------------------------------------------------------------------------------------------
# Enthalpy of one liquid


@dataclass(frozen=True)
class EnthalpyEstimate:
    """H per atom (kJ/mol) of one run with its SE, the production window and the thermodynamic checks."""

    h_kJ_per_mol: float
    sem_kJ_per_mol: float
    sem_converged: bool
    method: str
    start_index: int
    start_time_fs: float
    detected_start_index: int
    n_samples: int
    n_effective: float
    block_size: int
    drift_kJ_per_mol: float
    drift_sigma: float
    mean_temperature_K: float
    temperature_sem_K: float
    mean_pressure_kbar: float
    pressure_sem_kbar: float
    mean_volume_A3_per_atom: float | None


def enthalpy(
    trace: Trace,
    method: str,
    min_discard_fraction: float = DEFAULT_MIN_DISCARD_FRACTION,
    min_blocks: int = DEFAULT_MIN_BLOCKS,
) -> EnthalpyEstimate:
    """H per atom in kJ/mol after discarding equilibration (docs/aimd_emt.md, "Enthalpy")."""
    if method not in ENTHALPY_METHODS:
        raise InputError(
            trace.source or None, None, f"enthalpy method must be one of {ENTHALPY_METHODS}, got {method!r}"
        )
    table = trace.table
    n = trace.n_atoms
    if method == "etotal":
        per_atom = table["etotal_eV"].to_numpy() / n
    elif method == "internal":
        if "eint_eV" not in table:
            raise InputError(trace.source or None, None, "enthalpy method 'internal' needs the eint_eV column")
        kinetic = table["etotal_eV"].to_numpy() - table["epot_eV"].to_numpy()
        per_atom = (table["eint_eV"].to_numpy() + kinetic) / n
    else:
        per_atom = table["epot_eV"].to_numpy() / n + 1.5 * BOLTZMANN_EV_PER_K * trace.target_temperature_K
    series = per_atom * EV_TO_KJ_PER_MOL
    equilibration = detect_equilibration(series, min_discard_fraction)
    start = equilibration.start
    kept = series[start:]
    if kept.size < 2 * min_blocks:
        raise InputError(
            trace.source or None, None,
            f"only {kept.size} samples after equilibration; need at least {2 * min_blocks}: record more often "
            "(the engine's sample interval) or run the stage longer",
        )  # fmt: skip
    h = block_average(kept, min_blocks)
    drift = drift_test(table["time_fs"].to_numpy()[start:], kept)
    temperature = block_average(table["temperature_K"].to_numpy()[start:], min_blocks)
    pressure = block_average(table["pressure_kbar"].to_numpy()[start:], min_blocks)
    volume = float(table["volume_A3"].to_numpy()[start:].mean()) / n if "volume_A3" in table else None
    return EnthalpyEstimate(
        h_kJ_per_mol=h.mean,
        sem_kJ_per_mol=h.sem,
        sem_converged=h.converged,
        method=method,
        start_index=start,
        start_time_fs=float(table["time_fs"].iloc[start]),
        detected_start_index=equilibration.detected_start,
        n_samples=int(kept.size),
        n_effective=equilibration.n_effective,
        block_size=h.block_size,
        drift_kJ_per_mol=drift.change,
        drift_sigma=drift.sigma,
        mean_temperature_K=temperature.mean,
        temperature_sem_K=temperature.sem,
        mean_pressure_kbar=pressure.mean,
        pressure_sem_kbar=pressure.sem,
        mean_volume_A3_per_atom=volume,
    )


def mixing_enthalpy(
    h_alloy: float, sem_alloy: float, h_a: float, sem_a: float, h_b: float, sem_b: float, x_b: float
) -> tuple[float, float]:
    """ΔH_mix = H_AB − x_A H_A − x_B H_B and its SE (independent runs: errors add in quadrature)."""
    if not 0.0 < x_b < 1.0:
        raise InputError(None, None, f"x_B must lie in (0, 1), got {x_b!r}")
    x_a = 1.0 - x_b
    value = h_alloy - x_a * h_a - x_b * h_b
    return value, math.sqrt(sem_alloy**2 + (x_a * sem_a) ** 2 + (x_b * sem_b) ** 2)


# ---------------------------------------------------------------------------------------------------------
# Trajectory frames and structure


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


# ---------------------------------------------------------------------------------------------------------
# One run, one binary, the results table


@dataclass(frozen=True)
class RunAnalysis:
    """Everything the ΔH_mix step needs from one run: who it is, its enthalpy and its structure checks."""

    source: str
    composition: dict[str, int]
    target_temperature_K: float
    ensemble: str
    engine: str
    enthalpy: EnthalpyEstimate
    structure: StructureCheck

    def to_json(self) -> str:
        """The analysis as sorted JSON (for the run's analysis file)."""
        return json.dumps(asdict(self), sort_keys=True, indent=1) + "\n"


def analyse_run(
    trace: Trace,
    frames: Frames,
    method: str,
    min_discard_fraction: float = DEFAULT_MIN_DISCARD_FRACTION,
    min_blocks: int = DEFAULT_MIN_BLOCKS,
    bin_width: float = DEFAULT_BIN_WIDTH_A,
) -> RunAnalysis:
    """Enthalpy from the trace and structure checks from the frames of its production window."""
    if frames.counts() != trace.composition:
        raise InputError(
            frames.source or None,
            None,
            f"trajectory atoms {frames.counts()} do not match the trace composition {trace.composition}",
        )
    h = enthalpy(trace, method, min_discard_fraction, min_blocks)
    production = frames.after(h.start_time_fs)
    return RunAnalysis(
        trace.source,
        trace.composition,
        trace.target_temperature_K,
        trace.ensemble,
        trace.engine,
        h,
        structure_check(production, bin_width),
    )


def _fmt(value: float, digits: int = 3) -> str:
    return f"{value:.{digits}g}"


def _label(run: RunAnalysis) -> str:
    return "".join(f"{symbol}{n}" for symbol, n in run.composition.items())


def _warnings(run: RunAnalysis, pressure_tolerance_kbar: float) -> list[str]:
    h = run.enthalpy
    label = _label(run)
    notes = []
    if not h.sem_converged:
        notes.append(f"{label}: blocking SE did not reach a plateau (error bar is a lower bound)")
    if h.drift_sigma > DRIFT_SIGMA_LIMIT:
        notes.append(f"{label}: H drifts by {h.drift_kJ_per_mol:+.3f} kJ/mol ({h.drift_sigma:.1f} sigma)")
    if abs(h.mean_pressure_kbar) > max(pressure_tolerance_kbar, 3.0 * h.pressure_sem_kbar):
        notes.append(f"{label}: mean pressure {h.mean_pressure_kbar:+.2f} kbar outside ±{pressure_tolerance_kbar:g}")
    if abs(h.mean_temperature_K - run.target_temperature_K) > max(
        3.0 * h.temperature_sem_K, 0.01 * run.target_temperature_K
    ):
        notes.append(f"{label}: mean T {h.mean_temperature_K:.1f} K vs target {run.target_temperature_K:g} K")
    return notes


def binary_result(
    alloy: RunAnalysis,
    pure_a: RunAnalysis,
    pure_b: RunAnalysis,
    reference: str,
    sources: Sequence[str],
    pressure_tolerance_kbar: float = DEFAULT_PRESSURE_TOLERANCE_KBAR,
) -> dict[str, Any]:
    """One results row (dataset contract + status, comment) from an alloy run and the two pure-liquid runs.

    status: ``value``; ``phase_separation`` when the alloy demixed (the paper's X; no value); ``not_computed``
    when any of the three runs is not liquid (the comment says which and why).
    """
    species = sorted(alloy.composition)
    if len(species) != 2:
        raise InputError(alloy.source or None, None, f"the alloy run must hold two elements, got {alloy.composition}")
    a, b = species
    pures = {}
    for run in (pure_a, pure_b):
        if len(run.composition) != 1 or next(iter(run.composition)) not in species:
            raise InputError(run.source or None, None, f"expected a pure {a} or {b} run, got {run.composition}")
        pures[next(iter(run.composition))] = run
    if set(pures) != {a, b}:
        raise InputError(None, None, f"need one pure run of each of {a} and {b}, got {sorted(pures)}")
    runs = (alloy, pures[a], pures[b])
    temperatures = {run.target_temperature_K for run in runs}
    if len(temperatures) != 1:
        raise InputError(None, None, f"the three runs must share one temperature, got {sorted(temperatures)}")
    methods = {run.enthalpy.method for run in runs}
    if len(methods) != 1:
        raise InputError(None, None, f"the three runs must use one enthalpy method, got {sorted(methods)}")
    x_b = alloy.composition[b] / sum(alloy.composition.values())
    value, sem = mixing_enthalpy(
        alloy.enthalpy.h_kJ_per_mol,
        alloy.enthalpy.sem_kJ_per_mol,
        pures[a].enthalpy.h_kJ_per_mol,
        pures[a].enthalpy.sem_kJ_per_mol,
        pures[b].enthalpy.h_kJ_per_mol,
        pures[b].enthalpy.sem_kJ_per_mol,
        x_b,
    )
    s = alloy.structure
    comment = [
        f"dH {value:+.3f} ± {sem:.3f} kJ/mol",
        f"S_cc(q_min)/xAxB {_fmt(s.scc_ratio or 0.0)} (separated above {_fmt(s.scc_threshold or 0.0)})",
        f"Warren-Cowley alpha {s.warren_cowley_alpha:+.3f}",
    ]
    not_liquid = []
    for run in runs:
        label = _label(run)
        st = run.structure
        comment.append(f"{label}: D {st.diffusion_m2_per_s:.2e} m2/s, g_min/g_max {st.wendt_abraham_ratio:.2f}")
        if not st.liquid:
            not_liquid.append(label)
    for run in runs:
        comment.extend(_warnings(run, pressure_tolerance_kbar))
    if not_liquid:
        status = "not_computed"
        comment.insert(0, "not liquid: " + ", ".join(not_liquid))
    elif s.phase_separated:
        status = "phase_separation"
        comment.insert(0, "phase separation")
    else:
        status = "value"
    keep = status == "value"
    return {
        "A": a,
        "B": b,
        "x_B": round(x_b, 12),
        "hmix_kJ_per_mol": round(value, 6) if keep else None,
        "T_K": alloy.target_temperature_K,
        "source_type": "aimd",
        "source": ";".join(sources),
        "reference": reference,
        "uncertainty_kJ_per_mol": round(sem, 6) if keep else None,
        "status": status,
        "comment": "; ".join(comment),
    }


def results_table(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows in the column order of the dataset stage tables (TABLE_COLUMNS), sorted reproducibly."""
    frame = pd.DataFrame(list(rows), columns=list(TABLE_COLUMNS))
    return frame.sort_values(["A", "B", "x_B", "T_K", "source"], kind="mergesort").reset_index(drop=True)


def write_results(rows: Sequence[Mapping[str, Any]], path: str | Path) -> pd.DataFrame:
    """Write the results table (e.g. ``results/aimd/aimd_results.csv``) atomically and return it."""
    frame = results_table(rows)
    write_csv(frame, path)
    return frame


def collect_results(paths: Sequence[str | Path]) -> pd.DataFrame:
    """Concatenate per-binary result tables (each written by :func:`write_results`) into one sorted table."""
    frames = []
    for path in paths:
        table = pd.read_csv(path, keep_default_na=False, na_values=[""], dtype={"comment": str})
        missing = [c for c in TABLE_COLUMNS if c not in table.columns]
        if missing:
            raise InputError(path, 1, f"missing column(s): {', '.join(missing)}")
        frames.append(table[list(TABLE_COLUMNS)])
    rows = pd.concat(frames, ignore_index=True).to_dict("records") if frames else []
    return results_table(rows)
