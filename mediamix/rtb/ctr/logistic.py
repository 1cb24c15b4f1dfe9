"""Logistic regression on hashed one-hot features: ``p = sigmoid(w0 + sum_f w[i_f])``.

Fitted by scikit-learn's ``LogisticRegression`` on the sparse one-hot matrix; the L2
strength ``C`` is chosen on validation log-loss. Prediction is a NumPy gather and a sum.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mediamix.rtb.ctr.base import CTRModel, sigmoid
from mediamix.rtb.ctr.features import check_xy
from mediamix.rtb.ctr.metrics import log_loss


class LogisticCTR(CTRModel):
    """Logistic regression on hashed one-hot features: ``p = sigmoid(w0 + sum_f w[i_f])``."""

    kind = "logistic"

    def __init__(self, hasher=None, n_features=None, C: float = 1.0):
        super().__init__(hasher, n_features)
        self.C = float(C)
        self.w0 = 0.0
        self.w = np.zeros(self.n_features, dtype=np.float64)

    def _design(self, X):
        from scipy import sparse

        n, f = X.shape
        data = np.ones(n * f, dtype=np.float64)
        indptr = np.arange(0, n * f + 1, f)
        return sparse.csr_matrix((data, X.ravel(), indptr), shape=(n, self.n_features))

    def _fit_once(self, X, y, C):
        from sklearn.linear_model import LogisticRegression

        lr = LogisticRegression(C=C, solver="lbfgs", max_iter=500, tol=1e-6)
        lr.fit(self._design(X), y)
        return float(lr.intercept_[0]), lr.coef_[0].astype(np.float64)

    def fit(self, X, y, X_val=None, y_val=None, Cs: Sequence[float] = (0.01, 0.1, 1.0, 10.0)):
        """Fit; with validation data choose ``C`` from ``Cs`` by validation log-loss."""
        X, y = check_xy(X, y, self.n_features)
        if X_val is not None:
            X_val, y_val = check_xy(X_val, y_val, self.n_features)
            best = None
            self.validation_ = []
            for C in Cs:
                w0, w = self._fit_once(X, y, C)
                ll = log_loss(y_val, sigmoid(w0 + w[X_val].sum(axis=1)))
                self.validation_.append({"C": float(C), "val_log_loss": ll})
                if best is None or ll < best[0]:
                    best = (ll, C, w0, w)
            _, self.C, self.w0, self.w = best
        else:
            self.w0, self.w = self._fit_once(X, y, self.C)
        return self

    def decision_function(self, X) -> np.ndarray:
        X, _ = check_xy(X, None, self.n_features)
        return self.w0 + self.w[X].sum(axis=1)

    def predict(self, X) -> np.ndarray:
        return sigmoid(self.decision_function(X))

    def _score_one(self, idx) -> float:
        return 1.0 / (1.0 + np.exp(-(self.w0 + self.w[idx].sum())))

    def _arrays(self):
        return {"w0": np.array(self.w0), "w": self.w}

    def _meta(self):
        return {**super()._meta(), "C": self.C}
