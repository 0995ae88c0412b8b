"""What the discriminator builders add for the GAN step's options against mode collapse.

- `pack=m` (PacGAN): the input takes m examples concatenated on the last axis (channels of images,
  features of vectors): `packed_shape`.
- `minibatch_stddev`: a `kerasgen.layers.MinibatchStdDev` near the end of the network.
- `minibatch_discrimination=B`: a `kerasgen.layers.MinibatchDiscrimination` with B kernels on the
  final features, before the heads.
- `features=True`: a "features" output (the final hidden features, before minibatch
  discrimination) for feature matching.
"""

from __future__ import annotations

import keras

from kerasgen.layers.minibatch import MinibatchDiscrimination


def packed_shape(data_shape, pack: int) -> tuple:
    """Shape of one packed example: (..., C) -> (..., C * pack)."""
    data_shape = tuple(int(s) for s in data_shape)
    return (*data_shape[:-1], data_shape[-1] * int(pack))


def check_pack(pack: int, label_input_classes=None) -> int:
    """`pack` as an int >= 1; raises ValueError for a bad value or packed labelled input."""
    if int(pack) < 1:
        raise ValueError(f"pack must be >= 1, got {pack}")
    if int(pack) > 1 and label_input_classes:
        raise ValueError("pack > 1 cannot be combined with labels to the discriminator (cGAN): a packed example "
                         "holds several examples with different labels")
    return int(pack)


def with_options(h_features, heads_fn, minibatch_discrimination=0, features=False):
    """The discriminator's outputs from its final features (B, F).

    Args:
        h_features: the final hidden features (B, F).
        heads_fn: features -> the heads (`kerasgen.networks.common.discriminator_heads` with its
            arguments bound): a logit tensor or a dict with "logit".
        minibatch_discrimination: number of minibatch-discrimination kernels (0: none) between the
            features and the heads.
        features: also return "features" (the input `h_features`, float32).

    Returns:
        What `heads_fn` returns, or, with `features`, a dict of its heads plus "features".
    """
    h = h_features
    if minibatch_discrimination:
        h = MinibatchDiscrimination(int(minibatch_discrimination), name="minibatch_discrimination")(h)
    out = heads_fn(h)
    if not features:
        return out
    heads = dict(out) if isinstance(out, dict) else {"logit": out}
    heads["features"] = keras.layers.Activation("linear", dtype="float32", name="features")(h_features)
    return heads
