"""ESPEI datasets (non-equilibrium thermochemical, output HM_MIX, phase LIQUID) from hmixal's AIMD rows and,
labelled as predictions, from the model's curves.

One dataset = one binary at one temperature from one reference: components [A, B] (upper case, A < B),
``solver`` with one sublattice of site ratio 1 and, per point, the configuration [[A, B]] and the occupancies
[[x_A, x_B]]; ``conditions`` P = 101325 Pa and T in K; ``values`` in J per mole of atoms nested [P][T][point];
``reference`` a short key, the full citation in ``comment``. ESPEI's loader (``espei.datasets.load_datasets``)
accepts them (tests/test_espei_export.py). docs/redlich_kister.md, "ESPEI datasets", gives the choices.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd

from hmixal.dataset import KEPT_STATUS, POTENTIAL_MD, reference_engine
from hmixal.elements import ELEMENTS
from hmixal.errors import InputError
from hmixal.redlich_kister import EXTRAPOLATION_COLUMN, calphad_name, element_symbol, true_false

log = logging.getLogger(__name__)

OUTPUT = "HM_MIX"
PHASE = "LIQUID"
PRESSURE_PA = 101325.0
J_PER_KJ = 1000.0
AIMD = "aimd"
# ESPEI 0.9.1 (espei/error_functions/non_equilibrium_thermochemical_error.py) scores HM data in its MCMC
# likelihood with a normal of standard deviation 500 J/mol divided by the dataset's `weight`; parameter
# generation uses `weight` as the sample weight of its least-squares fit.
ESPEI_HM_STD_J_PER_MOL = 500.0
PREDICTION_REFERENCE_PREFIX = "hmixal-prediction-"
# Tags (ESPEI's documented way to re-weight or alter datasets from the input YAML). "estimated" is also the
# marker ESPEI-datasets uses for estimates; hmixal's own ESPEI reader (hmixal.espei) keeps such datasets out of
# its training data, so a prediction exported here can never come back as a measurement.
AIMD_TAG = "hmixal-aimd"
POTENTIAL_MD_TAG = "hmixal-potential-md"
PREDICTION_TAGS: tuple[str, ...] = ("hmixal-prediction", "estimated")
LEFT_OUT_COLUMNS: tuple[str, ...] = ("A", "B", "x_B", "T_K", "source_type", "source", "reference", "status", "reason")
INDEX_COLUMNS: tuple[str, ...] = ("file", "A", "B", "T_K", "n_points", "reference", "tags", "weight")
_DECIMALS_X = 12
_DECIMALS_J = 6
_BY_NAME = {symbol.upper(): symbol for symbol in ELEMENTS}  # any case → element-table symbol
_KEY_CHARACTERS = re.compile(r"[^a-z0-9]+")
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_YEAR = re.compile(r"(?<!\d)(19|20)\d\d(?!\d)")


class Exported(NamedTuple):
    """ESPEI datasets and the input rows left out of them (LEFT_OUT_COLUMNS), each with its reason."""

    datasets: list[dict[str, Any]]
    left_out: pd.DataFrame


def _where(path: str | Path | None) -> str | Path:
    """The file name for an error message about a frame row ('<input>' when the frame has no file)."""
    return "<input>" if path is None else path


def hmix_dataset(
    a: str,
    b: str,
    x_b: npt.ArrayLike,
    values_kJ_per_mol: npt.ArrayLike,
    temperature_K: float,
    reference: str,
    comment: str,
    weight: float | None = None,
    tags: Sequence[str] = (),
) -> dict[str, Any]:
    """One ESPEI HM_MIX dataset of liquid a–b at one temperature: x_b is the fraction of ``b``, values in kJ/mol.

    The binary is written alphabetically (A < B) whatever order a, b come in; values become J/mol."""
    first, second = element_symbol(a), element_symbol(b)
    if first == second:
        raise InputError(None, None, f"a binary needs two different elements, not {a}-{b}")
    x = np.atleast_1d(np.asarray(x_b, dtype=float))
    values = np.atleast_1d(np.asarray(values_kJ_per_mol, dtype=float))
    if x.ndim != 1 or x.size == 0 or values.shape != x.shape:
        raise InputError(None, None, f"x_b and values must be equally long, non-empty lists: {x.shape}, {values.shape}")
    for i, (xi, vi) in enumerate(zip(x, values, strict=True)):
        if not (np.isfinite(xi) and 0.0 < xi < 1.0):
            raise InputError(None, None, f"{a}-{b} point {i}: x_B = {xi} is not strictly between 0 and 1")
        if not np.isfinite(vi):
            raise InputError(None, None, f"{a}-{b} point {i}: the value {vi} kJ/mol is not a finite number")
    if not (isinstance(temperature_K, int | float | np.number) and math.isfinite(temperature_K) and temperature_K > 0):
        raise InputError(None, None, f"{a}-{b}: temperature {temperature_K!r} K must be a positive number")
    if not isinstance(reference, str) or not reference.strip():
        raise InputError(None, None, f"{a}-{b}: the dataset needs a non-empty reference")
    if weight is not None and not (math.isfinite(weight) and weight > 0):
        raise InputError(None, None, f"{a}-{b}: weight {weight!r} must be a positive number")
    # ESPEI requires the species of a mixing sublattice in alphabetical order; x follows the second element.
    if calphad_name(first) > calphad_name(second):
        first, second, x = second, first, 1.0 - x
    order = np.argsort(x, kind="stable")
    x, values = np.round(x[order], _DECIMALS_X), values[order]
    names = [calphad_name(first), calphad_name(second)]
    dataset: dict[str, Any] = {
        "components": names,
        "phases": [PHASE],
        "solver": {
            "mode": "manual",
            "sublattice_site_ratios": [1],
            "sublattice_configurations": [[names] for _ in x],
            "sublattice_occupancies": [[[round(1.0 - xi, _DECIMALS_X), float(xi)]] for xi in x],
        },
        "conditions": {"P": PRESSURE_PA, "T": float(temperature_K)},
        "output": OUTPUT,
        "values": [[[round(float(v) * J_PER_KJ, _DECIMALS_J) + 0.0 for v in values]]],
        "reference": reference.strip(),
        "comment": comment,
    }
    if weight is not None:
        dataset["weight"] = float(weight)
    if tags:
        dataset["tags"] = list(tags)
    return dataset


def reference_key(reference: str, source_type: str = AIMD) -> str:
    """A short, file-name-safe key for a citation: first author + year ('bizot2026'), else its first words."""
    text = unicodedata.normalize("NFKD", str(reference)).encode("ascii", "ignore").decode().strip()
    if source_type == POTENTIAL_MD:
        engine = reference_engine(str(reference))
        return f"potential-md-{_KEY_CHARACTERS.sub('-', (engine or 'unknown').lower()).strip('-')}"
    if not text:
        return "unreferenced"
    year = _YEAR.search(text)
    words = [w for w in _KEY_CHARACTERS.split(text.lower()) if w]
    if year and words and words[0].isalpha():
        return f"{words[0]}{year.group(0)}"
    return "-".join(words[:3])[:40].strip("-") or "unreferenced"


def _keys(references: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Short keys for (reference, source_type) pairs; keys shared by different references get a hash suffix."""
    keys = {item: reference_key(*item) for item in references}
    shared: dict[str, set[tuple[str, str]]] = {}
    for item, key in keys.items():
        shared.setdefault(key, set()).add(item)
    for key, items in shared.items():
        if len(items) > 1:
            for item in items:
                keys[item] = f"{key}-{hashlib.sha256(item[0].encode('utf-8')).hexdigest()[:6]}"
    return keys


