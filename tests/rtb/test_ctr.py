"""CTR models: evaluation maths, the interaction simulator (FM beats LR), persistence, real data."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from mediamix.errors import DataError, SpecError
from mediamix.rtb.ctr import (
    FactorizationMachineCTR,
    HashedOneHot,
    LogisticCTR,
    evaluate_ctr,
    load_ctr_model,
    log_loss,
    read_libfm,
    simulate_impressions,
    time_ordered_split,
)

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture(scope="module")
def fitted():
    log = simulate_impressions(100_000, seed=0)
    df = log.frame
    hasher = HashedOneHot(log.fields, n_bits=14)
    X, y = hasher.transform(df), df["click"].to_numpy()
    tr, va, te = time_ordered_split(df["time"].to_numpy())
    lr = LogisticCTR(hasher).fit(X[tr], y[tr], X[va], y[va], Cs=(1e-4, 0.01, 0.1, 1.0))
    fm = FactorizationMachineCTR(hasher, rank=4).fit(
        X[tr], y[tr], X[va], y[va], l2s=(0.1, 1.0, 10.0)
    )
    return log, hasher, X, y, (tr, va, te), lr, fm


def test_evaluation_maths():
    y = np.array([0, 0, 1, 1])
    assert log_loss(y, [0.5] * 4) == pytest.approx(np.log(2))
    m = evaluate_ctr(y, [0.1, 0.2, 0.8, 0.9], n_bins=2)
    assert m.auc == 1.0
    # bins {0.1, 0.2} -> observed 0, mean 0.15; {0.8, 0.9} -> observed 1, mean 0.85
    assert m.ece == pytest.approx(0.15)
    assert [r["n"] for r in m.reliability] == [2, 2]
    assert m.base_log_loss == pytest.approx(np.log(2))
    assert evaluate_ctr(y, [0.9, 0.8, 0.2, 0.1]).auc == 0.0
    # perfectly calibrated probabilities give a small ECE on a large sample
    rng = np.random.default_rng(0)
    p = rng.uniform(0.01, 0.2, 200_000)
    yy = (rng.uniform(size=p.size) < p).astype(float)
    assert evaluate_ctr(yy, p).ece < 0.003
    assert evaluate_ctr(yy, np.clip(p * 1.5, 0, 1)).ece > 0.03


def test_time_ordered_split():
    t = np.random.default_rng(1).uniform(size=1000)
    tr, va, te = time_ordered_split(t, (0.6, 0.2, 0.2))
    assert len(tr) == 600 and len(va) == 200 and len(te) == 200
    assert t[tr].max() <= t[va].min() and t[va].max() <= t[te].min()
    with pytest.raises(SpecError, match="sum to 1"):
        time_ordered_split(t, (0.5, 0.2))


def test_fm_beats_logistic_regression_on_interactions(fitted):
    log, hasher, X, y, (tr, va, te), lr, fm = fitted
    true_ctr = log.frame["ctr"].to_numpy()[te]
    m_lr = evaluate_ctr(y[te], lr.predict(X[te]), base_rate=y[tr].mean())
    m_fm = evaluate_ctr(y[te], fm.predict(X[te]), base_rate=y[tr].mean())
    m_true = evaluate_ctr(y[te], true_ctr)
    assert m_fm.log_loss < m_lr.log_loss - 0.002
    assert m_fm.auc > m_lr.auc + 0.03
    assert m_lr.log_loss < m_lr.base_log_loss  # LR still beats the base rate
    assert m_fm.log_loss < m_true.log_loss + 0.003  # and FM is close to the truth
    assert m_fm.ece < 0.01


def test_fm_pairwise_weights_have_the_right_sign(fitted):
    log, hasher, _, _, _, _, fm = fitted
    df = log.frame
    sites = df.drop_duplicates("site")[["site", "site_category"]].to_numpy()
    ads = df.drop_duplicates("ad")[["ad", "ad_category"]].to_numpy()
    est, truth, cells = [], [], {}
    for (s, sc), (a, ac) in itertools.product(sites, ads):
        w = fm.pairwise_weight(hasher.index("site", s), hasher.index("ad", a))
        est.append(w)
        truth.append(log.true_pair_logit(sc, ac))
        cells.setdefault((sc, ac), []).append(w)
    assert np.mean(cells[("womens", "cosmetics")]) > 0.5
    assert np.mean(cells[("womens", "golf")]) < -0.5
    assert np.mean(cells[("sports", "golf")]) > 0.5
    assert abs(np.mean(cells[("news", "car")])) < 0.3
    assert np.corrcoef(est, truth)[0, 1] > 0.8


def test_regularisation_chosen_on_validation(fitted):
    *_, lr, fm = fitted
    for model, key, chosen in ((lr, "C", lr.C), (fm, "l2", fm.l2)):
        scores = {r[key]: r["val_log_loss"] for r in model.validation_}
        assert len(scores) >= 3
        assert scores[chosen] == min(scores.values())
    # the heaviest regularisation underfits: clearly worse on validation
    scores = {r["C"]: r["val_log_loss"] for r in lr.validation_}
    assert scores[1e-4] > scores[lr.C] + 0.002


def test_save_load_roundtrip(fitted, tmp_path):
    log, hasher, X, _, (_, _, te), lr, fm = fitted
    rows = log.frame.iloc[te[:50]]
    for model in (lr, fm):
        path = model.save(tmp_path / f"{model.kind}")
        assert path.suffix == ".npz"
        again = load_ctr_model(path)
        assert type(again) is type(model) and again.hasher == hasher
        np.testing.assert_allclose(again.predict(X[te]), model.predict(X[te]), rtol=1e-6)
        one = [again.predict_one(r) for r in rows[list(log.fields)].to_dict("records")]
        np.testing.assert_allclose(one, model.predict_rows(rows), rtol=1e-6)
    with pytest.raises(DataError, match="does not exist"):
        load_ctr_model(tmp_path / "nope.npz")
    (tmp_path / "bad.npz").write_text("not a model")
    with pytest.raises(DataError, match="not a mediamix CTR model"):
        load_ctr_model(tmp_path / "bad.npz")


def test_input_errors():
    h = HashedOneHot(("site", "ad"), n_bits=10)
    import pandas as pd

    with pytest.raises(DataError, match=r"\['ad'\] are missing"):
        h.transform(pd.DataFrame({"site": ["a"]}))
    X = h.transform(pd.DataFrame({"site": ["a", "b", "c"], "ad": ["x", "y", "x"]}))
    assert X.shape == (3, 2) and X.max() < 1024
    with pytest.raises(DataError, match="0 or 1"):
        LogisticCTR(h).fit(X, [0, 2, 1])
    with pytest.raises(DataError, match="all the same"):
        LogisticCTR(h).fit(X, [0, 0, 0])
    with pytest.raises(DataError, match="out of range"):
        LogisticCTR(n_features=4).fit(X, [0, 1, 1])
    with pytest.raises(SpecError, match="n_bits"):
        HashedOneHot(("a",), n_bits=40)


@pytest.mark.slow
def test_real_ipinyou_clicks_beat_the_training_base_rate():
    d = SHARED / "ctr" / "ipinyou"
    if not (d / "train.fm.txt").exists():
        pytest.skip("shared iPinYou sample not present")
    X, y = read_libfm(d / "train.fm.txt")
    Xt, yt = read_libfm(d / "test.fm.txt")
    n_features = int(max(X.max(), Xt.max())) + 1
    cut = int(0.8 * len(y))  # rows are in time order: the last 20% validate
    lr = LogisticCTR(n_features=n_features).fit(X[:cut], y[:cut], X[cut:], y[cut:], Cs=(0.1,))
    fm = FactorizationMachineCTR(n_features=n_features, rank=4, batch_size=2048).fit(
        X[:cut], y[:cut], X[cut:], y[cut:], l2s=(10.0,)
    )
    for model in (lr, fm):
        m = evaluate_ctr(yt, model.predict(Xt), base_rate=y.mean())
        assert m.log_loss < m.base_log_loss
        assert m.auc > 0.55
