"""`Flow`: maximum likelihood of a `tfd.TransformedDistribution(base, bijector)`.

The bijector is a chain of `FlowStep` layers (z -> x, listed from the noise side to the
data side); flows differ only in the steps they stack. One `train_step` minimises the
negative log-likelihood over the global batch. With `num_classes`, a learned label
embedding is the context of every conditioner (a conditional flow).

Densities are reported in data space: for standardised vectors the standardisation's
log-Jacobian is added, so `log_prob` is the density of the data on its own scale.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
from keras import ops

from kerasgen.models.base import SingleOptimizerModel, adam
from kerasgen.registry import register_algorithm

tfb, tfd = tfp.bijectors, tfp.distributions


def deserialize_steps(steps):
    """`FlowStep` layers from instances or their serialised configs."""
    return [keras.saving.deserialize_keras_object(s) if isinstance(s, dict) else s for s in steps]


@register_algorithm
class Flow(SingleOptimizerModel):
    """Normalising flow over vectors.

    Args:
        steps: `FlowStep` layers (or their configs), from the noise side to the data side.
        data_shape: (D,).
        num_classes: when set, labels condition every step through a learned embedding
            of size `context_dim` (the steps must be built with that context_dim).
        context_dim: size of the label embedding.
        standardize: learn feature-wise standardisation (the flow models standardised data).
        optimizer_config: serialised default optimiser (Adam 1e-3).
        preset, seed: as in every kerasgen model.

    Metrics: nll (nats per example, data space) and bits_per_dim.
    """

    def __init__(self, steps, data_shape, num_classes=None, context_dim=8, standardize=False,
                 optimizer_config=None, preset=None, seed=None, **kwargs):
        super().__init__(data_shape=data_shape, standardize=standardize, preset=preset, seed=seed, **kwargs)
        if len(self.data_shape) != 1:
            raise ValueError(f"Flow models vectors (D,); got data_shape {self.data_shape} "
                             "(image flows with dequantisation are not part of the library yet)")
        self.flow_steps = deserialize_steps(steps)
        if not self.flow_steps:
            raise ValueError("a Flow needs at least one step")
        for step in self.flow_steps:
            if step.event_dim != self.data_shape[0]:
                raise ValueError(f"step {step.name} works on {step.event_dim} dimensions, data has {self.data_shape[0]}")
        self.num_classes = None if num_classes is None else int(num_classes)
        self.context_dim = int(context_dim)
        self.label_embedding = None
        if self.num_classes:
            self.label_embedding = keras.layers.Embedding(self.num_classes, self.context_dim, dtype="float32",
                                                          name="label_embedding")
            self.label_embedding.build((None,))
        self.optimizer_config = optimizer_config or adam(1e-3, 0.9, 0.999)
        self.trackers = {n: keras.metrics.Mean(name=n) for n in ("nll", "bits_per_dim")}
        self.built = True

    # ---- the distribution ----------------------------------------------------------
    def _context(self, labels):
        return None if labels is None else self.label_embedding(tf.convert_to_tensor(labels, tf.int32))

    def bijector(self, labels=None, seed=None):
        """The chained `tfb.Bijector` z -> x (model space) for int labels (B,) or None; `seed` (training)
        lets steps with stochastic log-determinant estimators draw their noise."""
        context = self._context(labels)
        seeds = [None] * len(self.flow_steps) if seed is None else \
            tf.unstack(tf.random.experimental.stateless_split(seed, num=len(self.flow_steps)))
        return tfb.Chain([step.bijector(context, seed=s) for step, s in zip(reversed(self.flow_steps), seeds)])

    def distribution(self, labels=None, seed=None):
        """`tfd.TransformedDistribution` of standard-normal noise through the flow (model space)."""
        base = tfd.Independent(tfd.Normal(tf.zeros(self.data_shape), 1.0), reinterpreted_batch_ndims=1)
        return tfd.TransformedDistribution(base, self.bijector(labels, seed))

    def _log_prob(self, x_model, labels, seed=None):
        return self.distribution(labels, seed).log_prob(x_model) + self.log_det_to_model_space()

    # ---- training --------------------------------------------------------------------
    def _report_nll(self, nll):
        return self.report({"nll": nll, "bits_per_dim": nll / (self.data_shape[0] * math.log(2.0))})

    def train_step(self, data):
        x_model, labels = self.unpack_batch(data)
        (seed,) = self.step_seeds(1)
        variables = self.trainable_variables
        with tf.GradientTape() as tape:
            nll = -self._log_prob(x_model, labels, seed)
            scaled = self.optimizer.scale_loss(self.global_mean(nll))
        self.optimizer.apply(tape.gradient(scaled, variables), variables)
        return self._report_nll(nll)

    def test_step(self, data):
        x_model, labels = self.unpack_batch(data)
        return self._report_nll(-self._log_prob(x_model, labels))

    def call(self, inputs, training=False):
        """Data-space x from noise: z (B, D) [, labels (B,)] -> (B, D)."""
        z, labels = inputs if self.num_classes else (inputs, None)
        return self.to_data_space(self.bijector(labels).forward(tf.cast(z, tf.float32)))

    # ---- inference ---------------------------------------------------------------------
    def _checked_x(self, x):
        return self.check_data(np.asarray(x, np.float32))

    def log_prob(self, x, labels=None):
        """log p(x) in nats for data-space x (B, D), numpy float64 (B,)."""
        x = self._checked_x(x)
        labels = self.sample_labels(len(x), labels, required=True)
        return ops.convert_to_numpy(self._log_prob(self.to_model_space(x), labels)).astype(np.float64)

    def forward(self, z, labels=None):
        """Noise z (B, D) -> data-space x, numpy."""
        z = np.asarray(z, np.float32)
        if z.ndim != 2 or z.shape[1] != self.data_shape[0]:
            raise ValueError(f"z must have shape (B, {self.data_shape[0]}), got {z.shape}")
        labels = self.sample_labels(len(z), labels, required=True)
        return ops.convert_to_numpy(self.to_data_space(self.bijector(labels).forward(z)))

    def inverse(self, x, labels=None):
        """Data-space x (B, D) -> noise z, numpy."""
        x = self._checked_x(x)
        labels = self.sample_labels(len(x), labels, required=True)
        return ops.convert_to_numpy(self.bijector(labels).inverse(self.to_model_space(x)))

    def sample(self, n, seed=None, labels=None, batch_size=1024):
        """n samples in data space, numpy (n, D); labels cycle over the classes when None."""
        n = int(n)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        labels = self.sample_labels(n, labels)
        z = np.random.default_rng(seed).standard_normal((n, self.data_shape[0])).astype(np.float32)
        out = [self.forward(z[i:i + batch_size], None if labels is None else labels[i:i + batch_size])
               for i in range(0, n, batch_size)]
        return np.concatenate(out) if out else np.zeros((0, *self.data_shape), np.float32)

    def get_config(self):
        return {
            **super().get_config(),
            "steps": [keras.saving.serialize_keras_object(s) for s in self.flow_steps],
            "num_classes": self.num_classes,
            "context_dim": self.context_dim,
            "optimizer_config": self.optimizer_config,
        }
