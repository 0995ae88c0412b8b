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
