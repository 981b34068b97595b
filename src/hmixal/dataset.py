"""The ΔH_mix dataset: table contract, per-row validation and normalisation, merge of sources, summary."""

from __future__ import annotations

import csv
import json
import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hmixal.elements import ELEMENTS
from hmixal.errors import InputError, reject_unknown_keys
from hmixal.manifest import read_verified_bytes, read_verified_csv
from hmixal.miedema_model import hmix as miedema_hmix

log = logging.getLogger(__name__)

# The contract (docs/dataset.md): the columns of the merged dataset, in this order.
DATASET_COLUMNS: tuple[str, ...] = (
    "A",
    "B",
    "x_B",
    "hmix_kJ_per_mol",
    "T_K",
    "source_type",
    "source",
    "reference",
    "uncertainty_kJ_per_mol",
)
REQUIRED_COLUMNS: tuple[str, ...] = ("A", "B", "x_B", "hmix_kJ_per_mol")
# `status` and `comment` are read from every input and carried by stage tables (calorimetry, AIMD), but
# they are not part of the merged dataset: only `status == value` rows reach it.
TABLE_COLUMNS: tuple[str, ...] = (*DATASET_COLUMNS, "status", "comment")
# aimd: DFT molecular dynamics (the seed's VASP protocol); potential_md: molecular dynamics on an interatomic
# potential instead of DFT (EMT, a machine-learned potential), whose `reference` names the engine (below).
SOURCE_TYPES: tuple[str, ...] = ("calphad", "calorimetry", "aimd", "potential_md", "user")
POTENTIAL_MD = "potential_md"
# Source types of simulated determinations: a row of the pipeline's own simulations (a recomputed row) is paired
# with a row of these types from another input at the same point (docs/dataset.md).
SIMULATION_SOURCE_TYPES: tuple[str, ...] = ("aimd", POTENTIAL_MD)
# A potential_md row's reference starts with the engine: 'engine=emt; <free text>' (lower-case name). ':' is
# allowed so that an ASE calculator given as 'module:factory' can be its own engine name.
ENGINE_PREFIX = "engine="
_ENGINE_NAME = re.compile(r"[a-z0-9][a-z0-9._+:-]*")
_ENGINE_REFERENCE = re.compile(r"engine=([A-Za-z0-9][A-Za-z0-9._+:-]*);")
# value: a number; phase_separation / not_computed: the seed's Table 1 "X" and "N/A"; estimated: an
# ESPEI dataset marked as an estimate rather than a measurement.
STATUSES: tuple[str, ...] = ("value", "phase_separation", "not_computed", "estimated")
KEPT_STATUS = "value"
# Statuses that determine a point (a value, or "this liquid separates"): only these pair a recomputed row with a
# published one. not_computed and estimated say nothing about the point.
DETERMINATION_STATUSES: tuple[str, ...] = (KEPT_STATUS, "phase_separation")
# Published vs recomputed (config dataset.recomputed): which one trains, and when two rows are the same point.
# x_B: half the composition step of the seed's 100-atom cells (0.01), so neighbouring cells stay distinct while
# e.g. 127/256 and 0.5 match. T: the pipeline's temperatures are multiples of 50 K or explicit overrides; 10 K
# matches a temperature written with rounding and keeps neighbouring 50 K steps apart.
PREFER_CHOICES: tuple[str, ...] = ("published", "recomputed")
DEFAULT_PREFER = "published"
DEFAULT_X_B_TOLERANCE = 0.005
DEFAULT_T_TOLERANCE_K = 10.0
# Provenance carried by validated rows (never written to the merged dataset).
PROVENANCE_COLUMNS: tuple[str, ...] = ("swapped", "file", "line", "location", "raw")
ROW_COLUMNS: tuple[str, ...] = TABLE_COLUMNS + PROVENANCE_COLUMNS
REJECT_COLUMNS: tuple[str, ...] = ("file", "line", "location", "reason", "raw")
SORT_COLUMNS: tuple[str, ...] = ("A", "B", "x_B", "source_type", "source")
# Normalised numbers are rounded to this many decimals so that 1 − 0.3 and 0.7 compare (and print) equal.
ROUND_DECIMALS = 12
_NUMERIC = ("x_B", "hmix_kJ_per_mol", "T_K", "uncertainty_kJ_per_mol")
_TEXT = ("A", "B", "source_type", "source", "reference", "status", "comment")
_CANONICAL = {symbol.lower(): symbol for symbol in ELEMENTS}
_FIRST_REJECTS_SHOWN = 5
# Plausibility bound on |ΔH_mix| (kJ/mol), config key dataset.max_abs_hmix_kJ_per_mol.  The CALPHAD-derived
# data span −77.5 (Al–Pt) … +54.1 kJ/mol (Cu–Nb), the seed's AIMD values −86.7 … +1.9, and Miedema's liquid
# model over all 2415 binaries of the 70 elements −135.3 (C–Zr) … +140.4 kJ/mol (Cs–Nb); 200 clears all of
# them, while a value written in J/mol exceeds it as soon as the true |ΔH_mix| exceeds 0.2 kJ/mol, i.e. for
# nearly every real liquid.
DEFAULT_MAX_ABS_HMIX_KJ = 200.0
# Scale check of a whole source (docs/dataset.md): the median of |value| / |reference| over its points, the
# reference being Miedema's value at the same x, or the median |value| of the other sources for the same binary.
# On the shipped data the per-source medians lie in 0.078 … 10.2 (against Miedema) and 0.39 … 4.4 (against the
# other sources); a unit slip moves them by ×0.001 (kJ/mol read as J/mol), ×0.0104 (eV/atom), ×239 (cal/mol) or
# ×1000 (J/mol).  Outside [SCALE_RATIO_LOW, SCALE_RATIO_HIGH] the source is flagged.
SCALE_RATIO_LOW = 0.02
SCALE_RATIO_HIGH = 50.0
# Points whose reference is smaller than this (kJ/mol) are left out of the ratio: near an ideal solution a ratio
# says nothing about the unit (|Miedema| < 1 kJ/mol for 14 % of its 2415 × 99 grid values).
SCALE_MIN_REFERENCE_KJ = 1.0
# Category of the rejects-table rows that list CALPHAD database files the derivation could not load: they are
# not input rows and do not count toward dataset.max_rejects.
NOT_LOADED = "source not loaded"


class TooManyRejectsError(InputError):
    """More input rows were rejected than the configured limit allows; ``rejects`` holds all of them.

    An InputError, so a rule script reports it as one expected error (with the first reasons), not a traceback."""

    def __init__(self, message: str, rejects: pd.DataFrame) -> None:
        super().__init__(None, None, message)
        self.rejects = rejects


