"""`Flow`: maximum likelihood of a `tfd.TransformedDistribution(base, bijector)`.

The bijector is a chain of `FlowStep` layers (z -> x, listed from the noise side to the
data side); flows differ only in the steps they stack. One `train_step` minimises the
negative log-likelihood over the global batch. With `num_classes`, a learned label
embedding is the context of every conditioner (a conditional flow).

Densities are reported in data space: for standardised vectors the standardisation's
log-Jacobian is added, so `log_prob` is the density of the data on its own scale.

Images (`num_levels` set): pixels in [-1, 1] are L quantisation levels k. Training adds
uniform dequantisation noise, y = (k + u) / L in [0, 1), and the flow models y; its density
bounds the discrete likelihood, log P(k) >= E_u[log p(y)] - D log L (Theis et al. 2016), which is
what `log_prob`, the `nll` metric and bits per dimension report. The noise of an image flow is
one vector of D = H*W*C values; `FactorOutStep` makes the flow multi-scale.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
from keras import ops

from kerasgen import noise as noise_lib
from kerasgen.losses.divergences import gaussian_log_density
from kerasgen.models.base import GenerativeModel
from kerasgen.models.flows.autoregressive import AutoregressiveStep
from kerasgen.models.optimizers import adam
from kerasgen.models.flows.multiscale import FactorOut, FactorOutStep
from kerasgen.models.flows.step import FlowStep
from kerasgen.registry import register_algorithm

tfb, tfd = tfp.bijectors, tfp.distributions


def deserialize_steps(steps):
    """`FlowStep` layers from instances or their serialised configs."""
    return [keras.saving.deserialize_keras_object(s) if isinstance(s, dict) else s for s in steps]


@register_algorithm
class Flow(GenerativeModel):
    """Normalising flow over vectors or images.

    Args:
        steps: `FlowStep` layers (or their configs), from the noise side to the data side;
            the last one's `event_shape` is `data_shape`.
        data_shape: (D,) or (H, W, C).
        num_levels: quantisation levels L of the data (256 for 8-bit images): the flow models
            uniformly dequantised values in [0, 1] and reports the discrete likelihood (data
            must lie in [-1, 1]). None: a density of continuous data.
        num_classes: when set, labels condition every step through a learned embedding
            of size `context_dim` (the steps must be built with that context_dim).
        context_dim: size of the label embedding.
        standardize: learn feature-wise standardisation (continuous vectors only).
        optimizer_config: serialised default optimiser (Adam 1e-3).
        preset, seed: as in every kerasgen model.

    Metrics: nll (nats per example, data space) and bits_per_dim.
    """

    likelihood_kind = "exact"

    def __init__(self, steps, data_shape, num_levels=None, num_classes=None, context_dim=8, standardize=False,
                 optimizer_config=None, preset=None, seed=None, **kwargs):
        super().__init__(data_shape=data_shape, standardize=standardize, preset=preset, seed=seed, **kwargs)
        self.flow_steps = deserialize_steps(steps)
        if not self.flow_steps:
            raise ValueError("a Flow needs at least one step")
        shape = self.data_shape
        for step in reversed(self.flow_steps):
            if tuple(step.event_shape) != shape:
                raise ValueError(f"step {step.name} works on shape {tuple(step.event_shape)}, "
                                 f"but its data side gets {shape}")
            shape = tuple(step.latent_shape)
        self.noise_dim = math.prod(self.data_shape)
        self._initialized_before_fit = False  # set by `fit` once the data-dependent initialisation has run
        self.num_levels = None if num_levels is None else int(num_levels)
        if self.num_levels is not None:
            if self.num_levels < 2:
                raise ValueError(f"num_levels must be >= 2, got {num_levels}")
            if standardize:
                raise ValueError("dequantised data (num_levels) are not standardised: pass standardize=False")
        self.num_classes = None if num_classes is None else int(num_classes)
        self.context_dim = int(context_dim)
        self.label_embedding = None
        if self.num_classes:
            self.label_embedding = keras.layers.Embedding(self.num_classes, self.context_dim, dtype="float32",
                                                          name="label_embedding")
            self.label_embedding.build((None,))
        self.optimizer_config = optimizer_config or adam(1e-3, 0.9, 0.999)
        self.trackers = {n: keras.metrics.Mean(name=n) for n in ("nll", "bits_per_dim")}
        self._forward_fn = None
        self.built = True

    # ---- the distribution ----------------------------------------------------------
    def _context(self, labels):
        return None if labels is None else self.label_embedding(tf.convert_to_tensor(labels, tf.int32))

    def bijector(self, labels=None, seed=None, export=False):
        """The `tfb.Bijector` noise (B, D) -> model-space x (B, *data_shape) for int labels (B,) or None;
        `seed` (training) lets steps with stochastic log-determinant estimators draw their noise;
        `export` builds each step's export form (`FlowStep.export_bijector`)."""
        context = self._context(labels)
        steps = self.flow_steps[::-1]  # data side first
        seeds = [None] * len(steps) if seed is None else \
            tf.unstack(tf.random.experimental.stateless_split(seed, num=len(steps)))
        return self._chain(steps, context, seeds, self.data_shape, export)

    def _chain(self, steps, context, seeds, shape, export=False):
        """Bijectors of `steps` (data side first) on `shape`, flattened at the noise end; a factor-out
        wraps the steps after it."""
        parts = []
        for i, step in enumerate(steps):
            if isinstance(step, FactorOutStep):
                inner = self._chain(steps[i + 1:], context, seeds[i + 1:], step.latent_shape, export)
                return tfb.Chain(parts + [FactorOut(inner, step.event_shape, step.keep)])
            parts.append(step.export_bijector(context) if export else step.bijector(context, seed=seeds[i]))
            shape = tuple(step.latent_shape)
        if len(shape) > 1:
            parts.append(tfb.Reshape(event_shape_out=shape, event_shape_in=(math.prod(shape),)))
        return tfb.Chain(parts)

    def distribution(self, labels=None, seed=None, export=False):
        """`tfd.TransformedDistribution` of standard-normal noise (D,) through the flow (model space)."""
        base = tfd.Independent(tfd.Normal(tf.zeros([self.noise_dim]), 1.0), reinterpreted_batch_ndims=1)
        return tfd.TransformedDistribution(base, self.bijector(labels, seed, export))

    # ---- dequantisation (images) -------------------------------------------------------------
    def _dequantize(self, x, noise_seed=None):
        """Data in [-1, 1] -> y = (k + u) / L in [0, 1) with u ~ U[0, 1) from `noise_seed` (u = 1/2 when None)."""
        levels = float(self.num_levels)
        k = tf.round((tf.cast(x, tf.float32) + 1.0) * 0.5 * (levels - 1.0))
        u = 0.5 if noise_seed is None else tf.random.stateless_uniform(tf.shape(k), noise_seed)
        return (k + u) / levels

    def _quantize(self, y):
        """Model-space y in [0, 1] -> the nearest level's value in [-1, 1]."""
        levels = float(self.num_levels)
        k = tf.clip_by_value(tf.floor(y * levels), 0.0, levels - 1.0)
        return k / (levels - 1.0) * 2.0 - 1.0

    def _check_range(self, x):
        if self.num_levels is None:
            return x
        if tf.executing_eagerly():
            x_np = ops.convert_to_numpy(x)
            if x_np.size and np.abs(x_np).max() > 1.0 + 1e-4:
                raise ValueError(f"this flow models quantised data in [-1, 1]; got values in "
                                 f"[{x_np.min():g}, {x_np.max():g}]")
            return x
        check = tf.debugging.assert_less_equal(tf.reduce_max(tf.abs(x)), 1.0 + 1e-4,
                                               message="this flow models quantised data in [-1, 1]")
        with tf.control_dependencies([check]):
            return tf.identity(x)

    def _density(self, y, labels, seed=None, export=False):
        """log p(y) (B,) of model-space y (B, *data_shape) by the change of variables: the standard
        normal log-density of z = inverse(y) plus the inverse's log-determinant. The density of
        `distribution()`, without the TransformedDistribution's extra bookkeeping (on the 4-step 2-D
        NSF's training step: 4.5-4.9 s against 5.2-6.1 s to the first batch, 5.4-6.3 against
        6.6-7.6 ms per step, the same numbers)."""
        bijector = self.bijector(labels, seed, export)
        z = bijector.inverse(y)
        log_det = bijector.inverse_log_det_jacobian(y, event_ndims=len(self.data_shape))
        return gaussian_log_density(z, 0.0, 0.0) + log_det

    def _log_prob(self, x_model, labels, seed=None, noise_seed=None, export=False):
        if self.num_levels is None:
            return self._density(x_model, labels, seed, export) + self.log_det_to_model_space()
        y = self._dequantize(self._check_range(x_model), noise_seed)
        return self._density(y, labels, seed, export) - self.noise_dim * math.log(self.num_levels)

    # ---- data-dependent initialisation (ActNorm) -----------------------------------------------
    def _data_init_steps(self):
        return [s for s in self.flow_steps if getattr(s, "data_init", False)]

    def _data_init(self, x_model, labels, noise_seed=None):
        """Runs each data-initialised step's `initialize` on its input, from the data side."""
        h = self._dequantize(x_model, noise_seed) if self.num_levels else x_model
        context = self._context(labels)
        for step in reversed(self.flow_steps):
            if isinstance(step, FactorOutStep):
                h = h[..., :step.keep]
                continue
            if getattr(step, "data_init", False):
                step.initialize(h)
            h = step.bijector(context).inverse(h)
        return tf.constant(0.0)

    def _initialized(self):
        steps = self._data_init_steps()
        return tf.reduce_min(tf.stack([tf.convert_to_tensor(s.initialized) for s in steps])) > 0.0 if steps else True

    def _maybe_data_init(self, x_model, labels, noise_seed):
        """In the compiled step, initialise on the first batch unless already done. Under a
        `tf.distribute` strategy, replicas cannot assign inside a conditional: `fit` initialises
        before training starts instead."""
        if not self._data_init_steps() or tf.distribute.has_strategy() or self._initialized_before_fit:
            return
        tf.cond(self._initialized(), lambda: tf.constant(0.0), lambda: self._data_init(x_model, labels, noise_seed))

    def fit(self, x=None, *args, **kwargs):
        """`keras.Model.fit`; first runs the data-dependent initialisation on up to 256 examples
        of the first batch when it has not run yet."""
        if x is not None and self._data_init_steps() and not bool(self._initialized()):
            y = args[0] if args else kwargs.get("y")
            if hasattr(x, "as_numpy_iterator"):
                batch = next(x.as_numpy_iterator())
                xb, yb = (batch[0], batch[1] if len(batch) > 1 else None) if isinstance(batch, tuple) else (batch, None)
            else:
                xb, yb = np.asarray(x)[:256], None if y is None else np.asarray(y)[:256]
            self.initialize(xb[:256], None if yb is None or not self.num_classes else yb[:256])
        # Initialised now: the compiled step can leave out its first-batch conditional (it cost a
        # fifth of Glow's step time on a CPU).
        self._initialized_before_fit = bool(self._initialized())
        return super().fit(x, *args, **kwargs)

    def initialize(self, x, labels=None):
        """Data-dependent initialisation (ActNorm) from a data-space batch x (B, *data_shape),
        whether or not it ran before; training does it by itself on its first batch."""
        x = self._checked_x(x)
        labels = self.sample_labels(len(x), labels, required=True)
        self._data_init(self.to_model_space(x), labels, noise_seed=tf.constant([0, 0]) if self.num_levels else None)

    # ---- training --------------------------------------------------------------------
    def _report_nll(self, nll):
        return self.report({"nll": nll, "bits_per_dim": nll / (self.noise_dim * math.log(2.0))})

    def train_step(self, data):
        x_model, labels = self.unpack_batch(data)
        seed, noise_seed = self.step_seeds(2) if self.num_levels else (*self.step_seeds(1), None)
        self._maybe_data_init(x_model, labels, noise_seed)
        variables = self.trainable_variables
        with tf.GradientTape() as tape:
            nll = -self._log_prob(x_model, labels, seed, noise_seed)
            scaled = self.optimizer.scale_loss(self.global_mean(nll))
        self.optimizer.apply(tape.gradient(scaled, variables), variables)
        return self._report_nll(nll)

    def test_step(self, data):
        x_model, labels = self.unpack_batch(data)
        noise_seed = tf.constant([0, 0]) if self.num_levels else None
        return self._report_nll(-self._log_prob(x_model, labels, noise_seed=noise_seed))

    def _to_data(self, x_model):
        return self._quantize(x_model) if self.num_levels else self.to_data_space(x_model)

    def call(self, inputs, training=False):
        """Data-space x from noise: z (B, D) [, labels (B,)] -> (B, *data_shape)."""
        z, labels = inputs if self.num_classes else (inputs, None)
        return self._to_data(self.bijector(labels).forward(tf.cast(z, tf.float32)))

    # ---- inference ---------------------------------------------------------------------
    def _checked_x(self, x):
        return self._check_range(self.check_data(np.asarray(x, np.float32)))

    def log_prob(self, x, labels=None, seed=0):
        """log p(x) in nats for data-space x (B, *data_shape), numpy float64 (B,). For quantised data
        (`num_levels`), the dequantisation bound with uniform noise drawn from `seed`."""
        x = self._checked_x(x)
        labels = self.sample_labels(len(x), labels, required=True)
        noise_seed = tf.constant([int(seed), 0]) if self.num_levels else None
        return ops.convert_to_numpy(self._log_prob(self.to_model_space(x), labels, noise_seed=noise_seed)
                                    ).astype(np.float64)

    def forward(self, z, labels=None):
        """Noise z (B, D) -> data-space x (B, *data_shape), numpy (quantised levels for image flows)."""
        z = np.asarray(z, np.float32)
        if z.ndim != 2 or z.shape[1] != self.noise_dim:
            raise ValueError(f"z must have shape (B, {self.noise_dim}), got {z.shape}")
        labels = self.sample_labels(len(z), labels, required=True)
        if not self._sequential_sampling:
            return ops.convert_to_numpy(self._to_data(self.bijector(labels).forward(z)))
        if self._forward_fn is None:  # traced once: eager MAF sampling is D Python-level MADE passes (8x slower)
            self._forward_fn = tf.function(lambda z, labels: self._to_data(self.bijector(labels).forward(z)),
                                           reduce_retracing=True, autograph=False)
        return ops.convert_to_numpy(self._forward_fn(tf.constant(z), None if labels is None else tf.constant(labels)))

    @property
    def _sequential_sampling(self) -> bool:
        """Whether sampling runs one pass per dimension (MAF's autoregressive steps)."""
        return any(isinstance(step, AutoregressiveStep) and not step.inverse for step in self.flow_steps)

    def inverse(self, x, labels=None):
        """Data-space x (B, *data_shape) -> noise z (B, D), numpy; quantised data are taken at the
        centre of their level's cell."""
        x = self._checked_x(x)
        labels = self.sample_labels(len(x), labels, required=True)
        x_model = self.to_model_space(x)
        if self.num_levels:
            x_model = self._dequantize(x_model)
        return ops.convert_to_numpy(self.bijector(labels).inverse(x_model))

    def sample(self, n, seed=None, labels=None, batch_size=1024):
        """n samples in data space, numpy (n, *data_shape); labels cycle over the classes when None."""
        n = int(n)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        labels = self.sample_labels(n, labels)
        z = noise_lib.draw(self.export_noise(), n, seed)  # the ONNX export's `sample` draws the same
        out = [self.forward(z[i:i + batch_size], None if labels is None else labels[i:i + batch_size])
               for i in range(0, n, batch_size)]
        return np.concatenate(out) if out else np.zeros((0, *self.data_shape), np.float32)

    # ---- export hooks -----------------------------------------------------------------
    def export_noise(self) -> dict:
        return {"name": "z", "shape": [self.noise_dim], "dtype": "float32", "kind": "normal"}

    def export_functions(self) -> dict:
        """`log_prob(x [, labels])` in nats; quantised data are taken at the centre of their cell."""
        specs = {"x": tf.TensorSpec([None, *self.data_shape], tf.float32, name="x")}
        if self.num_classes:
            specs["labels"] = tf.TensorSpec([None], tf.int32, name="labels")

        def log_prob(x, labels=None):
            return {"log_prob": self._log_prob(self.to_model_space(x), labels, export=True)}

        return {"log_prob": (log_prob, specs, None)}

    def export_generate(self, noise, labels=None):
        return self._to_data(self.bijector(labels, export=True).forward(tf.cast(noise, tf.float32)))

    def export_notes(self) -> dict:
        """For flows whose export form differs (FFJORD's fixed-step solver): the largest deviation
        of the exported functions from the model's own on 64 prior samples."""
        if all(type(s).export_bijector is FlowStep.export_bijector for s in self.flow_steps):
            return {}
        z = tf.random.stateless_normal([64, self.noise_dim], [3, 4])
        labels = tf.range(64) % self.num_classes if self.num_classes else None
        exact = self._to_data(self.bijector(labels).forward(z))
        fixed = self.export_generate(z, labels)
        x_model = self.to_model_space(exact)
        gap_lp = tf.abs(self._log_prob(x_model, labels) - self._log_prob(x_model, labels, export=True))
        return {"export_deviation_from_model": {"samples": float(tf.reduce_max(tf.abs(exact - fixed))),
                                                "log_prob": float(tf.reduce_max(gap_lp))}}

    def get_config(self):
        return {
            **super().get_config(),
            "steps": [keras.saving.serialize_keras_object(s) for s in self.flow_steps],
            "num_levels": self.num_levels,
            "num_classes": self.num_classes,
            "context_dim": self.context_dim,
            "optimizer_config": self.optimizer_config,
        }
