"""Networks of GANs that infer (BiGAN / ALI): encoders x -> z and joint discriminators on (x, z)
(also VEEGAN's discriminator of (data, noise) pairs).

- encoder: x (B, *data_shape) -> z (B, latent_dim), linear (a deterministic BiGAN encoder; ALI's
  stochastic encoder is a Gaussian one from `kerasgen.networks.encoders`, returning
  {"mean", "log_var"}).
- joint discriminator: [x (B, *data_shape), z (B, latent_dim)] -> logit (B, 1) float32: the data
  path (an MLP on flattened x, or the DCGAN conv stack for images) and the latent path meet in a
  shared MLP. With `unary_scores` (BigBiGAN) it returns {"logit", "x_logit", "z_logit"}: the joint
  score and linear scores of the data path alone and of the latent path alone, each (B, 1) float32.

References:
    Donahue, Kraehenbuehl & Darrell 2017, "Adversarial Feature Learning", arXiv:1605.09782;
    Dumoulin et al. 2017, "Adversarially Learned Inference", arXiv:1606.00704;
    Donahue & Simonyan 2019, "Large Scale Adversarial Representation Learning", arXiv:1907.02544.
"""

from __future__ import annotations

import keras
from keras import layers

from kerasgen.layers.conv import Conv2D
from kerasgen.networks.common import batch_norm_layer
from kerasgen.networks.dcgan import num_stages
from kerasgen.registry import register_network


def _check_image_shape(data_shape, what):
    if len(data_shape) != 3:
        raise ValueError(f"{what} needs image data (H, W, C), got data_shape {tuple(data_shape)}")


@register_network("mlp-latent", "encoder")
def mlp_latent_encoder(data_shape, latent_dim, hidden=(256, 256), name="encoder"):
    """MLP encoder x -> z (LeakyReLU 0.2 hidden layers, linear output).

    Args:
        data_shape: shape of one example (images are flattened).
        latent_dim: size of z.
        hidden: widths of the hidden layers.

    Returns:
        A `keras.Model`: x (B, *data_shape) -> z (B, latent_dim) float32.
    """
    x = keras.Input(tuple(data_shape), name="x")
    h = layers.Flatten()(x) if len(data_shape) > 1 else x
    for i, width in enumerate(hidden):
        h = layers.Dense(width, name=f"dense_{i}")(h)
        h = layers.LeakyReLU(0.2)(h)
    z = layers.Dense(latent_dim, dtype="float32", name="z")(h)
    return keras.Model(x, z, name=name)


@register_network("conv-latent", "encoder")
def conv_latent_encoder(data_shape, latent_dim, base_filters=64, name="encoder"):
    """Conv encoder x -> z: the DCGAN discriminator's stride-2 stages (batch-normalised after the
    first), a hidden Dense layer, a linear output.

    Args:
        data_shape: (H, W, C) images.
        latent_dim: size of z.
        base_filters: filters of the first stage; later ones double.

    Returns:
        A `keras.Model`: x (B, H, W, C) -> z (B, latent_dim) float32.
    """
    _check_image_shape(data_shape, "conv_latent_encoder")
    x = keras.Input(tuple(data_shape), name="x")
    h, filters = x, base_filters
    for i in range(max(num_stages(data_shape[0], data_shape[1]), 1)):
        h = Conv2D(filters, 4, strides=2, padding="same", use_bias=i == 0, name=f"conv_{i}")(h)
        if i > 0:
            h = batch_norm_layer()(h)
        h = layers.LeakyReLU(0.2)(h)
        filters *= 2
    h = layers.Flatten()(h)
    h = layers.Dense(max(256, 4 * latent_dim), use_bias=False)(h)
    h = batch_norm_layer()(h)
    h = layers.LeakyReLU(0.2)(h)
    z = layers.Dense(latent_dim, dtype="float32", name="z")(h)
    return keras.Model(x, z, name=name)


def conv_stages(x, base_filters, dropout):
    """The DCGAN discriminator's stride-2 stages on images x (B, H, W, C): 4x4 conv ("conv_{i}"),
    LeakyReLU 0.2, dropout when > 0, filters doubling, one stage per `num_stages(H, W)` (at least one).

    Returns:
        (features (B, h, w, F), the filters of the next stage).
    """
    h, filters = x, base_filters
    for i in range(max(num_stages(int(x.shape[1]), int(x.shape[2])), 1)):
        h = Conv2D(filters, 4, strides=2, padding="same", name=f"conv_{i}")(h)
        h = layers.LeakyReLU(0.2)(h)
        if dropout:
            h = layers.Dropout(dropout)(h)
        filters *= 2
    return h, filters


