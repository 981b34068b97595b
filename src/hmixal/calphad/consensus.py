"""Choosing among the files that describe a binary.

How far a source is trusted (low-confidence copies, the folder tie-break order), the single low-quality source
rule for a binary only a test or example file describes, and the cross-file consensus rule
(``choose_candidate``) that picks one curve when several files describe a binary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

# Sources whose ΔH_mix curves differ by more than this (kJ/mol, max over the grid) are flagged. Measured on the
# committed candidates (169 binaries with two or more files): the spread at x = 0.5 has median 0.44 and 90th
# percentile 7.1 kJ/mol (docs/calphad.md).
DEFAULT_DISAGREEMENT_KJ = 5.0
# A curve whose |ΔH_mix| stays below this everywhere (kJ/mol) is a placeholder (an unassessed zero, or an
# L = a·T parameter that carries no enthalpy) when another file's curve is more than PLACEHOLDER_RATIO⁻¹ times
# larger; placeholders are dropped.  Catches MatCalc's Fe–La (max 0.76 vs 34 kJ/mol) and Mo–Nb (0 vs 4).
DEFAULT_PLACEHOLDER_KJ = 1.0
PLACEHOLDER_RATIO = 0.1
# Single low-quality source rule (docs/calphad.md, "Single low-quality sources"): a binary described by exactly
# one file, that file inside a test or example folder, is excluded when its curve is far weaker than Miedema's:
# max |ΔH| below DEFAULT_SINGLE_SOURCE_FACTOR × Miedema's max |ΔH| AND an RMS distance to Miedema above
# DEFAULT_SINGLE_SOURCE_GAP_KJ.  Only "too weak" counts: a test file's round placeholder (Dy–Ga L0 = −9000 − T, Ga–Nd
# L0 = −5000 in NIMS's Nd-mag-STAM_en.TDB, whose header says the Ga parameters "are not well assessed") is near
# zero, whereas a curve far *stronger* than Miedema (Fe–Ga, Ni–Sb) is where Miedema is known to fail and what
# the correction must learn.  On the shipped refdata this removes Dy–Ga and Ga–Nd (ratios 0.06, 0.05; RMS 29,
# 30 kJ/mol) and nothing else: the next single-source ratio is 0.20 at 4 kJ/mol RMS (Mn–Zn, MatCalc).
DEFAULT_SINGLE_SOURCE_FACTOR = 0.2
DEFAULT_SINGLE_SOURCE_GAP_KJ = 10.0
# Folder names that mark test or example files (parameters there may be placeholders written to exercise
# software): any path component equal to one of these, or ending in "_examples".
TEST_EXAMPLE_FOLDERS: frozenset[str] = frozenset({"test", "tests", "example", "examples"})
# The candidates-table reason of a binary excluded by that rule starts with this.
SINGLE_SOURCE_EXCLUDED = "excluded: single low-quality source"
# Candidates whose RMS distance to the median curve differ by less than this (kJ/mol) are tied.
DEFAULT_TIE_KJ = 0.05
# Tie-break order, most trusted first (prefixes of paths relative to the refdata folder).  Assessed multicomponent
# databases and published single assessments come before compilations known to contain placeholders (MatCalc:
# Fe–La, Fe–Zr ≈ 0), systems flagged wrong by their author (LibreCalphad header) and third-party copies.
DEFAULT_FOLDER_PRIORITY: tuple[str, ...] = (
    "cost507/",
    "pycalphad/",
    "hallstedt/",
    "kawin_examples/",
    "opencalphad_examples/",
    "thermochimica/",
    "by_student_pycalphad_examples/",
    "by_student_opencalphad_examples/",
    "matcalc_opendb/",
    "librecalphad/",
)


@dataclass(frozen=True)
class Candidate:
    """One file's ΔH_mix curve for a binary, with what the consensus rule needs to rank it."""

    source: str
    values: np.ndarray
    priority: int
    low_confidence: bool


@dataclass(frozen=True)
class Consensus:
    """The consensus decision for one binary: chosen index, a reason per candidate, spread and flag."""

    chosen: int
    reasons: list[str]
    retained: list[int]
    spread: np.ndarray
    flag: str


def is_low_confidence(source: str) -> bool:
    """Files edited by the uploader (``modified_*`` or inside ``*_incomplete_TDB_file/``, refdata SOURCES.md)."""
    parts = source.split("/")
    return parts[-1].lower().startswith("modified_") or any(p.endswith("_incomplete_TDB_file") for p in parts[:-1])


def is_test_or_example(source: str) -> bool:
    """True when a source path lies in a test or example folder (``test/``, ``examples/``, ``*_examples/``…)."""
    folders = [part.lower() for part in source.split("/")[:-1]]
    return any(part in TEST_EXAMPLE_FOLDERS or part.endswith("_examples") for part in folders)


