"""Losses of the auxiliary heads: class prediction (ACGAN) and latent codes (InfoGAN).

All return per-example float32 values (B,).
"""

from __future__ import annotations

from keras import ops


def class_cross_entropy(labels, logits):
    """Sparse categorical cross-entropy from logits; labels int (B,), logits (B, K)."""
    logits = ops.cast(logits, "float32")
    return ops.sparse_categorical_crossentropy(ops.cast(labels, "int32"), logits, from_logits=True)


def categorical_codes_nll(codes, logits, sizes):
    """Sum over categorical codes of -log q(c | x).

    Args:
        codes: int (B, n_codes), one integer per categorical code.
        logits: (B, sum(sizes)), the logits of every code side by side.
        sizes: number of categories of each code.
    """
    logits = ops.cast(logits, "float32")
    total = 0.0
    start = 0
    for i, k in enumerate(sizes):
        total = total + class_cross_entropy(codes[:, i], logits[:, start : start + k])
        start += k
    return total


def continuous_codes_nll(codes, mean):
    """Gaussian -log q(c | x) with unit variance, up to a constant: 1/2 sum (c - mu)^2."""
    return 0.5 * ops.sum(ops.square(ops.cast(codes, "float32") - ops.cast(mean, "float32")), axis=1)
