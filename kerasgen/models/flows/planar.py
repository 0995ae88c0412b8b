"""Planar and radial flows (Rezende & Mohamed 2015): x = z + u_hat tanh(w.z + b) and
x = z + beta (z - z0) / (alpha + |z - z0|), with their bijectors (`Planar`, `Radial`) and steps
(`PlanarStep`, amortised when given a context, and `RadialStep`).
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from kerasgen.models.flows.step import FlowStep

tfb = tfp.bijectors


def planar_u_hat(u, w):
    """u adjusted so that w.u_hat > -1, the invertibility condition for h = tanh (Rezende & Mohamed
    2015, appendix A): w.u_hat = m(w.u) with m(a) = -1 + softplus(a + log(e - 1)). The shift inside
    the softplus makes m(0) = 0, so u = 0 is exactly the identity (the paper's m(a) = -1 + softplus(a)
    moves u by ~0.3 / |w| even then). u, w: (..., D), one flow per leading index."""
    wu = _dot(w, u)
    m = -1.0 + tf.nn.softplus(wu + math.log(math.e - 1.0))
    return u + (m - wu) * w / (_dot(w, w) + 1e-8)


def _dot(a, b):
    return tf.reduce_sum(a * b, -1, keepdims=True)


class Planar(tfb.Bijector):
    """x = z + u_hat tanh(w.z + b) on vectors; log|det J| = log|1 + (1 - tanh^2) w.u_hat|.

    Parameters are global (u, w (D,), b (1,)) or per example (u, w (B, D), b (B, 1)), the
    latter for amortised posteriors whose encoder gives each example its own flow.
    The inverse solves the scalar equation a + (w.u_hat) tanh(a + b) = w.x for a = w.z
    (monotone because w.u_hat >= -1) by bisection, then z = x - u_hat tanh(a + b); a final
    Newton step carries the exact gradient through the solve.
    """

    def __init__(self, u, w, b, bisection_steps=32, name="planar"):
        parameters = dict(locals())
        self._u = planar_u_hat(u, w)
        self._w, self._b = w, b
        self._steps = bisection_steps
        super().__init__(forward_min_event_ndims=1, validate_args=False, parameters=parameters, name=name)

    def _forward(self, z):
        return z + self._u * tf.tanh(_dot(z, self._w) + self._b)

    def _inverse(self, x):
        target = _dot(x, self._w)
        wu = _dot(self._w, self._u)
        f = lambda a: a + wu * tf.tanh(a + self._b) - target
        span = tf.stop_gradient(tf.abs(wu) + 1.0)  # |wu tanh| <= |wu|: the root is within target -+ span
        lo, hi = tf.stop_gradient(target - span), tf.stop_gradient(target + span)
        for _ in range(self._steps):
            mid = 0.5 * (lo + hi)
            below = tf.stop_gradient(f(mid)) < 0
            lo, hi = tf.where(below, mid, lo), tf.where(below, hi, mid)
        root = tf.stop_gradient(0.5 * (lo + hi))
        # one Newton step from the root: the same value, and the implicit-function gradient
        # da/dtheta = -(df/dtheta) / (df/da) for every parameter and for x
        a = root - f(root) / (1.0 + wu * (1.0 - tf.tanh(root + self._b) ** 2))
        return x - self._u * tf.tanh(a + self._b)

    def _forward_log_det_jacobian(self, z):
        a = _dot(z, self._w) + self._b
        psi_u = (1.0 - tf.tanh(a) ** 2) * _dot(self._w, self._u)
        return tf.math.log(tf.abs(1.0 + psi_u) + 1e-12)[..., 0]


class Radial(tfb.Bijector):
    """x = z + beta (z - z0) / (alpha + r), r = |z - z0|, with alpha > 0 and beta >= -alpha (invertible).

    log|det J| = (d - 1) log(1 + beta h) + log(1 + beta h + beta h' r), h = 1 / (alpha + r).
    The inverse solves |x - z0| = r (1 + beta / (alpha + r)) for r in closed form (a quadratic).
    """

    def __init__(self, z0, alpha, beta, name="radial"):
        parameters = dict(locals())
        self._z0, self._alpha, self._beta = z0, alpha, beta
        super().__init__(forward_min_event_ndims=1, validate_args=False, parameters=parameters, name=name)

    def _r(self, z):
        return tf.norm(z - self._z0, axis=-1, keepdims=True)

    def _forward(self, z):
        return z + self._beta * (z - self._z0) / (self._alpha + self._r(z))

    def _inverse(self, x):
        rho = tf.norm(x - self._z0, axis=-1, keepdims=True)
        # r^2 + (alpha + beta - rho) r - rho alpha = 0, the non-negative root
        c = self._alpha + self._beta - rho
        r = 0.5 * (-c + tf.sqrt(c**2 + 4.0 * rho * self._alpha))
        return self._z0 + (x - self._z0) * r / tf.maximum(rho, 1e-12)

    def _forward_log_det_jacobian(self, z):
        d = tf.cast(tf.shape(z)[-1], z.dtype)
        r = self._r(z)[..., 0]
        h = 1.0 / (self._alpha + r)
        bh = self._beta * h
        return (d - 1.0) * tf.math.log1p(bh) + tf.math.log1p(bh - self._beta * h**2 * r)


@keras.saving.register_keras_serializable(package="kerasgen")
class PlanarStep(FlowStep):
    """Planar step x = z + u_hat tanh(w.z + b), u_hat constrained so that the map is invertible.

    Unconditional: u, w, b are weights. With `context_dim`, a linear layer maps the context to
    each example's own (u, w, b): the amortised planar flow of Rezende & Mohamed 2015.
    """

    def __init__(self, event_dim, context_dim=0, **kwargs):
        super().__init__(event_dim, context_dim, **kwargs)
        dim = self.event_dim
        if self.context_dim:
            self.params = keras.layers.Dense(2 * dim + 1, kernel_initializer=keras.initializers.RandomNormal(
                stddev=0.01), dtype=self.dtype_policy, name="params")
            self.params.build((None, self.context_dim))
        else:
            self.u = self.add_weight(shape=(dim,), initializer=keras.initializers.RandomNormal(stddev=0.01),
                                     name="u")
            self.w = self.add_weight(shape=(dim,), name="w",
                                     initializer=keras.initializers.RandomNormal(stddev=1.0 / np.sqrt(dim)))
            self.b = self.add_weight(shape=(1,), initializer="zeros", name="b")
        self.built = True

    def bijector(self, context=None, seed=None):
        if self.context_dim:
            if context is None:
                raise ValueError("this planar step is amortised: it needs a context")
            u, w, b = tf.split(self.params(context), [self.event_dim, self.event_dim, 1], axis=-1)
            return Planar(u, w + 1.0 / np.sqrt(self.event_dim), b)
        return Planar(tf.convert_to_tensor(self.u), tf.convert_to_tensor(self.w), tf.convert_to_tensor(self.b))


@keras.saving.register_keras_serializable(package="kerasgen")
class RadialStep(FlowStep):
    """Radial step x = z + beta (z - z0) / (alpha + |z - z0|), alpha = softplus(.) > 0 and
    beta = -alpha + softplus(.) >= -alpha (invertible)."""

    def __init__(self, event_dim, **kwargs):
        super().__init__(event_dim, **kwargs)
        self._no_context()
        self.z0 = self.add_weight(shape=(self.event_dim,), initializer=keras.initializers.RandomNormal(stddev=1.0),
                                  name="z0")
        self.alpha_raw = self.add_weight(shape=(), initializer="zeros", name="alpha_raw")
        self.beta_raw = self.add_weight(shape=(), initializer="zeros", name="beta_raw")
        self.built = True

    def bijector(self, context=None, seed=None):
        alpha = tf.nn.softplus(tf.convert_to_tensor(self.alpha_raw))
        beta = -alpha + tf.nn.softplus(tf.convert_to_tensor(self.beta_raw))
        return Radial(tf.convert_to_tensor(self.z0), alpha, beta)
