"""ELBO parts: the KL of a diagonal Gaussian posterior and decoder negative log-likelihoods.

All functions return per-example float32 values (B,), summed over every
non-batch axis, in nats.
"""

from __future__ import annotations

import math

from keras import ops


def _sum_per_example(v):
    v = ops.cast(v, "float32")
    return ops.sum(ops.reshape(v, (ops.shape(v)[0], -1)), axis=1)


def gaussian_kl(mean, log_var):
    """KL(N(mean, exp(log_var)) || N(0, I)) = 1/2 sum(mean^2 + exp(log_var) - log_var - 1)."""
    mean = ops.cast(mean, "float32")
    log_var = ops.cast(log_var, "float32")
    return 0.5 * _sum_per_example(ops.square(mean) + ops.exp(log_var) - log_var - 1.0)


def bernoulli_nll(targets01, logits):
    """-log Bernoulli(targets | sigmoid(logits)) for targets in [0, 1]."""
    logits = ops.cast(logits, "float32")
    t = ops.cast(targets01, "float32")
    # softplus(l) - t * l is the numerically stable form of the binary cross-entropy
    return _sum_per_example(ops.softplus(logits) - t * logits)


def gaussian_nll(x, mean, log_std):
    """-log N(x | mean, exp(log_std)^2); `log_std` broadcasts (a scalar for a fixed variance)."""
    x = ops.cast(x, "float32")
    mean = ops.cast(mean, "float32")
    log_std = ops.cast(log_std, "float32") + ops.zeros_like(mean)
    z = (x - mean) * ops.exp(-log_std)
    return _sum_per_example(0.5 * ops.square(z) + log_std + 0.5 * math.log(2 * math.pi))


def gaussian_log_density(z, mean, log_var):
    """log N(z | mean, diag(exp(log_var))) summed per example; mean/log_var broadcast (0 for N(0, I))."""
    z = ops.cast(z, "float32")
    mean = ops.cast(mean, "float32") + ops.zeros_like(z)
    log_var = ops.cast(log_var, "float32") + ops.zeros_like(z)
    sq = ops.square(z - mean) * ops.exp(-log_var)
    return -0.5 * _sum_per_example(sq + log_var + math.log(2 * math.pi))


def discretized_logistic_nll(x, mean, log_scale, num_bins=256):
    """-log P(x) for x on a grid of `num_bins` values in [-1, 1], under a logistic(mean, exp(log_scale))
    discretised to those bins; the two end bins take the tails (Salimans et al. 2017).

    Args:
        x: data in [-1, 1], e.g. 8-bit images scaled by x / 127.5 - 1.
        mean, log_scale: the logistic's location and log-scale (broadcast to x).
        num_bins: number of levels (256 for 8-bit data).
    """
    x = ops.cast(x, "float32")
    mean = ops.cast(mean, "float32")
    log_scale = ops.maximum(ops.cast(log_scale, "float32") + ops.zeros_like(mean), -7.0)
    half_bin = 1.0 / (num_bins - 1)
    inv_scale = ops.exp(-log_scale)
    centred = x - mean
    upper = inv_scale * (centred + half_bin)
    lower = inv_scale * (centred - half_bin)
    log_cdf_upper = -ops.softplus(-upper)  # log sigmoid(upper): the lowest bin takes the left tail
    log_survival_lower = -ops.softplus(lower)  # log(1 - sigmoid(lower)): the top bin takes the right tail
    mass = ops.sigmoid(upper) - ops.sigmoid(lower)
    # when the bin's mass underflows, the density at its centre times its width is the accurate value
    mid = inv_scale * centred
    log_density_mid = mid - log_scale - 2.0 * ops.softplus(mid) + math.log(2 * half_bin)
    log_mass = ops.where(mass > 1e-5, ops.log(ops.maximum(mass, 1e-12)), log_density_mid)
    edge = 1.0 - half_bin
    log_p = ops.where(x < -edge, log_cdf_upper, ops.where(x > edge, log_survival_lower, log_mass))
    return -_sum_per_example(log_p)
