"""Tests of the Redlich–Kister fits and the TDB export, including a pycalphad round trip."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hmixal.errors import InputError
from hmixal.io import write_csv
from hmixal.manifest import manifest_path
from hmixal.miedema_model import hmix, hmix_grid
from hmixal.redlich_kister import (
    TDB_CHECK_COLUMNS,
    TDB_CHECK_TEMPERATURES_K,
    calphad_name,
    check_covers,
    check_tdb_with_pycalphad,
    choose_order,
    coefficient_columns,
    element_symbol,
    fit_redlich_kister,
    parameter_map,
    pycalphad_hm_mix,
    read_predictions,
    read_redlich_kister,
    rk_basis,
    rk_binary_model,
    rk_hmix,
    tdb_binaries,
    tdb_database,
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
    import pycalphad

    fit = fit_redlich_kister(known_table(), tolerance=1e-6)
    text = tdb_text(fit, generated="2025-01-01", settings={"max_order": 3})
    assert "generated 2025-01-01" in text and "ENTHALPY ONLY" in text and "max_order: 3" in text
    assert f"Written with the TDB writer of pycalphad {pycalphad.__version__}" in text
    # pycalphad's own header (write date, user name) would make equal inputs give different files.
    assert "$ Date:" not in text and "Generated by" not in text
    assert "PARAMETER G(" not in text  # no pure-liquid terms: HM_MIX does not need them
    assert "\nELEMENT AL FCC_A1 26.98" in text and "\nELEMENT NA BCC_A2 " in text and "\nELEMENT ZR HCP_A3 " in text
    assert "ELEMENT W " not in text  # only the elements present
    assert "\nCONSTITUENT LIQUID :AG, AL, CU, FE, NA, NI, ZR: !" in text
    assert "\nPARAMETER L(LIQUID,AL,NI;1) 298.15 25000.0; 6000.0 N !" in text
    assert sum(line.startswith("PARAMETER") for line in text.splitlines()) == sum(len(L) for L in KNOWN.values())
    assert all(len(line) <= 78 for line in text.splitlines())  # Thermo-Calc's limit, header included


def test_tdb_is_pycalphads_own_database():
    from pycalphad import Database

    fit = fit_redlich_kister(known_table(), tolerance=1e-6)
    built = tdb_database(fit)
    # pycalphad's reader gives back the Database pycalphad's writer was given: elements, reference states,
    # phase, constituents and every parameter (pycalphad's Database equality compares all of them).
    assert Database(tdb_text(fit, generated="test")) == built
    assert len(built.search(lambda p: p["parameter_type"] == "L")) == sum(len(L) for L in KNOWN.values())


def test_tdb_values_written_to_a_micro_joule():
    # A tiny, a zero and a large coefficient inside a binary's order, and odd decimals: all read back exactly as
    # rounded to 10^-6 J/mol.
    table = pd.DataFrame(
        {"A": ["Al", "Cu"], "B": ["Ni", "Zr"], "order": [2, 1]}
        | {"L0_kJ_per_mol": [-123.456789123, 1e-9], "L1_kJ_per_mol": [0.0, -987.654321], "L2_kJ_per_mol": [1e-3, 0]}
    )
    check = check_tdb_with_pycalphad(tdb_text(table, generated="test"), table, [0.1, 0.5, 0.9], tolerance=1e-5)
    assert check["max_abs_deviation_J_per_mol"].max() < 1e-5
    text = tdb_text(table, generated="test")
    assert "L(LIQUID,AL,NI;0) 298.15 -123456.789123;" in text and "L(LIQUID,CU,ZR;0) 298.15 1E-06;" in text
    assert "L(LIQUID,AL,NI;1) 298.15 0.0;" in text  # a zero inside the order is written, not dropped


def test_element_names():
    assert calphad_name("Na") == "NA" and element_symbol("NA") == "Na" and element_symbol("na") == "Na"
    with pytest.raises(InputError, match="unknown element 'Xx'"):
        calphad_name("Xx")
    with pytest.raises(InputError, match="unknown element 'NAA'"):
        element_symbol("NAA")


def test_check_tdb_with_pycalphad_on_a_good_file(tmp_path):
    from pycalphad import Database, calculate

    fit = fit_redlich_kister(with_domain_columns(known_table()))
    text = tdb_text(fit, generated="test")
    (tmp_path / "liquid.tdb").write_text(text)
    for source in (text, tmp_path / "liquid.tdb", str(tmp_path / "liquid.tdb")):
        check = check_tdb_with_pycalphad(source, fit, GRID)
        assert list(check.columns) == list(TDB_CHECK_COLUMNS) and len(check) == 4
        assert (check["n_points"] == GRID.size * len(TDB_CHECK_TEMPERATURES_K)).all()
        assert check["max_abs_deviation_J_per_mol"].max() < 1e-6
        assert check["order"].tolist() == fit["order"].tolist()
    # The fast path (each binary's parameters in a Database of their own) is what pycalphad's calculate gives
    # on the whole file, and what the RK formula gives.
    database = Database(text)
    x = np.array([0.05, 0.4, 0.95])
    for a, b in KNOWN:
        mine = pycalphad_hm_mix(database, a, b, x, [500.0, 2500.0])
        full = calculate(database, [a.upper(), b.upper()], "LIQUID", T=[500.0, 2500.0], P=101325, N=1,
                         output="HM_MIX", points=np.column_stack([1 - x, x]))  # fmt: skip
        np.testing.assert_allclose(mine, full.HM_MIX.values.reshape(2, x.size), atol=1e-6, rtol=0)
        np.testing.assert_allclose(mine[0], 1000 * rk_hmix(x, parameter_map(fit)[a, b]), atol=1e-6, rtol=0)
        # Asked the other way round, x is the fraction of the first-named element.
        np.testing.assert_allclose(pycalphad_hm_mix(database, b, a, 1 - x, [500.0]), mine[:1], atol=1e-6)


def test_check_tdb_with_pycalphad_finds_a_wrong_file():
    fit = fit_redlich_kister(known_table(), tolerance=1e-6)
    text = tdb_text(fit, generated="test")
    # One J/mol too much in Al-Ni's L0, and Cu-Zr's L1 with the wrong sign.
    wrong = text.replace("L(LIQUID,AL,NI;0) 298.15 -90000.0;", "L(LIQUID,AL,NI;0) 298.15 -89999.0;")
    wrong = wrong.replace("L(LIQUID,CU,ZR;1) 298.15 -18000.0;", "L(LIQUID,CU,ZR;1) 298.15 18000.0;")
    assert wrong.count("PARAMETER") == text.count("PARAMETER") and wrong != text
    with pytest.raises(InputError) as caught:
        check_tdb_with_pycalphad(wrong, fit, GRID)
    message = str(caught.value)
    assert "pycalphad's HM_MIX of 2 of 4 binaries differs from the fitted Redlich–Kister curve by more than" in message
    # By hand: +1 J/mol in L0 moves ΔH by x_A x_B ≤ 0.25 J/mol (x_B = 0.5); flipping L1 = −18000 J/mol moves it by
    # 36000 x_A x_B |x_A − x_B|, at most 36000 · 0.0962 = 3464 J/mol (x_B = 0.21 and 0.79 on the grid).
    assert "Cu-Zr (3.46e+03 J/mol)" in message and "Al-Ni (0.25 J/mol)" in message
    assert message.index("Cu-Zr") < message.index("Al-Ni")  # worst first
    # A binary missing from the file, and one the table does not have.
    missing = "\n".join(line for line in text.splitlines() if "LIQUID,AG,CU" not in line)
    with pytest.raises(InputError, match="pycalphad's reading of the TDB leaves out 1 binary of its input: Ag-Cu"):
        check_tdb_with_pycalphad(missing, fit, GRID)
    with pytest.raises(InputError, match="the TDB holds 1 binaries the fit table does not: Ag-Cu"):
        check_tdb_with_pycalphad(text, fit[fit["A"] != "Ag"], GRID)
    for bad, message in [({"x_grid": [0.0, 0.5]}, "x_grid must be"), ({"tolerance": -1.0}, "tolerance must be")]:
        with pytest.raises(InputError, match=message):
            check_tdb_with_pycalphad(text, fit, **({"x_grid": GRID} | bad))


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


def rule_spec(tmp_path: Path) -> dict:
    """Inputs, outputs, params and log of the redlich_kister rule script in ``tmp_path``."""
    return {
        "input": {"predictions": str(tmp_path / "predictions.csv")},
        "output": {
            "table": str(tmp_path / "rk.csv"),
            "tdb": str(tmp_path / "liquid.tdb"),
            "tdb_check": str(tmp_path / "tdb_check.csv"),
        },
        "params": {"max_order": 3, "tolerance": 1e-4, "column": "hmix_kJ_per_mol", "generated": "2025-01-01"},
        "log": str(tmp_path / "rk.log"),
    }


def test_rule_script(tmp_path, run_script):
    from pycalphad import Database

    write_csv(known_table(), tmp_path / "predictions.csv", float_format="%.6g")
    done = run_script("redlich_kister.py", rule_spec(tmp_path))
    assert done.returncode == 0, done.stderr + (tmp_path / "rk.log").read_text()
    table = read_redlich_kister(tmp_path / "rk.csv")
    assert table["order"].tolist() == [len(L) - 1 for L in KNOWN.values()]
    log = (tmp_path / "rk.log").read_text()
    assert "fitted 4 binaries" in log and "pycalphad round trip of 4 binaries" in log
    assert len(Database(str(tmp_path / "liquid.tdb")).phases["LIQUID"].constituents[0]) == 7
    check = pd.read_csv(tmp_path / "tdb_check.csv", keep_default_na=False)
    assert check["A"].tolist() == ["Ag", "Al", "Cu", "Fe"] and (check["n_points"] == 99 * 3).all()
    assert check["max_abs_deviation_J_per_mol"].max() < 1e-6


@pytest.mark.refdata
def test_parameters_appended_to_sgte_unary_keep_hm_mix(refdata_dir, tmp_path):
    import warnings

    from pycalphad import Database, calculate

    fit = fit_redlich_kister(known_table())
    text = tdb_text(fit, generated="test")
    ours = Database(text)
    parameter_lines = "\n".join(line for line in text.splitlines() if line.startswith("PARAMETER"))
    assert parameter_lines.count("PARAMETER") == (fit["order"] + 1).sum()
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


# --- intact inputs and complete outputs: manifest, composition grid, coverage, per-binary columns -------------

PER_BINARY = {
    "Ag-Cu": {"n_train_binaries_A": 12, "n_train_binaries_B": 20, "nn_distance": 0.1, "extrapolation": False},
    "Al-Ni": {"n_train_binaries_A": 30, "n_train_binaries_B": 25, "nn_distance": 0.0, "extrapolation": True},
    "Cu-Zr": {"n_train_binaries_A": 20, "n_train_binaries_B": 9, "nn_distance": 0.3, "extrapolation": False},
    "Fe-Na": {"n_train_binaries_A": 18, "n_train_binaries_B": 0, "nn_distance": np.nan, "extrapolation": True},
}


def with_domain_columns(table: pd.DataFrame) -> pd.DataFrame:
    """A prediction table with per-binary domain columns, a per-point interval and a column named like the fit's."""
    pairs = table["A"] + "-" + table["B"]
    extra = pd.DataFrame([PER_BINARY[p] for p in pairs], index=table.index)
    x = table["x_B"].to_numpy()
    return pd.concat([table, extra], axis=1).assign(
        upper_95_kJ_per_mol=table["hmix_kJ_per_mol"] + 1.0 + x,  # varies with x_B: a curve, not carried
        coverage=np.where((pairs == "Al-Ni") & (x > 0.5), "sparse", "dense"),  # constant in all binaries but one
        order=-1,  # the fit's own column name: the fit's value wins
    )


