"""Gaussian-process regression through PHYSBO: hyper-parameter learning, latent variance, batch selection.

The model is PHYSBO's exact GP (docs/active_learning.md): Gaussian likelihood, constant prior mean and a Gaussian (RBF)
kernel, isotropic unless ``ard`` is asked for, on standardised features. Learning the hyper-parameters
(type-II maximum likelihood with L-BFGS-B, several random starts) costs seconds to a minute; conditioning
on data with fixed hyper-parameters costs one Cholesky factorisation. So hyper-parameters are a value of
their own (:class:`GPHyper`) that callers learn once and reuse on other data.

The posterior variance of the latent function does not depend on the observed targets, so a batch can be
chosen exactly, one point at a time, by conditioning the variance on the points already picked
(:meth:`GaussianProcess.select_batch`) — the same result as refitting with the picked points added.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import physbo
import scipy.linalg
from physbo.misc._set_config import Batch  # the BFGS learning config is not exported publicly (physbo 3.2)

# PHYSBO's hyper-parameter vector: [log noise std, constant mean, log kernel width(s)…, log kernel scale].
_N_LIK = 1
_N_MEAN = 1
# PHYSBO adds this jitter to the diagonal of K + σ²I (physbo.gp.inf.exact); the batch update matches it.
_JITTER = 1e-8


@dataclass(frozen=True)
class Standardiser:
    """Per-column centring and scaling learnt on one data set and applied unchanged to any other rows."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray) -> Standardiser:
        """Column means and standard deviations of ``X`` (a constant column keeps scale 1, so it maps to 0)."""
        X = _matrix(X, "X")
        scale = X.std(axis=0)
        return cls(X.mean(axis=0), np.where(scale > 0, scale, 1.0))

    def transform(self, X: np.ndarray) -> np.ndarray:
        """``(X − mean) / scale``."""
        X = _matrix(X, "X")
        if X.shape[1] != self.mean.size:
            raise ValueError(f"X has {X.shape[1]} columns, the standardiser {self.mean.size}")
        return (X - self.mean) / self.scale


