"""Autoregressive flows: masked autoregressive (MAF) and inverse autoregressive (IAF) affine steps
on a MADE conditioner.

`MADE` is a masked autoencoder whose output i depends only on inputs before i in an ordering: a
Keras 3 layer (TFP's own `AutoregressiveNetwork` is a tf-keras layer that Keras 3 models do not
track). `AutoregressiveStep` wraps it in `tfb.MaskedAutoregressiveFlow` (MAF) or its inverse (IAF).

References: Germain et al. 2015, "MADE: Masked Autoencoder for Distribution Estimation";
Papamakarios et al. 2017 (MAF); Kingma et al. 2016 (IAF).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
from keras import ops

from kerasgen.models.flows.step import LOG_SCALE_BOUND, FlowStep

tfb = tfp.bijectors


def made_masks(event_dim: int, hidden, reverse: bool = False):
    """0/1 masks (in, out) of each layer: hidden unit k of degree d(k) in 1..D-1 sees inputs of
    degree <= d(k); output i (degree d_i) sees hidden units of degree < d_i."""
    degrees_in = np.arange(1, event_dim + 1)
    if reverse:
        degrees_in = degrees_in[::-1]
    masks, previous = [], degrees_in
    for width in hidden:
        degrees = np.arange(width) % max(event_dim - 1, 1) + 1
        masks.append((degrees[None, :] >= previous[:, None]).astype("float32"))
        previous = degrees
    masks.append((degrees_in[None, :] > previous[:, None]).astype("float32"))
    return masks


@keras.saving.register_keras_serializable(package="kerasgen")
class MADE(keras.layers.Layer):
    """Autoregressive network x (B, D) [, context (B, C)] -> params (B, D, num_params).

    Args:
        event_dim: D.
        hidden: widths of the masked hidden layers (ReLU).
        num_params: outputs per dimension (2 for shift and log-scale).
        reverse: use the ordering D, ..., 1 instead of 1, ..., D.
        context_dim: size of an optional context fed to every hidden layer (unmasked).

    The output layer starts at zero, so a flow built on it starts as the identity.
    """

    def __init__(self, event_dim, hidden=(64, 64), num_params=2, reverse=False, context_dim=0, **kwargs):
        super().__init__(**kwargs)
        self.event_dim, self.hidden = int(event_dim), tuple(int(h) for h in hidden)
        self.num_params, self.reverse, self.context_dim = int(num_params), bool(reverse), int(context_dim)
        masks = made_masks(self.event_dim, self.hidden, self.reverse)
        masks[-1] = np.repeat(masks[-1], self.num_params, axis=1)  # output (i, p) at column i * P + p
        self.masks = [ops.convert_to_tensor(m) for m in masks]
        sizes = [self.event_dim, *self.hidden, self.event_dim * self.num_params]
        self.kernels, self.biases, self.context_kernels = [], [], []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            last = i == len(sizes) - 2
            init = "zeros" if last else "glorot_uniform"
            self.kernels.append(self.add_weight(shape=(n_in, n_out), initializer=init, name=f"kernel_{i}"))
            self.biases.append(self.add_weight(shape=(n_out,), initializer="zeros", name=f"bias_{i}"))
            if self.context_dim and not last:
                self.context_kernels.append(self.add_weight(shape=(self.context_dim, n_out),
                                                            initializer="glorot_uniform", name=f"context_{i}"))
        self.built = True

    def call(self, x, context=None):
        h = ops.cast(x, self.compute_dtype)
        last = len(self.kernels) - 1
        for i, (kernel, bias) in enumerate(zip(self.kernels, self.biases)):
            h = ops.matmul(h, kernel * ops.cast(self.masks[i], kernel.dtype)) + bias
            if i < last:
                if self.context_dim:
                    h = h + ops.matmul(ops.cast(context, h.dtype), self.context_kernels[i])
                h = ops.relu(h)
        return ops.reshape(h, (-1, self.event_dim, self.num_params))

    def get_config(self):
        return {**super().get_config(), "event_dim": self.event_dim, "hidden": list(self.hidden),
                "num_params": self.num_params, "reverse": self.reverse, "context_dim": self.context_dim}


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
