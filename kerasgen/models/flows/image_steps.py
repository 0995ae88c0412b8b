"""Flow steps on images (H, W, C): the multi-scale pieces of RealNVP and Glow.

A multi-scale image flow, read from the data side to the noise side, is: a logit step
(dequantised pixels in [0, 1] -> R), then per scale some coupling steps (checkerboard masks),
a squeeze (space to depth), more steps (channel masks, or Glow's ActNorm -> invertible 1x1
convolution -> affine coupling), and a factor-out that sends half of the channels to the base
distribution. `Flow` reads `FactorOutStep` as "the steps listed before me (towards the noise)
see only the kept channels" and flattens what is left at the noise end, so the noise of an image
flow is one vector of H*W*C values.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from kerasgen.models.flows.bijectors import TRANSFORMS, MaskedCoupling, Squeeze, spline_param_count
from kerasgen.models.flows.steps import FlowStep, lu_bijector
from kerasgen.networks.coupling import CouplingConvNet

tfb = tfp.bijectors


def checkerboard_mask(shape, parity):
    """(H, W, C) mask, 1 where (row + column) % 2 == parity (the part passed through)."""
    h, w, c = shape
    board = (np.add.outer(np.arange(h), np.arange(w)) % 2 == parity).astype("float32")
    return np.repeat(board[:, :, None], c, axis=2)


def channel_mask(shape, parity):
    """(H, W, C) mask, 1 on the first half of the channels (parity 0) or on the second (parity 1)."""
    h, w, c = shape
    first = (np.arange(c) < c // 2).astype("float32")
    row = first if parity == 0 else 1.0 - first
    return np.broadcast_to(row, (h, w, c)).copy()


MASKS = {"checkerboard": checkerboard_mask, "channel": channel_mask}


class ImageStep(FlowStep):
    """Base class of steps on images of shape `event_shape` = (H, W, C)."""

    def __init__(self, event_shape, context_dim=0, **kwargs):
        kwargs.pop("event_dim", None)
        shape = tuple(int(d) for d in event_shape)
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(f"{type(self).__name__} works on images (H, W, C); got event_shape {event_shape}")
        super().__init__(int(np.prod(shape)), context_dim, **kwargs)
        self._image_shape = shape
        self.built = True  # weights (if any) are made in __init__; fit must not trace a call to build them

    @property
    def event_shape(self):
        return self._image_shape

    def get_config(self):
        config = super().get_config()
        config.pop("event_dim")
        return {**config, "event_shape": list(self._image_shape)}


@keras.saving.register_keras_serializable(package="kerasgen")
class LogitStep(ImageStep):
    """Logit pre-processing of dequantised pixels y in [0, 1] (Dinh et al. 2017):
    z = logit(alpha + (1 - 2 alpha) y); forward y = (sigmoid(z) - alpha) / (1 - 2 alpha).
    Its log-det enters the likelihood like any other step's.

    Args:
        event_shape: (H, W, C).
        alpha: margin that keeps the logit away from 0 and 1, in (0, 0.5).
    """

    def __init__(self, event_shape, alpha=0.05, **kwargs):
        super().__init__(event_shape, **kwargs)
        self._no_context()
        if not 0.0 < alpha < 0.5:
            raise ValueError(f"alpha must be in (0, 0.5), got {alpha}")
        self.alpha = float(alpha)

    def bijector(self, context=None, seed=None):
        return tfb.Chain([tfb.Scale(1.0 / (1.0 - 2.0 * self.alpha)), tfb.Shift(-self.alpha), tfb.Sigmoid()])

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


@keras.saving.register_keras_serializable(package="kerasgen")
class SqueezeStep(ImageStep):
    """Squeeze (H, W, C) -> (H/2, W/2, 4C) towards the noise: each 2x2 block becomes 4 channels."""

    def __init__(self, event_shape, **kwargs):
        super().__init__(event_shape, **kwargs)
        self._no_context()
        h, w, _ = self.event_shape
        if h % 2 or w % 2:
            raise ValueError(f"a squeeze needs even height and width, got {self.event_shape}")

    @property
    def latent_shape(self):
        h, w, c = self.event_shape
        return (h // 2, w // 2, 4 * c)

    def bijector(self, context=None, seed=None):
        return Squeeze()


@keras.saving.register_keras_serializable(package="kerasgen")
class FactorOutStep(ImageStep):
    """Multi-scale factor-out: channels `keep`..C leave the flow here for the standard-normal base;
    the steps listed before this one (towards the noise) see (H, W, keep).

    Args:
        event_shape: (H, W, C), C >= 2.
        keep: channels that go on (default C // 2).
    """

    def __init__(self, event_shape, keep=None, **kwargs):
        super().__init__(event_shape, **kwargs)
        self._no_context()
        c = self.event_shape[2]
        self.keep = c // 2 if keep is None else int(keep)
        if not 0 < self.keep < c:
            raise ValueError(f"a factor-out keeps between 1 and C - 1 of the {c} channels, got keep={self.keep}")

    @property
    def latent_shape(self):
        return (*self.event_shape[:2], self.keep)

    def bijector(self, context=None, seed=None):
        raise TypeError("FactorOutStep has no bijector of its own: `Flow` wraps the steps after it")

    def get_config(self):
        return {**super().get_config(), "keep": self.keep}


@keras.saving.register_keras_serializable(package="kerasgen")
class FlattenStep(ImageStep):
    """Reshape (H, W, C) -> (H*W*C,) towards the noise, so vector steps can follow an image's logit step."""

    def __init__(self, event_shape, **kwargs):
        super().__init__(event_shape, **kwargs)
        self._no_context()

    @property
    def latent_shape(self):
        return (self.event_dim,)

    def bijector(self, context=None, seed=None):
        return tfb.Reshape(event_shape_out=self.event_shape, event_shape_in=(self.event_dim,))


@keras.saving.register_keras_serializable(package="kerasgen")
class ActNormStep(ImageStep):
    """Per-channel affine step x = z * exp(log_scale) + bias (Glow's ActNorm).

    With `data_init`, the first training batch sets bias and log_scale to the mean and log standard
    deviation of the step's input, so its output starts with zero mean and unit variance per
    channel; `initialized` records it and is saved with the weights (a reloaded model is not
    initialised again). `Flow.initialize(x)` runs the initialisation explicitly.
    """

    def __init__(self, event_shape, data_init=True, **kwargs):
        super().__init__(event_shape, **kwargs)
        self._no_context()
        self.data_init = bool(data_init)
        c = self.event_shape[2]
        self.log_scale = self.add_weight(shape=(c,), initializer="zeros", name="log_scale",
                                         aggregation="only_first_replica")
        self.bias = self.add_weight(shape=(c,), initializer="zeros", name="bias", aggregation="only_first_replica")
        self.initialized = self.add_weight(shape=(), initializer="zeros", trainable=False, name="initialized",
                                           aggregation="only_first_replica")
        self.built = True

    def bijector(self, context=None, seed=None):
        return tfb.Chain([tfb.Shift(tf.convert_to_tensor(self.bias)),
                          tfb.Scale(log_scale=tf.convert_to_tensor(self.log_scale))])

    def initialize(self, x):
        """Sets bias and log_scale from a batch x (B, H, W, C) of this step's data-side input."""
        mean, variance = tf.nn.moments(tf.cast(x, tf.float32), axes=[0, 1, 2])
        self.bias.assign(mean)
        self.log_scale.assign(0.5 * tf.math.log(variance + 1e-6))
        self.initialized.assign(1.0)

    def get_config(self):
        return {**super().get_config(), "data_init": self.data_init}


def random_rotation_lu(channels, seed):
    """LU factors (packed lower_upper, permutation) of a random orthogonal (C, C) matrix, Glow's
    initialisation of the invertible 1x1 convolution (log|det| starts at 0)."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((channels, channels)))
    with tf.init_scope():
        lower_upper, permutation = tf.linalg.lu(tf.constant(q, tf.float32))
        return lower_upper.numpy(), permutation.numpy().astype("int32")


@keras.saving.register_keras_serializable(package="kerasgen")
class InvertibleConv1x1Step(ImageStep):
    """Invertible 1x1 convolution with an LU-decomposed kernel W = P L U (Glow, Kingma & Dhariwal 2018):
    every pixel's channel vector is multiplied by W (`tfb.ScaleMatvecLU`); log|det| = H W sum log|diag U|.

    Args:
        event_shape: (H, W, C).
        seed: seed of the random rotation W starts from (its permutation P stays fixed).
    """

    def __init__(self, event_shape, seed=0, **kwargs):
        super().__init__(event_shape, **kwargs)
        self._no_context()
        self.seed = int(seed)
        lower_upper, self.permutation = random_rotation_lu(self.event_shape[2], self.seed)
        self.lower_upper = self.add_weight(shape=lower_upper.shape, name="lower_upper",
                                           initializer=keras.initializers.Constant(lower_upper))
        self.built = True

    def bijector(self, context=None, seed=None):
        return lu_bijector(self.lower_upper, self.permutation)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="kerasgen")
class ImageCouplingStep(ImageStep):
    """Coupling step on images with a checkerboard or channel mask and a convolutional conditioner
    (RealNVP's masks; with a channel mask after a 1x1 convolution, Glow's affine coupling).

    Args:
        event_shape, context_dim: (H, W, C) and the context size (0: unconditional).
        mask: "checkerboard" or "channel" (needs C >= 2).
        parity: which half passes through.
        transform: "additive", "affine" or "spline".
        hidden: channels of the conditioner's hidden convolutions.
        num_bins, bound: spline bins on [-bound, bound].
    """

    def __init__(self, event_shape, mask="checkerboard", parity=0, transform="affine", hidden=64, num_bins=8,
                 bound=4.0, context_dim=0, **kwargs):
        super().__init__(event_shape, context_dim, **kwargs)
        if mask not in MASKS:
            raise ValueError(f"unknown mask {mask!r}; use {' or '.join(MASKS)}")
        if transform not in (*TRANSFORMS, "spline"):
            raise ValueError(f"unknown coupling transform {transform!r}; use additive, affine or spline")
        if mask == "channel" and self.event_shape[2] < 2:
            raise ValueError("a channel mask needs at least 2 channels (squeeze first)")
        self.mask_kind, self.parity, self.transform = mask, int(parity), transform
        self.hidden, self.num_bins, self.bound = int(hidden), int(num_bins), float(bound)
        params = spline_param_count(self.num_bins) if transform == "spline" else TRANSFORMS[transform]
        self.net = CouplingConvNet(self.event_shape[2], params, self.hidden, dtype=self.dtype_policy,
                                   name="conditioner")
        self.net.build((None, *self.event_shape), (None, self.context_dim) if self.context_dim else None)
        self.mask = MASKS[mask](self.event_shape, self.parity)
        self.built = True

    def bijector(self, context=None, seed=None):
        return MaskedCoupling(self.mask, lambda masked: self.net(masked, context), self.transform,
                              self.num_bins, self.bound, event_ndims=3)

    def get_config(self):
        return {**super().get_config(), "mask": self.mask_kind, "parity": self.parity, "transform": self.transform,
                "hidden": self.hidden, "num_bins": self.num_bins, "bound": self.bound}
