"""Discriminator regularisers: gradient penalty (WGAN-GP), R1, weight clipping.

The penalties return per-example values (B,) in float32; multiply by their
weight and reduce over the global batch like the adversarial losses.
"""

from __future__ import annotations

import tensorflow as tf
from keras import ops

PENALTIES = ("gradient", "r1", "clip")
_EPS = 1e-12


def _input_gradient(critic_fn, x, scale=1.0):
    """d sum(critic_fn(x)) / dx in float32, shape of x.

    `scale` multiplies the critic output before differentiation and divides the
    gradient after (a loss scale that keeps float16 gradients from underflowing).
    """
    x = tf.cast(x, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = tf.cast(critic_fn(x), tf.float32)
        total = tf.reduce_sum(out) * scale
    grad = tf.cast(tape.gradient(total, x), tf.float32)
    return grad / scale


def _per_example_sq_norm(grad):
    return ops.sum(ops.reshape(ops.square(grad), (ops.shape(grad)[0], -1)), axis=1)


def interpolate(real, fake, alpha):
    """x_hat = alpha * real + (1 - alpha) * fake, alpha of shape (B, 1, ..., 1)."""
    real = ops.cast(real, "float32")
    fake = ops.cast(fake, "float32")
    return alpha * real + (1.0 - alpha) * fake


def gradient_penalty(critic_fn, real, fake, alpha, scale=1.0):
    """WGAN-GP penalty (||grad_x_hat D(x_hat)||_2 - 1)^2 per example.

    Args:
        critic_fn: maps x (B, ...) float32 to logits (B, 1).
        real, fake: (B, ...) batches.
        alpha: uniform [0, 1] weights of shape (B, 1, ..., 1), one per example.
        scale: loss scale for float16 critics (see `_input_gradient`).

    Returns:
        float32 (B,). The norm is sqrt(sum g^2 + 1e-12): a bare sqrt has a NaN
        gradient at 0.

    References:
        Gulrajani et al. 2017, "Improved Training of Wasserstein GANs".
    """
    x_hat = interpolate(real, fake, alpha)
    grad = _input_gradient(critic_fn, x_hat, scale)
    norm = ops.sqrt(_per_example_sq_norm(grad) + _EPS)
    return ops.square(norm - 1.0)


def r1_penalty(critic_fn, real, scale=1.0):
    """R1 penalty ||grad_x D(x)||^2 on real data, per example (B,) float32.

    The usual weight is gamma / 2. References: Mescheder et al. 2018.
    """
    grad = _input_gradient(critic_fn, real, scale)
    return _per_example_sq_norm(grad)


def clip_weights(variables, clip_value):
    """Clips every variable to [-clip_value, clip_value] in place (WGAN)."""
    for v in variables:
        v.assign(ops.clip(v, -clip_value, clip_value))
