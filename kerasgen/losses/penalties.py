"""Discriminator regularisers: gradient penalty (WGAN-GP), R1, weight clipping, and their registry.

The penalties return per-example values (B,) in float32; multiply by their
weight and reduce over the global batch like the adversarial losses.
`get(name)` returns a `Penalty` record, which is all a train step needs to apply one.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import keras
import tensorflow as tf
from keras import ops

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
    """Clips every variable to [-clip_value, clip_value] in place (WGAN).

    Inside a train step under a tf.distribute strategy the assignment goes through the replica
    context's `merge_call`, so each mirrored variable is clipped once on every device.
    """
    variables = [v.value if isinstance(v, keras.Variable) else v for v in variables]  # -> tf.Variable

    def update(strategy, targets):
        for v in targets:
            strategy.extended.update(v, lambda var: var.assign(tf.clip_by_value(var, -clip_value, clip_value)))

    context = tf.distribute.get_replica_context()
    if context is None:  # cross-replica context: the strategy updates every copy itself
        update(tf.distribute.get_strategy(), variables)
    else:
        context.merge_call(update, args=(variables,))


def gradient_penalty_term(critic_fn, real, fake, seed, scale=1.0):
    """WGAN-GP's penalty with the interpolation weights alpha ~ U[0, 1], shape (B, 1, ..., 1),
    drawn from the stateless `seed` (2,). Returns float32 (B,)."""
    real = ops.cast(real, "float32")
    alpha_shape = tf.concat([tf.shape(real)[:1], tf.ones(len(real.shape) - 1, tf.int32)], 0)
    alpha = tf.random.stateless_uniform(alpha_shape, seed=seed)
    return gradient_penalty(critic_fn, real, fake, alpha, scale)


def r1_penalty_term(critic_fn, real, fake, seed, scale=1.0):
    """R1 in the common penalty signature (`fake` and `seed` unused). Returns float32 (B,)."""
    del fake, seed
    return r1_penalty(critic_fn, real, scale)


@dataclasses.dataclass(frozen=True)
class Penalty:
    """How a discriminator regulariser enters a train step.

    Attributes:
        name: its registered name.
        term: `term(critic_fn, real, fake, seed, scale) -> (B,)` added to the discriminator's
            per-example loss times `factor * weight`, or None.
        factor: constant multiplying the user's weight (R1's gamma / 2).
        constraint: `constraint(variables, value)` applied after each discriminator update, or None.
    """

    name: str
    term: Callable | None = None
    factor: float = 1.0
    constraint: Callable | None = None

    @property
    def reported(self) -> bool:
        """Whether the step reports the term (a "penalty" metric)."""
        return self.term is not None


PENALTIES = {
    "gradient": Penalty("gradient", term=gradient_penalty_term),
    "r1": Penalty("r1", term=r1_penalty_term, factor=0.5),
    "clip": Penalty("clip", constraint=clip_weights),
}
NO_PENALTY = Penalty("none")


def get(name) -> Penalty:
    """The `Penalty` registered as `name` (None: no penalty).

    Raises:
        ValueError: an unknown name, listing the known ones.
    """
    if name is None:
        return NO_PENALTY
    try:
        return PENALTIES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown penalty {name!r}; use None or one of {', '.join(PENALTIES)}") from None