def single_source_exclusion(
    source: str,
    values: np.ndarray,
    miedema_values: np.ndarray,
    factor: float = DEFAULT_SINGLE_SOURCE_FACTOR,
    gap_kj: float = DEFAULT_SINGLE_SOURCE_GAP_KJ,
) -> str | None:
    """Why a binary's only curve (from ``source``) is excluded as a low-quality placeholder, or None to keep it.

    The caller applies this only when exactly one file describes the binary: with two or more files the consensus
    rule (``choose_candidate``) already weighs the sources against each other.
    """
    if not is_test_or_example(source):
        return None
    peak = float(np.max(np.abs(values)))
    peak_miedema = float(np.max(np.abs(miedema_values)))
    rms = float(np.sqrt(np.mean((np.asarray(values) - np.asarray(miedema_values)) ** 2)))
    if peak < factor * peak_miedema and rms > gap_kj:
        return (
            f"{SINGLE_SOURCE_EXCLUDED} (test/example file) with max |ΔH| {peak:.3g} kJ/mol, "
            f"less than {factor:g} × Miedema's {peak_miedema:.3g} kJ/mol, RMS {rms:.3g} kJ/mol from Miedema "
            f"(more than {gap_kj:g}): likely placeholder parameters"
        )
    return None


def excluded_binaries(candidates: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(A, B, source) of every binary the single low-quality source rule excluded, from a candidates table."""
    rows = candidates[candidates["reason"].astype(str).str.startswith(SINGLE_SOURCE_EXCLUDED)]
    return sorted({(str(r.A), str(r.B), str(r.source)) for r in rows.itertuples()})


def source_rank(source: str, priority: Sequence[str]) -> int:
    """Rank of a source in the tie-break order (lower is preferred); low-confidence files rank after all others."""
    rank = next((i for i, prefix in enumerate(priority) if source.startswith(prefix)), len(priority))
    return rank + (len(priority) + 1 if is_low_confidence(source) else 0)


def choose_candidate(
    candidates: Sequence[Candidate],
    disagreement_threshold: float = DEFAULT_DISAGREEMENT_KJ,
    placeholder_kj: float = DEFAULT_PLACEHOLDER_KJ,
    tie_kj: float = DEFAULT_TIE_KJ,
) -> Consensus:
    """Pick one curve among a binary's candidates by cross-file consensus.

    1. Placeholders (max |ΔH| < placeholder_kj and < PLACEHOLDER_RATIO × the largest candidate's max) are dropped.
    2. Low-confidence files (modified/incomplete copies) are set aside when any other file remains.
    3. The pointwise median of the remaining curves is the consensus; the curve with the smallest RMS distance
       to it is chosen.  Curves within tie_kj of the best are tied and the folder priority (then the path)
       decides — with exactly two remaining curves the median is their mean, so the priority always decides.
    4. The binary is flagged when the remaining curves differ by more than disagreement_threshold anywhere.
    """
    if not candidates:
        raise ValueError("choose_candidate needs at least one candidate")
    n = len(candidates)
    peaks = [float(np.max(np.abs(c.values))) for c in candidates]
    largest = max(peaks)
    reasons = [""] * n
    pool = []
    for i, peak in enumerate(peaks):
        if peak < placeholder_kj and peak < PLACEHOLDER_RATIO * largest:
            reasons[i] = f"placeholder: max |ΔH| {peak:.2g} kJ/mol while another source reaches {largest:.3g}"
        else:
            pool.append(i)
    trusted = [i for i in pool if not candidates[i].low_confidence]
    if trusted and len(trusted) < len(pool):
        for i in pool:
            if candidates[i].low_confidence:
                reasons[i] = "low confidence (modified or incomplete file): set aside, other sources exist"
        pool = trusted
    values = np.array([candidates[i].values for i in pool])
    median = np.median(values, axis=0)
    dist = np.sqrt(np.mean((values - median) ** 2, axis=1))
    tied = [pool[k] for k in range(len(pool)) if dist[k] <= dist.min() + tie_kj]
    chosen = min(tied, key=lambda i: (candidates[i].priority, candidates[i].source))
    tied_values = np.array([candidates[i].values for i in tied])
    distinct_tie = bool(np.max(np.ptp(tied_values, axis=0)) > tie_kj)
    for k, i in enumerate(pool):
        if len(pool) == 1:
            reasons[i] = "only usable candidate"
        elif i == chosen:
            reasons[i] = f"closest to the median of {len(pool)} sources (RMS {dist[k]:.2g} kJ/mol)"
            if len(tied) > 1:
                reasons[i] += f"; tie among {len(tied)} broken by folder priority"
        else:
            reasons[i] = f"not chosen: RMS {dist[k]:.2g} kJ/mol from the median of {len(pool)} sources"
    spread = values.max(axis=0) - values.min(axis=0)
    flags = []
    if spread.max() > disagreement_threshold:
        chosen_values = candidates[chosen].values
        support = sum(1 for i in pool if np.max(np.abs(candidates[i].values - chosen_values)) <= disagreement_threshold)
        flags.append(
            f"sources disagree: spread {spread.max():.1f} kJ/mol, {support}/{len(pool)} within "
            f"{disagreement_threshold:g} of the chosen"
        )
        if distinct_tie:
            flags.append("chosen by folder priority among equally central sources")
    if candidates[chosen].low_confidence:
        flags.append("low-confidence source (modified or incomplete file)")
    return Consensus(chosen=chosen, reasons=reasons, retained=pool, spread=spread, flag="; ".join(flags))