def _text(value: object) -> str:
    """A table cell as text; missing cells (NaN, None) as ''."""
    missing = value is None or (not isinstance(value, str) and bool(pd.isna(value)))
    return "" if missing else str(value).strip()


def _row_where(frame: pd.DataFrame, i: int, path: str | Path | None) -> tuple[str | Path, int]:
    """File and line of row i: the row's own file/line when it carries them (validated rows), else path:i+2."""
    if "file" in frame.columns and "line" in frame.columns:
        line = pd.to_numeric(pd.Series([frame["line"].iloc[i]]), errors="coerce").iloc[0]
        if _text(frame["file"].iloc[i]) and pd.notna(line):
            return _text(frame["file"].iloc[i]), int(line)
    return _where(path), i + 2


def _show(value: object) -> str:
    """A cell as the user wrote it: text quoted, numbers plain (not numpy's repr)."""
    return repr(value) if isinstance(value, str) else str(value)


def _first_problem(
    frame: pd.DataFrame,
    rows: np.ndarray,
    path: str | Path | None,
    checks: Sequence[tuple[np.ndarray, Callable[[int], str]]],
) -> None:
    """InputError for the earliest of ``rows`` failing a check (mask over rows, message of a frame position);
    for a row failing several, the first check in order."""
    earliest: tuple[int, Callable[[int], str]] | None = None
    for mask, message in checks:
        hits = np.flatnonzero(mask)
        if hits.size and (earliest is None or hits[0] < earliest[0]):
            earliest = (int(hits[0]), message)
    if earliest is not None:
        i = int(rows[earliest[0]])
        where, line = _row_where(frame, i, path)
        raise InputError(where, line, earliest[1](i))