def test_per_binary_columns_reach_the_fit_table(tmp_path):
    fit = fit_redlich_kister(with_domain_columns(known_table()), tolerance=1e-6)
    extra = ["n_train_binaries_A", "n_train_binaries_B", "nn_distance", "extrapolation"]
    assert list(fit.columns[-4:]) == extra  # after the fit's own columns, in the prediction table's order
    assert "upper_95_kJ_per_mol" not in fit.columns and "coverage" not in fit.columns
    assert fit["order"].tolist() == [len(L) - 1 for L in KNOWN.values()]
    got = fit.assign(pair=fit["A"] + "-" + fit["B"]).set_index("pair")[extra]
    expected = pd.DataFrame.from_dict(PER_BINARY, orient="index")[extra]
    pd.testing.assert_frame_equal(got, expected, check_names=False, check_dtype=False)
    assert fit["extrapolation"].dtype == bool
    # Through the files: the flag is still a boolean once written and read back.
    write_csv(fit, tmp_path / "rk.csv")
    assert read_redlich_kister(tmp_path / "rk.csv")["extrapolation"].tolist() == [False, True, False, True]


def tdb_header(text: str) -> list[str]:
    """The provenance header of a TDB text (its first comment lines) without their '$ '."""
    lines = text.splitlines()
    end = next(i for i, line in enumerate(lines) if not line.startswith("$ "))
    return [line[2:] for line in lines[:end]]


