"""Conditioner networks of coupling flows: masked input [, context] -> per-dimension parameters."""

from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="kerasgen")
class CouplingMLP(keras.layers.Layer):
    """MLP x (B, D) [, context (B, C)] -> params (B, D, num_params), the last layer starting at zero
    (so the coupling starts as the identity).

    Args:
        event_dim: D.
        num_params: parameters per dimension.
        hidden: widths of the ReLU hidden layers.
    """

    def __init__(self, event_dim, num_params, hidden=(64, 64), **kwargs):
        super().__init__(**kwargs)
        self.event_dim, self.num_params, self.hidden = int(event_dim), int(num_params), tuple(hidden)
        self.dense = [layers.Dense(w, activation="relu", name=f"dense_{i}") for i, w in enumerate(self.hidden)]
        self.out = layers.Dense(self.event_dim * self.num_params, kernel_initializer="zeros", name="out")

    def build(self, input_shape, context_shape=None):
        width = input_shape[-1] + (context_shape[-1] if context_shape else 0)
        for layer in self.dense:
            layer.build((None, width))
            width = layer.units
        self.out.build((None, width))
        self.built = True

    def call(self, x, context=None):
        h = x if context is None else ops.concatenate([x, ops.cast(context, x.dtype)], axis=-1)
        for layer in self.dense:
            h = layer(h)
        return ops.reshape(self.out(h), (-1, self.event_dim, self.num_params))

    def get_config(self):
        return {**super().get_config(), "event_dim": self.event_dim, "num_params": self.num_params,
                "hidden": list(self.hidden)}
