"""Click-through-rate models on hashed one-hot features, their evaluation, and a log simulator.

Every impression is a row of categorical fields (site, ad, device, hour, ...). A field value
becomes one active feature ``murmurhash3("field=value") mod 2^bits``, so a row is a vector of
``F`` feature indices (one per field) into a weight table of size ``D = 2^bits``.

- :class:`LogisticCTR`: ``p = sigmoid(w0 + sum_f w[i_f])`` fitted by scikit-learn's
  ``LogisticRegression`` on the sparse one-hot matrix; the L2 strength ``C`` is chosen on
  validation log-loss.
- :class:`FactorizationMachineCTR` (Rendle 2010): adds every pairwise interaction through
  low-rank factors,

      score = w0 + sum_f w[i_f] + sum_{f < g} <v[i_f], v[i_g]>
            = w0 + sum_f w[i_f] + 1/2 * sum_k ((sum_f v[i_f,k])^2 - sum_f v[i_f,k]^2)

  trained with JAX + optax (Adam on the mean log-loss plus an L2 penalty, mini-batches, early
  stopping on validation log-loss; the L2 strength chosen on validation).

Prediction of both models is plain NumPy (a gather and a sum), so a single decision in the
bidder costs microseconds and needs no JAX dispatch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mediamix.errors import DataError, SpecError

_EPS = 1e-7


# ----------------------------------------------------------------------------- features
@dataclass(frozen=True)
class HashedOneHot:
    """Hash ``field=value`` pairs into ``2^n_bits`` indices, one active index per field."""

    fields: tuple[str, ...]
    n_bits: int = 18

    def __post_init__(self) -> None:
        if not self.fields:
            raise SpecError("HashedOneHot needs at least one field name")
        if not 4 <= int(self.n_bits) <= 28:
            raise SpecError(f"n_bits must be between 4 and 28, got {self.n_bits}")

    @property
    def n_features(self) -> int:
        return 1 << int(self.n_bits)

    def _hash(self, keys: Sequence[str]) -> np.ndarray:
        from sklearn.utils import murmurhash3_32

        h = np.array([murmurhash3_32(k, seed=0, positive=True) for k in keys], dtype=np.int64)
        return h & (self.n_features - 1)

    def transform(self, rows) -> np.ndarray:
        """Rows (a DataFrame or a mapping field -> column) to an (n, F) int64 index matrix."""
        import pandas as pd

        missing = [f for f in self.fields if f not in rows]
        if missing:
            have = list(rows.columns) if hasattr(rows, "columns") else list(rows)
            raise DataError(
                f"feature field(s) {missing} are missing from the impressions; columns present: "
                f"{have}. Add them or train with fields={tuple(have)}"
            )
        cols = []
        for f in self.fields:
            codes, uniques = pd.factorize(pd.Series(rows[f]).astype(str), use_na_sentinel=False)
            hashed = self._hash([f"{f}={u}" for u in uniques])
            cols.append(hashed[codes])
        return np.stack(cols, axis=1) if cols else np.zeros((0, 0), dtype=np.int64)

    def transform_one(self, row: Mapping[str, object]) -> np.ndarray:
        """One impression (mapping field -> value; missing fields hash as empty) to (F,)."""
        return self._hash([f"{f}={row.get(f, '')}" for f in self.fields])

    def index(self, field_name: str, value: object) -> int:
        """The feature index of one ``field=value`` pair."""
        return int(self._hash([f"{field_name}={value}"])[0])


def _check_xy(X, y=None, n_features: int | None = None):
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] == 0:
        raise DataError(f"feature indices must be a non-empty (rows, fields) array, got {X.shape}")
    if not np.issubdtype(X.dtype, np.integer):
        raise DataError("feature indices must be integers (use HashedOneHot.transform)")
    if n_features is not None and (X.min() < 0 or X.max() >= n_features):
        raise DataError(
            f"feature index out of range [0, {n_features}): min {X.min()}, max {X.max()}; "
            "use the same hashing (n_bits) for training and prediction"
        )
    if y is None:
        return X, None
    y = np.asarray(y, dtype=float).ravel()
    if y.shape[0] != X.shape[0]:
        raise DataError(f"{X.shape[0]} rows of features but {y.shape[0]} labels")
    if not np.all((y == 0) | (y == 1)):
        bad = int(np.flatnonzero((y != 0) & (y != 1))[0])
        raise DataError(f"click labels must be 0 or 1; row {bad} has {y[bad]!r}")
    if y.min() == y.max():
        raise DataError(
            "the training labels are all the same (no clicks or only clicks); need both classes"
        )
    return X, y


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.clip(z, -35.0, 35.0)))


# ----------------------------------------------------------------------------- evaluation
def log_loss(y, p) -> float:
    """Mean binary cross-entropy ``-mean(y log p + (1-y) log(1-p))`` (p clipped to 1e-7)."""
    y = np.asarray(y, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


@dataclass(frozen=True)
class CTRMetrics:
    """Log-loss, AUC, expected calibration error and the reliability table on one data set."""

    n: int
    clicks: int
    log_loss: float
    base_log_loss: float  # log-loss of predicting one base rate for everyone
    auc: float
    ece: float
    reliability: tuple[dict, ...] = field(repr=False)

    @property
    def relative_gain(self) -> float:
        """1 - log_loss / base_log_loss (normalised entropy gain; > 0 beats the base rate)."""
        return 1.0 - self.log_loss / self.base_log_loss

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "clicks": self.clicks,
            "log_loss": self.log_loss,
            "base_log_loss": self.base_log_loss,
            "auc": self.auc,
            "ece": self.ece,
            "reliability": list(self.reliability),
        }


def evaluate_ctr(y, p, n_bins: int = 10, base_rate: float | None = None) -> CTRMetrics:
    """Metrics of predicted click probabilities ``p`` against clicks ``y``.

    The reliability table has ``n_bins`` equal-count bins of predictions; the expected
    calibration error is ``ECE = sum_b (n_b / N) |mean(p)_b - mean(y)_b|``. ``base_log_loss``
    is the log-loss of predicting ``base_rate`` for everyone (give the training click rate for
    an honest baseline; by default the observed rate of ``y`` itself).
    """
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y, dtype=float).ravel()
    p = np.asarray(p, dtype=float).ravel()
    if y.shape != p.shape or y.size == 0:
        raise DataError(f"labels {y.shape} and predictions {p.shape} must be non-empty and equal")
    rate = float(y.mean())
    auc = float(roc_auc_score(y, p)) if 0 < rate < 1 else float("nan")
    order = np.argsort(p, kind="stable")
    rows, ece = [], 0.0
    for b, chunk in enumerate(np.array_split(order, min(n_bins, y.size))):
        if chunk.size == 0:
            continue
        mp, obs = float(p[chunk].mean()), float(y[chunk].mean())
        ece += chunk.size / y.size * abs(mp - obs)
        rows.append(
            {
                "bin": b,
                "p_low": float(p[chunk].min()),
                "p_high": float(p[chunk].max()),
                "n": int(chunk.size),
                "mean_predicted": mp,
                "observed_rate": obs,
            }
        )
    return CTRMetrics(
        n=int(y.size),
        clicks=int(y.sum()),
        log_loss=log_loss(y, p),
        base_log_loss=log_loss(y, np.full_like(y, rate if base_rate is None else base_rate)),
        auc=auc,
        ece=float(ece),
        reliability=tuple(rows),
    )


def time_ordered_split(times, fractions=(0.6, 0.2, 0.2)) -> tuple[np.ndarray, ...]:
    """Index arrays (train, validation, test, ...) in time order: no future data in training."""
    t = np.asarray(times)
    fr = np.asarray(fractions, dtype=float)
    if np.any(fr <= 0) or not np.isclose(fr.sum(), 1.0):
        raise SpecError(f"split fractions must be positive and sum to 1, got {tuple(fractions)}")
    order = np.argsort(t, kind="stable")
    cuts = np.round(np.cumsum(fr)[:-1] * t.size).astype(int)
    return tuple(np.split(order, cuts))


# ----------------------------------------------------------------------------- models
class _CTRBase:
    kind = "base"

    def __init__(self, hasher: HashedOneHot | None = None, n_features: int | None = None):
        if n_features is None:
            if hasher is None:
                raise SpecError("give a HashedOneHot hasher or n_features")
            n_features = hasher.n_features
        self.hasher = hasher
        self.n_features = int(n_features)
        self.validation_: list[dict] = []

    def predict_rows(self, rows) -> np.ndarray:
        """P(click) for a DataFrame (or mapping of columns) of raw field values."""
        if self.hasher is None:
            raise SpecError("this model has no hasher; call predict() with feature indices")
        return self.predict(self.hasher.transform(rows))

    def predict_one(self, row: Mapping[str, object]) -> float:
        """P(click) of one impression given as a mapping field -> value (the bidder's path)."""
        if self.hasher is None:
            raise SpecError("this model has no hasher; call predict() with feature indices")
        return float(self._score_one(self.hasher.transform_one(row)))

    def _meta(self) -> dict:
        return {
            "kind": self.kind,
            "n_features": self.n_features,
            "fields": list(self.hasher.fields) if self.hasher else None,
            "n_bits": self.hasher.n_bits if self.hasher else None,
            "validation": self.validation_,
        }

    def save(self, path: str | Path) -> Path:
        """Write the model to one ``.npz`` file (arrays plus JSON metadata)."""
        path = Path(path)
        if path.suffix != ".npz":
            path = (
                path.with_suffix(path.suffix + ".npz") if path.suffix else path.with_suffix(".npz")
            )
        arrays = self._arrays()
        np.savez(path, meta=np.array(json.dumps(self._meta())), **arrays)
        return path


class LogisticCTR(_CTRBase):
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
        X, y = _check_xy(X, y, self.n_features)
        if X_val is not None:
            X_val, y_val = _check_xy(X_val, y_val, self.n_features)
            best = None
            self.validation_ = []
            for C in Cs:
                w0, w = self._fit_once(X, y, C)
                ll = log_loss(y_val, _sigmoid(w0 + w[X_val].sum(axis=1)))
                self.validation_.append({"C": float(C), "val_log_loss": ll})
                if best is None or ll < best[0]:
                    best = (ll, C, w0, w)
            _, self.C, self.w0, self.w = best
        else:
            self.w0, self.w = self._fit_once(X, y, self.C)
        return self

    def decision_function(self, X) -> np.ndarray:
        X, _ = _check_xy(X, None, self.n_features)
        return self.w0 + self.w[X].sum(axis=1)

    def predict(self, X) -> np.ndarray:
        return _sigmoid(self.decision_function(X))

    def _score_one(self, idx) -> float:
        return 1.0 / (1.0 + np.exp(-(self.w0 + self.w[idx].sum())))

    def _arrays(self):
        return {"w0": np.array(self.w0), "w": self.w}

    def _meta(self):
        return {**super()._meta(), "C": self.C}


class FactorizationMachineCTR(_CTRBase):
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
        X, y = _check_xy(X, y, self.n_features)
        if X_val is None:
            cut = int(0.9 * X.shape[0])
            X, X_val, y, y_val = X[:cut], X[cut:], y[:cut], y[cut:]
        X_val, y_val = _check_xy(X_val, y_val, self.n_features)
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
        return _sigmoid(params["w0"] + params["w"][X].sum(axis=1) + pair)

    def decision_function(self, X) -> np.ndarray:
        X, _ = _check_xy(X, None, self.n_features)
        v = self.V[X].astype(np.float64)
        s = v.sum(axis=1)
        pair = 0.5 * (np.sum(s * s, axis=-1) - np.sum(v * v, axis=(1, 2)))
        return self.w0 + self.w[X].sum(axis=1) + pair

    def predict(self, X) -> np.ndarray:
        return _sigmoid(self.decision_function(X))

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


def load_ctr_model(path: str | Path) -> LogisticCTR | FactorizationMachineCTR:
    """Read a model written by ``.save``."""
    path = Path(path)
    if not path.exists():
        raise DataError(
            f"CTR model file {str(path)!r} does not exist; train one with `rtb train-ctr`"
        )
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            arrays = {k: z[k] for k in z.files if k != "meta"}
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(f"{str(path)!r} is not a mediamix CTR model file ({exc})") from None
    hasher = HashedOneHot(tuple(meta["fields"]), meta["n_bits"]) if meta.get("fields") else None
    if meta["kind"] == "logistic":
        model = LogisticCTR(hasher, meta["n_features"], C=meta["C"])
    elif meta["kind"] == "fm":
        model = FactorizationMachineCTR(
            hasher,
            meta["n_features"],
            rank=meta["rank"],
            l2=meta["l2"],
            learning_rate=meta["learning_rate"],
            epochs=meta["epochs"],
            batch_size=meta["batch_size"],
            seed=meta["seed"],
        )
        model.V = arrays["V"]
    else:
        raise DataError(f"{str(path)!r}: unknown model kind {meta['kind']!r}")
    model.w0 = float(arrays["w0"])
    model.w = arrays["w"]
    model.validation_ = meta.get("validation", [])
    return model


def read_libfm(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a libFM / libSVM file of one-hot rows ``label idx:1 idx:1 ...`` with the same number
    of active features on every row; returns (indices (n, F) int64, labels (n,))."""
    rows, labels = [], []
    with open(path) as fh:
        for lineno, line in enumerate(fh, start=1):
            parts = line.split()
            if not parts:
                continue
            try:
                labels.append(float(parts[0]))
                rows.append([int(tok.split(":", 1)[0]) for tok in parts[1:]])
            except ValueError:
                raise DataError(f"{path}: line {lineno} is not 'label idx:val ...'") from None
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise DataError(f"{path}: rows have different numbers of active features {sorted(widths)}")
    return np.asarray(rows, dtype=np.int64), (np.asarray(labels) > 0).astype(float)


# ----------------------------------------------------------------------------- simulator
@dataclass(frozen=True)
class ImpressionLog:
    """Simulated impressions with their true click probability and the interaction truth."""

    frame: object  # pandas DataFrame: time, site, site_category, ad, ad_category, device, hour,
    #                ctr (true), click
    fields: tuple[str, ...]
    interaction: float  # logit bonus of women's media x cosmetics (and sports x golf)

    def true_pair_logit(self, site_category: str, ad_category: str) -> float:
        a = {"womens": 1.0, "sports": -1.0}.get(site_category, 0.0)
        b = {"cosmetics": 1.0, "golf": -1.0}.get(ad_category, 0.0)
        return self.interaction * a * b


def simulate_impressions(
    n: int = 100_000,
    seed: int = 0,
    days: float = 7.0,
    base_ctr: float = 0.03,
    interaction: float = 1.2,
    n_sites: int = 24,
    n_ads: int = 20,
) -> ImpressionLog:
    """Impressions with a known CTR that has real site x ad interactions.

    ``logit p = logit(base_ctr) + site_s + ad_a + device_d + hour_h + interaction * a_s * b_a``
    with ``a_s`` = +1 for women's-media sites, -1 for sports sites, 0 otherwise and ``b_a`` =
    +1 for cosmetics ads, -1 for golf ads, 0 otherwise. Ads are served at random (independent of
    the site), so main effects and interactions are both identifiable. Rows are in time order.
    """
    import pandas as pd

    if n < 10:
        raise SpecError(f"n must be >= 10 impressions, got {n}")
    rng = np.random.default_rng(seed)
    cats_s = np.array(["womens", "sports", "news", "tech"])
    site_cat = cats_s[np.arange(n_sites) % 4]
    cats_a = np.array(["cosmetics", "golf", "car", "travel"])
    ad_cat = cats_a[np.arange(n_ads) % 4]
    site_eff = rng.normal(0, 0.3, n_sites)
    ad_eff = rng.normal(0, 0.3, n_ads)
    devices = np.array(["mobile", "desktop", "tablet"])
    dev_eff = np.array([0.15, -0.1, 0.0])
    hour_eff = 0.2 * np.sin(2 * np.pi * (np.arange(24) - 8) / 24)
    t = np.sort(rng.uniform(0, 24 * days, n))
    hour = np.floor(t % 24).astype(int)
    s = rng.integers(0, n_sites, n)
    a = rng.integers(0, n_ads, n)
    d = rng.choice(3, n, p=[0.6, 0.3, 0.1])
    a_s = np.select([site_cat[s] == "womens", site_cat[s] == "sports"], [1.0, -1.0], 0.0)
    b_a = np.select([ad_cat[a] == "cosmetics", ad_cat[a] == "golf"], [1.0, -1.0], 0.0)
    logit = (
        np.log(base_ctr / (1 - base_ctr))
        + site_eff[s]
        + ad_eff[a]
        + dev_eff[d]
        + hour_eff[hour]
        + interaction * a_s * b_a
    )
    ctr = _sigmoid(logit)
    click = (rng.uniform(size=n) < ctr).astype(int)
    frame = pd.DataFrame(
        {
            "time": t,
            "site": np.char.add(np.char.add(site_cat[s], "_site_"), s.astype(str)),
            "site_category": site_cat[s],
            "ad": np.char.add(np.char.add(ad_cat[a], "_ad_"), a.astype(str)),
            "ad_category": ad_cat[a],
            "device": devices[d],
            "hour": hour,
            "ctr": ctr,
            "click": click,
        }
    )
    return ImpressionLog(
        frame=frame, fields=("site", "ad", "device", "hour"), interaction=float(interaction)
    )