def test_tdb_header_lists_the_extrapolated_binaries(tmp_path):
    from pycalphad import Database

    fit = fit_redlich_kister(with_domain_columns(known_table()))
    text = tdb_text(fit, generated="test")
    header = "\n".join(tdb_header(text))
    assert "Extrapolation: the prediction table flags 2 of these 4 binaries as outside" in header
    assert "\n  Al-Ni, Fe-Na" in header
    (tmp_path / "liquid.tdb").write_text(text)
    assert len(Database(str(tmp_path / "liquid.tdb")).phases["LIQUID"].constituents[0]) == 7
    assert "xtrapolation" not in tdb_text(fit_redlich_kister(known_table()), generated="test")
    none = tdb_text(fit.assign(extrapolation=False), generated="test")
    assert "flags 0 of these 4 binaries" in none and "Al-Ni, Fe-Na" not in none
    # Flags as CSV text, as a table read without type inference would hold them.
    as_text = tdb_text(fit.assign(extrapolation=fit["extrapolation"].map({True: "True", False: "false"})), "test")
    assert "\n$   Al-Ni, Fe-Na" in as_text
    with pytest.raises(InputError, match=r":3: column extrapolation: 'maybe' is not true or false"):
        tdb_text(fit.assign(extrapolation=["no", "maybe", "yes", "0"]), generated="test")


