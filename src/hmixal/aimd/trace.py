"""The per-step table of one MD run: the Trace (columns, composition, target T, ensemble, engine) and its CSV.

A trace is a per-step table (``step, time_fs, temperature_K, etotal_eV, epot_eV, pressure_kbar``, optionally
``volume_A3``, ``conserved_eV``, ``eint_eV``, ``scf_steps``; energies are cell totals in eV, the pressure
includes the kinetic term) with its metadata; it is written as CSV with ``# key: JSON`` metadata lines. The
VASP parser and the ASE engine both produce it (docs/aimd_emt.md, "The per-step table").
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hmixal.elements import ELEMENTS
from hmixal.errors import InputError
from hmixal.io import write_text

TRACE_COLUMNS: tuple[str, ...] = ("step", "time_fs", "temperature_K", "etotal_eV", "epot_eV", "pressure_kbar")
# Kept when present: cell volume; the conserved quantity of the thermostatted dynamics (drift check); the
# electronic internal energy F + TS (Fermi smearing: H uses it); SCF iterations per MD step (NELM check).
OPTIONAL_TRACE_COLUMNS: tuple[str, ...] = ("volume_A3", "conserved_eV", "eint_eV", "scf_steps")
ENSEMBLES: tuple[str, ...] = ("NVT", "NPT")

_META_LINE = re.compile(r"^#\s*([A-Za-z_][A-Za-z0-9_]*):\s*(.*?)\s*$")
_REQUIRED_META = ("composition", "target_temperature_K", "ensemble", "engine")


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
