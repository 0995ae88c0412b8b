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
        self.dense = [layers.Dense(w, activation="relu", dtype=self.dtype_policy, name=f"dense_{i}") for i, w in enumerate(self.hidden)]
        self.out = layers.Dense(self.event_dim * self.num_params, kernel_initializer="zeros",
                                  dtype=self.dtype_policy, name="out")

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


@keras.saving.register_keras_serializable(package="kerasgen")
class CouplingConvNet(keras.layers.Layer):
    """Convolutional conditioner of image coupling steps: masked image (B, H, W, C) [, context (B, K)]
    -> params (B, H, W, C, num_params). A 3x3 ReLU conv, a 1x1 ReLU conv and a zero-initialised
    3x3 output conv (so the coupling starts as the identity), as in Glow's coupling network.
    The context is broadcast over the pixels and joins the input as extra channels.

    Args:
        channels: C of the images.
        num_params: parameters per value.
        hidden: channels of the hidden convolutions.
    """

    def __init__(self, channels, num_params, hidden=64, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.num_params, self.hidden = int(channels), int(num_params), int(hidden)
        self.convs = [layers.Conv2D(self.hidden, 3, padding="same", activation="relu", dtype=self.dtype_policy,
                                    name="conv_in"),
                      layers.Conv2D(self.hidden, 1, activation="relu", dtype=self.dtype_policy, name="conv_mid")]
        self.out = layers.Conv2D(self.channels * self.num_params, 3, padding="same", kernel_initializer="zeros",
                                 dtype=self.dtype_policy, name="conv_out")

    def build(self, input_shape, context_shape=None):
        width = input_shape[-1] + (context_shape[-1] if context_shape else 0)
        for conv in self.convs:
            conv.build((None, None, None, width))
            width = conv.filters
        self.out.build((None, None, None, width))
        self.built = True

    def call(self, x, context=None):
        h = x
        if context is not None:
            context = ops.cast(context, x.dtype)[:, None, None, :]
            h = ops.concatenate([x, ops.broadcast_to(context, (*ops.shape(x)[:3], ops.shape(context)[-1]))], axis=-1)
        for conv in self.convs:
            h = conv(h)
        out = self.out(h)
        return ops.reshape(out, (*ops.shape(x)[:3], self.channels, self.num_params))

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "num_params": self.num_params,
                "hidden": self.hidden}
