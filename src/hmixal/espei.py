"""Read ESPEI-format JSON datasets (liquid HM_MIX, non-equilibrium thermochemical) into dataset rows.

ESPEI's format (one file = one dataset): ``components`` (may include VA), ``phases`` (one phase),
``conditions`` {``P``, ``T``} (each a number or a list), ``solver`` {``sublattice_site_ratios``,
``sublattice_configurations``, ``sublattice_occupancies``} (one configuration per point), ``output``,
``values`` nested [P][T][configuration] in J/mol, ``reference``, ``comment``. Keys not needed here
(``excluded_model_contributions``, ``weight``, ``bibtex``) are ignored.
"""

from __future__ import annotations

import json
import logging
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from hmixal.dataset import (
    SCALE_RATIO_LOW,
    RawRecord,
    Table,
    canonical_element,
    concat_rejects,
    reject_row,
    rejects_frame,
    scale_ratio_to_miedema,
    validate_records,
)
from hmixal.errors import InputError

log = logging.getLogger(__name__)

J_PER_KJ = 1000.0
# ESPEI-datasets marks estimates (not measurements) with the reference "estimated" (Cr-V, Ti-V in
# ../shared/refdata/espei_datasets; SOURCES.md); ESPEI's optional "tags" list may carry the same word.
ESTIMATED_MARKERS = frozenset({"estimated", "estimate", "estimation"})
# Digitised site fractions are rounded (Thiedemann 1998 Cr-Ni: 0.045 + 0.956 = 1.001): accept sums within
# this tolerance and renormalise; a larger gap is a typo.
SITE_FRACTION_TOLERANCE = 0.01
VACANCY = "VA"
# A file whose values, read as J/mol, are below this in kJ/mol (median |value|, i.e. < 200 J/mol, beneath the
# resolution of liquid calorimetry) AND below SCALE_RATIO_LOW × Miedema (median ratio) was written in kJ/mol:
# its points are rejected ("wrong unit") instead of entering the dataset 1000 times too small.
KJ_FILE_MAX_MEDIAN_KJ = 0.2


@dataclass(frozen=True)
class Skipped:
    """A JSON file that holds another output or phase (not an error, listed in the log and summary)."""

    file: str
    reason: str


class EspeiStructureError(ValueError):
    """A dataset (or one configuration) that cannot be read; ``location`` is the JSON path of the problem."""

    def __init__(self, location: str, reason: str, raw: Any = "") -> None:
        super().__init__(f"{location}: {reason}")
        self.location = location
        self.reason = reason
        self.raw = raw if isinstance(raw, str) else _compact(raw)


def _compact(obj: Any, limit: int = 300) -> str:
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _numbers(value: Any, location: str) -> list[float]:
    """A JSON number or non-empty list of numbers (ESPEI allows both for conditions) as a list."""
    if _is_number(value):
        return [float(value)]
    if isinstance(value, list) and value and all(_is_number(v) for v in value):
        return [float(v) for v in value]
    raise EspeiStructureError(location, "unexpected structure: expected a number or a list of numbers", value)


