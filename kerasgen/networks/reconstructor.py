"""Reconstructors x -> z: deterministic maps from data back to the generator's noise (VEEGAN's F).

A reconstructor outputs a point of the latent space (B, latent_dim), not a distribution: VEEGAN
trains it to invert the generator, z ~ F(G(z)), with an l2 loss in the latent space.
"""

from __future__ import annotations

import keras
from keras import layers

from kerasgen.layers.conv import Conv2D
from kerasgen.networks.dcgan import num_stages
from kerasgen.registry import register_network


def conv_features(x, base_filters=64, name="features"):
    """The DCGAN discriminator's trunk on images x (B, H, W, C): (4x4 stride-2 conv, LeakyReLU 0.2) per
    `dcgan.num_stages(H, W)` scale (at least one), filters doubling from `base_filters`. Returns (B, F)."""
    h = x
    filters = base_filters
    for i in range(max(num_stages(int(x.shape[1]), int(x.shape[2])), 1)):
        h = Conv2D(filters, 4, strides=2, padding="same", name=f"{name}_conv_{i}")(h)
        h = layers.LeakyReLU(0.2)(h)
        filters *= 2
    return layers.Flatten()(h)


@register_network("mlp", "reconstructor")
def mlp_reconstructor(data_shape, latent_dim, hidden=(256, 256), name="reconstructor"):
    """MLP reconstructor: x (B, *data_shape) -> z (B, latent_dim), ReLU hidden layers `hidden`, linear output."""
    data_shape = tuple(int(s) for s in data_shape)
    x = keras.Input(data_shape, name="x")
    h = layers.Flatten()(x) if len(data_shape) > 1 else x
    for i, width in enumerate(hidden):
        h = layers.Dense(width, activation="relu", name=f"dense_{i}")(h)
    z = layers.Dense(latent_dim, dtype="float32", name="z")(h)
    return keras.Model(x, z, name=name)


@register_network("conv", "reconstructor")
def conv_reconstructor(data_shape, latent_dim, base_filters=64, name="reconstructor"):
    """Conv reconstructor: images (B, H, W, C) -> the DCGAN discriminator's conv trunk -> z (B, latent_dim), linear."""
    data_shape = tuple(int(s) for s in data_shape)
    if len(data_shape) != 3:
        raise ValueError(f"conv_reconstructor needs image data (H, W, C), got data_shape {data_shape}")
    x = keras.Input(data_shape, name="x")
    z = layers.Dense(latent_dim, dtype="float32", name="z")(conv_features(x, base_filters))
    return keras.Model(x, z, name=name)


__all__ = ["mlp_reconstructor", "conv_reconstructor", "conv_features"]
