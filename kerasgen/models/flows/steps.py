"""Flow steps: Keras 3 layers that own a bijector's weights and build the TFP bijector on demand.

A `Flow` is a list of steps; `step.bijector(context)` returns a `tfp.bijectors.Bijector`
mapping noise-side z to data-side x whose parameters are this layer's variables (so
Keras tracks, saves and optimises them). Steps compute in float32 whatever the global
precision policy: log-determinants are sums of many terms.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from kerasgen.models.flows.bijectors import (
    LOG_SCALE_BOUND,
    TRANSFORMS,
    LeakyReLU,
    LUMatvec,
    MaskedCoupling,
    Planar,
    Radial,
    spline_param_count,
)
from kerasgen.models.flows.ffjord import ODEFunction, ffjord_bijector
from kerasgen.models.flows.residual import LipschitzMLP, ResidualInverse
from kerasgen.networks.coupling import CouplingMLP
from kerasgen.networks.made import MADE

tfb = tfp.bijectors


class FlowStep(keras.layers.Layer):
    """Base class: one invertible step on vectors of size `event_dim` (image steps: `image_steps.py`).

    Args:
        event_dim: size D of the vectors.
        context_dim: size of the context vector conditioners take (0: unconditional).
    """

    def __init__(self, event_dim, context_dim=0, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.event_dim, self.context_dim = int(event_dim), int(context_dim)

    @property
    def event_shape(self):
        """Shape of one example on the step's data side."""
        return (self.event_dim,)

    @property
    def latent_shape(self):
        """Shape of one example on the step's noise side (the next step's `event_shape`)."""
        return self.event_shape

    def bijector(self, context=None, seed=None):  # pragma: no cover - abstract
        """The step's `tfb.Bijector` (z -> x); `context` (B, context_dim) for conditional steps;
        `seed` (a stateless seed, given in training) for steps with stochastic estimators."""
        raise NotImplementedError

    def export_bijector(self, context=None):
        """The bijector an exported graph uses: the evaluation bijector, unless a step needs a
        loop-free form for export (FFJORD)."""
        return self.bijector(context)

    def call(self, z, context=None):
        """Applies the step forward (z -> x)."""
        return self.bijector(context).forward(z)

    def _no_context(self):
        if self.context_dim:
            raise ValueError(f"{type(self).__name__} does not take a context")

    def get_config(self):
        return {**super().get_config(), "event_dim": self.event_dim, "context_dim": self.context_dim}


def alternating_mask(event_dim, parity):
    """1 on the dimensions i with i % 2 == parity (the part passed through)."""
    return (np.arange(event_dim) % 2 == parity).astype("float32")


@keras.saving.register_keras_serializable(package="kerasgen")
class CouplingStep(FlowStep):
    """Coupling step with an alternating mask: "additive" (NICE), "affine" (RealNVP) or
    "spline" (rational-quadratic, neural spline flows), conditioned by an MLP.

    Args:
        event_dim, context_dim: as in `FlowStep`.
        parity: which half (even or odd dimensions) passes through.
        transform: "additive", "affine" or "spline".
        hidden: widths of the conditioner MLP.
        num_bins, bound: spline bins on [-bound, bound] (identity outside).
    """

    def __init__(self, event_dim, parity=0, transform="affine", hidden=(64, 64), num_bins=8, bound=4.0,
                 context_dim=0, **kwargs):
        super().__init__(event_dim, context_dim, **kwargs)
        if transform not in (*TRANSFORMS, "spline"):
            raise ValueError(f"unknown coupling transform {transform!r}; use additive, affine or spline")
        if self.event_dim < 2:
            raise ValueError("coupling steps need at least 2 dimensions")
        self.parity, self.transform, self.hidden = int(parity), transform, tuple(hidden)
        self.num_bins, self.bound = int(num_bins), float(bound)
        params = spline_param_count(self.num_bins) if transform == "spline" else TRANSFORMS[transform]
        self.net = CouplingMLP(self.event_dim, params, self.hidden, dtype=self.dtype_policy, name="conditioner")
        self.net.build((None, self.event_dim), (None, self.context_dim) if self.context_dim else None)
        self.mask = alternating_mask(self.event_dim, self.parity)
        self.built = True

    def bijector(self, context=None, seed=None):
        return MaskedCoupling(self.mask, lambda masked: self.net(masked, context), self.transform,
                              self.num_bins, self.bound, event_ndims=1)

    def get_config(self):
        return {**super().get_config(), "parity": self.parity, "transform": self.transform,
                "hidden": list(self.hidden), "num_bins": self.num_bins, "bound": self.bound}


