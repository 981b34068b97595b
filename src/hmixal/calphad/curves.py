"""Liquid ΔH_mix curves of one binary of a loaded database, and the temperature rule.

ΔH_mix relative to the pure liquids is computed on a composition grid at T = min(max(Tm_A, Tm_B) + offset, cap).
Substitutional liquids use pycalphad's ``calculate(..., output="HM_MIX")`` at explicit site fractions and are
checked against the Redlich–Kister excess terms ΔH = x_A x_B Σ_n [L_n − T dL_n/dT] (x_A − x_B)^n.  Liquids with
associate species (e.g. MG2SN) are treated by minimising the liquid's Gibbs energy over its internal species
fractions at fixed composition (pycalphad ``equilibrium`` restricted to the liquid) and subtracting the pure
liquids' enthalpy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import sympy
from pycalphad import Model, calculate, equilibrium
from pycalphad import variables as v

from hmixal.calphad.loading import (
    LiquidDatabase,
    associates_for,
    liquid_constituents,
    liquid_model_kind,
    liquid_parameters,
)
from hmixal.errors import InputError

DEFAULT_X_GRID: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
# Temperature rule: the seed's data "are based on experiments that are usually carried out close to the liquidus
# in the system, and below 2000K" (Bizot et al. 2026, discussion), and pycalphad 0.11 ignores single-range
# parameter bounds (docs/calphad.md), so a higher T would extrapolate silently.
DEFAULT_T_OFFSET_K = 50.0
DEFAULT_T_CAP_K = 2000.0
PRESSURE_PA = 101325.0


def liquid_temperature(
    a: str,
    b: str,
    melting_points: Mapping[str, float],
    t_offset: float = DEFAULT_T_OFFSET_K,
    t_cap: float = DEFAULT_T_CAP_K,
) -> float:
    """T = min(max(Tm_a, Tm_b) + t_offset, t_cap) in K; InputError when a melting point is missing."""
    for el in (a, b):
        tm = melting_points.get(el)
        if tm is None or not np.isfinite(tm) or tm <= 0:
            raise InputError(None, None, f"no valid melting point for element {el!r}")
    return float(min(max(melting_points[a], melting_points[b]) + t_offset, t_cap))


def _components(ldb: LiquidDatabase, a: str, b: str) -> list[str]:
    """pycalphad component names for the binary; InputError when an element is not in the liquid."""
    names = {s.name for sub in liquid_constituents(ldb) for s in sub}
    comps = []
    for el in (a, b):
        if el.upper() not in names:
            raise InputError(ldb.path, None, f"element {el} is not a constituent of phase {ldb.phase}")
        comps.append(el.upper())
    return [*comps, "VA"]


def _checked_model(ldb: LiquidDatabase, comps: list[str]) -> Model:
    """pycalphad Model of the liquid; InputError when its energy still contains undefined function names.

    pycalphad evaluates names it cannot resolve as 0 without a warning, which would silently turn an
    interaction off (e.g. Al–Pt in alnipt.tdb).
    """
    model = Model(ldb.db, comps, ldb.phase)
    undefined = sorted(s.name for s in model.GM.free_symbols if not isinstance(s, (v.SiteFraction, v.StateVariable)))
    if undefined:
        raise InputError(ldb.path, None, f"{'-'.join(comps[:2])}: undefined function(s) {', '.join(undefined)}")
    return model


def _calculate_liquid(
    ldb: LiquidDatabase, comps: list[str], model: Model, temperature: float, points: np.ndarray, output: str
):
    """pycalphad ``calculate`` of the liquid at explicit site fractions, 1 atm, one mole of formula units."""
    return calculate(
        ldb.db,
        comps,
        ldb.phase,
        T=temperature,
        P=PRESSURE_PA,
        N=1,
        points=points,
        output=output,
        model={ldb.phase: model},
    )


def hmix_curve(ldb: LiquidDatabase, a: str, b: str, x_grid: Sequence[float], temperature: float) -> np.ndarray:
    """ΔH_mix of the liquid relative to the pure liquids (kJ/mol of atoms) at x_B = x_grid and T."""
    if liquid_model_kind(ldb) == "ionic":
        raise InputError(ldb.path, None, f"phase {ldb.phase} is an ionic (two-sublattice) liquid")
    if associates_for(ldb, a, b):
        return _hmix_associate(ldb, a, b, x_grid, temperature)
    comps = _components(ldb, a, b)
    model = _checked_model(ldb, comps)
    x = np.asarray(x_grid, dtype=float)
    points = np.ones((len(x), len(model.site_fractions)))
    for j, sf in enumerate(model.site_fractions):
        if sf.species.name == a.upper():
            points[:, j] = 1.0 - x
        elif sf.species.name == b.upper():
            points[:, j] = x
    res = _calculate_liquid(ldb, comps, model, temperature, points, "HM_MIX")
    xb = np.asarray(res.X.sel(component=b.upper())).ravel()
    if not np.allclose(xb, x):  # guards against a change in pycalphad's site-fraction ordering
        raise RuntimeError(f"{ldb.path}: pycalphad returned compositions {xb}, expected {x}")
    return np.asarray(res.HM_MIX).ravel() / 1000.0


def _hmix_associate(ldb: LiquidDatabase, a: str, b: str, x_grid: Sequence[float], temperature: float) -> np.ndarray:
    """ΔH_mix of an associate liquid: internal equilibrium of species at fixed x, minus the pure liquids."""
    comps = _components(ldb, a, b)
    model = _checked_model(ldb, comps)
    x = np.asarray(x_grid, dtype=float)
    eq = equilibrium(
        ldb.db,
        comps,
        [ldb.phase],
        {v.X(b.upper()): x, v.T: temperature, v.P: PRESSURE_PA, v.N: 1},
        output="HM",
        model={ldb.phase: model},
    )
    # A composition where the liquid splits in two has no single-liquid ΔH_mix: report, do not average.
    labels = np.asarray(eq.Phase.values).reshape(len(x), -1)
    if np.any((labels == ldb.phase).sum(axis=1) != 1):
        raise InputError(ldb.path, None, f"associate liquid {a}-{b} splits into two liquids at {temperature:g} K")
    h_mix = np.asarray(eq.HM.values).reshape(len(x))
    pure = np.zeros((2, len(model.site_fractions)))
    for j, sf in enumerate(model.site_fractions):
        pure[0, j] = 1.0 if sf.species.name in (a.upper(), "VA") else 0.0
        pure[1, j] = 1.0 if sf.species.name in (b.upper(), "VA") else 0.0
    ref = _calculate_liquid(ldb, comps, model, temperature, pure, "HM")
    h_a, h_b = np.asarray(ref.HM).ravel()
    return (h_mix - (1.0 - x) * h_a - x * h_b) / 1000.0


def _resolve(expr: sympy.Expr, symbols: Mapping[str, sympy.Expr]) -> sympy.Expr:
    """Substitute database functions into an expression until none is left."""
    for _ in range(50):
        subs = {s: symbols[s.name] for s in expr.free_symbols if s.name in symbols}
        if not subs:
            return expr
        expr = expr.xreplace(subs)
    raise ValueError("function references nest more than 50 levels (circular definition?)")


def _outside_range(expr: sympy.Expr, temperature: float) -> bool:
    """True when T falls in the zero default branch of a piecewise temperature range inside expr."""
    for pw in expr.atoms(sympy.Piecewise):
        for value, cond in pw.args:
            if bool(cond.subs(v.T, temperature)):
                if cond == sympy.true and len(pw.args) > 1 and value == 0:
                    return True
                break
    return False


def interaction_terms(ldb: LiquidDatabase, a: str, b: str) -> dict[int, sympy.Expr]:
    """Redlich–Kister L_n(T) of the binary (constituents in pycalphad's alphabetical order), functions resolved."""
    want = {a.upper(), b.upper()}
    terms: dict[int, sympy.Expr] = {}
    for p in liquid_parameters(ldb):
        arr = p["constituent_array"]
        first = {s.name for s in arr[0]}
        if first != want or len(arr[0]) != 2 or any({s.name for s in sub} != {"VA"} for sub in arr[1:]):
            continue
        expr = _resolve(sympy.sympify(p["parameter"]), ldb.db.symbols)
        order = int(p["parameter_order"])
        terms[order] = terms.get(order, sympy.Integer(0)) + expr
    return terms


def hmix_excess(
    ldb: LiquidDatabase, a: str, b: str, x_grid: Sequence[float], temperature: float
) -> tuple[np.ndarray, bool]:
    """ΔH_mix from the excess terms, x_A x_B Σ_n [L_n − T dL_n/dT](x_A − x_B)^n (kJ/mol), and an out-of-range flag.

    Independent of pycalphad's Model; used to check ``hmix_curve`` for substitutional liquids.  pycalphad sorts
    the constituents of every parameter alphabetically (like Thermo-Calc), so (x_first − x_second) uses that order.
    """
    first = min(a.upper(), b.upper())
    x = np.asarray(x_grid, dtype=float)
    x_first = 1.0 - x if a.upper() == first else x
    x_second = 1.0 - x_first
    total = np.zeros_like(x)
    outside = False
    for order, expr in interaction_terms(ldb, a, b).items():
        h_term = expr - v.T * sympy.diff(expr, v.T)
        value = float(h_term.subs({v.T: temperature, v.P: PRESSURE_PA}))
        outside = outside or _outside_range(expr, temperature)
        total += value * (x_first - x_second) ** order
    return x_first * x_second * total / 1000.0, outside