def _input_path(h, prefix, hidden, unary_scores):
    """An input's path before the joint layers: one LeakyReLU 0.2 layer of `hidden[0]` ("{prefix}_dense"), or with
    `unary_scores` one per `hidden` width ("{prefix}_dense_{i}")."""
    for i, width in enumerate(hidden if unary_scores else hidden[:1]):
        h = layers.Dense(width, name=f"{prefix}_dense_{i}" if unary_scores else f"{prefix}_dense")(h)
        h = layers.LeakyReLU(0.2)(h)
    return h


def _joint_head(h, z, hidden, dropout, unary_scores=False):
    """The shared MLP on [data features h, latent features] -> logit (B, 1) float32, or with `unary_scores`
    {"logit": joint, "x_logit": from h alone, "z_logit": from the latent path alone}, each (B, 1) float32.

    The latent path is one LeakyReLU layer of `hidden[0]`, or with `unary_scores` one per `hidden` width
    (BigBiGAN's unary latent network H; the data path is the caller's).
    """
    zh = _input_path(z, "z", hidden, unary_scores)
    joint = layers.Concatenate()([h, zh])
    for i, width in enumerate(hidden):
        if dropout:
            joint = layers.Dropout(dropout)(joint)
        joint = layers.Dense(width, name=f"joint_{i}")(joint)
        joint = layers.LeakyReLU(0.2)(joint)
    if dropout:
        joint = layers.Dropout(dropout)(joint)
    logit = layers.Dense(1, dtype="float32", name="logit")(joint)
    if not unary_scores:
        return logit
    return {"logit": logit, "x_logit": layers.Dense(1, dtype="float32", name="x_logit")(h),
            "z_logit": layers.Dense(1, dtype="float32", name="z_logit")(zh)}


@register_network("mlp", "joint_discriminator")
def mlp_joint_discriminator(data_shape, latent_dim, hidden=(256, 256), dropout=0.2, unary_scores=False,
                            name="discriminator"):
    """MLP joint discriminator D(x, z): x and z each through a LeakyReLU layer (one per hidden width
    with `unary_scores`), concatenated, then the hidden layers (dropout before each, as ALI's
    discriminators) and a logit.

    Args:
        data_shape: shape of one example (images are flattened).
        latent_dim: size of z.
        hidden: widths of the hidden layers (the first also sizes the x and z paths; with
            `unary_scores` each path has a layer of every width).
        dropout: dropout rate (0 for none).
        unary_scores: BigBiGAN's discriminator (Donahue & Simonyan 2019): x and z each through a
            LeakyReLU layer per `hidden` width, and besides the joint logit a score of x alone
            ("x_logit") and of z alone ("z_logit"), each a linear layer on its path.

    Returns:
        A `keras.Model`: [x (B, *data_shape), z (B, latent_dim)] -> logit (B, 1) float32, or with
        `unary_scores` {"logit", "x_logit", "z_logit"}, each (B, 1) float32.
    """
    hidden = tuple(hidden)
    x = keras.Input(tuple(data_shape), name="x")
    z = keras.Input((latent_dim,), name="z")
    h = layers.Flatten()(x) if len(data_shape) > 1 else x
    h = _input_path(h, "x", hidden, unary_scores)
    return keras.Model([x, z], _joint_head(h, z, hidden, dropout, unary_scores), name=name)


@register_network("dcgan", "joint_discriminator")
def conv_joint_discriminator(data_shape, latent_dim, base_filters=64, hidden=(512,), dropout=0.2,
                             unary_scores=False, name="discriminator"):
    """Conv joint discriminator D(x, z): x through the DCGAN discriminator's stride-2 stages
    (LeakyReLU 0.2, dropout), z through a Dense layer, both into a shared MLP and a logit.

    Args:
        data_shape: (H, W, C) images.
        latent_dim: size of z.
        base_filters: filters of the first conv stage; later ones double.
        hidden: widths of the shared layers after the concatenation.
        dropout: dropout rate (0 for none).
        unary_scores: BigBiGAN's discriminator: besides the joint logit, a score of x alone from
            the conv features ("x_logit") and of z alone ("z_logit") from a latent path of one
            LeakyReLU layer per `hidden` width.

    Returns:
        A `keras.Model`: [x (B, H, W, C), z (B, latent_dim)] -> logit (B, 1) float32, or with
        `unary_scores` {"logit", "x_logit", "z_logit"}, each (B, 1) float32.
    """
    _check_image_shape(data_shape, "conv_joint_discriminator")
    x = keras.Input(tuple(data_shape), name="x")
    z = keras.Input((latent_dim,), name="z")
    h, filters = conv_stages(x, base_filters, dropout)
    h = layers.Flatten()(h)
    return keras.Model([x, z], _joint_head(h, z, tuple(hidden), dropout, unary_scores), name=name)


__all__ = ["mlp_latent_encoder", "conv_latent_encoder", "mlp_joint_discriminator", "conv_joint_discriminator"]
