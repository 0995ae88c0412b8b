"""Elementwise and linear flow steps: a learned scale and shift (`ScaleStep` on vectors, Glow's
per-channel `ActNormStep` on images), a learned spline per dimension (`ElementwiseSplineStep`), invertible linear maps with an LU-decomposed matrix
(`LULinearStep` on vectors, Glow's `InvertibleConv1x1Step` on the channels of every pixel, both
on the `LUMatvec` bijector) and the elementwise leaky ReLU (`LeakyReLUStep`, `LeakyReLU`).
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from kerasgen.models.flows.coupling import (check_parameterisation, identity_spline_params, rational_quadratic_spline,
                                           spline_param_count)
from kerasgen.models.flows.step import FlowStep, ImageStep

tfb = tfp.bijectors


def _unit_triangular_inverse(nilpotent):
    """(I + N)^-1 for a strictly triangular (C, C) N: the finite series sum_k (-N)^k (N^C = 0),
    as prod_j (I + (-N)^(2^j)) over ceil(log2 C) factors: matrix products only."""
    size = nilpotent.shape[-1]
    eye = tf.eye(size, dtype=nilpotent.dtype)
    result, power = eye, -nilpotent
    for _ in range(max(0, math.ceil(math.log2(size)))):
        result = tf.matmul(result, eye + power)
        power = tf.matmul(power, power)
    return result


def matvec_last_axis(matrix, x):
    """matrix @ v for every vector v on the last axis of x (..., C), as one 2-D product (N, C) @ (C, C)^T.

    `tf.linalg.matvec` broadcasts the (C, C) matrix over x's leading axes into a batched product of N
    (C, C) @ (C, 1) products, which oneDNN runs one by one: in a profile of Glow's 28x28 training step
    (batch 64, 163 ms on a 2-core CPU) they took 56 ms of op time; as one product, 2 ms."""
    size = matrix.shape[-1]
    flat = tf.reshape(x, [-1, size])
    return tf.reshape(tf.matmul(flat, matrix, transpose_b=True), tf.shape(x))


class LUMatvec(tfb.Bijector):
    """x = W z on the last axis with W = P L U from a packed LU matrix and a permutation (the
    convention of `tfb.ScaleMatvecLU`); log|det W| = sum log|diag U|.

    The inverse multiplies by W^-1 = U^-1 L^-1 P^T, with the triangular inverses as finite
    matrix series instead of triangular solves: the same values, and graphs that ONNX can run.
    """

    def __init__(self, lower_upper, permutation, name="lu_matvec"):
        parameters = dict(locals())
        self._lower_upper = tf.convert_to_tensor(lower_upper)
        self._permutation = tf.convert_to_tensor(permutation)
        super().__init__(forward_min_event_ndims=1, is_constant_jacobian=True, validate_args=False,
                         parameters=parameters, name=name)

    def _factors(self):
        lu = self._lower_upper
        strict_lower = tf.linalg.band_part(lu, -1, 0) - tf.linalg.band_part(lu, 0, 0)
        diag = tf.linalg.diag_part(lu)
        strict_upper = tf.linalg.band_part(lu, 0, -1) - tf.linalg.diag(diag)
        rows = tf.gather(tf.eye(lu.shape[-1], dtype=lu.dtype), tf.math.invert_permutation(self._permutation))
        return strict_lower, diag, strict_upper, rows

    def _matrix(self):
        strict_lower, diag, strict_upper, rows = self._factors()
        eye = tf.eye(diag.shape[-1], dtype=diag.dtype)
        return tf.matmul(rows, tf.matmul(eye + strict_lower, tf.linalg.diag(diag) + strict_upper))

    def _inverse_matrix(self):
        strict_lower, diag, strict_upper, rows = self._factors()
        upper_inv = _unit_triangular_inverse(strict_upper / diag[:, None]) / diag[None, :]
        return tf.matmul(upper_inv, tf.matmul(_unit_triangular_inverse(strict_lower), rows, transpose_b=True))

    def _forward(self, z):
        return matvec_last_axis(self._matrix(), z)

    def _inverse(self, x):
        return matvec_last_axis(self._inverse_matrix(), x)

    def _forward_log_det_jacobian(self, z):
        return tf.reduce_sum(tf.math.log(tf.abs(tf.linalg.diag_part(self._lower_upper))))


def lu_bijector(lower_upper, permutation):
    """x = P L U z on the last axis (`LUMatvec`) from a packed LU variable and a fixed permutation."""
    return LUMatvec(tf.convert_to_tensor(lower_upper), tf.constant(permutation))


class LeakyReLU(tfb.Bijector):
    """Elementwise x = z for z >= 0 and alpha z otherwise (alpha > 0); log|det J| = sum over the
    negative coordinates of log alpha."""

    def __init__(self, log_alpha, name="leaky_relu"):
        parameters = dict(locals())
        self._log_alpha = log_alpha
        super().__init__(forward_min_event_ndims=1, validate_args=False, parameters=parameters, name=name)

    def _forward(self, z):
        return tf.where(z >= 0, z, tf.exp(self._log_alpha) * z)

    def _inverse(self, x):
        return tf.where(x >= 0, x, tf.exp(-self._log_alpha) * x)

    def _forward_log_det_jacobian(self, z):
        return tf.reduce_sum(tf.where(z >= 0, tf.zeros_like(z), self._log_alpha + tf.zeros_like(z)), -1)


@keras.saving.register_keras_serializable(package="kerasgen")
class ScaleStep(FlowStep):
    """Elementwise learned scale and shift x = exp(s) z + t (the final scaling of NICE).

    Args:
        event_dim: size D of the vectors.
        initial_scale: exp(s) at the start (> 0; 1: the identity).
    """

    def __init__(self, event_dim, initial_scale=1.0, **kwargs):
        super().__init__(event_dim, **kwargs)
        self._no_context()
        self.initial_scale = float(initial_scale)
        if not self.initial_scale > 0:
            raise ValueError(f"initial_scale must be > 0, got {initial_scale}")
        self.log_scale = self.add_weight(shape=(self.event_dim,), name="log_scale",
                                         initializer=keras.initializers.Constant(np.log(self.initial_scale)))
        self.shift = self.add_weight(shape=(self.event_dim,), initializer="zeros", name="shift")
        self.built = True

    def get_config(self):
        return {**super().get_config(), "initial_scale": self.initial_scale}

    def bijector(self, context=None, seed=None):
        return tfb.Chain([tfb.Shift(tf.convert_to_tensor(self.shift)),
                          tfb.Scale(log_scale=tf.convert_to_tensor(self.log_scale))])


@keras.saving.register_keras_serializable(package="kerasgen")
class ElementwiseSplineStep(FlowStep):
    """A learned monotone rational-quadratic spline per dimension, x_i = s_i(z_i), on
    [-bound, bound] (identity outside); starts as the identity (equal bins, unit slopes).

    Between coupling steps it transforms every dimension, including the half the coupling
    passed through: a coupling flow on 2-D data otherwise changes each dimension in only every
    other step. Unconditional: it takes no context.

    Args:
        event_dim: size D of the vectors.
        num_bins, bound: K spline bins on [-bound, bound].
        parameterisation: "softplus" or "bounded" (`coupling.SPLINE_PARAMETERISATIONS`).
    """

    def __init__(self, event_dim, num_bins=8, bound=4.0, parameterisation="softplus", **kwargs):
        super().__init__(event_dim, **kwargs)
        self._no_context()
        self.num_bins, self.bound = int(num_bins), float(bound)
        self.parameterisation = check_parameterisation(parameterisation)
        if self.num_bins < 2 or self.bound <= 0:
            raise ValueError(f"an elementwise spline needs num_bins >= 2 and bound > 0; got {num_bins}, {bound}")
        self.params = self.add_weight(shape=(self.event_dim, spline_param_count(self.num_bins)), name="params",
                                      initializer="zeros")
        self.params.assign(identity_spline_params(self.event_dim, self.num_bins, self.parameterisation))
        self.built = True

    def bijector(self, context=None, seed=None):
        return rational_quadratic_spline(tf.convert_to_tensor(self.params), self.num_bins, self.bound,
                                         self.parameterisation)

    def get_config(self):
        return {**super().get_config(), "num_bins": self.num_bins, "bound": self.bound,
                "parameterisation": self.parameterisation}


@keras.saving.register_keras_serializable(package="kerasgen")
class LULinearStep(FlowStep):
    """Invertible linear step x = P L U z + b with a fixed random permutation P, L unit lower
    triangular and U upper triangular (`tfb.ScaleMatvecLU`, Kingma & Dhariwal 2018); starts as
    the identity map up to P. log|det| = sum log|diag U|.

    Args:
        event_dim: size D of the vectors.
        permutation_seed: seed of the fixed permutation (saved in the config).
    """

    def __init__(self, event_dim, permutation_seed=0, **kwargs):
        super().__init__(event_dim, **kwargs)
        self._no_context()
        self.permutation_seed = int(permutation_seed)
        self.permutation = np.random.default_rng(self.permutation_seed).permutation(self.event_dim).astype("int32")
        self.lower_upper = self.add_weight(shape=(self.event_dim, self.event_dim), name="lower_upper",
                                           initializer=keras.initializers.Identity())
        self.shift = self.add_weight(shape=(self.event_dim,), initializer="zeros", name="shift")
        self.built = True

    def bijector(self, context=None, seed=None):
        return tfb.Chain([tfb.Shift(tf.convert_to_tensor(self.shift)), lu_bijector(self.lower_upper, self.permutation)])

    def get_config(self):
        return {**super().get_config(), "permutation_seed": self.permutation_seed}


@keras.saving.register_keras_serializable(package="kerasgen")
class LeakyReLUStep(FlowStep):
    """Elementwise leaky ReLU with a learned negative slope alpha = exp(log_alpha) > 0 (starts at 0.5)."""

    def __init__(self, event_dim, **kwargs):
        super().__init__(event_dim, **kwargs)
        self._no_context()
        self.log_alpha = self.add_weight(shape=(), initializer=keras.initializers.Constant(np.log(0.5)),
                                         name="log_alpha")
        self.built = True

    def bijector(self, context=None, seed=None):
        return LeakyReLU(tf.convert_to_tensor(self.log_alpha))


@keras.saving.register_keras_serializable(package="kerasgen")
class ActNormStep(ImageStep):
    """Per-channel affine step x = z * exp(log_scale) + bias (Glow's ActNorm).

    With `data_init`, the first training batch sets bias and log_scale to the mean and log standard
    deviation of the step's input, so its output starts with zero mean and unit variance per
    channel; `initialized` records it and is saved with the weights (a reloaded model is not
    initialised again). `Flow.initialize(x)` runs the initialisation explicitly.
    """

    def __init__(self, event_shape, data_init=True, **kwargs):
        super().__init__(event_shape, **kwargs)
        self._no_context()
        self.data_init = bool(data_init)
        c = self.event_shape[2]
        self.log_scale = self.add_weight(shape=(c,), initializer="zeros", name="log_scale",
                                         aggregation="only_first_replica")
        self.bias = self.add_weight(shape=(c,), initializer="zeros", name="bias", aggregation="only_first_replica")
        self.initialized = self.add_weight(shape=(), initializer="zeros", trainable=False, name="initialized",
                                           aggregation="only_first_replica")
        self.built = True

    def bijector(self, context=None, seed=None):
        return tfb.Chain([tfb.Shift(tf.convert_to_tensor(self.bias)),
                          tfb.Scale(log_scale=tf.convert_to_tensor(self.log_scale))])

    def initialize(self, x):
        """Sets bias and log_scale from a batch x (B, H, W, C) of this step's data-side input."""
        mean, variance = tf.nn.moments(tf.cast(x, tf.float32), axes=[0, 1, 2])
        self.bias.assign(mean)
        self.log_scale.assign(0.5 * tf.math.log(variance + 1e-6))
        self.initialized.assign(1.0)

    def get_config(self):
        return {**super().get_config(), "data_init": self.data_init}


def random_rotation_lu(channels, seed):
    """LU factors (packed lower_upper, permutation) of a random orthogonal (C, C) matrix, Glow's
    initialisation of the invertible 1x1 convolution (log|det| starts at 0)."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((channels, channels)))
    with tf.init_scope():
        lower_upper, permutation = tf.linalg.lu(tf.constant(q, tf.float32))
        return lower_upper.numpy(), permutation.numpy().astype("int32")


@keras.saving.register_keras_serializable(package="kerasgen")
class InvertibleConv1x1Step(ImageStep):
    """Invertible 1x1 convolution with an LU-decomposed kernel W = P L U (Glow, Kingma & Dhariwal 2018):
    every pixel's channel vector is multiplied by W (`tfb.ScaleMatvecLU`); log|det| = H W sum log|diag U|.

    Args:
        event_shape: (H, W, C).
        seed: seed of the random rotation W starts from (its permutation P stays fixed).
    """

    def __init__(self, event_shape, seed=0, **kwargs):
        super().__init__(event_shape, **kwargs)
        self._no_context()
        self.seed = int(seed)
        lower_upper, self.permutation = random_rotation_lu(self.event_shape[2], self.seed)
        self.lower_upper = self.add_weight(shape=lower_upper.shape, name="lower_upper",
                                           initializer=keras.initializers.Constant(lower_upper))
        self.built = True

    def bijector(self, context=None, seed=None):
        return lu_bijector(self.lower_upper, self.permutation)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}