@dataclass(frozen=True)
class GPHyper:
    """Learnt hyper-parameters in PHYSBO's log parametrisation, with the marginal likelihood they reached."""

    params: tuple[float, ...]
    n_dim: int
    ard: bool = False
    neg_log_marginal_likelihood: float = float("nan")

    @property
    def noise_std(self) -> float:
        """Standard deviation of the observation noise (target units)."""
        return float(np.exp(self.params[0]))

    @property
    def prior_mean(self) -> float:
        """Constant prior mean (target units)."""
        return float(self.params[_N_LIK])

    @property
    def width(self) -> np.ndarray:
        """Kernel length scale(s), in standardised feature units."""
        return np.exp(np.asarray(self.params[_N_LIK + _N_MEAN : -1]))

    @property
    def signal_std(self) -> float:
        """Prior standard deviation of the latent function (target units)."""
        return float(np.exp(self.params[-1]))

    def as_ard(self) -> GPHyper:
        """The same kernel with one length scale per feature (all equal to this one's): an ARD fit's start."""
        if self.ard:
            return self
        p = self.params
        ard = (*p[: _N_LIK + _N_MEAN], *([p[_N_LIK + _N_MEAN]] * self.n_dim), p[-1])
        return GPHyper(tuple(ard), self.n_dim, True, self.neg_log_marginal_likelihood)

    def to_dict(self) -> dict[str, object]:
        """A JSON-serialisable description (:meth:`from_dict` reads it back)."""
        return {
            "params": [float(p) for p in self.params],
            "n_dim": self.n_dim,
            "ard": self.ard,
            "neg_log_marginal_likelihood": float(self.neg_log_marginal_likelihood),
            "noise_std": self.noise_std,
            "prior_mean": self.prior_mean,
            "width": [float(w) for w in self.width],
            "signal_std": self.signal_std,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GPHyper:
        """Inverse of :meth:`to_dict` (derived fields are ignored)."""
        params = tuple(float(p) for p in d["params"])
        n_dim, ard = int(d["n_dim"]), bool(d.get("ard", False))
        expected = _N_LIK + _N_MEAN + (n_dim if ard else 1) + 1
        if len(params) != expected:
            raise ValueError(f"{len(params)} GP parameters for n_dim={n_dim}, ard={ard}; expected {expected}")
        return cls(params, n_dim, ard, float(d.get("neg_log_marginal_likelihood", float("nan"))))


def _matrix(X: np.ndarray, name: str) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return X


def _targets(y: np.ndarray, n: int) -> np.ndarray:
    y = np.asarray(y, dtype=float).ravel()
    if y.size != n:
        raise ValueError(f"{y.size} targets for {n} rows")
    if not np.all(np.isfinite(y)):
        raise ValueError("targets contain NaN or infinite values")
    return y


def _physbo_model(n_dim: int, ard: bool, min_noise_std: float = 1e-6, max_signal_std: float = 1e6) -> physbo.gp.Model:
    return physbo.gp.Model(
        lik=physbo.gp.lik.Gauss(min_params=min_noise_std),
        mean=physbo.gp.mean.Const(),
        cov=physbo.gp.cov.Gauss(num_dim=n_dim, ard=ard, max_scale=max_signal_std),
    )


@contextmanager
def _seeded_global_rng(seed: int) -> Iterator[None]:
    # PHYSBO draws its random starts from NumPy's global generator; seed it for this call only.
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def learn_hyper(
    X: np.ndarray,
    y: np.ndarray,
    seed: int,
    *,
    ard: bool = False,
    n_starts: int = 5,
    start_iterations: int = 20,
    max_iterations: int = 200,
    initial: GPHyper | None = None,
    noise_floor: float = 1e-2,
    signal_ceiling: float = 1e2,
) -> GPHyper:
    """Maximise the marginal likelihood on (already standardised) ``X``, ``y`` with PHYSBO's L-BFGS-B.

    ``n_starts`` random starts of ``start_iterations`` steps pick the basin, then one run of up to
    ``max_iterations`` converges. With ``initial`` (e.g. the previous fit's result) the random starts are
    skipped and the optimisation is warm-started there.

    The noise standard deviation is bounded below by ``noise_floor`` × std(y) and the kernel's signal
    standard deviation above by ``signal_ceiling`` × std(y). PHYSBO's own bounds (10⁻⁶ … 10⁶, absolute)
    let the line search reach K + σ²I matrices that Cholesky cannot factorise — repeated feature rows (two
    sources at one composition) or a very long length scale make K singular, so σ² must stay well above
    rounding of the signal variance. The bounds keep that ratio ≤ 10⁸ at the defaults.
    """
    X = _matrix(X, "X")
    y = _targets(y, X.shape[0])
    if X.shape[0] < 3:
        raise ValueError(f"need at least 3 training points to learn GP hyper-parameters, got {X.shape[0]}")
    if n_starts < 1 or start_iterations < 1 or max_iterations < 1:
        raise ValueError("n_starts, start_iterations and max_iterations must be ≥ 1")
    learning = Batch()
    learning.is_disp = False
    learning.max_iter = max_iterations
    learning.max_iter_init_params_search = start_iterations
    learning.num_init_params_search = 0 if initial is not None else n_starts
    # PHYSBO subsamples the data when it exceeds batch_size; never subsample (the fit must see every point).
    learning.batch_size = max(learning.batch_size, X.shape[0])
    spread = float(np.std(y))
    if spread == 0:
        raise ValueError("all targets are equal: there is nothing for a GP to learn")
    model = _physbo_model(X.shape[1], ard, noise_floor * spread, signal_ceiling * spread)
    if initial is not None:
        if initial.n_dim != X.shape[1] or initial.ard != ard:
            raise ValueError(f"initial hyper-parameters are for n_dim={initial.n_dim}, ard={initial.ard}")
        model.set_params(np.array(initial.params))
    with _seeded_global_rng(seed):
        model.fit(X, y, physbo.misc.SetConfig(learning_config=learning))
    nlml = float(model.eval_marlik(model.params, X, y))
    return GPHyper(tuple(float(p) for p in model.params), X.shape[1], ard, nlml)


class GaussianProcess:
    """A GP conditioned on training data with fixed hyper-parameters; features are standardised first."""

    def __init__(self, X: np.ndarray, y: np.ndarray, hyper: GPHyper, scaler: Standardiser) -> None:
        self.scaler = scaler
        self.hyper = hyper
        self.X = scaler.transform(X)  # standardised training features
        self.y = _targets(y, self.X.shape[0])
        if hyper.n_dim != self.X.shape[1]:
            raise ValueError(f"hyper-parameters are for {hyper.n_dim} features, X has {self.X.shape[1]}")
        self._model = _physbo_model(hyper.n_dim, hyper.ard)
        self._model.set_params(np.array(hyper.params))
        self._model.prepare(self.X, self.y)
        self._U = self._model.stats[0]  # upper Cholesky factor of K + σ²I + jitter
        self._alpha = self._model.stats[1]  # (K + σ²I)⁻¹ (y − m)

    @classmethod
    def fit(
        cls,
        X: np.ndarray,
        y: np.ndarray,
        seed: int,
        scaler: Standardiser | None = None,
        ard: bool = False,
        n_starts: int = 5,
    ) -> GaussianProcess:
        """Standardise (with ``scaler`` or ``X``'s own statistics), learn hyper-parameters, condition on X, y."""
        scaler = Standardiser.fit(X) if scaler is None else scaler
        return cls(X, y, learn_hyper(scaler.transform(X), y, seed, ard=ard, n_starts=n_starts), scaler)

    def refit(self, X: np.ndarray, y: np.ndarray, seed: int, warm: bool = True, n_starts: int = 5) -> GaussianProcess:
        """Relearn hyper-parameters on new data (same standardiser): warm-started from the current ones, or
        from ``n_starts`` random starts when ``warm`` is false."""
        initial = self.hyper if warm else None
        Xs = self.scaler.transform(X)
        hyper = learn_hyper(Xs, y, seed, ard=self.hyper.ard, n_starts=n_starts, initial=initial)
        return GaussianProcess(X, y, hyper, self.scaler)

    def _cross_cov(self, Zs: np.ndarray) -> np.ndarray:
        """Prior covariance k(Z, X_train) (rows of Z × training points), Z standardised."""
        return self._model.prior.get_cov(Zs, self.X)

    def mean(self, Z: np.ndarray, chunk: int = 4096) -> np.ndarray:
        """Posterior mean of the latent function at the rows of ``Z`` (target units)."""
        Zs = self.scaler.transform(Z)
        out = np.empty(Zs.shape[0])
        for start in range(0, Zs.shape[0], chunk):
            part = Zs[start : start + chunk]
            out[start : start + chunk] = self._cross_cov(part) @ self._alpha + self.hyper.prior_mean
        return out

    def latent_variance(self, Z: np.ndarray, chunk: int = 4096) -> np.ndarray:
        """Posterior variance of the latent function (no noise term) at the rows of ``Z``, in chunks."""
        Zs = self.scaler.transform(Z)
        out = np.empty(Zs.shape[0])
        prior = self.hyper.signal_std**2
        for start in range(0, Zs.shape[0], chunk):
            W = scipy.linalg.solve_triangular(self._U.T, self._cross_cov(Zs[start : start + chunk]).T, lower=True)
            out[start : start + chunk] = prior - np.einsum("ij,ij->j", W, W)
        # Rounding can leave tiny negatives where the data pin the function down.
        return np.maximum(out, 0.0)

    def select_batch(
        self,
        Z: np.ndarray,
        batch_size: int,
        groups: Sequence[str] | np.ndarray | None = None,
        one_per_group: bool = False,
        chunk: int = 4096,
    ) -> np.ndarray:
        """Indices of ``batch_size`` rows of ``Z`` picked one by one at the largest latent variance, each pick
        conditioning the variance on the previous ones as noisy observations (exact for a GP).

        A picked row is never picked again. With ``one_per_group`` the other rows of a picked row's group
        (``groups``, one label per row of ``Z``) leave the candidates too.
        """
        Zs = self.scaler.transform(Z)
        m = Zs.shape[0]
        if batch_size < 1:
            raise ValueError(f"batch_size must be ≥ 1, got {batch_size}")
        if one_per_group:
            if groups is None:
                raise ValueError("one_per_group needs groups")
            groups = np.asarray(groups)
            if groups.shape != (m,):
                raise ValueError(f"{groups.shape[0]} group labels for {m} candidates")
        variance = self.latent_variance(Z, chunk)
        available = np.ones(m, dtype=bool)
        noise = self.hyper.noise_std**2 + _JITTER
        factors: list[np.ndarray] = []  # rank-one downdates c_i of the candidates' posterior covariance
        picks: list[int] = []
        while len(picks) < batch_size and available.any():
            j = int(np.flatnonzero(available)[np.argmax(variance[available])])
            picks.append(j)
            available[j] = False
            if one_per_group:
                available &= groups != groups[j]
            if len(picks) == batch_size or not available.any():
                break
            # Posterior covariance of every candidate with candidate j, given training data and earlier picks:
            # k(z, z_j) − k(z, X) A⁻¹ k(X, z_j) − Σ_i c_i(z) c_i(j).
            v = scipy.linalg.cho_solve((self._U, False), self._cross_cov(Zs[j : j + 1]).ravel())
            column = np.empty(m)
            for start in range(0, m, chunk):
                part = Zs[start : start + chunk]
                prior = self._model.prior.get_cov(part, Zs[j : j + 1]).ravel()
                column[start : start + chunk] = prior - self._cross_cov(part) @ v
            for c in factors:
                column -= c * c[j]
            c = column / np.sqrt(max(column[j], 0.0) + noise)
            factors.append(c)
            variance = np.maximum(variance - c**2, 0.0)
        return np.array(picks, dtype=np.int64)
