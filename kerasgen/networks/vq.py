"""Encoders to a grid of vectors, and decoders back, for the VQ-VAE.

Images: stride-2 convolutions down to a (H/2^s, W/2^s, code_dim) map (s <= 2 stages,
while both sides stay even and at least 2), and transposed convolutions back up.
Vectors: an MLP to `positions` vectors of size code_dim, and an MLP back.
"""

from __future__ import annotations

import math

import keras
from keras import layers

from kerasgen.layers.conv import Conv2D, Conv2DTranspose


def vq_stages(height: int, width: int, max_stages: int = 2) -> int:
    """Number of stride-2 stages of the VQ encoder for an image of this size."""
    stages = 0
    while stages < max_stages and height % 2 == 0 and width % 2 == 0 and height // 2 >= 2 and width // 2 >= 2:
        height, width, stages = height // 2, width // 2, stages + 1
    return stages


def vq_encoder(data_shape, code_dim=16, base_filters=32, hidden=(256, 256), positions=2, name="encoder"):
    """x (B, *data_shape) -> continuous codes z_e: (B, h, w, code_dim) for images, (B, positions, code_dim)
    for vectors."""
    data_shape = tuple(data_shape)
    x = keras.Input(data_shape, name="x")
    if len(data_shape) == 3:
        h, filters = x, base_filters
        for i in range(vq_stages(*data_shape[:2])):
            h = Conv2D(filters, 4, strides=2, padding="same", activation="relu", name=f"down_{i}")(h)
            filters *= 2
        h = Conv2D(filters, 3, padding="same", activation="relu", name="mix")(h)
        z_e = Conv2D(code_dim, 1, dtype="float32", name="z_e")(h)
        return keras.Model(x, z_e, name=name)
    h = x
    for i, width in enumerate(hidden):
        h = layers.Dense(width, activation="relu", name=f"dense_{i}")(h)
    h = layers.Dense(positions * code_dim, dtype="float32", name="z_e")(h)
    return keras.Model(x, layers.Reshape((positions, code_dim), dtype="float32")(h), name=name)


def vq_decoder(data_shape, latent_shape, base_filters=32, hidden=(256, 256), name="decoder"):
    """Quantised codes (B, *latent_shape) -> (B, *data_shape) raw outputs (logits or means)."""
    data_shape, latent_shape = tuple(data_shape), tuple(latent_shape)
    z = keras.Input(latent_shape, name="z_q")
    if len(data_shape) == 3:
        stages = vq_stages(*data_shape[:2])
        filters = base_filters * 2 ** stages
        h = Conv2D(filters, 3, padding="same", activation="relu", name="mix")(z)
        for i in range(stages - 1):
            filters //= 2
            h = Conv2DTranspose(filters, 4, strides=2, padding="same", activation="relu", name=f"up_{i}")(h)
        if stages:
            h = Conv2DTranspose(data_shape[-1], 4, strides=2, padding="same", name="out")(h)
        else:
            h = Conv2D(data_shape[-1], 3, padding="same", name="out")(h)
        return keras.Model(z, layers.Activation("linear", dtype="float32")(h), name=name)
    h = layers.Flatten()(z)
    for i, width in enumerate(hidden):
        h = layers.Dense(width, activation="relu", name=f"dense_{i}")(h)
    out = layers.Dense(math.prod(data_shape), dtype="float32", name="out")(h)
    return keras.Model(z, layers.Reshape(data_shape, dtype="float32")(out), name=name)


__all__ = ["vq_encoder", "vq_decoder", "vq_stages"]