@dataclass(frozen=True)
class RawRecord:
    """One input row before validation: its fields and where it came from."""

    file: str
    line: int | None
    location: str
    raw: str
    fields: Mapping[str, object]


@dataclass
class Table:
    """Validated rows and rejects of one input (a CSV file, an ESPEI JSON file or a folder of them)."""

    file: str
    rows: pd.DataFrame
    rejects: pd.DataFrame
    n_read: int
    extra_columns: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)
    # True for the pipeline's own simulation results (results/aimd/aimd_results.csv): its rows are "recomputed"
    # and are paired with published rows of the same point (merge_dataset, docs/dataset.md).
    recomputed: bool = False


class RowError(ValueError):
    """A row-level problem; ``reason`` reads 'category: detail' (categories group rejects in the summary)."""

    def __init__(self, category: str, detail: str) -> None:
        super().__init__(f"{category}: {detail}")
        self.reason = f"{category}: {detail}"


def canonical_element(symbol: str) -> str | None:
    """The element symbol as spelled in ELEMENTS (matched case-insensitively; ESPEI writes 'AL'), or None."""
    return _CANONICAL.get(symbol.strip().lower())


def reject_row(file: str, line: int | None, location: str, reason: str, raw: str) -> dict[str, object]:
    """One rejects-table row."""
    return {"file": file, "line": line, "location": location, "reason": reason, "raw": raw}


def rejects_frame(rows: Iterable[Mapping[str, object]] = ()) -> pd.DataFrame:
    """A rejects table (columns REJECT_COLUMNS, nullable integer line) from reject rows."""
    frame = pd.DataFrame(list(rows), columns=list(REJECT_COLUMNS))
    frame["line"] = frame["line"].astype("Int64")
    return frame


def reject_category(reason: str) -> str:
    """The category of a reject reason ('unknown element: A = Xx' → 'unknown element')."""
    return reason.split(":", 1)[0].strip()


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _number(fields: Mapping[str, object], column: str, required: bool) -> float | None:
    value = fields.get(column)
    if isinstance(value, bool):  # JSON true/false are ints in Python, never a measurement
        raise RowError("non-numeric value", f"{column} = {value!r}")
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = _text(value)
        if not text:
            if required:
                raise RowError("missing value", f"{column} is empty")
            return None
        try:
            number = float(text)
        except ValueError:
            raise RowError("non-numeric value", f"{column} = {text!r}") from None
    if not math.isfinite(number):
        raise RowError("non-finite value", f"{column} = {number}")
    return round(number, ROUND_DECIMALS)


def _element(fields: Mapping[str, object], column: str) -> str:
    text = _text(fields.get(column))
    if not text:
        raise RowError("missing value", f"{column} is empty")
    symbol = canonical_element(text)
    if symbol is None:
        raise RowError("unknown element", f"{column} = {text!r} is not one of the {len(ELEMENTS)} elements")
    return symbol


def reference_engine(reference: str) -> str | None:
    """The engine a reference names at its start ('engine=emt; ASE EMT, not DFT' → 'emt'), lower-case, or None."""
    match = _ENGINE_REFERENCE.match(reference.strip())
    return match.group(1).lower() if match else None


def engine_name(engine: str) -> str:
    """An engine name checked and lower-cased ('EMT' → 'emt'): letters, digits and . _ + : -, as references write it."""
    name = str(engine).strip().lower()
    if not _ENGINE_NAME.fullmatch(name):
        raise InputError(
            None, None, f"engine name {engine!r}: use letters, digits and . _ + : - only (e.g. 'emt', 'mace-mp-0')"
        )
    return name


def engine_reference(engine: str, text: str) -> str:
    """The ``reference`` of a simulated row in the form :func:`reference_engine` reads: 'engine=<name>; <text>'."""
    return f"{ENGINE_PREFIX}{engine_name(engine)}; {text.strip()}"


def _choice(fields: Mapping[str, object], column: str, allowed: Sequence[str], default: str) -> str:
    text = _text(fields.get(column))
    if not text:
        return default
    if text not in allowed:
        raise RowError(f"unknown {column}", f"{text!r} (allowed: {', '.join(allowed)})")
    return text


def implausible_reason(hmix: float, max_abs_hmix: float = DEFAULT_MAX_ABS_HMIX_KJ) -> str | None:
    """Why |hmix| (kJ/mol) is implausible for a liquid alloy, with the likely cause, or None when it is not."""
    magnitude = abs(hmix)
    if magnitude <= max_abs_hmix:
        return None
    text = f"|hmix| = {magnitude:g} kJ/mol exceeds {max_abs_hmix:g} kJ/mol"
    if magnitude / 1000.0 > max_abs_hmix:
        return f"{text}: far beyond any liquid alloy, check the column and the unit"
    if magnitude >= 1000.0:
        # Read as J/mol it is a plausible 1 … max_abs_hmix kJ/mol: by far the most common slip.
        return f"{text}: the value looks like J/mol (divide by 1000)"
    # Between the bound and 1000: only a bound tighter than the default gets here; no unit explains it.
    return f"{text} (dataset.max_abs_hmix_kJ_per_mol): check the value and its unit"


