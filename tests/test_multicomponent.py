"""Tests of the composition parser and the Muggianu, Kohler and Toop extrapolations (hand-checked ternaries,
invariances, Toop's asymmetric component)."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from hmixal.errors import InputError
from hmixal.multicomponent import (
    DEVIATION_GRID_POINTS,
    METHODS,
    Projection,
    binary_projections,
    choose_asymmetric,
    deviation_sums,
    extrapolate,
    extrapolation_terms,
    muggianu,
    muggianu_rk,
    muggianu_terms,
    parse_composition,
)
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


# --- Kohler and Toop beside Muggianu ---------------------------------------------------------------------------

# Every method with every choice of Toop's asymmetric component for the Al-Cu-Ni ternary.
TERNARY_METHODS = [("muggianu", None), ("kohler", None), ("toop", "Al"), ("toop", "Cu"), ("toop", "Ni")]


def rk_model(parameters: dict[tuple[str, str], list[float]]):
    """The binary model f(a, b, x_b) of Redlich–Kister parameters keyed (A, B), A < B."""

    def model(a, b, x_b):
        return rk_hmix(x_b, parameters[a, b])

    return model


def test_three_methods_by_hand():
    # x = (Al 0.2, Cu 0.3, Ni 0.5). For an RK binary every method gives x_A x_B Σ L_n (x_A^b − x_B^b)^n.
    # Muggianu: x_A^b − x_B^b = x_A − x_B:           Al-Cu 0.06(−10 + 5(−0.1)) = −0.63; Al-Ni 0.1(−20) = −2.0;
    #   Cu-Ni 0.15(8 + 4(−0.2)²) = 1.224                                                         → −1.406
    # Kohler: (x_A − x_B)/(x_A + x_B):               Al-Cu 0.06(−10 + 5(−0.1/0.5)) = −0.66; Al-Ni −2.0;
    #   Cu-Ni 0.15(8 + 4(−0.2/0.8)²) = 0.15·8.25 = 1.2375                                        → −1.4225
    # Toop k = Al: Al-Cu at x_Al^b = 0.2, x_Cu^b = 0.8: 0.06(−10 + 5(−0.6)) = −0.78; Al-Ni −2.0 (L0 only);
    #   Cu-Ni by Kohler 1.2375                                                                   → −1.5425
    # Toop k = Cu: Al-Cu at x_Cu^b = 0.3 (x_Al^b = 0.7): 0.06(−10 + 5(0.4)) = −0.48;
    #   Cu-Ni at x_Cu^b = 0.3 (x_Ni^b = 0.7): 0.15(8 + 4(−0.4)²) = 0.15·8.64 = 1.296; Al-Ni by Kohler −2.0 → −1.184
    # Toop k = Ni: Al-Ni −2.0; Cu-Ni at x_Ni^b = 0.5: 0.15·8 = 1.2; Al-Cu by Kohler −0.66          → −1.46
    expected = {
        ("muggianu", None): -0.63 - 2.0 + 1.224,
        ("kohler", None): -0.66 - 2.0 + 1.2375,
        ("toop", "Al"): -0.78 - 2.0 + 1.2375,
        ("toop", "Cu"): -0.48 - 2.0 + 1.296,
        ("toop", "Ni"): -2.0 + 1.2 - 0.66,
    }
    assert list(expected.values()) == pytest.approx([-1.406, -1.4225, -1.5425, -1.184, -1.46], abs=1e-12)
    table_model = rk_binary_model(rk_table(TERNARY))
    for (method, k), value in expected.items():
        assert extrapolate(["Al", "Cu", "Ni"], [0.2, 0.3, 0.5], table_model, method, k) == pytest.approx(
            value, abs=1e-12
        )
        # Another element order, and the plain RK callable.
        got = extrapolate(["Ni", "Al", "Cu"], [0.5, 0.2, 0.3], rk_model(TERNARY), method, k)
        assert got == pytest.approx(value, abs=1e-12)


def test_projection_points_and_weights_by_hand():
    x = [0.5, 0.3, 0.2]  # Ni, Cu, Al
    # Kohler: x_B^b = x_B/(x_A + x_B), weight (x_A + x_B)².
    kohler = binary_projections(["Ni", "Cu", "Al"], x, "kohler")
    assert {p: (v.x_b, v.weight) for p, v in kohler.items()} == {
        ("Al", "Cu"): pytest.approx((0.3 / 0.5, 0.5**2), abs=1e-15),
        ("Al", "Ni"): pytest.approx((0.5 / 0.7, 0.7**2), abs=1e-15),
        ("Cu", "Ni"): pytest.approx((0.5 / 0.8, 0.8**2), abs=1e-15),
    }
    # Toop with Al: Al-j at x_Al^b = 0.2, i.e. x_b = 0.8 for B = Cu and for B = Ni; weight x_j/(1 − x_Al).
    toop = binary_projections(["Ni", "Cu", "Al"], x, "toop", asymmetric="Al")
    assert {p: (v.x_b, v.weight) for p, v in toop.items()} == {
        ("Al", "Cu"): pytest.approx((0.8, 0.3 / 0.8), abs=1e-15),
        ("Al", "Ni"): pytest.approx((0.8, 0.5 / 0.8), abs=1e-15),
        ("Cu", "Ni"): pytest.approx((0.625, 0.64), abs=1e-15),
    }
    # Toop with Ni (the alphabetically later one): x_b = x_Ni = 0.5 for Al-Ni and for Cu-Ni.
    toop_ni = binary_projections(["Ni", "Cu", "Al"], x, "toop", asymmetric="Ni")
    assert (toop_ni["Al", "Ni"].x_b, toop_ni["Cu", "Ni"].x_b) == pytest.approx((0.5, 0.5), abs=1e-15)
    assert (toop_ni["Al", "Ni"].weight, toop_ni["Cu", "Ni"].weight) == pytest.approx((0.4, 0.6), abs=1e-15)
    # Muggianu as before: x_b = (1 + x_B − x_A)/2.
    mug = binary_projections(["Ni", "Cu", "Al"], x)
    assert [mug[p].x_b for p in sorted(mug)] == pytest.approx([0.55, 0.65, 0.6], abs=1e-15)
    assert isinstance(mug["Al", "Cu"], Projection)


def test_projection_by_hand_with_a_non_redlich_kister_model_for_kohler_and_toop():
    def model(a, b, x_b):
        return -40.0 * (1 - x_b) * x_b**2  # = −40 x_A^b x_B^b · x_B^b: each term is −40 x_A x_B · x_B^b

    x = [0.5, 0.3, 0.2]  # Ni, Cu, Al
    # Kohler: Al-Cu 0.06·(−40)·0.6 = −1.44; Al-Ni 0.10·(−40)·(5/7) = −20/7; Cu-Ni 0.15·(−40)·0.625 = −3.75.
    kohler = extrapolation_terms(["Ni", "Cu", "Al"], x, model, "kohler")
    assert kohler == pytest.approx({("Al", "Cu"): -1.44, ("Al", "Ni"): -20 / 7, ("Cu", "Ni"): -3.75}, abs=1e-12)
    # Toop with Al: Al-Cu 0.06·(−40)·0.8 = −1.92; Al-Ni 0.10·(−40)·0.8 = −3.2; Cu-Ni by Kohler −3.75.
    toop = extrapolation_terms(["Ni", "Cu", "Al"], x, model, "toop", "Al")
    assert toop == pytest.approx({("Al", "Cu"): -1.92, ("Al", "Ni"): -3.2, ("Cu", "Ni"): -3.75}, abs=1e-12)
    assert extrapolate(["Ni", "Cu", "Al"], x, model, "toop", "Al") == pytest.approx(-8.87, abs=1e-12)
    assert muggianu_terms(["Ni", "Cu", "Al"], x, model) == extrapolation_terms(["Ni", "Cu", "Al"], x, model)


def test_weight_is_x_a_x_b_over_the_projected_product():
    elements = ["Al", "Co", "Cr", "Fe", "Ni"]
    x = np.random.default_rng(7).dirichlet(np.ones(5), size=40)
    index = {e: n for n, e in enumerate(elements)}
    for method, k in [("muggianu", None), ("kohler", None), ("toop", "Fe"), ("toop", "Al")]:
        for (a, b), p in binary_projections(elements, x, method, k).items():
            assert ((p.x_b > 0) & (p.x_b < 1)).all()
            product = x[:, index[a]] * x[:, index[b]]
            np.testing.assert_allclose(p.weight * (1 - p.x_b) * p.x_b, product, rtol=1e-13)


def kohler_rk(elements, x, parameters):
    """Kohler for RK binaries written out: Σ x_i x_j Σ_n L_n ((x_i − x_j)/(x_i + x_j))^n, A < B ordered."""
    total = np.zeros(x.shape[0])
    for i, j in combinations(range(len(elements)), 2):
        if elements[i] > elements[j]:
            i, j = j, i
        ratio = (x[:, i] - x[:, j]) / (x[:, i] + x[:, j])
        L = parameters[elements[i], elements[j]]
        total += x[:, i] * x[:, j] * sum(c * ratio**n for n, c in enumerate(L))
    return total


def toop_rk(elements, x, parameters, k):
    """Toop for RK binaries written out: pairs k–j at x_k^b = x_k, i.e. x_A^b − x_B^b = ±(2 x_k − 1); others Kohler."""
    total = np.zeros(x.shape[0])
    kk = elements.index(k)
    for i, j in combinations(range(len(elements)), 2):
        if elements[i] > elements[j]:
            i, j = j, i
        if kk == i:
            difference = 2 * x[:, kk] - 1
        elif kk == j:
            difference = 1 - 2 * x[:, kk]
        else:
            difference = (x[:, i] - x[:, j]) / (x[:, i] + x[:, j])
        L = parameters[elements[i], elements[j]]
        total += x[:, i] * x[:, j] * sum(c * difference**n for n, c in enumerate(L))
    return total


def test_kohler_and_toop_equal_their_redlich_kister_forms_in_a_quinary():
    elements = ["Al", "Co", "Cr", "Fe", "Ni"]
    parameters = random_parameters(elements, seed=8)
    x = np.random.default_rng(9).dirichlet(np.ones(5), size=60)
    model = rk_binary_model(rk_table(parameters))
    np.testing.assert_allclose(
        extrapolate(elements, x, model, "kohler"), kohler_rk(elements, x, parameters), atol=1e-12
    )
    for k in elements:
        got = extrapolate(elements, x, model, "toop", k)
        np.testing.assert_allclose(got, toop_rk(elements, x, parameters, k), atol=1e-12)
    np.testing.assert_allclose(extrapolate(elements, x, model), muggianu_rk(elements, x, parameters), atol=1e-12)


def test_regular_solutions_give_the_same_value_under_every_method():
    # L0 only: every term is weight · x_A^b x_B^b L0 = x_A x_B L0 whatever the projection point.
    elements = ["Al", "Co", "Cr", "Fe"]
    rng = np.random.default_rng(10)
    parameters = {pair: [float(rng.normal(0, 20))] for pair in combinations(elements, 2)}
    x = rng.dirichlet(np.ones(4), size=30)
    expected = sum(x[:, elements.index(a)] * x[:, elements.index(b)] * L[0] for (a, b), L in parameters.items())
    model = rk_model(parameters)
    for method, k in [("muggianu", None), ("kohler", None), *[("toop", e) for e in elements]]:
        np.testing.assert_allclose(extrapolate(elements, x, model, method, k), expected, atol=1e-12)


def test_toop_equals_kohler_when_the_asymmetric_binaries_are_regular():
    # Al-Cu and Al-Ni regular (L0 only): their terms are x_Al x_j L0 under any projection, and Cu-Ni is Kohler's
    # in both models. Toop with Cu instead moves Cu-Ni (which has L1, L2) off Kohler's point: a different answer.
    parameters = {("Al", "Cu"): [-12.0], ("Al", "Ni"): [-30.0], ("Cu", "Ni"): [6.0, 9.0, -5.0]}
    x = np.random.default_rng(11).dirichlet(np.ones(3), size=25)
    model = rk_model(parameters)
    elements = ["Al", "Cu", "Ni"]
    kohler = extrapolate(elements, x, model, "kohler")
    np.testing.assert_allclose(extrapolate(elements, x, model, "toop", "Al"), kohler, atol=1e-12)
    assert np.abs(extrapolate(elements, x, model, "toop", "Cu") - kohler).max() > 0.05


def test_toop_is_exact_when_the_other_two_components_are_alike():
    # Cu and Ni made identical: Cu-Ni ideal, Al-Cu = Al-Ni. The ternary is then the binary Al-(Cu+Ni) at x_Al, which
    # Toop with Al reproduces exactly (x_Cu/(1−x_Al) f(x_Al) + x_Ni/(1−x_Al) f(x_Al) = f(x_Al)); the symmetric models
    # do not, since the binary is not a regular solution.
    L = [-25.0, 10.0, 6.0]
    parameters = {("Al", "Cu"): L, ("Al", "Ni"): L, ("Cu", "Ni"): [0.0]}
    x = np.random.default_rng(12).dirichlet(np.ones(3), size=25)
    model = rk_model(parameters)
    elements = ["Al", "Cu", "Ni"]
    binary = rk_hmix(1 - x[:, 0], L)  # Al-(Cu+Ni) at x_B = 1 − x_Al
    np.testing.assert_allclose(extrapolate(elements, x, model, "toop", "Al"), binary, atol=1e-12)
    for method in ("muggianu", "kohler"):
        assert np.abs(extrapolate(elements, x, model, method) - binary).max() > 0.05
    assert choose_asymmetric(elements, model) == "Al"  # Al sees Cu and Ni alike: η_Al = 0


def test_kohler_equals_muggianu_at_equimolar_compositions():
    # x_i = x_j: Kohler's x_i/(x_i + x_j) and Muggianu's (1 + x_i − x_j)/2 are both 1/2, the weights both 4 x_i².
    elements = ["Al", "Co", "Cr", "Fe", "Ni"]
    model = rk_model(random_parameters(elements, seed=13))
    for n in range(2, 6):
        fractions = np.full(n, 1.0 / n)
        kohler = extrapolate(elements[:n], fractions, model, "kohler")
        assert kohler == pytest.approx(extrapolate(elements[:n], fractions, model), abs=1e-12)


def test_binary_alloys_and_ternary_edges_reproduce_the_binary_under_every_method():
    def curve(a, b, x_b):
        return -30.0 * x_b * (1 - x_b) * (1 + x_b) + (3.0 if a == "Al" else 0.0) * x_b * (1 - x_b) ** 3

    x_ni = np.linspace(0.0, 1.0, 21)
    expected = curve("Al", "Ni", x_ni)
    binary = np.column_stack([1 - x_ni, x_ni])
    with_zero_cu = np.column_stack([1 - x_ni, np.zeros_like(x_ni), x_ni])
    for method, k in TERNARY_METHODS:
        got = extrapolate(["Al", "Cu", "Ni"], with_zero_cu, curve, method, k)  # k = Cu: absent, Al-Ni by Kohler
        np.testing.assert_allclose(got, expected, rtol=1e-14, atol=1e-14)
        if k != "Cu":
            np.testing.assert_allclose(extrapolate(["Al", "Ni"], binary, curve, method, k), expected, atol=1e-14)
    # The other two edges of the ternary, for Toop with each component.
    x_cu = np.linspace(0.0, 1.0, 11)
    for k in ("Al", "Cu", "Ni"):
        al_cu = extrapolate(["Al", "Cu", "Ni"], np.column_stack([1 - x_cu, x_cu, 0 * x_cu]), curve, "toop", k)
        np.testing.assert_allclose(al_cu, curve("Al", "Cu", x_cu), atol=1e-14)
        cu_ni = extrapolate(["Al", "Cu", "Ni"], np.column_stack([0 * x_cu, 1 - x_cu, x_cu]), curve, "toop", k)
        np.testing.assert_allclose(cu_ni, curve("Cu", "Ni", x_cu), atol=1e-14)


def test_absent_pairs_contribute_nothing_and_the_binary_is_only_asked_inside():
    calls = []

    def model(a, b, x_b):
        calls.append(np.asarray(x_b).copy())
        return -20.0 * x_b * (1 - x_b) + 1.0  # 1 kJ/mol at the pure ends: would show if an absent pair were added

    # Vertices, edges and an interior point of Al-Cu-Ni (pytest turns any 0/0 warning into an error).
    x = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.5, 0.5, 0], [0, 0.3, 0.7], [0.2, 0, 0.8], [0.2, 0.3, 0.5]])
    for method, k in TERNARY_METHODS:
        calls.clear()
        terms = extrapolation_terms(["Al", "Cu", "Ni"], x, model, method, k)
        got = np.sum(list(terms.values()), axis=0)
        assert np.isfinite(got).all()
        assert (got[:3] == 0.0).all()  # pure elements
        assert terms["Al", "Ni"][3] == 0.0 and terms["Al", "Cu"][4] == 0.0 and terms["Al", "Cu"][5] == 0.0
        assert all(((c > 0) & (c < 1)).all() for c in calls)
        for p in binary_projections(["Al", "Cu", "Ni"], x, method, k).values():
            assert ((p.x_b >= 0) & (p.x_b <= 1)).all() and (p.weight[:3] == 0).all()


def test_permutation_invariance_under_every_method():
    elements = ["Al", "Co", "Cr", "Fe", "Ni"]
    model = rk_model(random_parameters(elements, seed=14))
    x = np.random.default_rng(15).dirichlet(np.ones(5), size=30)
    order = [4, 2, 0, 3, 1]
    permuted = [elements[i] for i in order]
    for method, k in [("muggianu", None), ("kohler", None), ("toop", "Cr"), ("toop", "Ni")]:
        direct = extrapolate(elements, x, model, method, k)
        np.testing.assert_allclose(extrapolate(permuted, x[:, order], model, method, k), direct, atol=1e-12)
        assert choose_asymmetric(permuted, model) == choose_asymmetric(elements, model)


def test_shapes_of_one_and_many_compositions():
    model = rk_model(TERNARY)
    one = binary_projections(["Al", "Cu", "Ni"], [0.2, 0.3, 0.5], "kohler")
    assert all(np.shape(p.x_b) == () and np.shape(p.weight) == () for p in one.values())
    assert np.shape(extrapolate(["Al", "Cu", "Ni"], [0.2, 0.3, 0.5], model, "toop", "Cu")) == ()
    x = np.random.default_rng(16).dirichlet(np.ones(3), size=7)
    many = binary_projections(["Al", "Cu", "Ni"], x, "toop", "Ni")
    assert all(p.x_b.shape == (7,) and p.weight.shape == (7,) for p in many.values())
    for method, k in TERNARY_METHODS:
        values = extrapolate(["Al", "Cu", "Ni"], x, model, method, k)
        assert values.shape == (7,)
        # Point by point equals one composition at a time.
        single = [extrapolate(["Al", "Cu", "Ni"], row, model, method, k) for row in x]
        np.testing.assert_allclose(values, single, atol=1e-14)


def test_regular_solution_deviation_sums_by_hand():
    # Regular binaries: ΔH_ki(x_k) − ΔH_kj(x_k) = (L_ki − L_kj) x(1 − x), so η_k = Σ (L_ki − L_kj)² ∫ x²(1−x)² dx.
    # The midpoint rule with N intervals (h = 1/N) gives, for the quartic x²(1−x)² (Euler–Maclaurin ends after the
    # h⁴ term; p'(0) = p'(1) = 0 and p'''(1) − p'''(0) = 24): 1/30 + 7·24 h⁴/5760 = 1/30 + 7 h⁴/240.
    h = 1.0 / DEVIATION_GRID_POINTS
    integral = 1 / 30 + 7 * h**4 / 240
    # Al-Cu 0, Al-Ni −10, Cu-Ni −20: η_Al = (0 + 10)² c, η_Cu = (0 + 20)² c, η_Ni = (−10 + 20)² c.
    parameters = {("Al", "Cu"): [0.0], ("Al", "Ni"): [-10.0], ("Cu", "Ni"): [-20.0]}
    eta = deviation_sums(["Ni", "Cu", "Al"], rk_model(parameters))
    assert eta == pytest.approx({"Al": 100 * integral, "Cu": 400 * integral, "Ni": 100 * integral}, rel=1e-12)
    # Al and Ni tie for the smallest η: the alphabetically first wins, whatever the order given.
    assert choose_asymmetric(["Ni", "Cu", "Al"], rk_model(parameters)) == "Al"
    assert choose_asymmetric(["Cu", "Ni", "Al"], rk_model(parameters)) == "Al"
    # Four components: η_Al sums its three ternaries Al-Cu-Ni, Al-Cu-Fe, Al-Fe-Ni.
    parameters |= {("Al", "Fe"): [-4.0], ("Cu", "Fe"): [5.0], ("Fe", "Ni"): [-1.0]}
    eta = deviation_sums(["Al", "Cu", "Fe", "Ni"], rk_model(parameters))
    # Al: (0 − (−10))² + (0 − (−4))² + (−4 − (−10))² = 100 + 16 + 36 = 152.
    assert eta["Al"] == pytest.approx(152 * integral, rel=1e-12)
    # Fe (its binaries Al −4, Cu 5, Ni −1): 81 + 9 + 36 = 126, the smallest of the four (Cu: 400 + 25 + 625 = 1050).
    assert eta["Fe"] == pytest.approx(126 * integral, rel=1e-12)
    assert eta["Cu"] == pytest.approx(1050 * integral, rel=1e-12)
    assert choose_asymmetric(["Al", "Cu", "Fe", "Ni"], rk_model(parameters)) == "Fe"


def test_deviation_sum_of_an_asymmetric_binary_against_the_integral():
    # η_Al = ∫ (ΔH_AlCu(x) − ΔH_AlNi(x))² dx with x = x_Al: ΔH_AlCu = x(1−x)(−10 + 5(2x − 1)), ΔH_AlNi = −20x(1−x),
    # difference x(1−x)(5 + 10x); ∫ x²(1−x)²(25 + 100x + 100x²) = 25/30 + 100/60 + 100/105 (∫ x^a (1−x)² dx =
    # 2/((a+1)(a+2)(a+3))) = 3.452380952…; the midpoint rule on 100 intervals is within ~1e-8 relative of it.
    eta = deviation_sums(["Al", "Cu", "Ni"], rk_model(TERNARY))
    assert eta["Al"] == pytest.approx(25 / 30 + 100 / 60 + 100 / 105, rel=1e-6)


def test_choose_asymmetric_picks_the_component_that_sees_the_others_alike():
    # Fe-Co and Fe-Cr identical (asymmetric, L1 ≠ 0); Co-Cr very different: Fe is Toop's asymmetric component.
    # Fe is B in both Co-Fe and Cr-Fe, so the same L_n give the same curve of x_Fe: x(1−x)(−8 + 3(1 − 2x)).
    parameters = {("Co", "Fe"): [-8.0, 3.0], ("Cr", "Fe"): [-8.0, 3.0], ("Co", "Cr"): [25.0, 0.0, 10.0]}
    model = rk_model(parameters)
    for elements in (["Co", "Cr", "Fe"], ["Fe", "Cr", "Co"], ["Cr", "Fe", "Co"]):
        eta = deviation_sums(elements, model)
        assert eta["Fe"] == 0.0 and eta["Co"] > 10 and eta["Cr"] > 10
        assert choose_asymmetric(elements, model) == "Fe"
    x = np.random.default_rng(17).dirichlet(np.ones(3), size=10)
    chosen = extrapolate(["Co", "Cr", "Fe"], x, model, "toop")  # asymmetric=None → choose_asymmetric
    np.testing.assert_allclose(chosen, extrapolate(["Co", "Cr", "Fe"], x, model, "toop", "Fe"), atol=0)
    # All binaries the same regular solution: every η is 0, the alphabetically first is taken.
    alike = {pair: [-5.0] for pair in [("Cr", "Fe"), ("Cr", "Ni"), ("Fe", "Ni")]}
    # (Fe is B of Cr-Fe and A of Fe-Ni: its two curves are the same values in reverse order, equal up to rounding,
    # which the tie tolerance absorbs.)
    eta = deviation_sums(["Ni", "Fe", "Cr"], rk_model(alike))
    assert eta == pytest.approx({"Ni": 0.0, "Fe": 0.0, "Cr": 0.0}, abs=1e-25)
    assert choose_asymmetric(["Ni", "Fe", "Cr"], rk_model(alike)) == "Cr"
    # The same L0, L1 for all three are not alike: x_A − x_B flips sign with the alphabetical order, so Fe (B of
    # Cr-Fe, A of Fe-Ni) sees Cr and Ni differently while Cr (A of both) and Ni (B of both) do not: a tie of Cr, Ni.
    skewed = {pair: [-5.0, 2.0] for pair in [("Cr", "Fe"), ("Cr", "Ni"), ("Fe", "Ni")]}
    eta = deviation_sums(["Ni", "Fe", "Cr"], rk_model(skewed))
    # η_Fe = ∫ (x(1−x)(−5 + 2(1−2x)) − x(1−x)(−5 + 2(2x−1)))² = 16 ∫ u²(1 − 4u) with u = x(1−x), ∫u² = 1/30,
    # ∫u³ = 1/140: 16 (1/30 − 1/35) = 16/210.
    assert eta["Cr"] == eta["Ni"] == 0.0 and eta["Fe"] == pytest.approx(16 / 210, rel=1e-6)
    assert choose_asymmetric(["Ni", "Fe", "Cr"], rk_model(skewed)) == "Cr"


@pytest.mark.parametrize(
    ("method", "asymmetric", "message"),
    [
        ("redlich", None, r"unknown extrapolation method 'redlich'; choose one of muggianu, kohler, toop"),
        ("Kohler", None, r"unknown extrapolation method 'Kohler'"),
        ("toop", None, r"method 'toop' needs its asymmetric component: .*\(Al, Cu, Ni\).* choose_asymmetric"),
        ("toop", "Fe", r"asymmetric component 'Fe' is not in the alloy; choose one of Al, Cu, Ni"),
        ("kohler", "Al", r"asymmetric component \('Al'\) is only used by method 'toop', not 'kohler'"),
        ("muggianu", "Al", r"only used by method 'toop', not 'muggianu'"),
    ],
)
def test_bad_methods(method, asymmetric, message):
    with pytest.raises(InputError, match=message):
        binary_projections(["Al", "Cu", "Ni"], [0.2, 0.3, 0.5], method, asymmetric)
    if asymmetric is not None or method != "toop":  # extrapolate picks the component itself when none is named
        with pytest.raises(InputError, match=message):
            extrapolate(["Al", "Cu", "Ni"], [0.2, 0.3, 0.5], rk_model(TERNARY), method, asymmetric)


def test_bad_binary_models():
    with pytest.raises(InputError, match=r"returned shape \(\) for Al-Cu at 1 composition"):
        extrapolate(["Al", "Cu", "Ni"], [0.2, 0.3, 0.5], lambda a, b, x_b: 1.0, "kohler")
    with pytest.raises(InputError, match="non-finite ΔH for Al-Cu"):
        choose_asymmetric(["Al", "Cu", "Ni"], lambda a, b, x_b: np.full(x_b.shape, np.nan))
    with pytest.raises(InputError, match="unknown element 'Xx'"):
        choose_asymmetric(["Al", "Xx"], rk_model(TERNARY))
    assert METHODS == ("muggianu", "kohler", "toop")