def _need(mapping: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    location = f"{where}.{key}" if where else key
    if key not in mapping:
        raise EspeiStructureError(location, f"unexpected structure: missing key '{key}'", "")
    value = mapping[key]
    if not isinstance(value, kind):
        raise EspeiStructureError(location, f"unexpected structure: '{key}' is {type(value).__name__}", value)
    return value


def mole_fraction(
    configuration: Any,
    occupancy: Any,
    site_ratios: Sequence[float],
    components: tuple[str, str],
    location: str,
) -> float:
    """Mole fraction of ``components[1]`` (vacancies excluded) in one solver configuration.

    ``occupancy`` is None when the file gives no occupancies (then every sublattice must hold one species).
    Raises EspeiStructureError naming ``location`` (a JSON path) when shapes or fractions do not fit.
    """
    if not isinstance(configuration, list) or len(configuration) != len(site_ratios):
        raise EspeiStructureError(
            location, f"unexpected structure: expected {len(site_ratios)} sublattice(s)", configuration
        )
    if occupancy is not None and (not isinstance(occupancy, list) or len(occupancy) != len(configuration)):
        raise EspeiStructureError(
            location, f"unexpected structure: expected {len(configuration)} sublattice occupancies", occupancy
        )
    amounts = dict.fromkeys(components, 0.0)
    for s, (entry, ratio) in enumerate(zip(configuration, site_ratios, strict=True)):
        where = f"{location}[{s}]"
        if isinstance(entry, str):  # one species: the occupancy is a bare number (or absent)
            species, fractions = [entry], [1.0 if occupancy is None else occupancy[s]]
        elif isinstance(entry, list) and entry and all(isinstance(e, str) for e in entry):
            species, fractions = entry, (None if occupancy is None else occupancy[s])
        else:
            raise EspeiStructureError(where, "unexpected structure: a sublattice is a species or a list", entry)
        if not isinstance(fractions, list) or len(fractions) != len(species):
            raise EspeiStructureError(where, "unexpected structure: site fractions do not match species", fractions)
        if not all(_is_number(f) and 0.0 <= f <= 1.0 for f in fractions):
            raise EspeiStructureError(where, "site fractions: not numbers in [0, 1]", fractions)
        total = float(sum(fractions))
        if abs(total - 1.0) > SITE_FRACTION_TOLERANCE:
            raise EspeiStructureError(where, f"site fractions: sum to {total:g}, not 1", fractions)
        for name, y in zip(species, fractions, strict=True):
            symbol = name.upper()
            if symbol == VACANCY:
                continue
            if symbol not in amounts:
                raise EspeiStructureError(where, f"unexpected structure: species {name} is not a component", entry)
            amounts[symbol] += ratio * y / total
    atoms = sum(amounts.values())
    # HM_MIX is per formula unit; it equals per mole of atoms only when a formula unit holds one atom
    # (every substitutional liquid). Anything else would need a convention the file does not state.
    if not math.isclose(atoms, 1.0, abs_tol=1e-6):
        raise EspeiStructureError(
            location,
            f"unsupported configuration: formula unit holds {atoms:g} mol of atoms, not 1",
            configuration,
        )
    return amounts[components[1]]


def _components(data: dict[str, Any]) -> tuple[str, ...]:
    """The elements of a dataset in the file's order (upper case, VA dropped)."""
    raw = _need(data, "components", list, "")
    names = []
    for i, name in enumerate(raw):
        if not isinstance(name, str):
            raise EspeiStructureError(f"components[{i}]", "unexpected structure: component is not a string", name)
        if name.upper() == VACANCY:
            continue
        if canonical_element(name) is None:
            raise EspeiStructureError(f"components[{i}]", f"unknown element: {name!r}", raw)
        names.append(name.upper())
    if not names:
        raise EspeiStructureError("components", "unexpected structure: no element among the components", raw)
    return tuple(names)


def is_estimated(data: dict[str, Any]) -> bool:
    """True when an ESPEI dataset is marked as an estimate (reference 'estimated' or such a tag)."""
    reference = data.get("reference")
    tags = data.get("tags")
    words = [t.strip().lower() for t in tags if isinstance(t, str)] if isinstance(tags, list) else []
    if isinstance(reference, str):
        words.append(reference.strip().lower())
    return any(w in ESTIMATED_MARKERS for w in words)


@dataclass(frozen=True)
class _Point:
    location: str
    x_b: float
    temperature: float
    value: Any
    raw: str


def _check_shape(values: list[Any], shape: tuple[int, int, int]) -> None:
    """Values must nest as [P][T][configuration]; name the first level that does not."""
    expected = f"expected [{shape[0]}][{shape[1]}][{shape[2]}] for [P][T][configuration]"
    if len(values) != shape[0]:
        raise EspeiStructureError("values", f"unexpected structure: {len(values)} pressure rows, {expected}", values)
    for p, per_t in enumerate(values):
        if not isinstance(per_t, list) or len(per_t) != shape[1]:
            raise EspeiStructureError(f"values[{p}]", f"unexpected structure: {expected}", per_t)
        for t, per_config in enumerate(per_t):
            if not isinstance(per_config, list) or len(per_config) != shape[2]:
                raise EspeiStructureError(f"values[{p}][{t}]", f"unexpected structure: {expected}", per_config)


def _points(
    data: dict[str, Any], components: tuple[str, str], file: str
) -> tuple[list[_Point], list[dict[str, object]]]:
    """Every (P, T, configuration) point, plus rejects for configurations whose composition cannot be read."""
    conditions = _need(data, "conditions", dict, "")
    pressures = _numbers(_need(conditions, "P", (int, float, list), "conditions"), "conditions.P")
    temperatures = _numbers(_need(conditions, "T", (int, float, list), "conditions"), "conditions.T")
    solver = _need(data, "solver", dict, "")
    configurations = _need(solver, "sublattice_configurations", list, "solver")
    ratios = _numbers(_need(solver, "sublattice_site_ratios", list, "solver"), "solver.sublattice_site_ratios")
    occupancies = solver.get("sublattice_occupancies")
    if occupancies is not None and (not isinstance(occupancies, list) or len(occupancies) != len(configurations)):
        raise EspeiStructureError(
            "solver.sublattice_occupancies",
            f"unexpected structure: expected a list of {len(configurations)} (one per configuration)",
            occupancies,
        )
    values = _need(data, "values", list, "")
    shape = (len(pressures), len(temperatures), len(configurations))
    _check_shape(values, shape)
    compositions: dict[int, float] = {}
    rejects = []
    for i, configuration in enumerate(configurations):
        occupancy = None if occupancies is None else occupancies[i]
        where = "solver.sublattice_configurations" if occupancies is None else "solver.sublattice_occupancies"
        try:
            compositions[i] = mole_fraction(configuration, occupancy, ratios, components, f"{where}[{i}]")
        except EspeiStructureError as problem:
            lost = [values[p][t][i] for p in range(shape[0]) for t in range(shape[1])]
            raw = _compact({"configuration": configuration, "occupancy": occupancy, "values": lost})
            reason = f"{problem.reason} ({len(lost)} value(s) not loaded)"
            rejects.append(reject_row(file, None, problem.location, reason, raw))
    points = []
    for p, pressure in enumerate(pressures):  # in the file's [P][T][configuration] order
        for t, temperature in enumerate(temperatures):
            for i, x_b in compositions.items():
                occupancy = None if occupancies is None else occupancies[i]
                value = values[p][t][i]
                raw = _compact({"P": pressure, "T": temperature, "occupancy": occupancy, "value": value})
                points.append(_Point(f"values[{p}][{t}][{i}]", x_b, temperature, value, raw))
    return points, rejects


@dataclass(frozen=True)
class EspeiFile:
    """What one JSON file gave: raw records to validate, rejects, or the reason it was skipped."""

    records: list[RawRecord]
    rejects: list[dict[str, object]]
    skipped: str | None = None
    estimated: bool = False


def parse_espei_file(
    path: str | Path,
    source: str,
    citations: Mapping[str, str] | None = None,
    phase: str = "LIQUID",
    output: str = "HM_MIX",
) -> EspeiFile:
    """Parse one ESPEI JSON file into raw records (values converted from J/mol to kJ/mol).

    ``source`` is written in the rows' ``source`` column (the path relative to the folder); ``citations``
    maps bibtex keys to citations for the ``reference`` column. Only ``output`` of the single phase
    ``phase`` is read; other files are skipped with a reason. Problems become rejects whose ``location``
    is the JSON path of the problem (or the column of a JSON syntax error, whose line is then given).
    """
    file = str(path)
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return EspeiFile([], [reject_row(file, None, "", f"invalid JSON: not UTF-8 ({error.reason})", "")])
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        lines = text.split("\n")
        raw = lines[error.lineno - 1] if error.lineno <= len(lines) else ""
        reason = f"invalid JSON: {error.msg}"
        return EspeiFile([], [reject_row(file, error.lineno, f"column {error.colno}", reason, raw)])
    try:
        if not isinstance(data, dict):
            raise EspeiStructureError("", "unexpected structure: the top level is not an object", data)
        found_output = _need(data, "output", str, "")
        if found_output != output:
            return EspeiFile([], [], f"output {found_output}, not {output}")
        phases = _need(data, "phases", list, "")
        if phase not in phases:
            return EspeiFile([], [], f"phases {phases}, not {phase}")
        if len(phases) != 1:
            raise EspeiStructureError("phases", "unexpected structure: non-equilibrium data has one phase", phases)
        components = _components(data)
        if len(components) != 2:
            # A ternary (or unary) dataset is valid ESPEI data, just not a binary: skipped, not rejected.
            return EspeiFile([], [], f"{len(components)} components besides VA ({'-'.join(components)}), not 2")
        points, rejects = _points(data, (components[0], components[1]), file)
    except EspeiStructureError as problem:
        return EspeiFile([], [reject_row(file, None, problem.location, problem.reason, problem.raw)])
    estimated = is_estimated(data)
    key = str(data.get("reference") or "").strip()
    reference = (citations or {}).get(key, key)
    comment = str(data.get("comment") or "").strip()
    records = []
    for point in points:
        if not _is_number(point.value):
            # Not converted: a numeric string would silently be taken as kJ/mol instead of J/mol.
            category = "missing value" if point.value is None else "non-numeric value"
            reason = f"{category}: {point.location} = {point.value!r} (a number in J/mol expected)"
            rejects.append(reject_row(file, None, point.location, reason, point.raw))
            continue
        fields = {
            "A": components[0],
            "B": components[1],
            "x_B": point.x_b,
            # The numbers of an estimated dataset are not data: the row keeps only its status.
            "hmix_kJ_per_mol": None if estimated else point.value / J_PER_KJ,
            "T_K": point.temperature,
            "source_type": "calorimetry",
            "source": source,
            "reference": reference,
            "status": "estimated" if estimated else "value",
            "comment": comment,
        }
        records.append(RawRecord(file, None, point.location, point.raw, fields))
    return EspeiFile(records, rejects, None, estimated)


def wrong_unit_reason(rows: pd.DataFrame) -> str | None:
    """Why an ESPEI file's values (already divided by 1000) look like kJ/mol written as J/mol, or None."""
    values = rows["hmix_kJ_per_mol"].dropna()
    if values.empty:
        return None
    ratio, n = scale_ratio_to_miedema(rows)
    median = float(values.abs().median())
    if n == 0 or ratio >= SCALE_RATIO_LOW or median >= KJ_FILE_MAX_MEDIAN_KJ:
        return None
    return (
        f"wrong unit: the file's values look like kJ/mol, but ESPEI's HM_MIX is J/mol: median |value| "
        f"{median * J_PER_KJ:.3g} J/mol = {median:.3g} kJ/mol, {ratio:.3g} × Miedema over {n} point(s) "
        f"(multiply the values by 1000)"
    )


def _reject_all(table: Table, reason: str) -> None:
    """Move every row of a file's table to its rejects with one reason (the file as a whole is wrong)."""
    rows = [
        reject_row(str(r["file"]), None, str(r["location"]), reason, str(r["raw"]))
        for r in table.rows.to_dict("records")
    ]
    table.rejects = concat_rejects([table.rejects, rejects_frame(rows)])
    table.rows = table.rows.iloc[0:0]


def read_espei_folder(
    folder: str | Path,
    bibtex: str | Path | None = None,
    phase: str = "LIQUID",
    output: str = "HM_MIX",
) -> tuple[Table, list[Skipped]]:
    """Read every ``*.json`` under ``folder`` (sorted) into one validated Table and the list of skipped files.

    ``bibtex`` (default: ``folder/references.bib`` when it exists) resolves reference keys to citations.
    Estimated datasets are kept as rows with status 'estimated' and no value (so the merge leaves them out
    and the summary lists them) and are logged, as are skipped files and rejects.
    """
    root = Path(folder)
    files = sorted(root.rglob("*.json"), key=lambda p: p.relative_to(root).as_posix())
    if not files:
        raise InputError(root, None, "no ESPEI JSON files (*.json) in this folder")
    bib_path = Path(bibtex) if bibtex is not None else root / "references.bib"
    citations = citations_from_bibtex(bib_path) if bib_path.is_file() else {}
    tables, skipped, notes = [], [], []
    for path in files:
        source = path.relative_to(root).as_posix()
        parsed = parse_espei_file(path, source, citations, phase, output)
        if parsed.skipped:
            skipped.append(Skipped(str(path), parsed.skipped))
            notes.append(f"{source}: skipped, {parsed.skipped}")
            log.info("skipped %s: %s", path, parsed.skipped)
            continue
        table = validate_records(parsed.records, str(path), "calorimetry", source)
        table.rejects = concat_rejects([rejects_frame(parsed.rejects), table.rejects])
        table.n_read += len(parsed.rejects)
        unit = None if parsed.estimated else wrong_unit_reason(table.rows)
        if unit is not None:
            _reject_all(table, unit)
        if table.n_read and table.rows.empty:
            note = f"adds no row: all {table.n_read} point(s) rejected"
            notes.append(f"{source}: {note}")
            log.warning("%s: %s", path, note)
        if parsed.estimated:
            note = f"estimated dataset: {len(table.rows)} point(s) kept out of the dataset (status estimated)"
            notes.append(f"{source}: {note}")
            log.warning("%s: %s", path, note)
        for reject in table.rejects.itertuples():
            log.warning("rejected %s %s: %s", reject.file, reject.location, reject.reason)
        tables.append(table)
    rows = [t.rows for t in tables if len(t.rows)]
    empty = validate_records([], str(root), "calorimetry", "").rows
    merged = Table(
        str(root),
        pd.concat(rows, ignore_index=True) if rows else empty,
        concat_rejects(t.rejects for t in tables),
        sum(t.n_read for t in tables),
        notes=notes,
    )
    return merged, skipped


# --- bibtex: just enough to turn the keys ESPEI datasets cite into readable citations -------------

_ENTRY = re.compile(r"@(\w+)\s*\{\s*([^,\s]+)\s*,")
_FIELD = re.compile(r"\s*,?\s*(\w+)\s*=\s*")
_ACCENT = re.compile(r"\{?\\([\"'`^~=.c])\s*\{?([A-Za-z])\}?\}?")
_COMBINING = {
    '"': "\u0308",
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "c": "\u0327",
}


def _braced(text: str, start: int, close: str) -> tuple[str, int]:
    """The text up to the matching ``close`` (``}`` or ``"``) at brace depth 0, and the index after it."""
    depth, i = 0, start
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}" and depth > 0:
            depth -= 1
        elif char == close and depth == 0:
            return text[start:i], i + 1
        i += 1
    raise ValueError("unbalanced braces")


