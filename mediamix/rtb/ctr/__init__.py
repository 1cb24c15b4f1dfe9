"""Click-through-rate models on hashed one-hot features, their evaluation, and a log simulator.

Every impression is a row of categorical fields (site, ad, device, hour, ...). A field value
becomes one active feature ``murmurhash3("field=value") mod 2^bits``, so a row is a vector of
``F`` feature indices (one per field) into a weight table of size ``D = 2^bits``.

- ``features``: :class:`HashedOneHot`, the hashing, and the input checks;
- ``logistic``: :class:`LogisticCTR`, ``p = sigmoid(w0 + sum_f w[i_f])`` (scikit-learn);
- ``fm``: :class:`FactorizationMachineCTR` (Rendle 2010), pairwise interactions through
  low-rank factors, trained with JAX + optax;
- ``metrics``: log-loss, AUC, calibration (:func:`evaluate_ctr`), :func:`time_ordered_split`;
- ``persist``: :func:`load_ctr_model` (``model.save`` writes one ``.npz``);
- ``impressions``: :func:`read_libfm` and :func:`simulate_impressions` (known truth).

Prediction of both models is plain NumPy (a gather and a sum), so a single decision in the
bidder costs microseconds and needs no JAX dispatch.
"""

from mediamix.rtb.ctr.base import CTRModel
from mediamix.rtb.ctr.features import HashedOneHot
from mediamix.rtb.ctr.fm import FactorizationMachineCTR
from mediamix.rtb.ctr.impressions import ImpressionLog, read_libfm, simulate_impressions
from mediamix.rtb.ctr.logistic import LogisticCTR
from mediamix.rtb.ctr.metrics import CTRMetrics, evaluate_ctr, log_loss, time_ordered_split
from mediamix.rtb.ctr.persist import load_ctr_model

__all__ = [
    "CTRMetrics",
    "CTRModel",
    "FactorizationMachineCTR",
    "HashedOneHot",
    "ImpressionLog",
    "LogisticCTR",
    "evaluate_ctr",
    "load_ctr_model",
    "log_loss",
    "read_libfm",
    "simulate_impressions",
    "time_ordered_split",
]
