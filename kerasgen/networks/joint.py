"""Joint discriminators D(z, x): one logit for a (latent, data) pair, as VEEGAN's discriminator
tells generator pairs (z, G(z)) from reconstructor pairs (F(x), x)."""

from __future__ import annotations

import keras
from keras import layers

from kerasgen.networks.reconstructor import conv_features
from kerasgen.registry import register_network


def _inputs(data_shape, latent_dim):
    return keras.Input((int(latent_dim),), name="z"), keras.Input(tuple(int(s) for s in data_shape), name="x")


def _logit_head(h, hidden, name):
    for i, width in enumerate(hidden):
        h = layers.Dense(width, name=f"{name}_{i}")(h)
        h = layers.LeakyReLU(0.2)(h)
    return layers.Dense(1, dtype="float32", name="logit")(h)


@register_network("mlp", "joint_discriminator")
def mlp_joint_discriminator(data_shape, latent_dim, hidden=(256, 256), name="joint_discriminator"):
    """MLP on the concatenation [z, flatten(x)]: [z (B, latent_dim), x (B, *data_shape)] -> logit (B, 1)."""
    z, x = _inputs(data_shape, latent_dim)
    flat = layers.Flatten()(x) if len(x.shape) > 2 else x
    h = layers.Concatenate()([z, flat])
    return keras.Model([z, x], _logit_head(h, hidden, "dense"), name=name)


@register_network("conv", "joint_discriminator")
def conv_joint_discriminator(data_shape, latent_dim, base_filters=64, hidden=(256,), name="joint_discriminator"):
    """The DCGAN discriminator's conv trunk on x and a dense layer on z, concatenated, then LeakyReLU
    layers `hidden`: [z (B, latent_dim), images (B, H, W, C)] -> logit (B, 1)."""
    if len(data_shape) != 3:
        raise ValueError(f"conv_joint_discriminator needs image data (H, W, C), got data_shape {tuple(data_shape)}")
    z, x = _inputs(data_shape, latent_dim)
    hz = layers.LeakyReLU(0.2)(layers.Dense(max(hidden or (256,)), name="z_embedding")(z))
    h = layers.Concatenate()([conv_features(x, base_filters), hz])
    return keras.Model([z, x], _logit_head(h, hidden, "joint"), name=name)


__all__ = ["mlp_joint_discriminator", "conv_joint_discriminator"]