def read_bibtex(path: str | Path) -> dict[str, dict[str, str]]:
    """Entries of a bibtex file as {key: {field (lower case): raw value}}; unreadable entries are logged."""
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    entries: dict[str, dict[str, str]] = {}
    for match in _ENTRY.finditer(text):
        fields: dict[str, str] = {}
        i = match.end()
        try:
            while True:
                field = _FIELD.match(text, i)
                if field is None:
                    break
                i = field.end()
                if text[i] == "{":
                    value, i = _braced(text, i + 1, "}")
                elif text[i] == '"':
                    value, i = _braced(text, i + 1, '"')
                else:
                    bare = re.match(r"[^,}\s]+", text[i:])
                    value = bare.group(0) if bare else ""
                    i += len(value)
                fields[field.group(1).lower()] = value
        except (ValueError, IndexError):
            log.warning("%s: could not read bibtex entry %s", path, match.group(2))
            continue
        entries[match.group(2)] = fields
    return entries


def delatex(text: str) -> str:
    """Plain text from a bibtex value: accents as Unicode, braces and other commands removed."""
    text = _ACCENT.sub(lambda m: m.group(2) + _COMBINING[m.group(1)], text)
    text = re.sub(r"\\[A-Za-z]+\s*", "", text).replace("\\&", "&").replace("--", "–")
    text = text.replace("{", "").replace("}", "")
    return unicodedata.normalize("NFC", " ".join(text.split()))


