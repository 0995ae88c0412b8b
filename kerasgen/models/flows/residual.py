"""Residual flows: x -> x + g(x) with Lip(g) < 1 is invertible (Behrmann et al. 2019, i-ResNet).

In the density direction (data x to noise z) a step is z = x + g(x), with
log p(x) = log p(z) + log det(I + J_g(x)). The log-determinant is the power series
sum_k (-1)^(k+1) tr(J^k) / k, estimated in training with the Hutchinson estimator
(v^T J^k v, v ~ N(0, I), by repeated vector-Jacobian products) and Russian-roulette
truncation, which makes the series estimate unbiased (Chen et al. 2019, Residual Flows);
for evaluation it is computed exactly from the Jacobian (cheap for the vector sizes
this step is meant for). Sampling inverts the step by the fixed-point iteration
x <- z - g(x), a contraction because Lip(g) < 1.

`ResidualStep` owns g (`LipschitzMLP`, spectrally normalised) and builds `ResidualInverse`,
whose log-determinant is `roulette_log_det` in training and `exact_log_det` otherwise.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from kerasgen.models.flows.step import FlowStep

tfb = tfp.bijectors


@keras.saving.register_keras_serializable(package="kerasgen")
class LipschitzMLP(keras.layers.Layer):
    """g: (B, D) -> (B, D), an ELU MLP whose every Dense kernel is rescaled to spectral norm <= coeff,
    so Lip(g) <= coeff ** (layers) < 1. The norm comes from power iteration on a stored vector that
    is refined during training (`training=True`).

    Args:
        dim: D.
        hidden: hidden widths.
        coeff: the per-layer Lipschitz bound (< 1).
        power_iterations: power-iteration steps per call.
    """

    def __init__(self, dim, hidden=(64, 64), coeff=0.9, power_iterations=1, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if not 0 < coeff < 1:
            raise ValueError(f"coeff must lie in (0, 1) for an invertible residual step, got {coeff}")
        self.dim, self.hidden, self.coeff = int(dim), tuple(int(h) for h in hidden), float(coeff)
        self.power_iterations = int(power_iterations)
        sizes = [self.dim, *self.hidden, self.dim]
        self.kernels, self.biases, self.vectors = [], [], []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            self.kernels.append(self.add_weight(shape=(n_in, n_out), initializer="glorot_uniform", name=f"kernel_{i}"))
            self.biases.append(self.add_weight(shape=(n_out,), initializer="zeros", name=f"bias_{i}"))
            self.vectors.append(self.add_weight(shape=(n_out,), trainable=False, name=f"power_vector_{i}",
                                                initializer=keras.initializers.RandomNormal(seed=i),
                                                aggregation="only_first_replica"))
        self.built = True

    def _normalised(self, i, training):
        kernel = tf.convert_to_tensor(self.kernels[i])
        u = tf.stop_gradient(tf.convert_to_tensor(self.vectors[i]))
        for _ in range(self.power_iterations):
            v = tf.math.l2_normalize(tf.linalg.matvec(kernel, u))
            u = tf.math.l2_normalize(tf.linalg.matvec(kernel, v, transpose_a=True))
        v, u = tf.stop_gradient(v), tf.stop_gradient(u)
        if training:
            self.vectors[i].assign(u)
        sigma = tf.reduce_sum(v * tf.linalg.matvec(kernel, u))
        return kernel / tf.maximum(1.0, sigma / self.coeff)

    def call(self, x, training=False):
        h = tf.cast(x, tf.float32)
        last = len(self.kernels) - 1
        for i in range(len(self.kernels)):
            h = tf.matmul(h, self._normalised(i, training)) + self.biases[i]
            if i < last:
                h = tf.nn.elu(h)
        return h

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "hidden": list(self.hidden), "coeff": self.coeff,
                "power_iterations": self.power_iterations}


def roulette_log_det(g, x, seed, exact_terms=2, max_terms=12, stop_probability=0.5):
    """Unbiased estimate of log det(I + J_g(x)) per example (B,): Hutchinson traces of J^k with
    Russian-roulette truncation of the power series (N = exact_terms + Geometric(stop_probability),
    each term reweighted by 1 / P(N >= k)); terms beyond `max_terms` are dropped (a bias below
    (1 - stop_probability) ** (max_terms - exact_terms))."""
    seed_v, seed_n = tf.unstack(tf.random.experimental.stateless_split(seed, num=2))
    v = tf.random.stateless_normal(tf.shape(x), seed=seed_v)
    u = tf.random.stateless_uniform((), seed=seed_n, minval=1e-7, maxval=1.0)
    extra = tf.floor(tf.math.log(u) / np.log(1.0 - stop_probability))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        gx = g(x)
    w, total = v, tf.zeros(tf.shape(x)[:1])
    for k in range(1, max_terms + 1):
        w = tape.gradient(gx, x, output_gradients=w)  # w <- v^T J^k
        survive = (1.0 - stop_probability) ** max(k - exact_terms, 0)
        included = tf.cast(k <= exact_terms + extra, tf.float32)
        total += included * (-1.0) ** (k + 1) / k * tf.reduce_sum(w * v, -1) / survive
    del tape
    return total


UNROLLED_JACOBIAN_MAX_DIM = 32  # up to here, one backward pass per row (plain ops, ONNX-convertible)
DETERMINANT_MAX_DIM = 8  # up to here, log|det| from the determinant (ONNX has Det, not slogdet)


def exact_log_det(g, x):
    """log |det(I + J_g(x))| per example (B,) from the full Jacobian.

    For small D the Jacobian is D backward passes and the log-determinant the log of `det`, so the
    graph holds plain ops that export to ONNX; larger D use TF's vectorised Jacobian and slogdet.
    (With Lip(g) < 1 the determinant is at least (1 - Lip)^D > 0.)
    """
    dim = x.shape[-1]
    unrolled = dim is not None and dim <= UNROLLED_JACOBIAN_MAX_DIM
    with tf.GradientTape(persistent=unrolled) as tape:
        tape.watch(x)
        gx = g(x)
    if unrolled:  # row i: the vector-Jacobian product with the i-th unit vector
        rows = [tape.gradient(gx, x, output_gradients=tf.one_hot(tf.fill(tf.shape(x)[:1], i), dim))
                for i in range(dim)]
        jacobian = tf.stack(rows, axis=1)
    else:
        jacobian = tape.batch_jacobian(gx, x)
    del tape
    matrix = tf.eye(tf.shape(x)[-1]) + jacobian
    if dim is not None and dim <= DETERMINANT_MAX_DIM:
        return tf.math.log(tf.abs(tf.linalg.det(matrix)))
    return tf.linalg.slogdet(matrix)[1]


class ResidualInverse(tfb.Bijector):
    """The bijector z -> x whose inverse is the residual map x -> x + g(x).

    Args:
        g: callable (B, D) -> (B, D) with Lip(g) < 1.
        seed: a stateless seed to use the Russian-roulette estimator of the log-determinant
            (training); None for the exact log-determinant.
        fixed_point_iterations: iterations of x <- z - g(x) when sampling.
    """

    def __init__(self, g, seed=None, fixed_point_iterations=40, name="residual"):
        parameters = dict(locals())
        self._g, self._seed, self._iterations = g, seed, fixed_point_iterations
        super().__init__(forward_min_event_ndims=1, validate_args=False, parameters=parameters, name=name)

    def _inverse(self, x):
        return x + self._g(x)

    def _forward(self, z):
        x = z
        for _ in range(self._iterations):
            x = z - self._g(x)
        return x

    def _inverse_log_det_jacobian(self, x):
        if self._seed is None:
            return exact_log_det(self._g, x)
        return roulette_log_det(self._g, x, self._seed)


@keras.saving.register_keras_serializable(package="kerasgen")
class ResidualStep(FlowStep):
    """Invertible residual step (i-ResNet / Residual Flows): x + g(x) = z with Lip(g) < 1.

    Args:
        event_dim: size D of the vectors.
        hidden: widths of the spectrally normalised ELU MLP g.
        coeff: per-layer Lipschitz bound of g.
        estimator: how training estimates log det(I + J_g): "roulette" (unbiased Hutchinson power
            series with Russian-roulette truncation) or "exact" (the full Jacobian). Evaluation
            is always exact.
    """

    def __init__(self, event_dim, hidden=(64, 64), coeff=0.9, estimator="roulette", **kwargs):
        super().__init__(event_dim, **kwargs)
        self._no_context()
        if estimator not in ("roulette", "exact"):
            raise ValueError(f"unknown log-det estimator {estimator!r}; use 'roulette' or 'exact'")
        self.hidden, self.coeff, self.estimator = tuple(hidden), float(coeff), estimator
        self.net = LipschitzMLP(self.event_dim, self.hidden, self.coeff, name="g")
        self.built = True

    def bijector(self, context=None, seed=None):
        training = seed is not None
        stochastic = training and self.estimator == "roulette"
        return ResidualInverse(lambda x: self.net(x, training=training), seed=seed if stochastic else None)

    def get_config(self):
        return {**super().get_config(), "hidden": list(self.hidden), "coeff": self.coeff,
                "estimator": self.estimator}
