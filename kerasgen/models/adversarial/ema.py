"""An exponential moving average copy of a network's weights (the generator's, for sampling).

After each update, average <- decay * average + (1 - decay) * weights for the trainable weights;
the rest (batch-norm statistics, seed states) are copied as they are. The copy starts from the
network's weights when it is made. Its variables are tracked by the model that holds it, so they
are saved in `.keras` files and a resumed run continues the same average.

References:
    Yazici et al. 2019, The Unusual Effectiveness of Averaging in GAN Training, arXiv:1806.04498;
    Karras et al. 2018 (ProGAN) sample from such an average.
"""

from __future__ import annotations

import keras


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


def update_ema(average, network, decay: float) -> None:
    """average <- decay * average + (1 - decay) * network for trainable weights; a copy for the rest."""
    for mine, theirs in zip(average.weights, network.weights):
        if theirs.trainable:
            mine.assign(decay * mine + (1.0 - decay) * theirs)
        else:
            mine.assign(theirs)
