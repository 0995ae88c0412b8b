"""DCGAN-style convolutional generator and discriminator sized from the image shape.

The number of stride-2 stages is the number of times both sides halve while
staying at least 4 (8x8 -> 1 stage from 4x4; 28x28 -> 2 stages from 7x7;
32x32 -> 3 from 4x4; 64x64 -> 4 from 4x4).

References:
    Radford, Metz & Chintala 2015, "Unsupervised Representation Learning with
    Deep Convolutional Generative Adversarial Networks".
"""

from __future__ import annotations

import keras
from keras import layers

from kerasgen.layers.conv import Conv2D, Conv2DTranspose
from kerasgen.layers.minibatch import MinibatchStdDev
from kerasgen.networks.common import (
    batch_norm_layer,
    check_spectral_gain,
    discriminator_heads,
    image_with_labels,
    latent_with_labels,
    maybe_spectral,
)
from kerasgen.networks.discriminator_options import check_pack, packed_shape, with_options
from kerasgen.registry import register_network


def num_stages(height: int, width: int) -> int:
    """Number of stride-2 stages for an image of this size."""
    stages = 0
    while height % 2 == 0 and width % 2 == 0 and height // 2 >= 4 and width // 2 >= 4:
        height, width, stages = height // 2, width // 2, stages + 1
    return stages


def _check_image_shape(data_shape):
    if len(data_shape) != 3:
        raise ValueError(f"DCGAN networks need image data (H, W, C), got data_shape {tuple(data_shape)}")


@register_network("dcgan", "generator")
def dcgan_generator(data_shape, latent_dim, base_filters=64, num_classes=None, output_activation="tanh",
                    name="generator"):
    """DCGAN generator: Dense -> stride-1 and stride-2 (Conv2DTranspose, BatchNorm, ReLU) -> tanh.

    Args:
        data_shape: (H, W, C) of the images.
        latent_dim: size of the input vector.
        base_filters: filters of the last hidden stage; earlier ones double.
        num_classes: when set, also takes int labels (B,) (cGAN, ACGAN).
        output_activation: "tanh" for images in [-1, 1]; None for raw outputs
            (e.g. the logits of a VAE decoder).

    Returns:
        A `keras.Model`: z (B, latent_dim) [, labels (B,)] -> images (B, H, W, C)
        float32 in [-1, 1].
    """
    _check_image_shape(data_shape)
    h_out, w_out, channels = data_shape
    stages = num_stages(h_out, w_out)
    h0, w0 = h_out // 2**stages, w_out // 2**stages
    filters = base_filters * 2 ** max(stages - 1, 0)
    z = keras.Input((latent_dim,), name="z")
    inputs, h = latent_with_labels(z, num_classes) if num_classes else (z, z)
    h = layers.Dense(h0 * w0 * filters, use_bias=False)(h)
    h = batch_norm_layer()(h)
    h = layers.ReLU()(h)
    h = layers.Reshape((h0, w0, filters))(h)
    h = Conv2DTranspose(filters, 4, strides=1, padding="same", use_bias=False)(h)
    h = batch_norm_layer()(h)
    h = layers.ReLU()(h)
    for _ in range(stages - 1):
        filters = max(filters // 2, base_filters)
        h = Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False)(h)
        h = batch_norm_layer()(h)
        h = layers.ReLU()(h)
    if stages >= 1:
        h = Conv2DTranspose(channels, 4, strides=2, padding="same")(h)
    else:
        h = Conv2D(channels, 3, padding="same")(h)
    x = layers.Activation(output_activation or "linear", dtype="float32", name="image")(h)
    return keras.Model(inputs, x, name=name)


@register_network("dcgan", "discriminator")
def dcgan_discriminator(data_shape, base_filters=64, label_input_classes=None, num_classes=None,
                        categorical_codes=(), continuous_codes=0, spectral_norm=False, spectral_gain=1.0,
                        dropout=0.0, pack=1, minibatch_stddev=False, minibatch_discrimination=0, features=False,
                        name="discriminator"):
    """DCGAN discriminator / critic: (Conv2D stride 2, LeakyReLU 0.2) x stages, a 3x3 conv -> heads.

    No batch normalisation, so the same network serves WGAN-GP critics (the
    gradient penalty is per example) and spectrally normalised discriminators.

    Args:
        data_shape: (H, W, C) of the images.
        base_filters: filters of the first stage; later ones double.
        label_input_classes: when set, also takes int labels (B,) as an extra channel (cGAN).
        num_classes: adds a "class_logits" head (ACGAN).
        categorical_codes, continuous_codes: add InfoGAN code heads.
        spectral_norm: wrap every conv and dense layer in `SpectralNormalization`.
        spectral_gain: with `spectral_norm`, each normalised layer's output times this (> 0), so each
            is at most `spectral_gain`-Lipschitz (1: Miyato et al.'s 1-Lipschitz layers).
        dropout: dropout rate after each stage.
        pack: takes `pack` images concatenated on the channel axis (PacGAN): input
            (B, H, W, C * pack).
        minibatch_stddev: a `MinibatchStdDev` channel before the last (3x3) convolution, as in ProGAN.
        minibatch_discrimination: number of `MinibatchDiscrimination` kernels before the heads.
        features: also return "features", the flattened output of the last convolution (feature
            matching).

    Returns:
        A `keras.Model` returning logits (B, 1) or a dict of heads.
    """
    _check_image_shape(data_shape)
    pack = check_pack(pack, label_input_classes)
    spectral_gain = check_spectral_gain(spectral_norm, spectral_gain)
    data_shape = packed_shape(data_shape, pack)
    x = keras.Input(tuple(data_shape), name="x")
    inputs, h = image_with_labels(x, label_input_classes, data_shape) if label_input_classes else (x, x)
    stages = max(num_stages(data_shape[0], data_shape[1]), 1)
    filters = base_filters
    for i in range(stages):
        conv = Conv2D(filters, 4, strides=2, padding="same", name=f"conv_{i}")
        h = maybe_spectral(conv, spectral_norm, spectral_gain)(h)
        h = layers.LeakyReLU(0.2)(h)
        if dropout:
            h = layers.Dropout(dropout)(h)
        filters *= 2
    if minibatch_stddev:
        h = MinibatchStdDev(name="minibatch_stddev")(h)
    h = maybe_spectral(Conv2D(filters, 3, padding="same", name="conv_out"), spectral_norm,
                       spectral_gain)(h)
    h = layers.LeakyReLU(0.2)(h)
    h = layers.Flatten()(h)
    out = with_options(h, lambda f: discriminator_heads(f, num_classes, categorical_codes, continuous_codes,
                                                        spectral_norm, spectral_gain), minibatch_discrimination, features)
    return keras.Model(inputs, out, name=name)
