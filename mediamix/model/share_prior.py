"""The default media prior of the additive form as one NumPyro distribution.

The channels' effects ``e = (e_1, ..., e_C)`` (each channel's average contribution per period
of the likelihood window, on the scaled KPI) get a joint prior stated in two parts:

- the **total media share** ``S = sum_c e_c / kpi_mean`` (``kpi_mean``: the scaled KPI's
  mean over the window, so ``S`` is the media contributions' share of the KPI there) follows
  the ``media_share`` prior, whatever the number of channels;
- the **split** ``e / sum_c e_c`` follows a Dirichlet whose concentrations are proportional
  to the channels' spend shares, so a channel's expected share of the media effect is about
  its share of the spend.

The density on the positive orthant is ``p(e) = p_S(S) / kpi_mean * Dir(e / sum e) *
(sum e)^-(C-1)`` (the last factor is the Jacobian of ``(S, split) -> e``). Sampling the
effects themselves keeps the site the data inform directly (``effect``), in the same
unconstrained coordinates (log effects) as independent positive priors would use.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpyro.distributions as dist
from jax.scipy.special import gammaln
from numpyro.distributions import constraints


class ShareSplit(dist.Distribution):
    """Joint prior on positive effects (C,): total share ~ ``total``, split ~ Dirichlet."""

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.independent(constraints.positive, 1)
    reparametrized_params = []

    def __init__(self, total, concentration, kpi_mean=1.0, *, validate_args=None):
        self.total = total
        self.concentration = jnp.asarray(concentration, dtype=jnp.float32)
        self.kpi_mean = jnp.asarray(kpi_mean, dtype=jnp.float32)
        super().__init__(
            batch_shape=(),
            event_shape=jnp.shape(self.concentration)[-1:],
            validate_args=validate_args,
        )

    @property
    def mean(self):
        """``kpi_mean * E[S] * concentration / sum(concentration)`` (C,): the total share and the
        split are independent."""
        alpha = self.concentration
        return (self.kpi_mean * self.total.mean)[..., None] * alpha / alpha.sum(-1, keepdims=True)

    def sample(self, key, sample_shape=()):
        k_total, k_split = jax.random.split(key)
        share = self.total.sample(k_total, sample_shape)
        split = dist.Dirichlet(self.concentration).sample(k_split, sample_shape)
        return (share * self.kpi_mean)[..., None] * split

    def log_prob(self, value):
        alpha = self.concentration
        n = value.shape[-1]
        tot = value.sum(-1)
        split = value / tot[..., None]
        log_split = gammaln(alpha.sum(-1)) - gammaln(alpha).sum(-1)
        log_split = log_split + ((alpha - 1.0) * jnp.log(split)).sum(-1)
        log_total = self.total.log_prob(tot / self.kpi_mean) - jnp.log(self.kpi_mean)
        return log_total + log_split - (n - 1) * jnp.log(tot)
