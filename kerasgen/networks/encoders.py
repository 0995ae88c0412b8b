"""Encoders x -> (mean, log-variance) of a diagonal Gaussian posterior, for the VAE family."""

from __future__ import annotations


import keras
from keras import layers

from kerasgen.networks.dcgan import num_stages


def _gaussian_heads(h, latent_dim):
    mean = layers.Dense(latent_dim, dtype="float32", name="mean")(h)
    log_var = layers.Dense(latent_dim, dtype="float32", name="log_var")(h)
    return {"mean": mean, "log_var": log_var}


def mlp_encoder(data_shape, latent_dim, hidden=(256, 256), name="encoder"):
    """MLP encoder: x (B, *data_shape) -> {"mean": (B, latent_dim), "log_var": (B, latent_dim)}."""
    x = keras.Input(tuple(data_shape), name="x")
    h = layers.Flatten()(x) if len(data_shape) > 1 else x
    for i, width in enumerate(hidden):
        h = layers.Dense(width, activation="relu", name=f"dense_{i}")(h)
    return keras.Model(x, _gaussian_heads(h, latent_dim), name=name)


def conv_encoder(data_shape, latent_dim, base_filters=32, name="encoder"):
    """Conv encoder (stride-2 Conv2D + ReLU stages, as the DCGAN discriminator) -> mean, log_var.

    Args:
        data_shape: (H, W, C) images.
        latent_dim: size of z.
        base_filters: filters of the first stage; later ones double.
    """
    if len(data_shape) != 3:
        raise ValueError(f"conv_encoder needs image data (H, W, C), got data_shape {tuple(data_shape)}")
    x = keras.Input(tuple(data_shape), name="x")
    h, filters = x, base_filters
    for i in range(max(num_stages(data_shape[0], data_shape[1]), 1)):
        h = layers.Conv2D(filters, 4, strides=2, padding="same", activation="relu", name=f"conv_{i}")(h)
        filters *= 2
    h = layers.Flatten()(h)
    h = layers.Dense(max(256, 2 * latent_dim), activation="relu")(h)
    return keras.Model(x, _gaussian_heads(h, latent_dim), name=name)


__all__ = ["mlp_encoder", "conv_encoder"]