def _not_finite(frame: pd.DataFrame, column: str) -> Callable[[int], str]:
    """The message for a cell of ``column`` that is not a finite number."""
    return lambda i: f"column {column}: {_show(frame[column].iloc[i])} is not a finite number"


def _points(
    frame: pd.DataFrame, rows: np.ndarray, path: str | Path | None, numbers: Sequence[str] = ()
) -> pd.DataFrame:
    """Rows of ``frame`` (positions) as validated points: A < B (element-table symbols), x_B of that B (flipped for
    a row written B–A), ``value`` (kJ/mol), the columns ``numbers`` as floats, ``row`` (the position)."""
    part = frame.iloc[rows]
    symbols = {}
    for column in ("A", "B"):
        names = part[column].map(_text).str.upper()
        symbols[column] = names.map(_BY_NAME).to_numpy(dtype=object)
    values = {c: pd.to_numeric(part[c], errors="coerce").to_numpy(dtype=float) for c in ("x_B", "hmix_kJ_per_mol")}
    extra = {c: pd.to_numeric(part[c], errors="coerce").to_numpy(dtype=float) for c in numbers}
    a, b, x = symbols["A"], symbols["B"], values["x_B"]
    checks: list[tuple[np.ndarray, Callable[[int], str]]] = [
        (pd.isna(a), lambda i: f"column A: unknown element {_text(frame['A'].iloc[i])!r}"),
        (pd.isna(b), lambda i: f"column B: unknown element {_text(frame['B'].iloc[i])!r}"),
        (~np.isfinite(x), _not_finite(frame, "x_B")),
        (
            np.isfinite(x) & ~((x > 0.0) & (x < 1.0)),
            lambda i: f"x_B = {float(frame['x_B'].iloc[i]):g} is not strictly between 0 and 1",
        ),
        (
            ~pd.isna(a) & (a == b),
            lambda i: f"A = B = {_text(frame['A'].iloc[i])}: a binary needs two different elements",
        ),
        (~np.isfinite(values["hmix_kJ_per_mol"]), _not_finite(frame, "hmix_kJ_per_mol")),
        *((~np.isfinite(v), _not_finite(frame, c)) for c, v in extra.items()),
    ]
    _first_problem(frame, rows, path, checks)
    # ESPEI and the TDB write the binary alphabetically (upper case); x_B follows the second element.
    swap = np.array([calphad_name(p) > calphad_name(q) for p, q in zip(a, b, strict=True)], dtype=bool)
    return pd.DataFrame(
        {
            "A": np.where(swap, b, a),
            "B": np.where(swap, a, b),
            "x_B": np.round(np.where(swap, 1.0 - x, x), _DECIMALS_X),
            "value": values["hmix_kJ_per_mol"],
            **extra,
            "row": rows,
        }
    )