def normalise_fields(
    fields: Mapping[str, object],
    default_source_type: str,
    default_source: str,
    max_abs_hmix: float = DEFAULT_MAX_ABS_HMIX_KJ,
) -> tuple[dict[str, Any], bool]:
    """Validate one row's fields; return the normalised row (A < B) and whether A and B were swapped.

    Raises RowError naming the first problem found; |hmix_kJ_per_mol| above ``max_abs_hmix`` is one.
    """
    a, b = _element(fields, "A"), _element(fields, "B")
    if a == b:
        raise RowError("same element", f"A = B = {a}")
    status = _choice(fields, "status", STATUSES, KEPT_STATUS)
    x_b = _number(fields, "x_B", required=True)
    assert x_b is not None  # required=True never returns None
    if not 0.0 < x_b < 1.0:
        raise RowError("x_B out of range", f"x_B = {x_b:g} is not in (0, 1)")
    hmix = _number(fields, "hmix_kJ_per_mol", required=status == KEPT_STATUS)
    if status != KEPT_STATUS and hmix is not None:
        # The seed's "X" / "N/A" entries are facts about a system, never numbers: keep them apart.
        raise RowError("value with non-value status", f"status {status} must leave hmix_kJ_per_mol empty")
    if hmix is not None and (implausible := implausible_reason(hmix, max_abs_hmix)) is not None:
        raise RowError("implausible value", implausible)
    t_k = _number(fields, "T_K", required=False)
    if t_k is not None and t_k <= 0:
        raise RowError("T_K not positive", f"T_K = {t_k:g}")
    uncertainty = _number(fields, "uncertainty_kJ_per_mol", required=False)
    if uncertainty is not None and uncertainty < 0:
        raise RowError("negative uncertainty", f"uncertainty_kJ_per_mol = {uncertainty:g}")
    source_type = _choice(fields, "source_type", SOURCE_TYPES, default_source_type)
    reference = _text(fields.get("reference"))
    if source_type == POTENTIAL_MD and reference_engine(reference) is None:
        # The engine decides whether the row may train (dataset.train_on_potential_md): it must be readable.
        raise RowError(
            "missing engine",
            f"a {POTENTIAL_MD} row's reference must start with 'engine=<name>;' "
            f"(e.g. 'engine=emt; ASE EMT, not DFT'), got {reference!r}",
        )
    swapped = a > b
    if swapped:
        a, b, x_b = b, a, round(1.0 - x_b, ROUND_DECIMALS)
    row = {
        "A": a,
        "B": b,
        "x_B": x_b,
        "hmix_kJ_per_mol": hmix,
        "T_K": t_k,
        "source_type": source_type,
        "source": _text(fields.get("source")) or default_source,
        "reference": reference,
        "uncertainty_kJ_per_mol": uncertainty,
        "status": status,
        "comment": _text(fields.get("comment")),
    }
    return row, swapped