def test_long_extrapolation_list_is_wrapped_without_splitting_names():
    grid = hmix_grid().rename(columns={"hmix_miedema_kJ_per_mol": "hmix_kJ_per_mol"})
    fit = fit_redlich_kister(grid.assign(extrapolation=True))
    header = tdb_header(tdb_text(fit, generated="test"))
    part = header[next(i for i, line in enumerate(header) if line.startswith("Extrapolation")) :]
    assert len(part) > 100 and all(len(line) <= 76 for line in part)  # 78 with the leading "$ "
    listed = " ".join(line.strip() for line in part if line.startswith("  ")).split(", ")
    assert listed == list(fit["A"] + "-" + fit["B"])


def test_coverage_checks_name_what_was_left_out():
    check_covers(["Al-Ni", "Cu-Zr"], ["Cu-Zr", "Al-Ni", "Ag-Cu"], "the fit table")
    with pytest.raises(InputError, match=r"^out\.csv: the fit table leaves out 1 binary of its input: Cu-Zr$"):
        check_covers(["Al-Ni", "Cu-Zr"], ["Al-Ni"], "the fit table", "out.csv")
    fit = fit_redlich_kister(known_table())
    # Read back from the text, with the element table's spelling (NA → Na).
    assert tdb_binaries(tdb_text(fit, generated="test")) == ["Ag-Cu", "Al-Ni", "Cu-Zr", "Fe-Na"]