def _binary(points: pd.DataFrame, i: int) -> str:
    """'A-B at x_B = …' of the point at frame position i (after orientation)."""
    p = points.loc[points["row"] == i].iloc[0]
    return f"{p['A']}-{p['B']} at x_{p['B']} = {p['x_B']:g}"


def _missing_columns(frame: pd.DataFrame, columns: Sequence[str], path: str | Path | None) -> None:
    """InputError naming the required columns a frame lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(_where(path), 1, f"missing column(s): {', '.join(missing)}")


def _left_out(frame: pd.DataFrame, i: int, reason: str) -> dict[str, Any]:
    """A LEFT_OUT_COLUMNS record of row i."""
    row = frame.iloc[i]
    record = {c: row.get(c) for c in LEFT_OUT_COLUMNS if c != "reason"}
    record["status"] = _text(row.get("status")) or KEPT_STATUS
    record["reason"] = reason
    return record


def aimd_datasets(
    dataset: pd.DataFrame, include_potential_md: bool = False, path: str | Path | None = None
) -> Exported:
    """ESPEI datasets of the DFT AIMD value rows of a dataset table, one per (binary, T, reference).

    Rows whose ``status`` is not ``value`` (phase separation, not computed, estimated) are not ΔH values: they
    are left out and returned in ``left_out`` with the reason, as are ``potential_md`` rows (MD on an interatomic
    potential, not DFT) unless ``include_potential_md``, which exports them labelled as such. Other source types
    are not AIMD and not looked at. A value row with a missing or non-finite value or temperature, an unknown
    element or x_B outside (0, 1) is an InputError naming the row (its file and line, else ``path`` and i + 2)."""
    _missing_columns(dataset, ("A", "B", "x_B", "hmix_kJ_per_mol", "T_K", "source_type", "reference"), path)
    frame = dataset.reset_index(drop=True)
    kinds = frame["source_type"].map(_text).to_numpy(dtype=object)
    if "status" in frame.columns:
        statuses = frame["status"].map(lambda s: _text(s) or KEPT_STATUS).to_numpy(dtype=object)
    else:
        statuses = np.full(len(frame), KEPT_STATUS, dtype=object)
    simulated = np.isin(kinds, [AIMD, POTENTIAL_MD])
    unasked = simulated & (kinds == POTENTIAL_MD) & (not include_potential_md)
    no_value = simulated & ~unasked & (statuses != KEPT_STATUS)
    left_out = [
        _left_out(frame, i, "potential_md: MD on an interatomic potential, not DFT (not asked)")
        if unasked[i]
        else _left_out(frame, i, f"status {statuses[i]}: not an enthalpy-of-mixing value")
        for i in np.flatnonzero(unasked | no_value)
    ]
    rows = np.flatnonzero(simulated & ~unasked & ~no_value)
    points = _points(frame, rows, path, numbers=("T_K",))
    _first_problem(
        frame,
        rows,
        path,
        [(points["T_K"].to_numpy() <= 0, lambda i: f"T_K = {float(frame['T_K'].iloc[i]):g} K is not positive")],
    )
    if "uncertainty_kJ_per_mol" in frame.columns:
        given = frame["uncertainty_kJ_per_mol"].iloc[rows].map(_text).to_numpy(dtype=object) != ""
        uncertainty = pd.to_numeric(frame["uncertainty_kJ_per_mol"].iloc[rows], errors="coerce").to_numpy(dtype=float)
        _first_problem(
            frame, rows, path, [(given & ~np.isfinite(uncertainty), _not_finite(frame, "uncertainty_kJ_per_mol"))]
        )
        points["uncertainty"] = np.where(given, uncertainty, np.nan)
    else:
        points["uncertainty"] = np.nan
    points["reference"] = frame["reference"].iloc[rows].map(_text).to_numpy()
    points["kind"] = kinds[rows]
    points["source"] = frame["source"].iloc[rows].map(_text).to_numpy() if "source" in frame.columns else ""
    groups: dict[tuple[str, str, float, str, str], list[tuple[float, float, float | None, str]]] = {}
    for p in points.sort_values("x_B", kind="stable").itertuples(index=False):
        key = (p.A, p.B, float(p.T_K), p.reference, p.kind)
        uncertainty_value = None if np.isnan(p.uncertainty) else float(p.uncertainty)
        groups.setdefault(key, []).append((float(p.x_B), float(p.value), uncertainty_value, p.source))
    keys = _keys(sorted({(reference, kind) for (_, _, _, reference, kind) in groups}))
    datasets = []
    for (a, b, temperature, reference, kind), group in sorted(groups.items()):
        datasets.append(
            hmix_dataset(
                a,
                b,
                [r[0] for r in group],
                [r[1] for r in group],
                temperature,
                keys[reference, kind],
                _aimd_comment(kind, reference, temperature, group),
                tags=[POTENTIAL_MD_TAG if kind == POTENTIAL_MD else AIMD_TAG],
            )
        )
    left = pd.DataFrame(left_out, columns=list(LEFT_OUT_COLUMNS))
    for row in left.itertuples(index=False):
        log.warning(
            "not exported: %s-%s x_B=%s T=%s K (%s): %s", row.A, row.B, row.x_B, row.T_K, row.source, row.reason
        )
    log.info(
        "%d ESPEI dataset(s) of %d AIMD point(s); %d row(s) left out",
        len(datasets),
        sum(map(len, groups.values())),
        len(left),
    )
    return Exported(datasets, left)


def _aimd_comment(
    kind: str, reference: str, temperature: float, rows: Sequence[tuple[float, float, float | None, str]]
) -> str:
    """What an AIMD dataset is, where it comes from (source, full citation) and its per-point uncertainties."""
    sources = "; ".join(sorted({r[3] for r in rows if r[3]})) or "not given"
    if kind == POTENTIAL_MD:
        what = "NOT DFT: molecular dynamics on an interatomic potential (source_type potential_md), exported on request"
    else:
        what = "DFT ab initio molecular dynamics (source_type aimd)"
    text = (
        f"{what}: enthalpy of mixing of the liquid relative to the pure liquids at T = {temperature:g} K, "
        f"J per mole of atoms, from the hmixal dataset table. Source: {sources}. "
        f"Reference: {reference or 'none given in the dataset table'}."
    )
    uncertainties = [r[2] for r in rows]
    if any(u is not None for u in uncertainties):
        shown = ", ".join("n/a" if u is None else f"{u * J_PER_KJ:g}" for u in uncertainties)
        text += f" Uncertainty per point (J/mol, in the order of values): {shown}."
    return text


def prediction_weight(half_widths_kJ_per_mol: npt.ArrayLike) -> float:
    """ESPEI weight of a prediction dataset: ESPEI's σ for HM (500 J/mol / weight) = the RMS 68 % half-width, ≤ 1."""
    half = np.asarray(half_widths_kJ_per_mol, dtype=float) * J_PER_KJ
    rms = float(np.sqrt(np.mean(np.square(half))))
    # Capped at 1: a prediction never counts more than a measurement at ESPEI's default weight.
    return 1.0 if rms <= ESPEI_HM_STD_J_PER_MOL else round(ESPEI_HM_STD_J_PER_MOL / rms, 6)