@keras.saving.register_keras_serializable(package="kerasgen")
class AutoregressiveStep(FlowStep):
    """Masked autoregressive affine step on a MADE: `tfb.MaskedAutoregressiveFlow` (MAF: one pass
    for the density, D passes to sample) or its inverse (IAF: one pass to sample, D for the density).

    Args:
        event_dim, context_dim: as in `FlowStep`.
        hidden: MADE widths.
        reverse: reverse the autoregressive order (alternate it between steps).
        inverse: build the IAF direction.
    """

    def __init__(self, event_dim, hidden=(64, 64), reverse=False, inverse=False, context_dim=0, **kwargs):
        super().__init__(event_dim, context_dim, **kwargs)
        self.hidden, self.reverse, self.inverse = tuple(hidden), bool(reverse), bool(inverse)
        self.made = MADE(self.event_dim, self.hidden, num_params=2, reverse=self.reverse,
                         context_dim=self.context_dim, dtype=self.dtype_policy, name="made")
        self.built = True

    def bijector(self, context=None, seed=None):
        def shift_and_log_scale(x):
            params = self.made(x, context)
            return params[..., 0], LOG_SCALE_BOUND * tf.tanh(params[..., 1] / LOG_SCALE_BOUND)

        maf = tfb.MaskedAutoregressiveFlow(shift_and_log_scale_fn=shift_and_log_scale)
        return tfb.Invert(maf) if self.inverse else maf

    def get_config(self):
        return {**super().get_config(), "hidden": list(self.hidden), "reverse": self.reverse,
                "inverse": self.inverse}


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


@keras.saving.register_keras_serializable(package="kerasgen")
class ScaleStep(FlowStep):
    """Elementwise learned scale and shift x = exp(s) z + t (the final scaling of NICE)."""

    def __init__(self, event_dim, **kwargs):
        super().__init__(event_dim, **kwargs)
        self._no_context()
        self.log_scale = self.add_weight(shape=(self.event_dim,), initializer="zeros", name="log_scale")
        self.shift = self.add_weight(shape=(self.event_dim,), initializer="zeros", name="shift")
        self.built = True

    def bijector(self, context=None, seed=None):
        return tfb.Chain([tfb.Shift(tf.convert_to_tensor(self.shift)),
                          tfb.Scale(log_scale=tf.convert_to_tensor(self.log_scale))])


def lu_bijector(lower_upper, permutation):
    """x = P L U z on the last axis (`LUMatvec`) from a packed LU variable and a fixed permutation."""
    return LUMatvec(tf.convert_to_tensor(lower_upper), tf.constant(permutation))


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


EXPORT_STEPS = 32


@keras.saving.register_keras_serializable(package="kerasgen")
class FFJORDStep(FlowStep):
    """Continuous-time step: the ODE dx/dt = f(x, t) over t in [0, 1] (`tfb.FFJORD`).

    Args:
        event_dim: size D of the vectors.
        hidden: widths of the tanh MLP f.
        tolerance: absolute and relative tolerance of the adaptive ODE solver.
    """

    def __init__(self, event_dim, hidden=(64, 64), tolerance=1e-5, **kwargs):
        super().__init__(event_dim, **kwargs)
        self._no_context()
        self.hidden, self.tolerance = tuple(hidden), float(tolerance)
        self.dynamics = ODEFunction(self.event_dim, self.hidden, name="dynamics")
        self.built = True

    def bijector(self, context=None, seed=None):
        return ffjord_bijector(self.dynamics, seed=seed, tolerance=self.tolerance)

    def export_bijector(self, context=None):
        """Fixed-step Runge-Kutta (`EXPORT_STEPS` steps) with exact traces: no solver loops, so the
        graph converts to ONNX; `kerasgen.export` records its deviation from the adaptive solver."""
        return ffjord_bijector(self.dynamics, fixed_steps=EXPORT_STEPS)

    def get_config(self):
        return {**super().get_config(), "hidden": list(self.hidden), "tolerance": self.tolerance}