def _rows_frame(rows: Sequence[Mapping[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=list(ROW_COLUMNS))
    for column in _NUMERIC:
        frame[column] = pd.to_numeric(frame[column]).astype(float)
    for column in (*_TEXT, "file", "location", "raw"):
        frame[column] = frame[column].astype(object)
    frame["swapped"] = frame["swapped"].astype(bool)
    frame["line"] = frame["line"].astype("Int64")
    return frame


def _key(row: Mapping[str, object]) -> tuple[object, ...]:
    # None and NaN both mean "empty": map them to None so that tuples compare equal.
    return tuple(
        None if (v is None or (isinstance(v, float) and math.isnan(v))) else v
        for v in (row[c] for c in (*DATASET_COLUMNS, "status"))
    )


def _where(row: Mapping[str, object], other_file: bool) -> str:
    line = row["line"]
    place = f"line {line}" if line is not None and not pd.isna(line) else str(row["location"])
    return f"{row['file']}:{place}" if other_file else place


def reject_duplicates(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split validated rows into first occurrences and rejects for exact repeats of an earlier row.

    Rows are compared on their normalised contract values and status, so 'Ni,Al,0.3' repeats 'Al,Ni,0.7'.
    """
    seen: dict[tuple[object, ...], dict[str, object]] = {}
    keep: list[bool] = []
    rejects = []
    for row in rows.to_dict("records"):
        key = _key(row)
        first = seen.get(key)
        if first is None:
            seen[key] = row
            keep.append(True)
            continue
        keep.append(False)
        where = _where(first, other_file=first["file"] != row["file"])
        line = None if pd.isna(row["line"]) else int(row["line"])
        rejects.append(
            reject_row(str(row["file"]), line, str(row["location"]), f"duplicate: same as {where}", row["raw"])
        )
    return rows[pd.Series(keep, index=rows.index, dtype=bool)], rejects_frame(rejects)


def validate_records(
    records: Iterable[RawRecord],
    file: str,
    default_source_type: str,
    default_source: str,
    extra_columns: Sequence[str] = (),
    max_abs_hmix: float = DEFAULT_MAX_ABS_HMIX_KJ,
) -> Table:
    """Validate and normalise raw records into a Table; bad rows and repeated rows become rejects."""
    if default_source_type not in SOURCE_TYPES:
        raise ValueError(f"default_source_type must be one of {SOURCE_TYPES}, not {default_source_type!r}")
    rows: list[dict[str, object]] = []
    rejects: list[dict[str, object]] = []
    n_read = 0
    for record in records:
        n_read += 1
        try:
            row, swapped = normalise_fields(record.fields, default_source_type, default_source, max_abs_hmix)
        except RowError as error:
            rejects.append(reject_row(record.file, record.line, record.location, error.reason, record.raw))
            continue
        row.update(swapped=swapped, file=record.file, line=record.line, location=record.location, raw=record.raw)
        rows.append(row)
    kept, duplicates = reject_duplicates(_rows_frame(rows))
    found = concat_rejects([rejects_frame(rejects), duplicates])
    return Table(file, kept.reset_index(drop=True), _sort_rejects(found), n_read, tuple(extra_columns))


def _sort_rejects(rejects: pd.DataFrame) -> pd.DataFrame:
    # Rejects in file order: by line (CSV) then by location (JSON), stable for everything else.
    order = rejects.assign(_line=rejects["line"].fillna(-1)).sort_values(
        ["file", "_line", "location"], kind="mergesort"
    )
    return order.drop(columns="_line").reset_index(drop=True)


def _physical_lines(text: str) -> Iterator[str]:
    # Only "\n" ends a line (str.splitlines would also split on form feeds and U+2028, shifting line
    # numbers away from what an editor shows). Comment lines become empty lines so numbering is kept.
    for line in text.split("\n"):
        yield "\n" if line.lstrip().startswith("#") else line + "\n"


def _decode(path: Path) -> str:
    # A table a rule wrote (results/aimd/aimd_results.csv, results/derived/*.csv) is checked against its manifest
    # first; files of your own outside results/ are read as they are (hmixal.manifest).
    data, _ = read_verified_bytes(path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InputError(path, line, f"not UTF-8 text (byte 0x{data[error.start]:02x})") from None


def _delimiter_hint(header_raw: str) -> str:
    """A hint ('; the header looks ';'-separated: …') when another delimiter yields the required columns, else ''."""
    for delimiter, name in ((";", "';'"), ("\t", "tab"), ("|", "'|'")):
        names = {c.strip() for c in header_raw.split(delimiter)}
        if delimiter in header_raw and set(REQUIRED_COLUMNS) <= names:
            return f"; the header looks {name}-separated: hmixal reads comma-separated values"
    return ""


def read_dataset_csv(
    path: str | Path, default_source_type: str = "user", max_abs_hmix: float = DEFAULT_MAX_ABS_HMIX_KJ
) -> Table:
    """Read a CSV in the dataset schema (docs/dataset.md) into validated rows and rejects.

    Lines starting with '#' are comments; blank lines are skipped; ``line`` in rows and rejects is the
    physical line in the file (header = 1 when it is the first line). Missing source_type defaults to
    ``default_source_type``, missing source to the file name; |hmix| above ``max_abs_hmix`` is rejected.
    """
    path = Path(path)
    file = str(path)
    lines = list(_physical_lines(_decode(path)))
    if lines and lines[-1] == "\n":  # the split after a final newline
        lines.pop()
    reader = csv.reader(iter(lines))
    header: list[str] | None = None
    header_line = 0
    header_raw = ""
    records: list[RawRecord] = []
    while True:
        start = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise InputError(file, start, f"CSV syntax: {error}") from None
        if not any(v.strip() for v in values):
            continue  # blank line, comment line or a row of empty cells
        raw = "".join(lines[start - 1 : reader.line_num]).rstrip("\r\n")
        if header is None:
            header, header_line, header_raw = [v.strip() for v in values], start, raw
            continue
        if len(values) != len(header):
            records.append(RawRecord(file, start, "", raw, {"_field_count": len(values)}))
            continue
        records.append(RawRecord(file, start, "", raw, dict(zip(header, values, strict=True))))
    if header is None:
        raise InputError(file, None, "empty file: no header line")
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise InputError(file, header_line, f"repeated column(s): {', '.join(repeated)}")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InputError(
            file,
            header_line,
            f"missing column(s): {', '.join(missing)} (required: {', '.join(REQUIRED_COLUMNS)})"
            + _delimiter_hint(header_raw),
        )
    extra = tuple(c for c in header if c not in TABLE_COLUMNS)
    good = [r for r in records if "_field_count" not in r.fields]
    table = validate_records(good, file, default_source_type, path.name, extra, max_abs_hmix)
    bad = [
        reject_row(
            file,
            r.line,
            "",
            f"wrong field count: {r.fields['_field_count']} fields, header has {len(header)}",
            r.raw,
        )
        for r in records
        if "_field_count" in r.fields
    ]
    table.rejects = _sort_rejects(concat_rejects([table.rejects, rejects_frame(bad)]))
    table.n_read = len(records)
    return table


def read_rejects_csv(path: str | Path) -> pd.DataFrame:
    """Read a rejects table written by an upstream stage (columns REJECT_COLUMNS)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in REJECT_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(path, 1, f"missing column(s) in rejects table: {', '.join(missing)}")
    frame = frame[list(REJECT_COLUMNS)].copy()
    frame["line"] = pd.to_numeric(frame["line"].replace("", None)).astype("Int64")
    return frame


def stage_table(tables: Sequence[Table]) -> pd.DataFrame:
    """The rows of several inputs as a stage table (TABLE_COLUMNS), in reading order, for writing to CSV."""
    frames = [t.rows[list(TABLE_COLUMNS)] for t in tables if len(t.rows)]
    if not frames:
        return _rows_frame([])[list(TABLE_COLUMNS)]
    return pd.concat(frames, ignore_index=True)


def concat_rejects(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Several rejects tables as one, in order (empty ones skipped: pandas warns on concatenating them)."""
    parts = [f for f in frames if len(f)]
    return pd.concat(parts, ignore_index=True) if parts else rejects_frame()


def read_load_report(path: str | Path) -> pd.DataFrame:
    """Rejects-table rows ('source not loaded: …') for the files a CALPHAD load report marks as failed."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in ("file", "status", "error") if c not in frame.columns]
    if missing:
        raise InputError(path, 1, f"missing column(s) in CALPHAD load report: {', '.join(missing)}")
    failed = frame[frame["status"] == "failed"]
    lines = failed["error_line"] if "error_line" in failed.columns else pd.Series("", index=failed.index)
    rows = [
        reject_row(
            file,
            int(line) if str(line).strip() else None,
            "",
            f"{NOT_LOADED}: CALPHAD database not read, its binaries are missing ({error or 'no reason given'})",
            "",
        )
        for file, line, error in zip(failed["file"], lines, failed["error"], strict=True)
    ]
    return rejects_frame(rows)


def _scale_message(kind: str, ratio: float, n: int) -> str:
    """The warning text of a source whose values are off by orders of magnitude, with the usual unit slips."""
    if ratio < SCALE_RATIO_LOW:
        hint = "too small: kJ/mol written where J/mol is expected (ESPEI) gives ×0.001, eV/atom ×0.0104"
    else:
        hint = "too large: J/mol written where kJ/mol is expected gives ×1000, cal/mol ×239"
    return (
        f"scale: median |value| / |{kind}| = {ratio:.3g} over {n} point(s), outside "
        f"[{SCALE_RATIO_LOW:g}, {SCALE_RATIO_HIGH:g}]: the values look orders of magnitude {hint}"
    )


def scale_ratio_to_miedema(rows: pd.DataFrame) -> tuple[float, int]:
    """Median |value| / |Miedema| over rows whose |Miedema| ≥ SCALE_MIN_REFERENCE_KJ, and how many (nan, 0 if none)."""
    values = rows[rows["hmix_kJ_per_mol"].notna()]
    if values.empty:
        return math.nan, 0
    reference = np.abs(miedema_hmix(values["A"].to_numpy(), values["B"].to_numpy(), values["x_B"].to_numpy()))
    usable = reference >= SCALE_MIN_REFERENCE_KJ
    if not usable.any():
        return math.nan, 0
    ratios = np.abs(values["hmix_kJ_per_mol"].to_numpy()[usable]) / reference[usable]
    return float(np.median(ratios)), int(usable.sum())


def check_scales(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """Warnings for sources (file + source column) whose values are off in scale by orders of magnitude.

    Each source is compared with Miedema's model and with the other sources' values for the same binaries
    (median |value| per binary); a median ratio outside [SCALE_RATIO_LOW, SCALE_RATIO_HIGH] is flagged. Of
    two sources that disagree in scale, only the one farther from Miedema is flagged for the disagreement.
    """
    values = rows[(rows["status"] == KEPT_STATUS) & rows["hmix_kJ_per_mol"].notna()]
    if values.empty:
        return []

    def farther_from_miedema(mine: float, n_mine: int, others: pd.DataFrame) -> bool:
        # Two sources off by ×100 from each other are off from each other's point of view alike: the blame
        # goes to the one farther from Miedema (in log ratio), so a good source is not flagged by a bad one.
        theirs, n_theirs = scale_ratio_to_miedema(others)
        if not (n_mine and n_theirs and mine > 0 and theirs > 0):
            return True
        return abs(math.log(mine)) >= abs(math.log(theirs))

    codes, sources = pd.factorize(pd.MultiIndex.from_arrays([values["file"].astype(str), values["source"].astype(str)]))
    warnings = []
    for code in sorted(range(len(sources)), key=lambda k: sources[k]):
        file, source = sources[code]
        mine = codes == code
        own = values[mine]
        to_miedema = scale_ratio_to_miedema(own)
        checks = [("Miedema", *to_miedema)]
        others = values[~mine]
        others = others.merge(own[["A", "B"]].drop_duplicates(), on=["A", "B"])
        if len(others):
            reference = others.groupby(["A", "B"])["hmix_kJ_per_mol"].apply(lambda v: float(np.median(np.abs(v))))
            joined = own.join(reference.rename("_reference"), on=["A", "B"])
            joined = joined[joined["_reference"] >= SCALE_MIN_REFERENCE_KJ]
            if len(joined):
                ratio = float(np.median(np.abs(joined["hmix_kJ_per_mol"]) / joined["_reference"]))
                if farther_from_miedema(*to_miedema, others):
                    checks.append(("other sources for the same binaries", ratio, len(joined)))
        for kind, ratio, n in checks:
            if n and not SCALE_RATIO_LOW <= ratio <= SCALE_RATIO_HIGH:
                warnings.append(
                    {
                        "file": file,
                        "source": source,
                        "check": f"scale vs {kind}",
                        "message": _scale_message(kind, ratio, n),
                    }
                )
    return warnings


def _no_row_warnings(tables: Sequence[Table]) -> list[dict[str, Any]]:
    """Warnings for inputs that add no row: a header-only file, or every row rejected."""
    warnings = []
    for t in tables:
        if len(t.rows):
            continue
        why = "no data row (header only)" if t.n_read == 0 else f"all {t.n_read} row(s) rejected"
        warnings.append({"file": t.file, "source": "", "check": "no rows", "message": f"adds no row: {why}"})
    return warnings


@dataclass(frozen=True)
class ProvenancePolicy:
    """Which simulated rows may train: the engines whose ``potential_md`` rows are let in (config
    ``dataset.train_on_potential_md``), and which of a published and a recomputed determination of one point is
    kept (``dataset.recomputed``: prefer, x_B_tolerance, T_tolerance_K)."""

    train_on_potential_md: tuple[str, ...] = ()
    prefer: str = DEFAULT_PREFER
    x_B_tolerance: float = DEFAULT_X_B_TOLERANCE
    T_tolerance_K: float = DEFAULT_T_TOLERANCE_K

    def __post_init__(self) -> None:
        engines = self.train_on_potential_md
        if isinstance(engines, str):  # a bare string would be read letter by letter
            raise InputError(
                None, None, f"dataset.train_on_potential_md must be a list of engine names, got {engines!r}"
            )
        object.__setattr__(self, "train_on_potential_md", tuple(sorted({engine_name(e) for e in engines})))
        if self.prefer not in PREFER_CHOICES:
            choices = " or ".join(PREFER_CHOICES)
            raise InputError(None, None, f"dataset.recomputed.prefer must be {choices}, got {self.prefer!r}")
        # x_B tolerance below 0.5: at 0.5 every composition of a binary would be "the same point".
        for name, value, upper in (
            ("x_B_tolerance", self.x_B_tolerance, 0.5),
            ("T_tolerance_K", self.T_tolerance_K, math.inf),
        ):
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < upper:
                raise InputError(
                    None, None, f"dataset.recomputed.{name} must be a number in [0, {upper:g}), got {value!r}"
                )


def provenance_policy(dataset_config: Mapping[str, Any]) -> ProvenancePolicy:
    """The policy from a config's ``dataset`` mapping (``train_on_potential_md``, ``recomputed``); absent keys
    take the defaults of :class:`ProvenancePolicy`, other keys of ``recomputed`` are an InputError."""
    recomputed = dict(dataset_config.get("recomputed") or {})
    reject_unknown_keys(recomputed, ("prefer", "x_B_tolerance", "T_tolerance_K"), "dataset.recomputed")
    engines = dataset_config.get("train_on_potential_md") or ()
    return ProvenancePolicy(
        # A bare string is passed on as it is, for ProvenancePolicy to refuse (tuple() would split it into letters).
        train_on_potential_md=engines if isinstance(engines, str) else tuple(engines),
        prefer=recomputed.get("prefer", DEFAULT_PREFER),
        x_B_tolerance=recomputed.get("x_B_tolerance", DEFAULT_X_B_TOLERANCE),
        T_tolerance_K=recomputed.get("T_tolerance_K", DEFAULT_T_TOLERANCE_K),
    )


def excluded_by_engine(rows: pd.DataFrame, policy: ProvenancePolicy) -> pd.Series:
    """Rows (any status) of source type ``potential_md`` whose engine the policy does not name: kept out of training."""
    engines = rows["reference"].map(lambda r: reference_engine(str(r)))
    return (rows["source_type"] == POTENTIAL_MD) & ~engines.isin(policy.train_on_potential_md)


def _side(row: Mapping[str, Any]) -> dict[str, Any]:
    """One side of a published/recomputed comparison, as written to the summary."""
    return {
        "x_B": float(row["x_B"]),
        "T_K": _json_number(row["T_K"]),
        "status": row["status"],
        "hmix_kJ_per_mol": _json_number(row["hmix_kJ_per_mol"]),
        "uncertainty_kJ_per_mol": _json_number(row["uncertainty_kJ_per_mol"]),
        "source_type": row["source_type"],
        "engine": reference_engine(str(row["reference"])),
        "source": row["source"],
        "file": row["file"],
        "line": None if pd.isna(row["line"]) else int(row["line"]),
    }


def same_point(published: Mapping[str, Any], recomputed: Mapping[str, Any], policy: ProvenancePolicy) -> bool:
    """Whether two rows describe one point: same A and B, x_B and T_K within the policy's tolerances.

    A missing T_K on either side matches any temperature: the rows cannot be told apart, and pairing them (one
    trains, the other is reported) is the safe side of counting one point twice.
    """
    if published["A"] != recomputed["A"] or published["B"] != recomputed["B"]:
        return False
    # The 1e-9 absorbs float noise, so a cell's 0.495 matches 0.5 at tolerance 0.005 as written.
    if abs(float(published["x_B"]) - float(recomputed["x_B"])) > policy.x_B_tolerance + 1e-9:
        return False
    t_pub, t_rec = _json_number(published["T_K"]), _json_number(recomputed["T_K"])
    return t_pub is None or t_rec is None or abs(t_pub - t_rec) <= policy.T_tolerance_K + 1e-9


def pair_recomputed(
    rows: pd.DataFrame, recomputed_files: Iterable[str], policy: ProvenancePolicy
) -> tuple[list[dict[str, Any]], set[Any]]:
    """Pair each recomputed determination with the published determinations of the same point.

    Recomputed rows are those of ``recomputed_files`` (the pipeline's own simulations); their published
    counterparts are rows of the other inputs whose source type is a simulation (``SIMULATION_SOURCE_TYPES``).
    Only ``value`` and ``phase_separation`` rows pair (``DETERMINATION_STATUSES``). Returns the comparisons (for
    the summary) and the index labels of the value rows that leave training: the recomputed ones when
    ``policy.prefer`` is ``published``, the published ones when it is ``recomputed``.
    """
    files = set(recomputed_files)
    determined = rows[rows["status"].isin(DETERMINATION_STATUSES)]
    is_recomputed = determined["file"].isin(files)
    published = determined[~is_recomputed & determined["source_type"].isin(SIMULATION_SOURCE_TYPES)]
    by_pair: dict[tuple[str, str], list[tuple[Any, dict[str, Any]]]] = {}
    for label, row in published.iterrows():
        by_pair.setdefault((row["A"], row["B"]), []).append((label, row.to_dict()))
    comparisons: list[dict[str, Any]] = []
    out: set[Any] = set()
    for label, rec in determined[is_recomputed].iterrows():
        for pub_label, pub in by_pair.get((rec["A"], rec["B"]), []):
            if not same_point(pub, rec, policy):
                continue
            dropped, dropped_row = (label, rec) if policy.prefer == "published" else (pub_label, pub)
            if dropped_row["status"] == KEPT_STATUS:
                out.add(dropped)
            h_pub, h_rec = _json_number(pub["hmix_kJ_per_mol"]), _json_number(rec["hmix_kJ_per_mol"])
            u_pub, u_rec = _json_number(pub["uncertainty_kJ_per_mol"]), _json_number(rec["uncertainty_kJ_per_mol"])
            both = h_pub is not None and h_rec is not None
            difference = round(h_rec - h_pub, 6) if both else None  # type: ignore[operator]
            # Combined standard uncertainty only when both sides give one (Table 1 gives none).
            combined = math.hypot(u_pub, u_rec) if both and u_pub is not None and u_rec is not None else None
            comparisons.append(
                {
                    "A": rec["A"],
                    "B": rec["B"],
                    "published": _side(pub),
                    "recomputed": _side(rec),
                    "status_agrees": pub["status"] == rec["status"],
                    "difference_kJ_per_mol": difference,
                    "combined_uncertainty_kJ_per_mol": None if combined is None else round(combined, 6),
                    "kept": policy.prefer,
                }
            )
    comparisons.sort(
        key=lambda c: (c["A"], c["B"], c["recomputed"]["x_B"], c["published"]["file"], c["published"]["source"])
    )
    return comparisons, out


def _provenance_summary(
    rows: pd.DataFrame,
    engine_out: pd.Series,
    comparisons: Sequence[Mapping[str, Any]],
    replaced: set[Any],
    recomputed_files: Sequence[str],
    policy: ProvenancePolicy,
) -> dict[str, Any]:
    """The summary's ``excluded_by_engine`` and ``recomputed`` sections."""
    out_rows = sort_dataset(rows[engine_out][[*DATASET_COLUMNS, "status"]])
    listed = [
        {
            "A": r["A"],
            "B": r["B"],
            "x_B": r["x_B"],
            "T_K": _json_number(r["T_K"]),
            "status": r["status"],
            "hmix_kJ_per_mol": _json_number(r["hmix_kJ_per_mol"]),
            "engine": reference_engine(str(r["reference"])),
            "source": r["source"],
        }
        for r in out_rows.to_dict("records")
    ]
    engines = Counter(str(e["engine"]) for e in listed)
    recomputed_rows = rows[rows["file"].isin(recomputed_files)]
    return {
        "excluded_by_engine": {
            "train_on_potential_md": list(policy.train_on_potential_md),
            "total": len(listed),
            "values": sum(e["status"] == KEPT_STATUS for e in listed),
            "by_engine": dict(sorted(engines.items())),
            "rows": listed,
        },
        "recomputed": {
            "prefer": policy.prefer,
            "x_B_tolerance": policy.x_B_tolerance,
            "T_tolerance_K": policy.T_tolerance_K,
            "files": list(recomputed_files),
            "rows": len(recomputed_rows),
            "pairs": len(comparisons),
            "kept_out_of_training": len(replaced),
            "comparisons": [dict(c) for c in comparisons],
        },
    }


@dataclass(frozen=True)
class Merged:
    """The merged dataset, every reject (inputs and cross-input duplicates) and the summary."""

    dataset: pd.DataFrame
    rejects: pd.DataFrame
    summary: dict[str, Any]


def format_rejects(rejects: pd.DataFrame) -> str:
    """Rejects as indented 'file:line location: reason' lines, for logs and error messages."""
    lines = []
    for row in rejects.to_dict("records"):
        line = "" if pd.isna(row["line"]) else f":{row['line']}"
        location = f" {row['location']}" if row["location"] else ""
        lines.append(f"  {row['file']}{line}{location}: {row['reason']}")
    return "\n".join(lines)


def merge_dataset(
    tables: Sequence[Table],
    rejects: Sequence[pd.DataFrame] = (),
    max_rejects: int = 0,
    not_loaded: pd.DataFrame | None = None,
    policy: ProvenancePolicy | None = None,
) -> Merged:
    """Merge validated inputs into the dataset (status == value rows, sorted), failing on too many rejects.

    Rows that exactly repeat a row of an earlier input are rejected; the same binary and composition from
    different sources are all kept (distinct measurements) and counted in the summary. ``not_loaded`` lists
    source files an upstream stage could not read (``read_load_report``): they go to the rejects table and
    the summary but, not being rows, never count toward ``max_rejects``. Inputs that add no row and sources
    whose scale is off (``check_scales``) are logged as warnings and listed in the summary.

    ``policy`` (default :class:`ProvenancePolicy`): ``potential_md`` rows of engines it does not name stay out
    of the dataset (``excluded_by_engine`` in the summary); a recomputed row (a table with ``recomputed``) and a
    published simulation of the same point are paired, one kept and the other reported beside it (``recomputed``).
    """
    frames = [t.rows for t in tables if len(t.rows)]
    combined = pd.concat(frames, ignore_index=True) if frames else _rows_frame([])
    combined, duplicates = reject_duplicates(combined)
    rejected = concat_rejects([*(t.rejects for t in tables), *rejects, duplicates])
    if len(rejected) > max_rejects:
        raise TooManyRejectsError(
            f"{len(rejected)} input rows rejected, more than the limit max_rejects = {max_rejects}; "
            f"first reasons:\n{format_rejects(rejected.head(_FIRST_REJECTS_SHOWN))}",
            rejected,
        )
    policy = policy if policy is not None else ProvenancePolicy()
    recomputed_files = [t.file for t in tables if t.recomputed]
    engine_out = excluded_by_engine(combined, policy)
    comparisons, replaced = pair_recomputed(combined[~engine_out], recomputed_files, policy)
    kept = combined[(combined["status"] == KEPT_STATUS) & ~engine_out & ~combined.index.isin(list(replaced))]
    dataset = sort_dataset(kept[list(DATASET_COLUMNS)])
    provenance = _provenance_summary(combined, engine_out, comparisons, replaced, recomputed_files, policy)
    _log_provenance(provenance)
    unloaded = not_loaded if not_loaded is not None else rejects_frame()
    warnings = _no_row_warnings(tables) + check_scales(combined)
    for warning in warnings:
        where = f"{warning['file']} ({warning['source']})" if warning["source"] else warning["file"]
        log.warning("%s: %s", where, warning["message"])
    for row in unloaded.to_dict("records"):
        line = "" if pd.isna(row["line"]) else f":{row['line']}"
        log.warning("%s%s: %s", row["file"], line, row["reason"])
    summary = summarize(tables, combined, dataset, rejected, unloaded, warnings, provenance)
    return Merged(dataset, concat_rejects([rejected, unloaded]), summary)


def _log_provenance(provenance: Mapping[str, Any]) -> None:
    """Log the rows the provenance rules kept out of training, so a run never drops them unannounced."""
    engines = provenance["excluded_by_engine"]
    for engine, n in engines["by_engine"].items():
        log.warning(
            "%d %s row(s) of engine %s kept out of the dataset: the engine is not in dataset.train_on_potential_md %s",
            n,
            POTENTIAL_MD,
            engine,
            engines["train_on_potential_md"],
        )
    recomputed = provenance["recomputed"]
    for c in recomputed["comparisons"]:
        pub, rec = c["published"], c["recomputed"]
        difference = c["difference_kJ_per_mol"]
        if not c["status_agrees"]:
            log.warning(
                "%s-%s x_B=%g: published %s (%s) but recomputed %s (%s); the %s one is kept for training",
                c["A"],
                c["B"],
                rec["x_B"],
                pub["status"],
                pub["source"],
                rec["status"],
                rec["source"],
                c["kept"],
            )
        log.info(
            "%s-%s x_B=%g: published %s (%s) vs recomputed %s (%s)%s; %s kept for training",
            c["A"],
            c["B"],
            rec["x_B"],
            pub["hmix_kJ_per_mol"] if pub["status"] == KEPT_STATUS else pub["status"],
            pub["source"],
            rec["hmix_kJ_per_mol"] if rec["status"] == KEPT_STATUS else rec["status"],
            rec["source"],
            "" if difference is None else f", difference {difference:+.3f} kJ/mol",
            c["kept"],
        )


def sort_dataset(frame: pd.DataFrame) -> pd.DataFrame:
    """Sort dataset rows deterministically: A, B, x_B, source_type, source, then every other column."""
    keys = list(SORT_COLUMNS) + [c for c in DATASET_COLUMNS if c not in SORT_COLUMNS]
    return frame.sort_values(keys, kind="mergesort", na_position="last").reset_index(drop=True)


def _per_source_type(frame: pd.DataFrame) -> dict[str, dict[str, int]]:
    out = {}
    for source_type in SOURCE_TYPES:
        part = frame[frame["source_type"] == source_type]
        out[source_type] = {"points": len(part), "binaries": int(part.groupby(["A", "B"]).ngroups)}
    return out


def _json_number(value: object) -> float | None:
    return None if pd.isna(value) else float(value)  # type: ignore[arg-type]


def summarize(
    tables: Sequence[Table],
    rows: pd.DataFrame,
    dataset: pd.DataFrame,
    rejects: pd.DataFrame,
    not_loaded: pd.DataFrame | None = None,
    warnings: Sequence[Mapping[str, Any]] = (),
    provenance: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Counts for people and checks: points and binaries per source, statuses, swaps, overlaps, rejects.

    ``rejects`` are rejected input rows (the ones ``max_rejects`` limits); ``not_loaded`` source files and
    ``warnings`` (no rows, scale) are listed separately; ``provenance`` holds the ``excluded_by_engine`` and
    ``recomputed`` sections (:func:`merge_dataset`; without it, none of those rules ran and both are empty).
    """
    if provenance is None:
        provenance = _provenance_summary(rows, rows["file"].isin([]), [], set(), [], ProvenancePolicy())
    unloaded = not_loaded if not_loaded is not None else rejects_frame()
    elements = sorted(set(dataset["A"]) | set(dataset["B"]), key=ELEMENTS.index)
    excluded: dict[str, list[dict[str, object]]] = {}
    for status in STATUSES:
        if status == KEPT_STATUS:
            continue
        part = sort_dataset(rows[rows["status"] == status][list(DATASET_COLUMNS)])
        excluded[status] = [
            {
                "A": r["A"],
                "B": r["B"],
                "x_B": r["x_B"],
                "T_K": _json_number(r["T_K"]),
                "source_type": r["source_type"],
                "source": r["source"],
            }
            for r in part.to_dict("records")
        ]
    # The same binary and composition from more than one source: all rows are kept (distinct
    # measurements); how many compositions are shared tells how much the sources overlap.
    groups = dataset.groupby(["A", "B", "x_B"], sort=True).agg(
        sources=("source", "nunique"), source_types=("source_type", "nunique")
    )
    shared = groups[groups["sources"] > 1]
    inputs = [
        {
            "file": t.file,
            "rows_read": t.n_read,
            "rows_loaded": len(t.rows),
            "rejected": len(t.rejects),
            "swapped_normalised": int(t.rows["swapped"].sum()),
            "by_status": {s: int(n) for s, n in sorted(Counter(t.rows["status"]).items())},
            "dropped_columns": list(t.extra_columns),
            "notes": list(t.notes),
            "recomputed": t.recomputed,
        }
        for t in tables
    ]
    return {
        "points": len(dataset),
        "binaries": int(dataset.groupby(["A", "B"]).ngroups),
        "n_elements": len(elements),
        "elements": elements,
        "by_source_type": _per_source_type(dataset),
        "swapped_normalised": int(rows["swapped"].sum()),
        "excluded_by_status": excluded,
        "excluded_by_engine": provenance["excluded_by_engine"],
        "recomputed": provenance["recomputed"],
        "shared_compositions": {
            "compositions": len(shared),
            "across_source_types": int((shared["source_types"] > 1).sum()),
            "rows": int(dataset.merge(shared.reset_index()[["A", "B", "x_B"]]).shape[0]),
        },
        "rejects": {
            "total": len(rejects),
            "by_reason": dict(sorted(Counter(reject_category(r) for r in rejects["reason"]).items())),
        },
        "sources_not_loaded": [
            {"file": r["file"], "line": None if pd.isna(r["line"]) else int(r["line"]), "reason": r["reason"]}
            for r in unloaded.to_dict("records")
        ],
        "warnings": [dict(w) for w in warnings],
        "inputs": inputs,
    }


def summary_json(summary: Mapping[str, Any]) -> str:
    """The summary as stable, indented JSON text."""
    return json.dumps(summary, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def summary_markdown(summary: Mapping[str, Any]) -> str:
    """The summary as a short Markdown report."""
    out = [
        "# Dataset summary",
        "",
        f"{summary['points']} points, {summary['binaries']} binaries, {summary['n_elements']} elements: "
        + " ".join(summary["elements"]),
        "",
        "| source type | points | binaries |",
        "| --- | ---: | ---: |",
    ]
    out += [f"| {k} | {v['points']} | {v['binaries']} |" for k, v in summary["by_source_type"].items()]
    shared = summary["shared_compositions"]
    out += [
        "",
        f"Swapped A/B rows normalised (A < B, x_B → 1 − x_B): {summary['swapped_normalised']}.",
        f"Compositions (A, B, x_B) given by more than one source: {shared['compositions']} "
        f"({shared['rows']} rows, all kept; {shared['across_source_types']} across source types).",
        "",
        "## Rows kept out of the dataset by status",
        "",
    ]
    for status, entries in summary["excluded_by_status"].items():
        listed = ", ".join(f"{e['A']}-{e['B']} x_B={e['x_B']:g} ({e['source']})" for e in entries)
        out.append(f"- {status} ({len(entries)}): {listed or 'none'}")
    out += _provenance_markdown(summary)
    rejects = summary["rejects"]
    out += ["", f"## Rejects: {rejects['total']}", ""]
    out += [f"- {reason}: {n}" for reason, n in rejects["by_reason"].items()] or ["- none"]
    unloaded = summary.get("sources_not_loaded", [])
    if unloaded:
        out += ["", f"## Sources not loaded: {len(unloaded)} (not counted as rejects)", ""]
        for item in unloaded:
            line = "" if item["line"] is None else f":{item['line']}"
            out.append(f"- {item['file']}{line}: {item['reason']}")
    warnings = summary.get("warnings", [])
    if warnings:
        out += ["", f"## Warnings: {len(warnings)}", ""]
        for item in warnings:
            where = f"{item['file']} ({item['source']})" if item["source"] else item["file"]
            out.append(f"- {where}: {item['message']}")
    out += ["", "## Inputs", "", "| file | read | loaded | rejected | swapped | dropped columns |"]
    out += ["| --- | ---: | ---: | ---: | ---: | --- |"]
    for item in summary["inputs"]:
        out.append(
            f"| {item['file']} | {item['rows_read']} | {item['rows_loaded']} | {item['rejected']} | "
            f"{item['swapped_normalised']} | {', '.join(item['dropped_columns'])} |"
        )
    notes = [f"- {item['file']}: {note}" for item in summary["inputs"] for note in item["notes"]]
    if notes:
        out += ["", "## Notes", "", *notes]
    return "\n".join(out) + "\n"


def _cell(value: object, fmt: str = "g") -> str:
    return "" if value is None else format(value, fmt)


def _point(side: Mapping[str, Any]) -> str:
    """A comparison side for a Markdown cell: the value or the status."""
    return _cell(side["hmix_kJ_per_mol"]) if side["status"] == KEPT_STATUS else side["status"]


def _provenance_markdown(summary: Mapping[str, Any]) -> list[str]:
    """The summary.md sections of the engine filter and of the published/recomputed pairs."""
    engines = summary.get("excluded_by_engine")
    recomputed = summary.get("recomputed")
    if engines is None or recomputed is None:
        return []
    named = ", ".join(engines["train_on_potential_md"]) or "none"
    out = [
        "",
        f"## Interatomic-potential rows kept out of training: {engines['total']} ({engines['values']} with a value)",
        "",
        f"Engines whose `{POTENTIAL_MD}` rows may train (dataset.train_on_potential_md): {named}.",
    ]
    if engines["rows"]:
        out += ["", *(f"- {engine}: {n} row(s)" for engine, n in engines["by_engine"].items())]
        out += [
            f"  - {e['A']}-{e['B']} x_B={e['x_B']:g} T={_cell(e['T_K'])} {e['status']} "
            f"{_cell(e['hmix_kJ_per_mol'])} ({e['engine']}, {e['source']})"
            for e in engines["rows"]
        ]
    out += [
        "",
        f"## Published and recomputed values of one point: {recomputed['pairs']} pair(s)",
        "",
        f"Recomputed rows: {recomputed['rows']} (from {', '.join(recomputed['files']) or 'no recomputed input'}); "
        f"kept for training: the {recomputed['prefer']} one of each pair (dataset.recomputed.prefer); "
        f"{recomputed['kept_out_of_training']} value row(s) left out; same point: x_B within "
        f"{recomputed['x_B_tolerance']:g}, T within {recomputed['T_tolerance_K']:g} K.",
    ]
    if recomputed["comparisons"]:
        out += [
            "",
            "| A | B | x_B | T_K | published (kJ/mol) | ± | recomputed (kJ/mol) | ± | recomputed − published "
            "| ± combined | kept |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for c in recomputed["comparisons"]:
            pub, rec = c["published"], c["recomputed"]
            out.append(
                f"| {c['A']} | {c['B']} | {rec['x_B']:g} | {_cell(rec['T_K'])} | {_point(pub)} | "
                f"{_cell(pub['uncertainty_kJ_per_mol'])} | {_point(rec)} | {_cell(rec['uncertainty_kJ_per_mol'])} | "
                f"{_cell(c['difference_kJ_per_mol'], '+.3f')} | {_cell(c['combined_uncertainty_kJ_per_mol'], '.3f')} | "
                f"{c['kept']} |"
            )
    return out


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a table a pipeline rule wrote, checked against its manifest; only empty cells are missing ('Na')."""
    # Inside results/ a table without a manifest was not written by a rule and is refused (docs/dataset.md,
    # "Intermediate tables"); data of your own goes through read_dataset_csv, which validates every row.
    return read_verified_csv(path, keep_default_na=False, na_values=[""])
