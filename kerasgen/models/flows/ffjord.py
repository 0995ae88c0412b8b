"""FFJORD: a continuous-time flow dx/dt = f(x, t) solved by an ODE solver (`tfb.FFJORD`).

The log-density changes by -tr(df/dx) along the trajectory; training estimates the
trace with Hutchinson's estimator (one Gaussian probe per example, drawn from the
step's stateless seed), evaluation computes it exactly (cheap for small D). The
dynamics are a Keras 3 MLP of (x, t), so Keras tracks and saves its weights.

Reference: Grathwohl et al. 2019, "FFJORD: Free-form Continuous Dynamics for Scalable
Reversible Generative Models".
"""

from __future__ import annotations

import functools

import keras
import tensorflow as tf
import tensorflow_probability as tfp
from tensorflow_probability.python.bijectors import ffjord as tfp_ffjord

tfb = tfp.bijectors


@keras.saving.register_keras_serializable(package="kerasgen")
class ODEFunction(keras.layers.Layer):
    """dx/dt = f(x, t): a tanh MLP on [x, t], (B, D) and a scalar time -> (B, D)."""

    def __init__(self, dim, hidden=(64, 64), **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.dim, self.hidden = int(dim), tuple(int(h) for h in hidden)
        self.dense = [keras.layers.Dense(w, activation="tanh", dtype=self.dtype_policy, name=f"dense_{i}") for i, w in enumerate(self.hidden)]
        self.out = keras.layers.Dense(self.dim, dtype=self.dtype_policy, name="out")
        width = self.dim + 1
        for layer in self.dense:
            layer.build((None, width))
            width = layer.units
        self.out.build((None, width))
        self.built = True

    def call(self, t, x):
        h = tf.concat([x, tf.ones_like(x[..., :1]) * tf.cast(t, x.dtype)], axis=-1)
        for layer in self.dense:
            h = layer(h)
        return self.out(h)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "hidden": list(self.hidden)}


def _stateless_normal(shape, dtype, seed):
    return tf.random.stateless_normal(shape, seed=seed, dtype=dtype)


def ffjord_bijector(ode_function, seed=None, tolerance=1e-5):
    """`tfb.FFJORD` on the dynamics `ode_function(t, x)`, integrated over t in [0, 1] with the
    Dormand-Prince solver; Hutchinson traces with `seed` (training) or exact traces (None)."""
    if seed is None:
        trace = tfp_ffjord.trace_jacobian_exact
    else:
        trace = functools.partial(tfp_ffjord.trace_jacobian_hutchinson, sample_fn=_stateless_normal, seed=seed)
    solver = tfp.math.ode.DormandPrince(atol=tolerance, rtol=tolerance)
    return tfb.FFJORD(state_time_derivative_fn=ode_function, ode_solve_fn=solver.solve,
                      trace_augmentation_fn=trace)