def test_read_predictions_refuses_a_cut_table_naming_it(tmp_path):
    folder = tmp_path / "results" / "model"
    folder.mkdir(parents=True)
    path = folder / "predictions.csv"
    write_csv(known_table(), path, float_format="%.6g")
    assert len(read_predictions(path)) == 4 * GRID.size
    data = path.read_bytes()
    path.write_bytes(data[: data.index(b"\n", len(data) * 2 // 3) + 6])  # 6 characters into a line
    with pytest.raises(InputError) as caught:
        read_predictions(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: has ")
    assert ", the last one cut mid-line, where its writer recorded 396" in message
    assert "delete it and rerun snakemake" in message
    # The old manifest stays when the table is replaced: it no longer matches.
    known_table().to_csv(path, index=False)
    with pytest.raises(InputError, match="has the 396 data rows its writer recorded but different content"):
        read_predictions(path)
    manifest_path(path).unlink()  # inside results/ a table without manifest is not the rule's output
    with pytest.raises(InputError, match="has no manifest"):
        read_predictions(path)
    assert len(read_predictions(path, require_manifest=False)) == 4 * GRID.size


def test_read_predictions_checks_the_grid_of_a_table_without_manifest(tmp_path):
    path = tmp_path / "mine.csv"
    table = known_table()
    lines = table.to_csv(index=False, float_format="%.6g").splitlines(keepends=True)
    # Cut at a line boundary inside Cu-Zr (rows 199… of the file): Cu-Zr is incomplete and Fe-Na is gone.
    path.write_text("".join(lines[: 1 + 2 * GRID.size + 40]))
    with pytest.raises(InputError) as caught:
        read_predictions(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:200: Cu-Zr has 40 of the 99 compositions of the grid (missing x_B = 0.41, ")
    assert "1 of 3 binaries are incomplete" in message and "the table was cut or built incomplete" in message
    with pytest.raises(InputError, match="has no manifest"):
        read_predictions(path, require_manifest=True)
    # Cut mid-line after x_B: the last row lacks its values.
    path.write_text("".join(lines[:-1]) + ",".join(lines[-1].split(",")[:3]))
    with pytest.raises(InputError, match=r":397: column hmix_kJ_per_mol: .* is not a finite number"):
        read_predictions(path)
    # A missing value inside the table, and a composition written twice.
    table.assign(hmix_kJ_per_mol=table["hmix_kJ_per_mol"].where(table.index != 5)).to_csv(path, index=False)
    with pytest.raises(InputError, match=r":7: column hmix_kJ_per_mol: '' is not a finite number"):
        read_predictions(path)
    pd.concat([table, table.iloc[[3]]]).to_csv(path, index=False)
    with pytest.raises(InputError, match=r":398: Ag-Cu at x_B = 0.04 appears twice"):
        read_predictions(path)
    # Per-binary columns may be empty by design (a data residual for a binary without data).
    table.assign(data_rms_residual_kJ_per_mol=np.nan, nn_binary="").to_csv(path, index=False)
    assert len(read_predictions(path)) == 4 * GRID.size


def test_rule_script_refuses_a_cut_prediction_table(tmp_path, run_script):
    write_csv(with_domain_columns(known_table()), tmp_path / "predictions.csv", float_format="%.6g")
    data = (tmp_path / "predictions.csv").read_bytes()
    (tmp_path / "predictions.csv").write_bytes(data[: data.index(b"\n", len(data) // 2) + 6])
    done = run_script("redlich_kister.py", rule_spec(tmp_path))
    assert done.returncode != 0
    log = (tmp_path / "rk.log").read_text()
    assert f"{tmp_path / 'predictions.csv'}: has " in log and "the last one cut mid-line" in log
    assert not (tmp_path / "rk.csv").exists() and not (tmp_path / "liquid.tdb").exists()
    assert not (tmp_path / "tdb_check.csv").exists()
