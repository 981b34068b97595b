"""Tests of the composition parser and Muggianu's extrapolation (hand-checked ternaries, invariances)."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from hmixal.errors import InputError
from hmixal.multicomponent import muggianu, muggianu_rk, muggianu_terms, parse_composition
from hmixal.redlich_kister import coefficient_columns, rk_binary_model, rk_hmix

TERNARY = {("Al", "Cu"): [-10.0, 5.0], ("Al", "Ni"): [-20.0], ("Cu", "Ni"): [8.0, 0.0, 4.0]}


def rk_table(parameters: dict[tuple[str, str], list[float]], max_order: int = 3) -> pd.DataFrame:
    """A fit table (the layout fit_redlich_kister writes) holding the given parameters."""
    rows = []
    for (a, b), L in parameters.items():
        padded = [*L, *[0.0] * (max_order + 1 - len(L))]
        rows.append(
            {"A": a, "B": b, "order": len(L) - 1, **dict(zip(coefficient_columns(max_order), padded, strict=True))}
        )
    return pd.DataFrame(rows)


def random_parameters(elements: list[str], seed: int) -> dict[tuple[str, str], list[float]]:
    rng = np.random.default_rng(seed)
    return {tuple(sorted(p)): list(rng.normal(0, 20, rng.integers(1, 5))) for p in combinations(elements, 2)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("AlCoCrFeNi", {"Al": 0.2, "Co": 0.2, "Cr": 0.2, "Fe": 0.2, "Ni": 0.2}),
        ("Al0.5CoCrFeNi", {"Al": 0.5 / 4.5, "Co": 1 / 4.5, "Cr": 1 / 4.5, "Fe": 1 / 4.5, "Ni": 1 / 4.5}),
        ("Fe70Cr20Ni10", {"Fe": 0.7, "Cr": 0.2, "Ni": 0.1}),
        (" Cu.5Zr1.5 ", {"Cu": 0.25, "Zr": 0.75}),
    ],
)
def test_parse_composition(text, expected):
    got = parse_composition(text)
    assert list(got) == list(expected)  # the order written
    assert got == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("AlXxNi", "unknown element 'Xx'"),
        ("H2O", "unknown element 'H'"),
        ("Al0CoNi", "amount of Al .* must be positive"),
        ("Al-0.5CoNi", "negative amount at position 3"),
        ("Fe", "single element"),
        ("Fe70", "single element"),
        ("AlNiAl", "element Al appears twice"),
        ("", "empty composition"),
        ("alni", "cannot read 'alni'"),
        ("Al2.5.3Ni", "cannot read '.3Ni'"),
        ("Al-Ni", "cannot read '-Ni'"),
    ],
)
def test_parse_composition_rejects(text, message):
    with pytest.raises(InputError, match=message):
        parse_composition(text)


def test_ternary_by_hand():
    x = [0.2, 0.3, 0.5]  # Al, Cu, Ni
    al_cu = 0.2 * 0.3 * (-10.0 + 5.0 * (0.2 - 0.3))  # -0.63
    al_ni = 0.2 * 0.5 * -20.0  # -2.0
    cu_ni = 0.3 * 0.5 * (8.0 + 4.0 * (0.3 - 0.5) ** 2)  # 1.224
    assert al_cu + al_ni + cu_ni == pytest.approx(-1.406, abs=1e-12)
    assert muggianu_rk(["Al", "Cu", "Ni"], x, TERNARY) == pytest.approx(-1.406, abs=1e-12)
    # The same liquid written in another element order, and through the callable path.
    assert muggianu_rk(["Ni", "Al", "Cu"], [0.5, 0.2, 0.3], TERNARY) == pytest.approx(-1.406, abs=1e-12)
    assert muggianu(["Al", "Cu", "Ni"], x, rk_binary_model(rk_table(TERNARY))) == pytest.approx(-1.406, abs=1e-12)


def test_projection_by_hand_with_a_non_redlich_kister_model():
    calls = []

    def model(a, b, x_b):
        calls.append((a, b))
        return -40.0 * (1 - x_b) * x_b**2  # not of the form x_A x_B · polynomial(x_A − x_B) alone

    # Each term is x_i x_j · (−40) · x_j^b with x_j^b = (1 + x_j − x_i)/2:
    # Al-Cu 0.06·(−40)·0.55 = −1.32; Al-Ni 0.10·(−40)·0.65 = −2.6; Cu-Ni 0.15·(−40)·0.60 = −3.6.
    terms = muggianu_terms(["Ni", "Cu", "Al"], [0.5, 0.3, 0.2], model)
    assert terms == pytest.approx({("Al", "Cu"): -1.32, ("Al", "Ni"): -2.6, ("Cu", "Ni"): -3.6}, abs=1e-12)
    assert muggianu(["Ni", "Cu", "Al"], [0.5, 0.3, 0.2], model) == pytest.approx(-7.52, abs=1e-12)
    assert set(calls) == {("Al", "Cu"), ("Al", "Ni"), ("Cu", "Ni")}  # always A < B alphabetically


def test_binary_compositions_reproduce_the_binary_curve():
    x_ni = np.linspace(0.0, 1.0, 21)
    L = TERNARY["Al", "Ni"]
    expected = rk_hmix(x_ni, L)
    np.testing.assert_allclose(
        muggianu_rk(["Al", "Ni"], np.column_stack([1 - x_ni, x_ni]), TERNARY), expected, atol=1e-13
    )
    with_zero_cu = np.column_stack([1 - x_ni, np.zeros_like(x_ni), x_ni])
    np.testing.assert_allclose(muggianu_rk(["Al", "Cu", "Ni"], with_zero_cu, TERNARY), expected, atol=1e-13)

    def curve(a, b, x_b):
        return -30.0 * x_b * (1 - x_b) * (1 + x_b)  # any binary model: exactly reproduced on its own edge

    got = muggianu(["Al", "Cu", "Ni"], with_zero_cu, curve)
    np.testing.assert_allclose(got, curve("Al", "Ni", x_ni), rtol=1e-14, atol=1e-14)
    assert got[0] == 0.0 and got[-1] == 0.0  # pure elements: no term at all, no 0/0


def test_permutation_invariance_and_callable_equals_formula():
    elements = ["Al", "Co", "Cr", "Fe", "Ni"]
    parameters = random_parameters(elements, seed=4)
    x = np.random.default_rng(5).dirichlet(np.ones(5), size=50)
    direct = muggianu_rk(elements, x, parameters)
    order = [3, 0, 4, 2, 1]
    np.testing.assert_allclose(muggianu_rk([elements[i] for i in order], x[:, order], parameters), direct, atol=1e-12)
    via_model = muggianu(elements, x, rk_binary_model(rk_table(parameters)))
    np.testing.assert_allclose(via_model, direct, rtol=1e-12, atol=1e-12)
    assert direct.shape == (50,)


def test_equimolar_hea_from_a_formula():
    composition = parse_composition("AlCoCrFeNi")
    parameters = random_parameters(list(composition), seed=6)
    got = muggianu_rk(list(composition), list(composition.values()), parameters)
    expected = sum(0.04 * L[0] for L in parameters.values())  # x_i = x_j: only L0 survives, x_i x_j = 0.04
    assert got == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("elements", "fractions", "message"),
    [
        (["Al", "Cu"], [0.5, 0.6], "add up to 1.1"),
        (["Al", "Cu"], [1.2, -0.2], "non-negative"),
        (["Al", "Cu"], [np.nan, 1.0], "finite"),
        (["Al", "Cu", "Ni"], [0.5, 0.5], "do not match 3 elements"),
        (["Al", "Al"], [0.5, 0.5], "appears twice"),
        (["Al", "Xx"], [0.5, 0.5], "unknown element 'Xx'"),
        (["Al"], [1.0], "fewer than two"),
        (["Al", "Zr"], [0.5, 0.5], "no Redlich–Kister parameters for Al-Zr"),
    ],
)
def test_bad_compositions(elements, fractions, message):
    with pytest.raises(InputError, match=message):
        muggianu_rk(elements, fractions, TERNARY)
