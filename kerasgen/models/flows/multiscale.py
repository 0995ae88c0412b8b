"""The multi-scale pieces of image flows (RealNVP, Glow): the logit, squeeze, factor-out and
flatten steps, with the `Squeeze` and `FactorOut` bijectors.

A multi-scale image flow, read from the data side to the noise side, is: a logit step
(dequantised pixels in [0, 1] -> R), then per scale some coupling steps (checkerboard masks),
a squeeze (space to depth), more steps (channel masks, or Glow's ActNorm -> invertible 1x1
convolution -> affine coupling), and a factor-out that sends half of the channels to the base
distribution. `Flow` reads `FactorOutStep` as "the steps listed before me (towards the noise)
see only the kept channels" and flattens what is left at the noise end, so the noise of an image
flow is one vector of H*W*C values. The coupling steps live in `coupling.py`, ActNorm and the
invertible 1x1 convolution in `linear.py`.
"""

from __future__ import annotations

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from kerasgen.models.flows.step import ImageStep

tfb = tfp.bijectors


class Squeeze(tfb.Bijector):
    """Space-to-depth reshuffle of images: forward (H/2, W/2, 4C) -> (H, W, C) (`tf.nn.depth_to_space`),
    inverse (H, W, C) -> (H/2, W/2, 4C). Volume preserving (log-det 0); H and W must be even."""

    def __init__(self, name="squeeze"):
        parameters = dict(locals())
        super().__init__(forward_min_event_ndims=3, is_constant_jacobian=True, validate_args=False,
                         parameters=parameters, name=name)

    @staticmethod
    def _batched(t, fn):
        batch = tf.shape(t)[:-3]
        flat = fn(tf.reshape(t, tf.concat([[-1], tf.shape(t)[-3:]], 0)), 2)
        return tf.reshape(flat, tf.concat([batch, tf.shape(flat)[1:]], 0))

    def _forward(self, z):
        return self._batched(z, tf.nn.depth_to_space)

    def _inverse(self, x):
        return self._batched(x, tf.nn.space_to_depth)

    def _forward_log_det_jacobian(self, z):
        return tf.zeros([], z.dtype)

    @staticmethod
    def _scaled(shape, factors):
        if shape.rank is None:
            return shape
        return tf.TensorShape([*shape[:-3], *(None if d is None else int(d * f) for d, f in zip(shape[-3:], factors))])

    def _forward_event_shape(self, shape):
        return self._scaled(shape, (2, 2, 0.25))

    def _inverse_event_shape(self, shape):
        return self._scaled(shape, (0.5, 0.5, 4))

    def _forward_event_shape_tensor(self, shape):
        return tf.concat([shape[:-3], shape[-3:-1] * 2, shape[-1:] // 4], 0)

    def _inverse_event_shape_tensor(self, shape):
        return tf.concat([shape[:-3], shape[-3:-1] // 2, shape[-1:] * 4], 0)


class FactorOut(tfb.Bijector):
    """Multi-scale factor-out (Dinh et al. 2017): forward maps a flat noise vector (D,) to an image
    (H, W, C). The first H*W*keep entries go through `inner` (a bijector from flat noise to
    (H, W, keep)); the rest are the factored-out channels keep..C, reshaped as they are.
    Inversely, channels keep..C leave the flow here (they are modelled by the standard-normal
    base) and only the first `keep` channels go on through `inner`.

    Args:
        inner: bijector flat (H*W*keep,) -> (H, W, keep).
        shape: (H, W, C) of the image side.
        keep: channels that go on through `inner`.
    """

    def __init__(self, inner, shape, keep, name="factor_out"):
        parameters = dict(locals())
        self._inner, self._shape, self._keep = inner, tuple(int(d) for d in shape), int(keep)
        h, w, c = self._shape
        self._inner_size, self._size = h * w * self._keep, h * w * c
        self._memo = None
        super().__init__(forward_min_event_ndims=1, inverse_min_event_ndims=3, validate_args=False,
                         parameters=parameters, name=name)

    def _split_image(self, x):
        if self._memo is not None and self._memo[0] is x:  # one slice per tensor keeps TFP's caches hitting
            return self._memo[1]
        parts = (x[..., :self._keep], x[..., self._keep:])
        self._memo = (x, parts)
        return parts

    def _forward(self, z):
        h1 = self._inner.forward(z[..., :self._inner_size])
        h, w, c = self._shape
        h2 = tf.reshape(z[..., self._inner_size:], tf.concat([tf.shape(z)[:-1], [h, w, c - self._keep]], 0))
        return tf.concat([h1, h2], axis=-1)

    def _inverse(self, x):
        x1, x2 = self._split_image(x)
        z1 = self._inner.inverse(x1)
        return tf.concat([z1, tf.reshape(x2, tf.concat([tf.shape(x)[:-3], [-1]], 0))], axis=-1)

    def _forward_log_det_jacobian(self, z):
        return self._inner.forward_log_det_jacobian(z[..., :self._inner_size], event_ndims=1)

    def _inverse_log_det_jacobian(self, x):
        return self._inner.inverse_log_det_jacobian(self._split_image(x)[0], event_ndims=3)

    def _forward_event_shape(self, shape):
        return shape[:-1].concatenate(self._shape)

    def _inverse_event_shape(self, shape):
        return shape[:-3].concatenate([self._size])

    def _forward_event_shape_tensor(self, shape):
        return tf.concat([shape[:-1], self._shape], 0)

    def _inverse_event_shape_tensor(self, shape):
        return tf.concat([shape[:-3], [self._size]], 0)


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
