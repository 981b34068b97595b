"""Which AIMD runs to make: binaries and compositions, the temperature rule, and the shared pure-element runs."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hmixal.aimd.structure import composition_counts
from hmixal.errors import InputError
from hmixal.manifest import read_verified_csv
from hmixal.systems import orient, parse_system

# The paper ran each binary "a little above the melting temperature of the most refractory element":
# Ir 2750, Os 3300, Re 3500, W 3700 K (seed §4.2). Rounding the higher melting point up to the next
# multiple of 50 K reproduces Ir, Re and W exactly from the element table's melting points (2719/2739,
# 3458/3459, 3695 K); Os (3306 K) goes to 3350 K, where the paper used 3300 K, 6 K below Os's melting
# point — set T_K per system to reproduce that value.
DEFAULT_ROUND_TO_K = 50.0
DEFAULT_MARGIN_K = 0.0
DEFAULT_X_B = 0.5
DEFAULT_N_ATOMS = 100  # seed §4.2: "The total number of atoms is 100 for all simulations"
DEFAULT_MELTING_COLUMN = "Tm_sgte_K"

SYSTEM_COLUMNS = ("system", "A", "B", "x_B", "T_K", "T_source", "alloy_run", "pure_A_run", "pure_B_run")
RUN_COLUMNS = ("run_id", "kind", "system", "composition", "A", "B", "n_A", "n_B", "x_B", "T_K", "n_atoms")
PLAN_REQUIRED_COLUMNS = ("A", "B", "x_at_max")


@dataclass(frozen=True)
class AimdPlan:
    """The systems to compute and the runs they need (pure-element runs shared between systems)."""

    systems: pd.DataFrame
    runs: pd.DataFrame


@dataclass(frozen=True)
class _Request:
    a: str
    b: str
    x_b: float
    t_k: float | None
    origin: str


def run_temperature(
    tm_a_K: float, tm_b_K: float, margin_K: float = DEFAULT_MARGIN_K, round_to_K: float = DEFAULT_ROUND_TO_K
) -> float:
    """Run temperature: the higher melting point plus ``margin_K``, rounded up to a multiple of ``round_to_K``."""
    for value, name in ((tm_a_K, "melting point"), (tm_b_K, "melting point"), (round_to_K, "round_to_K")):
        if not np.isfinite(value) or value <= 0.0:
            raise InputError(None, None, f"{name} must be a positive number, got {value!r}")
    if not np.isfinite(margin_K) or margin_K < 0.0:
        raise InputError(None, None, f"margin_K must be non-negative, got {margin_K!r}")
    return float(math.ceil((max(tm_a_K, tm_b_K) + margin_K) / round_to_K) * round_to_K)


def composition_label(counts: Mapping[str, int]) -> str:
    """Formula-like label of a cell, e.g. ``Ir50Ti50`` (zero counts left out)."""
    return "".join(f"{symbol}{n}" for symbol, n in counts.items() if n > 0)


def run_label(counts: Mapping[str, int], temperature_K: float) -> str:
    """A run's label in its inputs and logs, e.g. ``Ir50Ti50 2750 K``."""
    return f"{composition_label(counts)} {temperature_K:g} K"


def run_id(counts: Mapping[str, int], t_k: float) -> str:
    """Run identifier from the cell's composition and temperature, e.g. ``Ir50Ti50_2750K``."""
    return f"{composition_label(counts)}_{t_k:.0f}K"


def _number(value: Any, what: str, where: str) -> float:
    if isinstance(value, bool):
        raise InputError(None, None, f"{where}: {what} must be a number, got {value!r}")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise InputError(None, None, f"{where}: {what} must be a number, got {value!r}") from None
    if not np.isfinite(out):
        raise InputError(None, None, f"{where}: {what} must be finite, got {value!r}")
    return out


