"""Tests of the PHYSBO wrapper: standardisation, hyper-parameter learning, latent variance, batch selection."""

from __future__ import annotations

import json

import numpy as np
import physbo
import pytest

from hmixal.gp import GaussianProcess, GPHyper, Standardiser, learn_hyper


@pytest.fixture(scope="module")
def toy() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """60 noisy samples of a smooth 2-D function on features of very different scales, and 200 candidates."""
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.uniform(0, 1, 60), rng.uniform(0, 1000, 60)])
    y = np.sin(4 * X[:, 0]) + (X[:, 1] / 1000) ** 2 + rng.normal(0, 0.05, 60)
    Z = np.column_stack([rng.uniform(-0.5, 1.5, 200), rng.uniform(-500, 1500, 200)])
    return X, y, Z


@pytest.fixture(scope="module")
def gp(toy) -> GaussianProcess:
    X, y, _ = toy
    return GaussianProcess.fit(X, y, seed=7, n_starts=2)


def test_standardiser_uses_the_fitted_statistics_and_keeps_constant_columns_finite():
    X = np.array([[1.0, 5.0, 2.0], [3.0, 5.0, 4.0], [5.0, 5.0, 9.0]])
    s = Standardiser.fit(X)
    Xs = s.transform(X)
    np.testing.assert_allclose(Xs.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Xs.std(axis=0), [1, 0, 1])
    # Other rows are transformed with the same statistics, not their own.
    np.testing.assert_allclose(s.transform(np.array([[3.0, 6.0, 5.0]])), [[0.0, 1.0, 0.0]])
    with pytest.raises(ValueError, match="columns"):
        s.transform(np.ones((2, 2)))
    with pytest.raises(ValueError, match="NaN"):
        Standardiser.fit(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="2-D"):
        Standardiser.fit(np.ones(3))


def test_repeated_rows_do_not_break_hyperparameter_learning(toy):
    # Two sources at one composition give identical feature rows; PHYSBO's absolute noise floor let the
    # line search reach a singular K + σ²I here before the bounds became relative to std(y).
    X, y, _ = toy
    Xd = np.vstack([X[:20], X[:20], X[:20]])
    yd = np.concatenate([y[:20], y[:20] + 0.01, y[:20] - 0.01])
    h = learn_hyper(Standardiser.fit(Xd).transform(Xd), yd, seed=3, n_starts=3)
    assert h.noise_std >= 1e-2 * np.std(yd) * (1 - 1e-9)
    assert np.isfinite(h.neg_log_marginal_likelihood)


def test_learnt_hyperparameters_are_sensible_reproducible_and_leave_the_global_rng_alone(toy, gp):
    X, y, _ = toy
    h = gp.hyper
    assert h.n_dim == 2 and not h.ard and len(h.params) == 4
    assert 0.01 < h.noise_std < 0.2  # the noise added was 0.05
    assert np.isfinite(h.neg_log_marginal_likelihood)
    np.random.seed(123)
    expected_next = np.random.random()
    np.random.seed(123)
    again = learn_hyper(gp.scaler.transform(X), y, seed=7, n_starts=2)
    assert np.random.random() == expected_next  # PHYSBO's draws did not consume the caller's global stream
    assert again.params == h.params
    # Warm start from the optimum stays there.
    warm = learn_hyper(gp.scaler.transform(X), y, seed=8, initial=h)
    assert warm.neg_log_marginal_likelihood == pytest.approx(h.neg_log_marginal_likelihood, abs=1e-3)


def test_learn_hyper_rejects_bad_input(toy):
    X, y, _ = toy
    with pytest.raises(ValueError, match="targets"):
        learn_hyper(X, y[:-1], seed=1)
    with pytest.raises(ValueError, match="at least 3"):
        learn_hyper(X[:2], y[:2], seed=1)
    with pytest.raises(ValueError, match="NaN"):
        learn_hyper(X, np.where(np.arange(60) == 3, np.nan, y), seed=1)
    with pytest.raises(ValueError, match="n_starts"):
        learn_hyper(X, y, seed=1, n_starts=0)
    with pytest.raises(ValueError, match="all targets are equal"):
        learn_hyper(X, np.ones(60), seed=1)
    wrong = GPHyper((0.0, 0.0, 0.0, 0.0), n_dim=3)
    with pytest.raises(ValueError, match="n_dim=3"):
        learn_hyper(X, y, seed=1, initial=wrong)


