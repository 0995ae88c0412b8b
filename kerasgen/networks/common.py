"""Pieces shared by the network builders: label inputs, output heads, spectral norm, batch norm."""

from __future__ import annotations

import math

import keras
from keras import layers


#: Momentum of the moving mean and variance of every BatchNormalization the builders make. 0.9 is the
#: papers' (their PyTorch code's momentum 0.1 weighs the new batch as Keras' 0.9 does). With Keras' default
#: 0.99 the moving statistics that inference uses still carried a third of their initial values after an
#: epoch of 110 steps: SRResNet's 4x super-resolution of MNIST after those steps scored 9.7 dB PSNR
#: instead of 16.4 dB, and the conv-vae's negative test ELBO on MNIST after 218 steps was 181.7 nats
#: instead of 130.4 (the same networks in PyTorch: 129.5).
BATCH_NORM_MOMENTUM = 0.9


def batch_norm_layer(**kwargs):
    """A `keras.layers.BatchNormalization` with `BATCH_NORM_MOMENTUM` (other arguments as Keras')."""
    return layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM, **kwargs)


def check_spectral_gain(spectral_norm: bool, spectral_gain) -> float:
    """`spectral_gain` as a float; one clear ValueError when it is not finite and positive, or set without
    `spectral_norm`."""
    gain = float(spectral_gain)
    if not (math.isfinite(gain) and gain > 0):
        raise ValueError(f"spectral_gain must be a finite number > 0, got {spectral_gain}")
    if gain != 1.0 and not spectral_norm:
        raise ValueError(f"spectral_gain={spectral_gain} scales spectrally normalised layers; pass spectral_norm=True "
                         "with it")
    return gain


def maybe_spectral(layer, spectral_norm: bool, gain: float = 1.0):
    """`layer`, or a callable h -> gain * SN(layer)(h) when `spectral_norm`.

    Keras' `SpectralNormalization` divides the kernel by its largest singular value (one power iteration
    per training step, so the estimate converges over steps), so the layer is 1-Lipschitz; a `gain` other
    than 1 follows it with `Rescaling(gain)`: gain * (W / sigma(W) h + b), at most `gain`-Lipschitz (Gouk
    et al. 2021's per-layer bound). Both wrappers compute in the layer's dtype policy, so a float32 head
    stays float32 under mixed precision.
    """
    if not spectral_norm:
        return layer
    normalised = layers.SpectralNormalization(layer, dtype=layer.dtype_policy)  # float32 heads stay float32
    if gain == 1.0:
        return normalised
    scale = layers.Rescaling(gain, dtype=layer.dtype_policy, name=f"{layer.name}_gain")
    return lambda h, **kwargs: scale(normalised(h, **kwargs))


def label_input():
    """An int32 label input of shape (B,)."""
    return keras.Input(shape=(), dtype="int32", name="labels")


def latent_with_labels(z, num_classes: int, embed_dim: int = 32):
    """Concatenates z with a learned embedding of the labels; returns (inputs, h)."""
    labels = label_input()
    emb = layers.Embedding(num_classes, embed_dim, name="label_embedding")(labels)
    return [z, labels], layers.Concatenate()([z, emb])


def image_with_labels(x, num_classes: int, data_shape):
    """Appends a learned per-label map as an extra channel (or feature block)."""
    labels = label_input()
    size = math.prod(data_shape[:-1]) if len(data_shape) == 3 else min(32, 4 * num_classes)
    emb = layers.Embedding(num_classes, size, name="label_embedding")(labels)
    if len(data_shape) == 3:
        emb = layers.Reshape((*data_shape[:-1], 1))(emb)
        return [x, labels], layers.Concatenate(axis=-1)([x, emb])
    flat = layers.Flatten()(x) if len(data_shape) > 1 else x
    return [x, labels], layers.Concatenate()([flat, emb])


def discriminator_heads(h, num_classes=None, categorical_codes=(), continuous_codes=0,
                        spectral_norm=False, spectral_gain=1.0):
    """Output heads on shared features `h` (B, F).

    Returns the logit (B, 1) alone when there is no auxiliary head, else a dict
    with "logit" and, as asked, "class_logits" (B, num_classes), "code_logits"
    (B, sum(categorical_codes)) and "code_mean" (B, continuous_codes). Heads are
    float32 so mixed-precision losses stay accurate.
    """
    dense = lambda units, name: maybe_spectral(layers.Dense(units, dtype="float32", name=name), spectral_norm,
                                               spectral_gain)
    logit = dense(1, "logit")(h)
    outputs = {"logit": logit}
    if num_classes:
        outputs["class_logits"] = layers.Dense(num_classes, dtype="float32", name="class_logits")(h)
    if categorical_codes or continuous_codes:
        q = layers.Dense(128, name="q_hidden")(h)
        q = layers.LeakyReLU(0.2)(q)
        if categorical_codes:
            outputs["code_logits"] = layers.Dense(sum(categorical_codes), dtype="float32", name="code_logits")(q)
        if continuous_codes:
            outputs["code_mean"] = layers.Dense(continuous_codes, dtype="float32", name="code_mean")(q)
    return outputs if len(outputs) > 1 else logit
