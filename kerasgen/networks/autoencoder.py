"""Autoencoders x -> reconstruction, the discriminators of BEGAN, and the conv feature trunk they share.

BEGAN's discriminator is an autoencoder whose reconstruction error is the "energy" of an example:
an encoder to an embedding of `code_dim` numbers (no non-linearity on it) and a decoder back to
the data. The image version follows Berthelot et al. 2017, section 3.5: 3x3 convolutions with ELUs
(`convs_per_stage` per scale), stride-2 convolutions to go down a scale with filters growing
linearly (n, 2n, 3n, ...), and nearest-neighbour upsampling back up.

References:
    Berthelot, Schumm & Metz 2017, "BEGAN: Boundary Equilibrium Generative Adversarial Networks",
    arXiv:1703.10717.
"""

from __future__ import annotations

import math

import keras
from keras import layers

from kerasgen.layers.conv import Conv2D
from kerasgen.networks.dcgan import num_stages
from kerasgen.registry import register_network


def _image_shape(data_shape, what):
    data_shape = tuple(int(s) for s in data_shape)
    if len(data_shape) != 3:
        raise ValueError(f"{what} needs image data (H, W, C), got data_shape {data_shape}")
    return data_shape


def _convs(h, filters, count, name):
    for i in range(count):
        h = Conv2D(filters, 3, padding="same", activation="elu", name=f"{name}_{i}")(h)
    return h


def conv_trunk(x, base_filters=32, convs_per_stage=2, name="encoder"):
    """BEGAN's encoder trunk on images x (B, H, W, C): a 3x3 ELU conv of `base_filters`, then per
    scale `convs_per_stage` 3x3 ELU convs and a stride-2 conv (filters n, 2n, 3n, ...), for
    `dcgan.num_stages(H, W)` scales. Returns the flattened features (B, F)."""
    stages = num_stages(int(x.shape[1]), int(x.shape[2]))
    h = Conv2D(base_filters, 3, padding="same", activation="elu", name=f"{name}_in")(x)
    for s in range(stages):
        h = _convs(h, base_filters * (s + 1), convs_per_stage, f"{name}_s{s}")
        h = Conv2D(base_filters * (s + 2), 3, strides=2, padding="same", activation="elu",
                          name=f"{name}_down{s}")(h)
    h = _convs(h, base_filters * (stages + 1), convs_per_stage, f"{name}_out")
    return layers.Flatten()(h)


def conv_decoder(code, data_shape, base_filters=32, convs_per_stage=2, name="decoder"):
    """BEGAN's decoder on a code (B, N): a dense layer to (H / 2^s, W / 2^s, n), then per scale
    `convs_per_stage` 3x3 ELU convs and a nearest-neighbour upsampling, the same convs at full size,
    and a 3x3 conv to C channels (linear, float32). Returns (B, H, W, C)."""
    height, width, channels = data_shape
    stages = num_stages(height, width)
    h0, w0 = height // 2**stages, width // 2**stages
    h = layers.Dense(h0 * w0 * base_filters, name=f"{name}_in")(code)
    h = layers.Reshape((h0, w0, base_filters))(h)
    for s in range(stages):
        h = _convs(h, base_filters, convs_per_stage, f"{name}_s{s}")
        h = layers.UpSampling2D(2, interpolation="nearest")(h)
    h = _convs(h, base_filters, convs_per_stage, f"{name}_out")
    return Conv2D(channels, 3, padding="same", dtype="float32", name=f"{name}_image")(h)


@register_network("conv", "autoencoder")
def conv_autoencoder(data_shape, base_filters=32, code_dim=64, convs_per_stage=2, name="autoencoder"):
    """BEGAN's convolutional autoencoder: images -> embedding (B, code_dim) -> images.

    Args:
        data_shape: (H, W, C) of the images.
        base_filters: filters n of the first scale (n, 2n, ... on the way down; n in the decoder).
        code_dim: size of the embedding h; well below H * W * C, or the autoencoder can
            reconstruct anything, fakes included.
        convs_per_stage: 3x3 ELU convolutions per scale (2 in the paper).

    Returns:
        A `keras.Model`: x (B, H, W, C) -> reconstruction (B, H, W, C) float32, linear (unbounded).
    """
    data_shape = _image_shape(data_shape, "conv_autoencoder")
    x = keras.Input(data_shape, name="x")
    code = layers.Dense(code_dim, name="code")(conv_trunk(x, base_filters, convs_per_stage))
    return keras.Model(x, conv_decoder(code, data_shape, base_filters, convs_per_stage), name=name)


@register_network("began", "generator")
def began_generator(data_shape, latent_dim, base_filters=32, convs_per_stage=2, name="generator"):
    """BEGAN's generator: the autoencoder's decoder architecture (own weights) with a tanh output.

    Returns:
        A `keras.Model`: z (B, latent_dim) -> images (B, H, W, C) float32 in [-1, 1].
    """
    data_shape = _image_shape(data_shape, "began_generator")
    z = keras.Input((latent_dim,), name="z")
    h = conv_decoder(z, data_shape, base_filters, convs_per_stage, name="generator")
    return keras.Model(z, layers.Activation("tanh", dtype="float32", name="image")(h), name=name)


@register_network("mlp", "autoencoder")
def mlp_autoencoder(data_shape, hidden=(256, 256), code_dim=32, name="autoencoder"):
    """Fully connected autoencoder: x -> ELU layers `hidden` -> embedding (B, code_dim) -> ELU
    layers `hidden` reversed -> x.

    Args:
        data_shape: shape of one example (vectors, or images flattened).
        hidden: widths of the encoder's hidden layers (the decoder's in reverse).
        code_dim: size of the embedding.

    Returns:
        A `keras.Model`: x (B, *data_shape) -> reconstruction (B, *data_shape) float32, linear.
    """
    data_shape = tuple(int(s) for s in data_shape)
    x = keras.Input(data_shape, name="x")
    h = layers.Flatten()(x) if len(data_shape) > 1 else x
    for i, width in enumerate(hidden):
        h = layers.Dense(width, activation="elu", name=f"encoder_{i}")(h)
    h = layers.Dense(code_dim, name="code")(h)
    for i, width in enumerate(reversed(tuple(hidden))):
        h = layers.Dense(width, activation="elu", name=f"decoder_{i}")(h)
    h = layers.Dense(math.prod(data_shape), dtype="float32", name="reconstruction")(h)
    out = layers.Reshape(data_shape, dtype="float32")(h)
    return keras.Model(x, out, name=name)


__all__ = ["conv_autoencoder", "mlp_autoencoder", "began_generator", "conv_trunk", "conv_decoder"]