def test_hyperparameters_round_trip_through_json(gp):
    d = json.loads(json.dumps(gp.hyper.to_dict()))
    assert GPHyper.from_dict(d) == gp.hyper
    assert d["noise_std"] == pytest.approx(np.exp(gp.hyper.params[0]))
    with pytest.raises(ValueError, match="expected 4"):
        GPHyper.from_dict({**d, "params": d["params"][:3]})


def test_latent_variance_and_mean_match_physbo(toy, gp):
    X, y, Z = toy
    Xs, Zs = gp.scaler.transform(X), gp.scaler.transform(Z)
    model = physbo.gp.Model(
        lik=physbo.gp.lik.Gauss(), mean=physbo.gp.mean.Const(), cov=physbo.gp.cov.Gauss(num_dim=2, ard=False)
    )
    model.set_params(np.array(gp.hyper.params))
    model.prepare(Xs, y)
    np.testing.assert_allclose(gp.latent_variance(Z, chunk=37), model.get_post_fcov(Xs, Zs, diag=True), atol=1e-9)
    np.testing.assert_allclose(gp.mean(Z, chunk=37), model.get_post_fmean(Xs, Zs), atol=1e-9)
    # Far from the data the variance returns to the prior; at the data it is below the noise variance.
    assert gp.latent_variance(np.array([[50.0, 1e5]]))[0] == pytest.approx(gp.hyper.signal_std**2)
    assert np.all(gp.latent_variance(X) < gp.hyper.noise_std**2)
    with pytest.raises(ValueError, match="features"):
        GaussianProcess(X[:, :1], y, gp.hyper, Standardiser.fit(X[:, :1]))


def test_sequential_batch_equals_refitting_with_the_picked_points(toy, gp):
    X, y, Z = toy
    picks = gp.select_batch(Z, 5)
    assert len(set(picks.tolist())) == 5
    before = gp.latent_variance(Z)
    assert picks[0] == np.argmax(before)
    for k in range(1, 5):
        # Refit with the first k picks as observations (any target values: the variance ignores them).
        conditioned = GaussianProcess(
            np.vstack([X, Z[picks[:k]]]), np.concatenate([y, np.zeros(k)]), gp.hyper, gp.scaler
        )
        v = conditioned.latent_variance(Z)
        # The conditioned variance of each picked point dropped…
        assert np.all(v[picks[:k]] < before[picks[:k]])
        # …and the next pick is the most uncertain point given training data and the earlier picks.
        v[picks[:k]] = -np.inf
        assert picks[k] == np.argmax(v)


def test_batch_selection_one_per_group_and_limits(toy, gp):
    _, _, Z = toy
    groups = np.array([f"g{i % 7}" for i in range(len(Z))])
    picks = gp.select_batch(Z, 5, groups=groups, one_per_group=True)
    assert len(set(groups[picks])) == 5
    # Asking for more than there are groups returns one point per group.
    assert len(gp.select_batch(Z, 20, groups=groups, one_per_group=True)) == 7
    assert sorted(gp.select_batch(Z[:3], 10).tolist()) == [0, 1, 2]
    with pytest.raises(ValueError, match="needs groups"):
        gp.select_batch(Z, 2, one_per_group=True)
    with pytest.raises(ValueError, match="group labels"):
        gp.select_batch(Z, 2, groups=groups[:5], one_per_group=True)
    with pytest.raises(ValueError, match="batch_size"):
        gp.select_batch(Z, 0)


def test_refit_warm_and_cold(toy, gp):
    X, y, _ = toy
    warm = gp.refit(X[:40], y[:40], seed=3)
    cold = gp.refit(X[:40], y[:40], seed=3, warm=False, n_starts=2)
    assert warm.scaler is gp.scaler and cold.scaler is gp.scaler
    assert warm.hyper.neg_log_marginal_likelihood == pytest.approx(cold.hyper.neg_log_marginal_likelihood, rel=1e-3)
