"""The derived CALPHAD tables: every database under the reference folder, one consensus curve per binary.

``derive_calphad_table`` scans each file (``hmixal.calphad.scan``), decides each binary among its files
(``hmixal.calphad.consensus``) and returns the chosen ΔH_mix table, all candidates and the per-file load report
(data/derived/calphad_hmix.csv, calphad_candidates.csv, calphad_load_report.csv).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from hmixal.calphad.consensus import (
    DEFAULT_DISAGREEMENT_KJ,
    DEFAULT_FOLDER_PRIORITY,
    DEFAULT_PLACEHOLDER_KJ,
    DEFAULT_SINGLE_SOURCE_FACTOR,
    DEFAULT_SINGLE_SOURCE_GAP_KJ,
    Candidate,
    choose_candidate,
    is_low_confidence,
    single_source_exclusion,
    source_rank,
)
from hmixal.calphad.curves import DEFAULT_T_CAP_K, DEFAULT_T_OFFSET_K, DEFAULT_X_GRID
from hmixal.calphad.loading import candidate_files
from hmixal.calphad.scan import (
    CHECK_DECIMALS,
    DEFAULT_EXCLUDED_ELEMENTS,
    REPORT_COLUMNS,
    VALUE_DECIMALS,
    FileResult,
    scan_file,
)
from hmixal.dataset import DATASET_COLUMNS
from hmixal.elements import ELEMENTS
from hmixal.errors import InputError
from hmixal.miedema_model import hmix as miedema_hmix

# The dataset contract (hmixal.dataset) without the uncertainty column, plus the consensus audit columns.
CHOSEN_COLUMNS = [
    *(c for c in DATASET_COLUMNS if c != "uncertainty_kJ_per_mol"),
    "n_candidates",
    "spread_kJ_per_mol",
    "flag",
]
CANDIDATE_COLUMNS = [
    "A",
    "B",
    "source",
    "x_B",
    "T_K",
    "hmix_kJ_per_mol",
    "check_diff_kJ_per_mol",
    "liquid_model",
    "low_confidence",
    "chosen",
    "reason",
]


def _check_arguments(
    root: Path,
    x_grid: Sequence[float],
    t_offset: float,
    t_cap: float,
    threshold: float,
    single_source: tuple[float, float] = (DEFAULT_SINGLE_SOURCE_FACTOR, DEFAULT_SINGLE_SOURCE_GAP_KJ),
) -> None:
    """Reject unusable arguments with a clear InputError."""
    if not root.is_dir():
        raise InputError(root, None, "reference-data folder not found")
    x = np.asarray(x_grid, dtype=float)
    if x.ndim != 1 or len(x) == 0 or np.any(~np.isfinite(x)) or np.any((x <= 0) | (x >= 1)):
        raise InputError(None, None, f"x grid must be fractions strictly between 0 and 1, got {list(x_grid)}")
    if np.any(np.diff(x) <= 0):
        raise InputError(None, None, f"x grid must be strictly increasing, got {list(x_grid)}")
    if not (np.isfinite(t_offset) and np.isfinite(t_cap) and t_cap > 0):
        raise InputError(
            None, None, f"temperature rule needs a finite offset and a positive cap, got {t_offset}, {t_cap}"
        )
    if not (np.isfinite(threshold) and threshold > 0):
        raise InputError(None, None, f"disagreement threshold must be positive, got {threshold}")
    factor, gap = single_source
    if not (np.isfinite(factor) and np.isfinite(gap) and factor >= 0 and gap >= 0):
        raise InputError(
            None, None, f"single-source rule needs a factor and a gap that are finite and ≥ 0, got {factor}, {gap}"
        )


def derive_calphad_table(
    refdata_dir: str | Path,
    melting_points: Mapping[str, float],
    x_grid: Sequence[float] = DEFAULT_X_GRID,
    t_offset_K: float = DEFAULT_T_OFFSET_K,
    t_cap_K: float = DEFAULT_T_CAP_K,
    disagreement_threshold_kJ_per_mol: float = DEFAULT_DISAGREEMENT_KJ,
    placeholder_kj: float = DEFAULT_PLACEHOLDER_KJ,
    folder_priority: Sequence[str] = DEFAULT_FOLDER_PRIORITY,
    exclude_elements: Sequence[str] = DEFAULT_EXCLUDED_ELEMENTS,
    elements: Sequence[str] = ELEMENTS,
    verify_plain_load: bool = True,
    progress: Callable[[str], None] | None = None,
    single_source_factor: float = DEFAULT_SINGLE_SOURCE_FACTOR,
    single_source_gap_kJ_per_mol: float = DEFAULT_SINGLE_SOURCE_GAP_KJ,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Scan every database under refdata_dir; return (chosen ΔH_mix table, all candidates, per-file load report).

    A binary whose only file is a test/example file with a curve far weaker than Miedema's is left out of the
    chosen table (``single_source_exclusion``; factor 0 disables the rule); its candidate rows say why, and the
    file's load-report notes name it. The settings' names are the config's keys (config ``calphad``).
    """
    # YAML gives integers where the table's floats are expected (T_K is written as a float).
    t_offset, t_cap = float(t_offset_K), float(t_cap_K)
    disagreement_threshold = float(disagreement_threshold_kJ_per_mol)
    single_source_factor, single_source_gap = float(single_source_factor), float(single_source_gap_kJ_per_mol)
    x_grid = [float(x) for x in x_grid]
    root = Path(refdata_dir)
    _check_arguments(root, x_grid, t_offset, t_cap, disagreement_threshold, (single_source_factor, single_source_gap))
    x = np.asarray(x_grid, dtype=float)
    files = candidate_files(root)
    report_rows: list[dict[str, object]] = []
    by_binary: dict[tuple[str, str], list[tuple[str, FileResult]]] = {}
    for k, path in enumerate(files, start=1):
        result = scan_file(
            path, root, melting_points, x, t_offset, t_cap, elements, exclude_elements, verify_plain_load
        )
        row = result.row
        report_rows.append(row)
        for key in result.curves:
            by_binary.setdefault(key, []).append((str(row["file"]), result))
        if progress is not None:
            progress(
                f"[{k}/{len(files)}] {row['file']}: {row['status']}, {row['n_binaries']} binaries, "
                f"{result.seconds:.1f} s"
            )
    chosen_rows: list[dict[str, object]] = []
    candidate_rows: list[dict[str, object]] = []
    excluded_by_file: dict[str, list[str]] = {}
    for (a, b), entries in sorted(by_binary.items()):
        cands = [
            Candidate(
                source=src,
                values=np.round(res.curves[(a, b)][0], VALUE_DECIMALS),
                priority=source_rank(src, folder_priority),
                low_confidence=is_low_confidence(src),
            )
            for src, res in entries
        ]
        decision = choose_candidate(cands, disagreement_threshold, placeholder_kj)
        best_src, best = entries[decision.chosen]
        temperature = best.curves[(a, b)][3]
        excluded = None
        if len(cands) == 1 and a in ELEMENTS and b in ELEMENTS:  # Miedema's parameters cover these
            excluded = single_source_exclusion(
                best_src, cands[0].values, miedema_hmix(a, b, x), single_source_factor, single_source_gap
            )
        if excluded is not None:
            decision.reasons[decision.chosen] = excluded
            excluded_by_file.setdefault(best_src, []).append(f"{a}-{b}")
        for i, (src, res) in enumerate(entries):
            _values, check, model, t_i = res.curves[(a, b)]
            for j, xb in enumerate(x):
                candidate_rows.append(
                    {
                        "A": a,
                        "B": b,
                        "source": src,
                        "x_B": xb,
                        "T_K": t_i,
                        "hmix_kJ_per_mol": cands[i].values[j],
                        "check_diff_kJ_per_mol": round(float(check[j]), CHECK_DECIMALS),
                        "liquid_model": model,
                        "low_confidence": cands[i].low_confidence,
                        "chosen": i == decision.chosen and excluded is None,
                        "reason": decision.reasons[i],
                    }
                )
        if excluded is not None:
            continue
        for j, xb in enumerate(x):
            chosen_rows.append(
                {
                    "A": a,
                    "B": b,
                    "x_B": xb,
                    "hmix_kJ_per_mol": cands[decision.chosen].values[j],
                    "T_K": temperature,
                    "source_type": "calphad",
                    "source": best_src,
                    "reference": best.references[(a, b)],
                    "n_candidates": len(cands),
                    "spread_kJ_per_mol": round(float(decision.spread[j]), VALUE_DECIMALS),
                    "flag": decision.flag,
                }
            )
    for row in report_rows:
        dropped = excluded_by_file.get(str(row["file"]))
        if dropped:
            note = f"excluded by the single low-quality source rule: {', '.join(dropped)} (see calphad_candidates.csv)"
            row["notes"] = " | ".join(n for n in (str(row["notes"]), note) if n)
    chosen = pd.DataFrame(chosen_rows, columns=CHOSEN_COLUMNS)
    candidates = pd.DataFrame(candidate_rows, columns=CANDIDATE_COLUMNS)
    report = pd.DataFrame(report_rows, columns=REPORT_COLUMNS)
    return chosen, candidates, report
