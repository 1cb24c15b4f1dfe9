"""Impression logs: reading libFM files, and a simulator with a known CTR and interactions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mediamix.errors import DataError, SpecError
from mediamix.rtb.ctr.base import sigmoid


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
    ctr = sigmoid(logit)
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