def format_citation(key: str, entry: Mapping[str, str]) -> str:
    """'Surname et al. (year). Title. Journal volume, pages. doi:… [key]' from a bibtex entry."""
    authors = [a.strip() for a in delatex(entry.get("author", "")).split(" and ") if a.strip()]
    surnames = [a.split(",")[0].strip() if "," in a else a.split()[-1] for a in authors]
    who = (
        surnames[0]
        if len(surnames) == 1
        else " and ".join(surnames)
        if len(surnames) == 2
        else (f"{surnames[0]} et al." if surnames else "")
    )
    parts = [f"{who} ({delatex(entry.get('year', ''))})." if who else ""]
    title = delatex(entry.get("title", ""))
    if title:
        parts.append(f"{title}.")
    venue = " ".join(p for p in (delatex(entry.get("journal", "")), delatex(entry.get("volume", ""))) if p)
    pages = delatex(entry.get("pages", ""))
    if venue or pages:
        parts.append(f"{venue}{', ' if venue and pages else ''}{pages}.")
    if entry.get("doi"):
        parts.append(f"doi:{delatex(entry['doi'])}")
    parts.append(f"[{key}]")
    return " ".join(p for p in parts if p)


def citations_from_bibtex(path: str | Path) -> dict[str, str]:
    """Bibtex keys of a file mapped to formatted citations."""
    return {key: format_citation(key, entry) for key, entry in read_bibtex(path).items()}
