"""An exponential moving average copy of a network's weights (the generator's, for sampling).

After the t-th update, average <- d_t * average + (1 - d_t) * weights for the trainable weights,
with d_t = min(decay, (1 + t) / (10 + t)): the warm-up of `tf.train.ExponentialMovingAverage`'s
`num_updates`, so that a short run's average is not mostly the initial weights (at decay 0.99, d_t
reaches the decay after about 900 updates). The rest (batch-norm statistics, seed states) are copied
as they are. The copy starts from the network's weights when it is made. Its variables are tracked by
the model that holds it, so they are saved in `.keras` files and a resumed run continues the same
average.

References:
    Yazici et al. 2019, The Unusual Effectiveness of Averaging in GAN Training, arXiv:1806.04498;
    Karras et al. 2018 (ProGAN) sample from such an average.
"""

from __future__ import annotations

import keras


def check_decay(decay):
    """`decay` as a float, or None; raises ValueError unless it is None or lies in [0, 1)."""
    if decay is None:
        return None
    decay = float(decay)
    if not 0.0 <= decay < 1.0:
        raise ValueError(f"ema_decay must lie in [0, 1), got {decay}")
    return decay


def ema_copy(network):
    """A non-trainable copy of `network` (same architecture and weights).

    Raises:
        ValueError: a network Keras cannot clone (a subclassed model without `get_config`).
    """
    try:
        copy = keras.models.clone_model(network)
    except Exception as error:  # noqa: BLE001 - Keras raises several types for an unclonable model
        raise ValueError(f"ema_decay needs a generator Keras can clone (functional, Sequential, or a subclass "
                         f"with get_config/from_config): {error}") from error
    if not copy.built or len(copy.weights) != len(network.weights):
        raise ValueError("ema_decay: the generator's copy does not have the generator's weights")
    for mine, theirs in zip(copy.weights, network.weights):
        if tuple(mine.shape) != tuple(theirs.shape):
            raise ValueError(f"ema_decay: the generator's copy does not match it ({mine.path} {mine.shape} vs "
                             f"{theirs.path} {theirs.shape})")
        mine.assign(theirs)
    copy.trainable = False
    return copy


def warmed_up_decay(decay: float, updates):
    """d_t = min(decay, (1 + t) / (10 + t)) after `updates` = t updates (a tensor or a number)."""
    updates = keras.ops.cast(updates, "float32")
    return keras.ops.minimum(decay, (1.0 + updates) / (10.0 + updates))


def update_ema(average, network, decay: float, updates) -> None:
    """average <- d_t * average + (1 - d_t) * network for trainable weights, d_t the warmed-up decay
    after `updates` updates of `network`; a copy for the rest."""
    d = warmed_up_decay(decay, updates)
    for mine, theirs in zip(average.weights, network.weights):
        if theirs.trainable:
            mine.assign(keras.ops.cast(d, mine.dtype) * mine + keras.ops.cast(1.0 - d, mine.dtype) * theirs)
        else:
            mine.assign(theirs)
