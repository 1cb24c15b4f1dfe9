"""Second-order factorization machine (Rendle 2010): every pairwise interaction through
low-rank factors,

    score = w0 + sum_f w[i_f] + sum_{f < g} <v[i_f], v[i_g]>
          = w0 + sum_f w[i_f] + 1/2 * sum_k ((sum_f v[i_f,k])^2 - sum_f v[i_f,k]^2)

trained with JAX + optax (Adam on the mean log-loss plus an L2 penalty, mini-batches, early
stopping on validation log-loss; the L2 strength chosen on validation). JAX is imported only
by ``fit``: prediction is plain NumPy, so one decision in the bidder costs microseconds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mediamix.errors import SpecError
from mediamix.rtb.ctr.base import CTRModel, sigmoid
from mediamix.rtb.ctr.features import check_xy
from mediamix.rtb.ctr.metrics import log_loss


class FactorizationMachineCTR(CTRModel):
    """Second-order factorization machine (Rendle 2010) trained with JAX + optax.

    ``score = w0 + sum_f w[i_f] + 1/2 sum_k ((sum_f V[i_f,k])^2 - sum_f V[i_f,k]^2)``;
    the pairwise weight of features i and j is ``<V[i], V[j]>``.
    """

    kind = "fm"

    def __init__(
        self,
        hasher=None,
        n_features=None,
        rank: int = 8,
        l2: float = 1e-4,
        learning_rate: float = 0.02,
        epochs: int = 30,
        batch_size: int = 4096,
        patience: int = 4,
        seed: int = 0,
    ):
        super().__init__(hasher, n_features)
        if rank < 1:
            raise SpecError(f"rank must be >= 1, got {rank}")
        self.rank = int(rank)
        self.l2 = float(l2)
        self.learning_rate = float(learning_rate)
        self.epochs = int(epochs)
        self.batch_size = int(batch_size)
        self.patience = int(patience)
        self.seed = int(seed)
        self.w0 = 0.0
        self.w = np.zeros(self.n_features, dtype=np.float32)
        self.V = np.zeros((self.n_features, self.rank), dtype=np.float32)

    # -- training (JAX) --
    def _fit_once(self, X, y, X_val, y_val, l2):
        import jax
        import jax.numpy as jnp
        import optax

        n = X.shape[0]
        bs = min(self.batch_size, n)
        key = jax.random.PRNGKey(self.seed)
        rate = float(np.clip(y.mean(), 1e-4, 1 - 1e-4))
        params = {
            "w0": jnp.asarray(np.log(rate / (1 - rate)), dtype=jnp.float32),
            "w": jnp.zeros(self.n_features, dtype=jnp.float32),
            "V": 0.01 * jax.random.normal(key, (self.n_features, self.rank), dtype=jnp.float32),
        }
        opt = optax.adam(self.learning_rate)
        state = opt.init(params)
        scale = l2 / n  # MAP: penalty l2 * ||theta||^2 on the summed loss, averaged per row

        def score(p, xb):
            v = p["V"][xb]  # (b, F, k)
            s = v.sum(axis=1)
            pair = 0.5 * (jnp.sum(s * s, axis=-1) - jnp.sum(v * v, axis=(1, 2)))
            return p["w0"] + p["w"][xb].sum(axis=1) + pair

        def loss(p, xb, yb):
            z = score(p, xb)
            ll = jnp.mean(optax.sigmoid_binary_cross_entropy(z, yb))
            return ll + scale * (jnp.sum(p["w"] ** 2) + jnp.sum(p["V"] ** 2))

        @jax.jit
        def step(p, st, xb, yb):
            g = jax.grad(loss)(p, xb, yb)
            upd, st = opt.update(g, st, p)
            return optax.apply_updates(p, upd), st

        rng = np.random.default_rng(self.seed)
        Xj = X.astype(np.int32)
        yj = y.astype(np.float32)
        best_ll, best_params, bad, history = np.inf, None, 0, []
        for _ in range(self.epochs):
            perm = rng.permutation(n)
            for start in range(0, n - bs + 1, bs):
                b = perm[start : start + bs]
                params, state = step(params, state, Xj[b], yj[b])
            host = {k: np.asarray(v) for k, v in params.items()}
            val_ll = log_loss(y_val, self._predict_with(host, X_val))
            history.append(val_ll)
            if val_ll < best_ll - 1e-6:
                best_ll, best_params, bad = val_ll, host, 0
            else:
                bad += 1
                if bad >= self.patience:
                    break
        return best_ll, best_params, len(history)

    def fit(self, X, y, X_val=None, y_val=None, l2s: Sequence[float] | None = None):
        """Fit with early stopping on validation log-loss; choose ``l2`` from ``l2s`` on it.

        Without validation data the last 10% of the rows (in the given, time, order) serve.
        """
        X, y = check_xy(X, y, self.n_features)
        if X_val is None:
            cut = int(0.9 * X.shape[0])
            X, X_val, y, y_val = X[:cut], X[cut:], y[:cut], y[cut:]
        X_val, y_val = check_xy(X_val, y_val, self.n_features)
        grid = list(l2s) if l2s is not None else [self.l2]
        best = None
        self.validation_ = []
        for l2 in grid:
            ll, params, epochs = self._fit_once(X, y, X_val, y_val, float(l2))
            self.validation_.append({"l2": float(l2), "val_log_loss": ll, "epochs": epochs})
            if best is None or ll < best[0]:
                best = (ll, float(l2), params)
        _, self.l2, params = best
        self.w0 = float(params["w0"])
        self.w = params["w"]
        self.V = params["V"]
        return self

    # -- prediction (NumPy) --
    @staticmethod
    def _predict_with(params, X):
        v = params["V"][X]
        s = v.sum(axis=1)
        pair = 0.5 * (np.sum(s * s, axis=-1) - np.sum(v * v, axis=(1, 2)))
        return sigmoid(params["w0"] + params["w"][X].sum(axis=1) + pair)

    def decision_function(self, X) -> np.ndarray:
        X, _ = check_xy(X, None, self.n_features)
        v = self.V[X].astype(np.float64)
        s = v.sum(axis=1)
        pair = 0.5 * (np.sum(s * s, axis=-1) - np.sum(v * v, axis=(1, 2)))
        return self.w0 + self.w[X].sum(axis=1) + pair

    def predict(self, X) -> np.ndarray:
        return sigmoid(self.decision_function(X))

    def _score_one(self, idx) -> float:
        v = self.V[idx]
        s = v.sum(axis=0)
        z = self.w0 + float(self.w[idx].sum()) + 0.5 * float(s @ s - np.sum(v * v))
        return 1.0 / (1.0 + np.exp(-z))

    def pairwise_weight(self, i: int, j: int) -> float:
        """Learned interaction weight ``<V[i], V[j]>`` of two feature indices."""
        return float(self.V[i] @ self.V[j])

    def _arrays(self):
        return {"w0": np.array(self.w0), "w": self.w, "V": self.V}

    def _meta(self):
        return {
            **super()._meta(),
            "rank": self.rank,
            "l2": self.l2,
            "learning_rate": self.learning_rate,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "seed": self.seed,
        }