def prediction_datasets(
    frame: pd.DataFrame,
    model_label: str,
    temperature_K: float | None = None,
    melting_points: Mapping[str, float] | None = None,
    t_offset_K: float | None = None,
    t_cap_K: float | None = None,
    path: str | Path | None = None,
) -> list[dict[str, Any]]:
    """ESPEI datasets of a prediction table (``hmixal predict`` output), one per binary, labelled as PREDICTIONS.

    Columns A, B, x_B, hmix_kJ_per_mol, uncertainty_kJ_per_mol (68 % half-width); a binary may be written in
    either order, x_B being the fraction of the written B. The model has no temperature: ``temperature_K`` for
    every binary, or (None) the pipeline's CALPHAD rule T = min(max(Tm_A, Tm_B) + t_offset, t_cap)
    (``hmixal.calphad.curves.liquid_temperature``; melting points default to the element table's MeltT, t_offset and
    t_cap to its defaults). Each dataset's ``weight`` makes ESPEI's σ equal its RMS half-width
    (:func:`prediction_weight`). Bad rows are an InputError naming the row (``path`` and line i + 2)."""
    from hmixal.calphad.curves import DEFAULT_T_CAP_K, DEFAULT_T_OFFSET_K, liquid_temperature

    if not isinstance(model_label, str) or not _LABEL.match(model_label):
        raise InputError(
            None, None, f"model_label {model_label!r} must be letters, digits, '.', '_' or '-' (it names files)"
        )
    _missing_columns(frame, ("A", "B", "x_B", "hmix_kJ_per_mol", "uncertainty_kJ_per_mol"), path)
    rows = frame.reset_index(drop=True)
    if temperature_K is not None and not (math.isfinite(temperature_K) and temperature_K > 0):
        raise InputError(None, None, f"temperature_K {temperature_K!r} must be a positive number of kelvin")
    t_offset = DEFAULT_T_OFFSET_K if t_offset_K is None else float(t_offset_K)
    t_cap = DEFAULT_T_CAP_K if t_cap_K is None else float(t_cap_K)
    if temperature_K is None and melting_points is None:
        from hmixal.elements import load_element_table

        melting_points = load_element_table()["MeltT"].astype(float).to_dict()
    positions = np.arange(len(rows))
    points = _points(rows, positions, path, numbers=("uncertainty_kJ_per_mol",))
    half = points["uncertainty_kJ_per_mol"].to_numpy()
    twice = points.assign(x_key=points["x_B"].round(9)).duplicated(["A", "B", "x_key"]).to_numpy()
    _first_problem(
        rows,
        positions,
        path,
        [
            (
                half < 0,
                lambda i: f"uncertainty_kJ_per_mol = {float(rows['uncertainty_kJ_per_mol'].iloc[i]):g} is negative",
            ),
            (twice, lambda i: f"{_binary(points, i)} appears twice (maybe written both ways round)"),
        ],
    )
    # The domain-of-applicability flag of `hmixal predict`, per point, when the table has it.
    if EXTRAPOLATION_COLUMN in rows.columns:
        points["extrapolation"] = true_false(rows[EXTRAPOLATION_COLUMN], EXTRAPOLATION_COLUMN, path)
    else:
        points["extrapolation"] = False
    groups = {(a, b): part.sort_values("x_B", kind="stable") for (a, b), part in points.groupby(["A", "B"], sort=True)}
    datasets = []
    reference = f"{PREDICTION_REFERENCE_PREFIX}{model_label}"
    for (a, b), group in groups.items():
        if temperature_K is None:
            temperature = liquid_temperature(a, b, melting_points or {}, t_offset, t_cap)
            rule = (
                f"T = {temperature:g} K = min(max(Tm_{a}, Tm_{b}) + {t_offset:g} K, {t_cap:g} K), the temperature "
                "rule of hmixal's CALPHAD-derived data, chosen because ESPEI needs one"
            )
        else:
            temperature = float(temperature_K)
            rule = f"T = {temperature:g} K as asked, because ESPEI needs one"
        halves = group["uncertainty_kJ_per_mol"].tolist()
        weight = prediction_weight(halves)
        flagged = int(group["extrapolation"].sum())
        domain = (
            f" hmixal flags {flagged} of these {len(group)} points as extrapolation (outside the model's domain of "
            "applicability)."
            if flagged
            else ""
        )
        comment = (
            f"PREDICTION of the hmixal machine-learning model {model_label}, NOT a measurement: enthalpy of mixing "
            f"of the liquid relative to the pure liquids, J per mole of atoms. The model has no temperature; {rule}. "
            f"68 % half-widths of the model's interval per point (J/mol, in the order of values): "
            f"{', '.join(f'{h * J_PER_KJ:.6g}' for h in halves)}. weight {weight:g}: ESPEI's standard deviation "
            f"for HM data, {ESPEI_HM_STD_J_PER_MOL:g} J/mol / weight, equals the RMS half-width (capped at weight 1)."
            + domain
        )
        datasets.append(
            hmix_dataset(
                a,
                b,
                group["x_B"].to_numpy(),
                group["value"].to_numpy(),
                temperature,
                reference,
                comment,
                weight=weight,
                tags=PREDICTION_TAGS,
            )
        )
    return datasets