def _oriented(text_a: str, text_b: str, x_b: float) -> tuple[str, str, float]:
    """Canonical (A, B) order (alphabetical, as hmixal.systems) with x_B flipped when the pair was swapped."""
    written_a, written_b = parse_system(f"{text_a}-{text_b}")  # any case, in the order written
    a, b, x, _ = orient([written_a], [written_b], [x_b])
    return str(a[0]), str(b[0]), float(x[0])


def _list_requests(entries: Sequence[Any], default_x_b: float) -> list[_Request]:
    requests = []
    for i, entry in enumerate(entries):
        where = f"aimd systems list entry {i + 1}"
        if isinstance(entry, str):
            entry = {"system": entry}
        if not isinstance(entry, Mapping):
            raise InputError(None, None, f"{where}: expected 'A-B' or a mapping with 'system', got {entry!r}")
        unknown = set(entry) - {"system", "x_B", "T_K"}
        if unknown:
            raise InputError(None, None, f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        if "system" not in entry:
            raise InputError(None, None, f"{where}: missing 'system' (write it as A-B, e.g. Ir-Ti)")
        parts = str(entry["system"]).split("-")
        if len(parts) != 2:
            parse_system(str(entry["system"]))  # raises the standard message
        x_b = _number(entry.get("x_B", default_x_b), "x_B", where)
        t_k = None if entry.get("T_K") is None else _number(entry["T_K"], "T_K", where)
        if t_k is not None and t_k <= 0.0:
            raise InputError(None, None, f"{where}: T_K must be positive, got {t_k}")
        try:
            a, b, x_b = _oriented(parts[0], parts[1], x_b)
        except InputError as exc:
            raise InputError(None, None, f"{where}: {exc.problem}") from None
        requests.append(_Request(a, b, x_b, t_k, "list"))
    return requests


def read_plan(path: str | Path, top_n: int, composition: str = "equimolar") -> list[tuple[str, str, float]]:
    """The first ``top_n`` binaries of an acquisition-plan CSV (columns A, B, x_at_max; ranked by row order).

    ``composition`` is ``"equimolar"`` (x_B = 0.5, as the paper's AIMD) or ``"x_at_max"`` (the plan's
    composition of maximum uncertainty, which refers to the plan's own B column). The file is checked against its
    manifest (required inside ``results/``).
    """
    path = Path(path)
    if composition not in ("equimolar", "x_at_max"):
        raise InputError(None, None, f"plan composition must be 'equimolar' or 'x_at_max', got {composition!r}")
    if isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1:
        raise InputError(None, None, f"plan top_n must be a positive integer, got {top_n!r}")
    if not path.is_file():
        raise InputError(path, None, "acquisition plan not found")
    # The pipeline's plan (results/uncertainty/) is checked against its manifest: a cut plan would silently drop
    # binaries. A plan of your own outside results/ without a manifest is read unchecked (hmixal.manifest).
    raw = read_verified_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in PLAN_REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        raise InputError(path, 1, f"missing column(s): {', '.join(missing)}")
    if "rank" in raw.columns:
        ranks = pd.to_numeric(raw["rank"], errors="coerce")
        if ranks.isna().any():
            line = int(np.flatnonzero(ranks.isna())[0]) + 2
            raise InputError(path, line, f"rank {raw['rank'][line - 2]!r} is not a number")
        raw = raw.iloc[np.argsort(ranks.to_numpy(), kind="stable")]
    out: list[tuple[str, str, float]] = []
    seen: set[tuple[str, str]] = set()
    for index, row in raw.iterrows():
        line = int(index) + 2  # type: ignore[call-overload]  # header is line 1
        try:
            x = float(row["x_at_max"])
        except ValueError:
            raise InputError(path, line, f"x_at_max {row['x_at_max']!r} is not a number") from None
        if not (0.0 < x < 1.0):
            raise InputError(path, line, f"x_at_max {x} must lie strictly between 0 and 1")
        try:
            a, b, x_b = _oriented(row["A"], row["B"], x)
        except InputError as exc:
            raise InputError(path, line, exc.problem) from None
        if (a, b) in seen:
            raise InputError(path, line, f"binary {a}-{b} appears twice in the plan")
        seen.add((a, b))
        out.append((a, b, 0.5 if composition == "equimolar" else x_b))
        if len(out) == top_n:
            break
    if len(out) < top_n:
        raise InputError(path, None, f"plan has {len(out)} binaries, fewer than top_n = {top_n}")
    return out


def _read_checked(
    path: str | Path, columns: Sequence[str], numeric: Sequence[str], key: str, what: str
) -> pd.DataFrame:
    """A table of this module's writer, checked against its manifest, its columns, numbers and unique ``key``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, None, f"{what} table not found")
    # Text columns as written: element symbols such as "Na" stay sodium, a pure run's empty B stays "".
    text = {c: str for c in columns if c not in numeric}
    table = read_verified_csv(path, dtype=text, keep_default_na=False)
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(path, 1, f"missing column(s): {', '.join(missing)}")
    for column in numeric:
        values = pd.to_numeric(table[column], errors="coerce")
        bad = ~np.isfinite(values.to_numpy(dtype=float))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(path, i + 2, f"column {column}: {table[column].iloc[i]!r} is not a finite number")
        table[column] = values
    duplicated = table[key].duplicated()
    if duplicated.any():
        i = int(np.flatnonzero(duplicated)[0])
        raise InputError(path, i + 2, f"{key} {table[key].iloc[i]!r} appears twice")
    return table


def read_systems(path: str | Path) -> pd.DataFrame:
    """Read the systems table (``results/aimd/systems.csv``) written from :func:`plan_runs`.

    Checked against its manifest (required inside ``results/``), for the columns of ``SYSTEM_COLUMNS`` (x_B and
    T_K finite numbers, the others text) and for a system listed twice; a table cut or edited after its rule
    wrote it is an InputError naming the file.
    """
    return _read_checked(path, SYSTEM_COLUMNS, ("x_B", "T_K"), "system", "AIMD systems")


def read_runs(path: str | Path) -> pd.DataFrame:
    """Read the runs table (``results/aimd/runs.csv``) written from :func:`plan_runs`, checked as
    :func:`read_systems` (columns ``RUN_COLUMNS``, n_A, n_B, x_B, T_K and n_atoms numbers, each ``run_id`` once)."""
    return _read_checked(path, RUN_COLUMNS, ("n_A", "n_B", "x_B", "T_K", "n_atoms"), "run_id", "AIMD runs")


def plan_runs(config: Mapping[str, Any], melting_points_K: Mapping[str, float]) -> AimdPlan:
    """Systems and runs from an ``aimd``-like config mapping and the elements' melting points (K).

    Keys: ``binaries`` (list of 'A-B' or {system, x_B, T_K}), ``plan`` ({path, top_n, composition}),
    ``x_B`` (default 0.5), ``n_atoms`` (default 100), ``temperature`` ({margin_K, round_to_K}).
    """
    known = {"binaries", "plan", "x_B", "n_atoms", "temperature"}
    unknown = set(config) - known
    if unknown:
        raise InputError(None, None, f"aimd systems config: unknown key(s) {', '.join(sorted(unknown))}")
    default_x_b = _number(config.get("x_B", DEFAULT_X_B), "x_B", "aimd systems config")
    n_atoms = config.get("n_atoms", DEFAULT_N_ATOMS)
    if isinstance(n_atoms, bool) or not isinstance(n_atoms, int) or n_atoms < 2:
        raise InputError(None, None, f"aimd systems config: n_atoms must be an integer ≥ 2, got {n_atoms!r}")
    temperature = dict(config.get("temperature") or {})
    bad_t = set(temperature) - {"margin_K", "round_to_K"}
    if bad_t:
        raise InputError(None, None, f"aimd temperature: unknown key(s) {', '.join(sorted(bad_t))}")
    margin = _number(temperature.get("margin_K", DEFAULT_MARGIN_K), "margin_K", "aimd temperature")
    round_to = _number(temperature.get("round_to_K", DEFAULT_ROUND_TO_K), "round_to_K", "aimd temperature")

    requests = _list_requests(config.get("binaries") or [], default_x_b)
    plan = config.get("plan")
    if plan:
        bad_p = set(plan) - {"path", "top_n", "composition"}
        if bad_p or "path" not in plan or "top_n" not in plan:
            raise InputError(None, None, "aimd plan: expected keys path, top_n and optionally composition")
        for a, b, x_b in read_plan(plan["path"], plan["top_n"], plan.get("composition", "equimolar")):
            requests.append(_Request(a, b, x_b, None, "plan"))
    if not requests:
        raise InputError(None, None, "aimd systems config: no binaries given (set 'binaries' or 'plan')")

    systems: list[dict[str, Any]] = []
    runs: dict[str, dict[str, Any]] = {}
    seen: set[tuple[str, str, int]] = set()
    for req in requests:
        counts = composition_counts(req.a, req.b, req.x_b, n_atoms)
        if 0 in counts.values():
            raise InputError(
                None, None, f"{req.a}-{req.b}: x_B = {req.x_b} leaves no atom of one element in {n_atoms} atoms"
            )
        key = (req.a, req.b, counts[req.b])
        if key in seen:
            continue  # the same cell twice (e.g. listed and planned): the first request wins
        seen.add(key)
        for symbol in (req.a, req.b):
            if symbol not in melting_points_K:
                raise InputError(None, None, f"no melting point for {symbol}")
        if req.t_k is None:
            t_k = run_temperature(melting_points_K[req.a], melting_points_K[req.b], margin, round_to)
            source = "rule"
        else:
            t_k, source = req.t_k, "override"
        alloy = run_id(counts, t_k)
        runs.setdefault(alloy, _run_row(alloy, "alloy", f"{req.a}-{req.b}", counts, req.a, req.b, t_k))
        pure_ids = []
        for symbol in (req.a, req.b):
            pure_counts = {symbol: n_atoms}
            pid = run_id(pure_counts, t_k)
            runs.setdefault(pid, _run_row(pid, "pure", symbol, pure_counts, symbol, symbol, t_k))
            pure_ids.append(pid)
        n_b = counts[req.b]
        systems.append(
            {
                "system": f"{req.a}-{req.b}",
                "A": req.a,
                "B": req.b,
                "x_B": n_b / n_atoms,  # the cell's actual composition
                "T_K": t_k,
                "T_source": source,
                "alloy_run": alloy,
                "pure_A_run": pure_ids[0],
                "pure_B_run": pure_ids[1],
            }
        )
    return AimdPlan(
        systems=pd.DataFrame(systems, columns=list(SYSTEM_COLUMNS)),
        runs=pd.DataFrame(list(runs.values()), columns=list(RUN_COLUMNS)),
    )


def _run_row(rid: str, kind: str, system: str, counts: Mapping[str, int], a: str, b: str, t_k: float) -> dict[str, Any]:
    n = sum(counts.values())
    n_a = counts.get(a, 0)
    n_b = counts.get(b, 0) if b != a else 0
    return {
        "run_id": rid,
        "kind": kind,
        "system": system,
        "composition": composition_label(counts),
        "A": a,
        "B": b if kind == "alloy" else "",
        "n_A": n_a,
        "n_B": n_b,
        "x_B": n_b / n,
        "T_K": t_k,
        "n_atoms": n,
    }


def melting_points(table: pd.DataFrame, column: str = DEFAULT_MELTING_COLUMN) -> dict[str, float]:
    """Melting points (K) by element symbol from an element table (see hmixal.elements.load_element_table)."""
    if column not in table.columns:
        raise InputError(None, None, f"element table has no column {column!r}")
    return {str(k): float(v) for k, v in table[column].items()}
