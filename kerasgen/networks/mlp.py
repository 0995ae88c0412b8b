"""Fully connected generator and discriminator for vectors and small images."""

from __future__ import annotations

import math

import keras
from keras import layers

from kerasgen.layers.minibatch import MinibatchStdDev
from kerasgen.layers.weight_norm import WeightNormDense
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


@register_network("mlp", "generator")
def mlp_generator(data_shape, latent_dim, hidden=(256, 256), num_classes=None,
                  output_activation="auto", activation="relu", batch_norm=False, output_weight_norm=None,
                  name="generator"):
    """MLP generator z -> x.

    Args:
        data_shape: shape of one example: (D,) for vectors, (H, W, C) for images.
        latent_dim: size of the input noise (and codes) vector.
        hidden: widths of the hidden layers.
        num_classes: when set, the model also takes int labels (B,).
        output_activation: "auto" gives tanh for images (range [-1, 1]) and a
            linear output for vectors; or any Keras activation name.
        activation: the hidden layers' activation.
        batch_norm: batch normalisation (a learned shift, no scale, as Salimans et al.'s MNIST
            generator) before each hidden activation.
        output_weight_norm: None for a plain output layer; a number makes it a
            `kerasgen.layers.WeightNormDense` whose learned scale starts there (no data-dependent
            initialisation), which bounds how fast the output can saturate.

    Returns:
        A `keras.Model`: z (B, latent_dim) [, labels (B,)] -> (B, *data_shape) float32.
    """
    data_shape = tuple(data_shape)
    z = keras.Input((latent_dim,), name="z")
    inputs, h = (latent_with_labels(z, num_classes) if num_classes else (z, z))
    for i, width in enumerate(hidden):
        h = layers.Dense(width, use_bias=not batch_norm, name=f"dense_{i}")(h)
        if batch_norm:
            h = batch_norm_layer(scale=False, name=f"bn_{i}")(h)
        h = layers.Activation(activation)(h) if activation != "relu" else layers.ReLU()(h)
    if output_activation == "auto":
        output_activation = "tanh" if len(data_shape) == 3 else None
    if output_weight_norm is None:
        h = layers.Dense(math.prod(data_shape), name="out")(h)
    else:
        h = WeightNormDense(math.prod(data_shape), scale_init=float(output_weight_norm), data_init=False,
                            direction_initializer="glorot_uniform", name="out")(h)
    h = layers.Activation(output_activation or "linear", dtype="float32")(h)
    x = layers.Reshape(data_shape, dtype="float32")(h)
    return keras.Model(inputs, x, name=name)


@register_network("mlp", "discriminator")
def mlp_discriminator(data_shape, hidden=(256, 256), label_input_classes=None, num_classes=None,
                      categorical_codes=(), continuous_codes=0, spectral_norm=False, spectral_gain=1.0, pack=1,
                      minibatch_stddev=False, minibatch_discrimination=0, features=False,
                      name="discriminator"):
    """MLP discriminator / critic x -> logit (no normalisation layers, LeakyReLU 0.2).

    Args:
        data_shape: shape of one example.
        hidden: widths of the hidden layers.
        label_input_classes: when set, also takes int labels (B,) (cGAN).
        num_classes: adds a "class_logits" head (ACGAN).
        categorical_codes, continuous_codes: add InfoGAN code heads.
        spectral_norm: wrap every Dense in `keras.layers.SpectralNormalization`.
        spectral_gain: with `spectral_norm`, each normalised layer's output times this (> 0), so each
            is at most `spectral_gain`-Lipschitz (1: Miyato et al.'s 1-Lipschitz layers).
        pack: takes `pack` examples concatenated on the last axis (PacGAN): input
            (B, ..., C * pack).
        minibatch_stddev: a `MinibatchStdDev` feature before the last hidden layer.
        minibatch_discrimination: number of `MinibatchDiscrimination` kernels before the heads.
        features: also return "features", the last hidden layer's output (feature matching).

    Returns:
        A `keras.Model` returning logits (B, 1), or a dict of heads (see
        `discriminator_heads`; with `features`, also "features" (B, hidden[-1])).
    """
    pack = check_pack(pack, label_input_classes)
    spectral_gain = check_spectral_gain(spectral_norm, spectral_gain)
    data_shape = packed_shape(data_shape, pack)
    x = keras.Input(data_shape, name="x")
    if label_input_classes:
        inputs, h = image_with_labels(x, label_input_classes, (math.prod(data_shape),) if len(data_shape) == 1 else data_shape)
        if len(h.shape) > 2:
            h = layers.Flatten()(h)
    else:
        inputs, h = x, layers.Flatten()(x) if len(data_shape) > 1 else x
    for i, width in enumerate(hidden):
        if minibatch_stddev and i == len(hidden) - 1:
            h = MinibatchStdDev(name="minibatch_stddev")(h)
        h = maybe_spectral(layers.Dense(width, name=f"dense_{i}"), spectral_norm, spectral_gain)(h)
        h = layers.LeakyReLU(0.2)(h)
    if minibatch_stddev and not hidden:
        h = MinibatchStdDev(name="minibatch_stddev")(h)
    out = with_options(h, lambda f: discriminator_heads(f, num_classes, categorical_codes, continuous_codes,
                                                        spectral_norm, spectral_gain), minibatch_discrimination, features)
    return keras.Model(inputs, out, name=name)
