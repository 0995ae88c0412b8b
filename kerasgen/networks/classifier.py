"""Classifier discriminators for the semi-supervised GAN: x -> class logits and features.

Contract: x (B, *data_shape) -> {"class_logits": (B, K) or (B, K + 1), "features": (B, F)}, both
float32; "features" is the last hidden layer, the one the generator's feature matching reads.

References:
    Salimans et al. 2016, "Improved Techniques for Training GANs", arXiv:1606.03498 (the MNIST
    discriminator: Gaussian noise of std 0.3 on the input and 0.5 after each hidden layer).
"""

from __future__ import annotations

import keras
from keras import layers

from kerasgen.layers.conv import Conv2D
from kerasgen.layers.weight_norm import WeightNormDense
from kerasgen.networks.joint import conv_stages
from kerasgen.registry import register_network


def _heads(h, features, num_logits, weight_norm=False):
    head = (WeightNormDense(num_logits, train_scale=True, dtype="float32", name="class_logits") if weight_norm
            else layers.Dense(num_logits, dtype="float32", name="class_logits"))
    return {"class_logits": head(h),
            "features": layers.Activation("linear", dtype="float32", name="features")(features)}


@register_network("mlp", "classifier")
def mlp_classifier(data_shape, num_classes, hidden=(1000, 500, 250, 250, 250), input_noise=0.3, hidden_noise=0.5,
                   fake_class=False, weight_norm=False, name="discriminator"):
    """MLP classifier discriminator with Gaussian noise layers (active in training only).

    Args:
        data_shape: shape of one example (images are flattened).
        num_classes: K, the number of real classes.
        hidden: widths of the ReLU hidden layers.
        input_noise: std of the Gaussian noise added to the input (0 for none).
        hidden_noise: std of the noise added after each hidden layer (0 for none).
        fake_class: K + 1 logits, the last the "generated" class; else K.
        weight_norm: `kerasgen.layers.WeightNormDense` layers as in Salimans et al.'s code: the
            hidden layers' scales fixed at their data-dependent initialisation
            (`kerasgen.layers.initialize_weight_norm`), the logits' scale learned.

    Returns:
        A `keras.Model`: x (B, *data_shape) -> {"class_logits": (B, K [+ 1]), "features": (B,
        hidden[-1])} float32; "features" is the last hidden layer before its noise.
    """
    x = keras.Input(tuple(data_shape), name="x")
    h = layers.Flatten()(x) if len(data_shape) > 1 else x
    if input_noise:
        h = layers.GaussianNoise(input_noise)(h)
    features = h
    for i, width in enumerate(hidden):
        dense = (WeightNormDense(width, activation="relu", train_scale=False, name=f"dense_{i}") if weight_norm
                 else layers.Dense(width, activation="relu", name=f"dense_{i}"))
        h = features = dense(h)
        if hidden_noise:
            h = layers.GaussianNoise(hidden_noise)(h)
    return keras.Model(x, _heads(h, features, num_classes + bool(fake_class), weight_norm), name=name)


@register_network("dcgan", "classifier")
def conv_classifier(data_shape, num_classes, base_filters=64, dropout=0.2, fake_class=False, name="discriminator"):
    """Conv classifier discriminator: the DCGAN discriminator's stride-2 stages (LeakyReLU 0.2,
    dropout), a 3x3 conv, global average pooling as the features, then the class logits.

    Args:
        data_shape: (H, W, C) images.
        num_classes: K, the number of real classes.
        base_filters: filters of the first stage; later ones double.
        dropout: dropout rate after each stage.
        fake_class: K + 1 logits, the last the "generated" class; else K.

    Returns:
        A `keras.Model`: x (B, H, W, C) -> {"class_logits": (B, K [+ 1]), "features": (B, F)} float32.
    """
    if len(data_shape) != 3:
        raise ValueError(f"conv_classifier needs image data (H, W, C), got data_shape {tuple(data_shape)}")
    x = keras.Input(tuple(data_shape), name="x")
    h, filters = conv_stages(x, base_filters, dropout)
    h = Conv2D(filters, 3, padding="same", name="conv_out")(h)
    h = layers.LeakyReLU(0.2)(h)
    features = layers.GlobalAveragePooling2D()(h)
    return keras.Model(x, _heads(features, features, num_classes + bool(fake_class)), name=name)


__all__ = ["mlp_classifier", "conv_classifier"]
