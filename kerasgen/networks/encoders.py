"""Encoders x -> (mean, log-variance) of a diagonal Gaussian posterior, for the VAE family."""

from __future__ import annotations

import keras
from keras import layers

from kerasgen.layers.conv import Conv2D
from kerasgen.networks.common import image_with_labels, label_input
from kerasgen.networks.dcgan import num_stages
from kerasgen.registry import register_network


def gaussian_heads(h, latent_dim, context_dim=0):
    """float32 Dense heads {"mean": (B, latent_dim), "log_var": (B, latent_dim)} on features h, and a
    "context" (B, context_dim) for amortised flow posteriors when context_dim > 0."""
    heads = {"mean": layers.Dense(latent_dim, dtype="float32", name="mean")(h),
             "log_var": layers.Dense(latent_dim, dtype="float32", name="log_var")(h)}
    if context_dim:
        heads["context"] = layers.Dense(context_dim, activation="elu", dtype="float32", name="context")(h)
    return heads


@register_network("mlp", "encoder")
def mlp_encoder(data_shape, latent_dim, hidden=(256, 256), num_classes=None, context_dim=0, name="encoder"):
    """MLP encoder: x (B, *data_shape) [, labels (B,)] -> {"mean", "log_var"} (B, latent_dim) each.

    Args:
        data_shape: shape of one example (vectors or images, flattened).
        latent_dim: size of z.
        hidden: widths of the ReLU hidden layers.
        num_classes: when set, also takes int labels (B,), embedded and concatenated (CVAE).
        context_dim: adds a "context" output of this size (flow posteriors).
    """
    x = keras.Input(tuple(data_shape), name="x")
    h = layers.Flatten()(x) if len(data_shape) > 1 else x
    inputs = x
    if num_classes:
        labels = label_input()
        emb = layers.Embedding(num_classes, 32, name="label_embedding")(labels)
        inputs, h = [x, labels], layers.Concatenate()([h, emb])
    for i, width in enumerate(hidden):
        h = layers.Dense(width, activation="relu", name=f"dense_{i}")(h)
    return keras.Model(inputs, gaussian_heads(h, latent_dim, context_dim), name=name)


@register_network("conv", "encoder")
def conv_encoder(data_shape, latent_dim, base_filters=32, num_classes=None, name="encoder"):
    """Conv encoder (stride-2 Conv2D + ReLU stages, as the DCGAN discriminator) -> mean, log_var.

    Args:
        data_shape: (H, W, C) images.
        latent_dim: size of z.
        base_filters: filters of the first stage; later ones double.
        num_classes: when set, also takes int labels (B,), given as an extra learned channel (CVAE).
    """
    if len(data_shape) != 3:
        raise ValueError(f"conv_encoder needs image data (H, W, C), got data_shape {tuple(data_shape)}")
    x = keras.Input(tuple(data_shape), name="x")
    inputs, h = image_with_labels(x, num_classes, data_shape) if num_classes else (x, x)
    filters = base_filters
    for i in range(max(num_stages(data_shape[0], data_shape[1]), 1)):
        h = Conv2D(filters, 4, strides=2, padding="same", activation="relu", name=f"conv_{i}")(h)
        filters *= 2
    h = layers.Flatten()(h)
    h = layers.Dense(max(256, 2 * latent_dim), activation="relu")(h)
    return keras.Model(inputs, gaussian_heads(h, latent_dim), name=name)


__all__ = ["mlp_encoder", "conv_encoder", "gaussian_heads"]