def dataset_file_name(dataset: Mapping[str, Any]) -> str:
    """The file name of a dataset: HM_MIX-LIQUID-<A>-<B>-<reference>-<T>K.json (elements upper case, A < B)."""
    a, b = dataset["components"]
    reference = _KEY_CHARACTERS.sub("-", str(dataset["reference"]).lower()).strip("-")
    temperature = float(dataset["conditions"]["T"])
    return f"{dataset['output']}-{dataset['phases'][0]}-{a}-{b}-{reference}-{temperature:.10g}K.json"


def dataset_json(dataset: Mapping[str, Any]) -> str:
    """A dataset as JSON text: one sorted top-level key a line, each value compact (a 99-point file stays small)."""
    lines = [
        f" {json.dumps(key)}: {json.dumps(dataset[key], sort_keys=True, ensure_ascii=False, allow_nan=False)}"
        for key in sorted(dataset)
    ]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def dataset_index(datasets: Sequence[Mapping[str, Any]], paths: Sequence[Path]) -> pd.DataFrame:
    """One row per written dataset (INDEX_COLUMNS): file name, binary (element-table symbols), T, points, reference."""
    rows = []
    for dataset, path in zip(datasets, paths, strict=True):
        a, b = (element_symbol(name) for name in dataset["components"])
        rows.append(
            {
                "file": Path(path).name,
                "A": a,
                "B": b,
                "T_K": float(dataset["conditions"]["T"]),
                "n_points": len(dataset["values"][0][0]),
                "reference": dataset["reference"],
                "tags": ";".join(dataset.get("tags", [])),
                "weight": dataset.get("weight", 1.0),
            }
        )
    return pd.DataFrame(rows, columns=list(INDEX_COLUMNS))


def write_datasets(datasets: Sequence[Mapping[str, Any]], directory: str | Path) -> list[Path]:
    """Write one JSON file per dataset (sorted keys) into ``directory``, all or nothing; returns the paths.

    ``directory`` must not exist or be empty: the files are written into a temporary folder beside it, which
    then takes its place, so a failure leaves no partial folder."""
    target = Path(directory)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InputError(target, None, "exists and is not an empty folder: remove it or choose another one")
    names = [dataset_file_name(d) for d in datasets]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(target, None, f"two datasets would share the file name {repeated[0]}")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for name, dataset in zip(names, datasets, strict=True):
            (staging / name).write_text(dataset_json(dataset), encoding="utf-8")
        staging.chmod(0o777 & ~_umask())  # mkdtemp makes 0700 folders; give the one an ordinary mkdir would
        if target.exists():
            target.rmdir()  # empty (checked above)
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return [target / name for name in names]


def _umask() -> int:
    """The process's umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask
