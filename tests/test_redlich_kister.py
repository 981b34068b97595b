"""Tests of the Redlich–Kister fits and the TDB export, including a pycalphad round trip."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from hmixal.errors import InputError
from hmixal.io import write_csv
from hmixal.miedema import hmix, hmix_grid
from hmixal.redlich_kister import (
    choose_order,
    coefficient_columns,
    fit_redlich_kister,
    parameter_map,
    read_predictions,
    read_redlich_kister,
    rk_basis,
    rk_binary_model,
    rk_hmix,
    tdb_text,
)
from hmixal.systems import composition_grid

GRID = composition_grid(0.01)
# Known parameters (kJ/mol) of increasing order; Al-Ni and Cu-Zr are strongly asymmetric on purpose.
KNOWN = {
    ("Ag", "Cu"): [12.0],
    ("Al", "Ni"): [-90.0, 25.0],
    ("Cu", "Zr"): [-60.0, -18.0, 9.0],
    ("Fe", "Na"): [40.0, -6.0, 3.0, 11.0],
}


def table_from(curves: dict[tuple[str, str], np.ndarray], x: np.ndarray = GRID) -> pd.DataFrame:
    """A prediction table (the pipeline's column layout) from ΔH curves sampled on x."""
    rows = []
    for (a, b), values in curves.items():
        for xb, v in zip(x, values, strict=True):
            rows.append({"A": a, "B": b, "x_B": xb, "hmix_kJ_per_mol": v, "miedema_kJ_per_mol": hmix(a, b, xb)})
    return pd.DataFrame(rows)


def known_table() -> pd.DataFrame:
    return table_from({pair: rk_hmix(GRID, L) for pair, L in KNOWN.items()})


def test_basis_and_polynomial_by_hand():
    # x_B = 0.25: x_A x_B = 0.1875, x_A − x_B = 0.5 → 0.1875·(−10 + 4·0.5 + 2·0.25) = −1.40625
    assert rk_hmix(0.25, [-10.0, 4.0, 2.0]) == pytest.approx(-1.40625, abs=1e-12)
    assert rk_basis([0.0, 1.0], 3).tolist() == [[0.0] * 4, [0.0] * 4]  # zero at the pure elements
    # Odd terms change sign under A ↔ B: (x_A − x_B) is the sign convention.
    assert rk_hmix(0.2, [0.0, 1.0]) == pytest.approx(0.8 * 0.2 * 0.6)


def test_fit_recovers_known_parameters_and_orders():
    fit = fit_redlich_kister(known_table(), max_order=4, tolerance=1e-6)
    assert list(fit[["A", "B"]].itertuples(index=False, name=None)) == list(KNOWN)
    for row, L in zip(fit.itertuples(index=False), KNOWN.values(), strict=True):
        assert row.order == len(L) - 1
        got = [getattr(row, f"L{n}_kJ_per_mol") for n in range(5)]
        np.testing.assert_allclose(got, [*L, *[0.0] * (5 - len(L))], atol=1e-9)
        assert row.rms_residual_kJ_per_mol < 1e-9 and row.n_points == 99
    assert set(fit["fitted_column"]) == {"hmix_kJ_per_mol"}
    assert list(fit.columns[5:10]) == coefficient_columns(4)


def test_order_criterion():
    rms = np.array([[5.0, 0.3, 2.0], [1.0, 0.0, 0.5], [0.95, 0.0, 0.4], [0.9, 0.0, 0.1]])
    # Column 0: L1 already within 0.2 of the best; column 1: L1 exact; column 2: only L3 gets within 0.2.
    assert choose_order(rms, 0.2).tolist() == [1, 1, 3]
    assert choose_order(rms, 0.0).tolist() == [3, 1, 3]
    assert choose_order(rms, 10.0).tolist() == [0, 0, 0]


def test_steps_are_not_chased():
    # A LightGBM-like curve: a smooth RK curve plus a 0.3 kJ/mol piecewise-constant wiggle. Higher orders only
    # fit the wiggle a little better, so the criterion keeps the true order (1) at tolerance 0.2.
    steps = 0.3 * np.sign(np.sin(9 * np.pi * GRID))
    table = table_from({("Al", "Ni"): rk_hmix(GRID, [-90.0, 25.0]) + steps})
    fit = fit_redlich_kister(table, max_order=6, tolerance=0.2)
    assert fit.loc[0, "order"] == 1
    assert fit.loc[0, "rms_residual_kJ_per_mol"] == pytest.approx(0.3, abs=0.05)
    assert fit.loc[0, "max_residual_kJ_per_mol"] >= fit.loc[0, "rms_residual_kJ_per_mol"]
    assert fit_redlich_kister(table, max_order=6, tolerance=0.0).loc[0, "order"] == 6


def test_binaries_on_different_grids_and_other_column():
    coarse = np.round(np.arange(1, 10) * 0.1, 10)
    table = pd.concat(
        [
            table_from({("Al", "Ni"): rk_hmix(GRID, KNOWN["Al", "Ni"])}),
            table_from({("Cu", "Zr"): rk_hmix(coarse, KNOWN["Cu", "Zr"])}, coarse),
        ]
    ).sample(frac=1.0, random_state=1)  # row order must not matter
    fit = fit_redlich_kister(table, max_order=3, tolerance=1e-6).set_index(["A", "B"])
    assert fit.loc[("Cu", "Zr"), "n_points"] == 9 and fit.loc[("Al", "Ni"), "n_points"] == 99
    np.testing.assert_allclose(parameter_map(fit.reset_index())["Cu", "Zr"], KNOWN["Cu", "Zr"], atol=1e-9)
    miedema_fit = fit_redlich_kister(table, column="miedema_kJ_per_mol", max_order=3)
    assert set(miedema_fit["fitted_column"]) == {"miedema_kJ_per_mol"}


def test_all_binaries_fast_on_a_realistic_table():
    # Miedema curves of all 2415 binaries plus an asymmetric L1 term (the ML model adds asymmetry).
    grid = hmix_grid()
    rng = np.random.default_rng(0)
    pairs = grid["A"] + "-" + grid["B"]
    l1 = pd.Series(rng.normal(0.0, 10.0, pairs.nunique()), index=pairs.unique())
    x = grid["x_B"].to_numpy()
    grid["hmix_kJ_per_mol"] = grid["hmix_miedema_kJ_per_mol"] + x * (1 - x) * (1 - 2 * x) * l1[pairs].to_numpy()
    start = time.perf_counter()
    fit = fit_redlich_kister(grid)
    elapsed = time.perf_counter() - start
    assert len(fit) == 2415 and elapsed < 10.0
    assert fit["order"].between(0, 3).all()
    # Miedema + L1 is smooth: every curve is reproduced within the tolerance of the best L0…L3 fit.
    assert (fit["rms_residual_kJ_per_mol"] < 0.2 + 0.5).all()
    assert fit["rms_residual_kJ_per_mol"].median() < 0.05


def test_output_is_byte_identical(tmp_path):
    for name in ("a.csv", "b.csv"):
        write_csv(fit_redlich_kister(known_table()), tmp_path / name)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    fit = fit_redlich_kister(known_table())
    assert tdb_text(fit, generated="2025-01-01") == tdb_text(fit, generated="2025-01-01")


def test_read_back_and_binary_model(tmp_path):
    fit = fit_redlich_kister(known_table())
    write_csv(fit, tmp_path / "rk.csv")
    back = read_redlich_kister(tmp_path / "rk.csv")
    assert back["order"].tolist() == fit["order"].tolist()
    model = rk_binary_model(back)
    x = np.array([0.1, 0.5, 0.8])
    np.testing.assert_allclose(model("Al", "Ni", x), rk_hmix(x, KNOWN["Al", "Ni"]), atol=1e-8)
    # Asked as Ni-Al with x = fraction of Al, the same liquid: Al fraction x ↔ Ni fraction 1 − x.
    np.testing.assert_allclose(model("Ni", "Al", x), rk_hmix(1 - x, KNOWN["Al", "Ni"]), atol=1e-8)
    with pytest.raises(InputError, match="no Redlich–Kister parameters for Au-Pt"):
        model("Pt", "Au", x)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.drop(columns="hmix_kJ_per_mol"), r"preds\.csv:1: missing column\(s\): hmix_kJ_per_mol"),
        (lambda t: t.assign(A=t["A"].where(t.index != 3, "Xx")), r"preds\.csv:5: unknown element 'Xx'"),
        (lambda t: t.assign(A=t["B"], B=t["A"]), r"preds\.csv:2: A=Cu, B=Ag: A must come before B"),
        (lambda t: t.assign(hmix_kJ_per_mol=t["hmix_kJ_per_mol"].where(t.index != 7)), r":9: .* not a finite"),
        (lambda t: t.assign(x_B=t["x_B"].where(t.index != 0, 0.0)), r":2: x_B = 0.0 is not strictly between"),
        (lambda t: pd.concat([t, t.iloc[[10]]], ignore_index=True), r":398: Ag-Cu at x_B = 0.11 appears twice"),
        (lambda t: t[(t["A"] != "Ag") | (t["x_B"] < 0.03)], r":2: Ag-Cu has 2 composition\(s\); .* needs 4"),
    ],
)
def test_bad_prediction_tables(edit, message):
    table = edit(known_table()).reset_index(drop=True)
    with pytest.raises(InputError, match=message):
        fit_redlich_kister(table, path="preds.csv")


@pytest.mark.parametrize(("kwargs", "message"), [({"max_order": -1}, "max_order"), ({"tolerance": -0.1}, "tolerance")])
def test_bad_fit_settings(kwargs, message):
    with pytest.raises(InputError, match=message):
        fit_redlich_kister(known_table(), **kwargs)


def test_bad_fit_tables(tmp_path):
    fit = fit_redlich_kister(known_table())
    for edit, message in [
        (lambda t: t.assign(order=t["order"].where(t.index != 1, 7)), r"rk\.csv:3: order 7 is not one of 0 … 3"),
        (lambda t: pd.concat([t, t.iloc[[0]]]), r"rk\.csv:6: binary Ag-Cu appears twice"),
        (lambda t: t.drop(columns="L1_kJ_per_mol"), r"rk\.csv:1: coefficient columns"),
    ]:
        write_csv(edit(fit), tmp_path / "rk.csv")
        with pytest.raises(InputError, match=message):
            read_redlich_kister(tmp_path / "rk.csv")
    with pytest.raises(InputError, match="must not contain '!'"):
        tdb_text(fit, generated="today!")


def test_na_is_sodium_not_missing(tmp_path):
    write_csv(known_table(), tmp_path / "p.csv")
    assert "Na" in set(read_predictions(tmp_path / "p.csv")["B"])


def test_tdb_content():
    fit = fit_redlich_kister(known_table(), tolerance=1e-6)
    text = tdb_text(fit, generated="2025-01-01", settings={"max_order": 3})
    assert "generated 2025-01-01" in text and "ENTHALPY ONLY" in text and "max_order: 3" in text
    assert " PARAMETER G(" not in text  # no pure-liquid terms: HM_MIX does not need them
    assert " ELEMENT AL  FCC_A1" in text and " ELEMENT NA  BCC_A2" in text and " ELEMENT ZR  HCP_A3" in text
    assert " ELEMENT W " not in text  # only the elements present
    assert " CONSTITUENT LIQUID :AG,AL,CU,FE,NA,NI,ZR: !" in text
    assert " PARAMETER L(LIQUID,AL,NI;1) 298.15 25000.000000; 6000 N !" in text
    assert sum(line.startswith(" PARAMETER") for line in text.splitlines()) == sum(len(L) for L in KNOWN.values())
    assert all(not line.startswith(" ") or len(line) <= 80 for line in text.splitlines())


def test_pycalphad_round_trip(tmp_path):
    from pycalphad import Database, calculate

    # Realistic predictions: Miedema curves with an asymmetric term and a small LightGBM-like step.
    pairs = [("Al", "Ni"), ("Cu", "Zr"), ("Fe", "Na")]
    curves = {
        (a, b): hmix(a, b, GRID) + GRID * (1 - GRID) * (1 - 2 * GRID) * 20.0 + 0.2 * (GRID > 0.37) for a, b in pairs
    }
    table = table_from(curves)
    fit = fit_redlich_kister(table)
    (tmp_path / "liquid.tdb").write_text(tdb_text(fit, generated="test"))
    db = Database(str(tmp_path / "liquid.tdb"))
    x_check = np.array([0.01, 0.13, 0.5, 0.77, 0.99])  # grid points, so the original predictions exist there
    temperatures = [300.0, 1500.0, 4000.0]
    parameters = parameter_map(fit)
    for a, b in pairs:
        result = calculate(
            db,
            [a.upper(), b.upper(), "VA"],
            "LIQUID",
            T=temperatures,
            P=101325,
            N=1,
            output="HM_MIX",
            points=np.column_stack([1 - x_check, x_check]),  # site fractions in alphabetical order: A, B
        )
        got = result.HM_MIX.values.reshape(len(temperatures), x_check.size) / 1000.0  # J/mol → kJ/mol
        expected = rk_hmix(x_check, parameters[a, b])
        np.testing.assert_allclose(got, np.broadcast_to(expected, got.shape), atol=1e-6, rtol=0)
        # The L1 sign: (x_A − x_B), not (x_B − x_A), for an asymmetric curve.
        flipped = rk_hmix(1 - x_check, parameters[a, b])
        assert np.abs(got[0] - flipped).max() > 0.1
        # The original predictions, to within the fit's own residual.
        original = curves[a, b][np.searchsorted(GRID, x_check)]
        limit = fit.set_index(["A", "B"]).loc[(a, b), "max_residual_kJ_per_mol"]
        assert np.abs(got - original).max() <= limit + 1e-6


def test_rule_script(tmp_path, run_script):
    from pycalphad import Database

    write_csv(known_table(), tmp_path / "predictions.csv", float_format="%.6g")
    spec = {
        "input": {"predictions": str(tmp_path / "predictions.csv")},
        "output": {"table": str(tmp_path / "rk.csv"), "tdb": str(tmp_path / "liquid.tdb")},
        "params": {"max_order": 3, "tolerance": 1e-4, "column": "hmix_kJ_per_mol", "generated": "2025-01-01"},
        "log": str(tmp_path / "rk.log"),
    }
    done = run_script("redlich_kister.py", spec)
    assert done.returncode == 0, done.stderr + (tmp_path / "rk.log").read_text()
    table = read_redlich_kister(tmp_path / "rk.csv")
    assert table["order"].tolist() == [len(L) - 1 for L in KNOWN.values()]
    assert "fitted 4 binaries" in (tmp_path / "rk.log").read_text()
    assert len(Database(str(tmp_path / "liquid.tdb")).phases["LIQUID"].constituents[0]) == 7


@pytest.mark.refdata
def test_parameters_appended_to_sgte_unary_keep_hm_mix(refdata_dir, tmp_path):
    import warnings

    from pycalphad import Database, calculate

    fit = fit_redlich_kister(known_table())
    text = tdb_text(fit, generated="test")
    ours = Database(text)
    parameter_lines = "\n".join(line for line in text.splitlines() if line.startswith(" PARAMETER"))
    sgte = (refdata_dir / "sgte_unary" / "unary50.tdb").read_text(encoding="latin-1")
    with warnings.catch_warnings():
        # unary50.tdb uses a type character "I" it never defines (see hmixal.elements.load_sgte).
        warnings.filterwarnings("ignore", message="The type definition character", category=UserWarning)
        combined = Database(sgte + "\n" + parameter_lines + "\n")
    x = np.array([0.1, 0.5, 0.8])
    for db in (ours, combined):
        result = calculate(
            db,
            ["AL", "NI", "VA"],
            "LIQUID",
            T=[1000.0, 2500.0],
            P=101325,
            N=1,
            output="HM_MIX",
            points=np.column_stack([1 - x, x]),
        )
        got = result.HM_MIX.values.reshape(2, x.size) / 1000.0
        np.testing.assert_allclose(got, np.broadcast_to(rk_hmix(x, KNOWN["Al", "Ni"]), got.shape), atol=1e-6)
