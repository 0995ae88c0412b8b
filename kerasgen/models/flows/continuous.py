"""Continuous-time flows (FFJORD): dx/dt = f(x, t) solved by an ODE solver (`tfb.FFJORD`).

The log-density changes by -tr(df/dx) along the trajectory; training estimates the
trace with Hutchinson's estimator (one Gaussian probe per example, drawn from the
step's stateless seed), evaluation computes it exactly (cheap for small D). The
dynamics are a Keras 3 MLP of (x, t) (`ODEFunction`), so Keras tracks and saves its weights.
`FFJORDStep` owns the dynamics; `ffjord_bijector` builds the bijector with the adaptive solver,
or with fixed Runge-Kutta steps and unrolled exact traces (`rk4_solve`,
`trace_jacobian_unrolled`) for export.

Reference: Grathwohl et al. 2019, "FFJORD: Free-form Continuous Dynamics for Scalable
Reversible Generative Models".
"""

from __future__ import annotations

import functools
import typing

import keras
import tensorflow as tf
import tensorflow_probability as tfp
from tensorflow_probability.python.bijectors import ffjord as tfp_ffjord

from kerasgen.models.flows.step import FlowStep

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
        layers = [*self.dense, self.out]
        first = layers[0]
        # the first layer on [x, t], written without a concat (whose gradient does not export)
        kernel = tf.convert_to_tensor(first.kernel)
        h = tf.matmul(x, kernel[:self.dim]) + tf.cast(t, x.dtype) * kernel[self.dim] + first.bias
        h = first.activation(h)
        for layer in layers[1:]:
            h = layer(h)
        return h

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "hidden": list(self.hidden)}


def _stateless_normal(shape, dtype, seed):
    return tf.random.stateless_normal(shape, seed=seed, dtype=dtype)


def ffjord_bijector(ode_function, seed=None, tolerance=1e-5, fixed_steps=None):
    """`tfb.FFJORD` on the dynamics `ode_function(t, x)`, integrated over t in [0, 1] with the
    Dormand-Prince solver; Hutchinson traces with `seed` (training) or exact traces (None).

    `fixed_steps`: integrate with that many classical Runge-Kutta steps and unrolled exact traces
    instead: a graph without loops, for export (ONNX)."""
    if fixed_steps:
        return tfb.FFJORD(state_time_derivative_fn=ode_function,
                          ode_solve_fn=functools.partial(rk4_solve, steps=int(fixed_steps)),
                          trace_augmentation_fn=trace_jacobian_unrolled)
    if seed is None:
        trace = tfp_ffjord.trace_jacobian_exact
    else:
        trace = functools.partial(tfp_ffjord.trace_jacobian_hutchinson, sample_fn=_stateless_normal, seed=seed)
    solver = tfp.math.ode.DormandPrince(atol=tolerance, rtol=tolerance)
    return tfb.FFJORD(state_time_derivative_fn=ode_function, ode_solve_fn=solver.solve,
                      trace_augmentation_fn=trace)


class _Solution(typing.NamedTuple):
    states: object


def rk4_solve(ode_fn, initial_time, initial_state, solution_times, steps=32, **kwargs):
    """The state at solution_times[-1] by `steps` classical Runge-Kutta steps (unrolled), in the
    result form `tfb.FFJORD` reads (`states` with a leading time axis)."""
    t0 = tf.cast(initial_time, tf.float32)
    h = (tf.cast(solution_times[-1], tf.float32) - t0) / steps
    add = lambda a, b, c: tf.nest.map_structure(lambda u, v: u + c * v, a, b)
    state = initial_state
    for i in range(steps):
        t = t0 + i * h
        k1 = ode_fn(t, state)
        k2 = ode_fn(t + h / 2, add(state, k1, h / 2))
        k3 = ode_fn(t + h / 2, add(state, k2, h / 2))
        k4 = ode_fn(t + h, add(state, k3, h))
        state = tf.nest.map_structure(lambda s, a, b, c, d: s + h / 6 * (a + 2 * b + 2 * c + d),
                                      state, k1, k2, k3, k4)
    return _Solution(tf.nest.map_structure(lambda s: s[None], state))


def trace_jacobian_unrolled(ode_fn, state_shape, dtype):
    """Like TFP's `trace_jacobian_exact` (the diagonal of df/dx per dimension), with one
    vector-Jacobian product per dimension instead of a while-loop: plain ops that export."""

    def augmented_ode_fn(time, state_log_det_jac, **kwargs):
        state, _ = state_log_det_jac
        dim = state.shape[-1]
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(state)
            derivative = ode_fn(time, state, **kwargs)
        columns = [tape.gradient(derivative, state, output_gradients=tf.one_hot(tf.fill(tf.shape(state)[:1], i), dim))
                   for i in range(dim)]
        del tape
        diagonal = tf.stack([columns[i][:, i] for i in range(dim)], axis=-1)
        return derivative, diagonal

    return augmented_ode_fn


EXPORT_STEPS = 32


@keras.saving.register_keras_serializable(package="kerasgen")
class FFJORDStep(FlowStep):
    """Continuous-time step: the ODE dx/dt = f(x, t) over t in [0, 1] (`tfb.FFJORD`).

    Args:
        event_dim: size D of the vectors.
        hidden: widths of the tanh MLP f.
        tolerance: absolute and relative tolerance of the adaptive ODE solver.
        export_steps: classical Runge-Kutta steps of the exported graph (no solver loops): more steps
            follow the adaptive solver more closely and make a larger graph, slower to convert and load.
    """

    def __init__(self, event_dim, hidden=(64, 64), tolerance=1e-5, export_steps=EXPORT_STEPS, **kwargs):
        super().__init__(event_dim, **kwargs)
        self._no_context()
        if int(export_steps) < 1:
            raise ValueError(f"export_steps must be >= 1, got {export_steps}")
        self.hidden, self.tolerance, self.export_steps = tuple(hidden), float(tolerance), int(export_steps)
        self.dynamics = ODEFunction(self.event_dim, self.hidden, name="dynamics")
        self.built = True

    def bijector(self, context=None, seed=None):
        return ffjord_bijector(self.dynamics, seed=seed, tolerance=self.tolerance)

    def export_bijector(self, context=None):
        """Fixed-step Runge-Kutta (`export_steps` steps) with exact traces: no solver loops, so the
        graph converts to ONNX; `kerasgen.export` records its deviation from the adaptive solver."""
        return ffjord_bijector(self.dynamics, fixed_steps=self.export_steps)

    def get_config(self):
        return {**super().get_config(), "hidden": list(self.hidden), "tolerance": self.tolerance,
                "export_steps": self.export_steps}
