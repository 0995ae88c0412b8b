"""Coupling flows (NICE, RealNVP, neural spline flows and Glow's coupling): the masked part of
the input passes through and conditions an elementwise transform of the rest.

The steps (`CouplingStep` on vectors with alternating masks, `ImageCouplingStep` on images with
checkerboard or channel masks), their bijectors (`MaskedCoupling`: additive, affine, or the
rational-quadratic spline `RationalQuadratic`) and their conditioner networks (`CouplingMLP`,
`CouplingConvNet`: masked input [, context] -> per-dimension parameters).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
from keras import layers, ops

from kerasgen.models.flows.step import LOG_SCALE_BOUND, FlowStep, ImageStep

tfb = tfp.bijectors

TRANSFORMS = {"affine": 2, "additive": 1}


def alternating_mask(event_dim, parity):
    """1 on the dimensions i with i % 2 == parity (the part passed through)."""
    return (np.arange(event_dim) % 2 == parity).astype("float32")


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


def spline_param_count(num_bins: int) -> int:
    """Parameters per dimension of a rational-quadratic spline: widths, heights, inner slopes."""
    return 3 * num_bins - 1


MIN_BIN_SIZE = MIN_KNOT_SLOPE = 1e-3
# How raw parameters become bins and slopes (`rational_quadratic_spline`):
# - "softplus": bins softmax(raw) with a floor of MIN_BIN_SIZE of the interval, slopes softplus(raw) +
#   MIN_KNOT_SLOPE (Durkan et al. 2019's form; unit slopes at raw log(e - 1)).
# - "bounded": raw values pass through r / (1 + |r| / c) first (c = |log MIN_KNOT_SLOPE| / 2 for bins, so
#   two bins differ at most ~1000-fold; c = |log MIN_KNOT_SLOPE| for slopes), bins are softmax, slopes exp:
#   slopes lie in (1e-3, 1e3), a multiplicative scale the optimiser moves evenly, and raw zero is the
#   identity (zuko's form). On 2-D mixtures its runs ended within a narrower band of one another.
SPLINE_PARAMETERISATIONS = ("softplus", "bounded")


def check_parameterisation(parameterisation):
    if parameterisation not in SPLINE_PARAMETERISATIONS:
        raise ValueError(f"unknown spline parameterisation {parameterisation!r}; use softplus or bounded")
    return parameterisation


def identity_spline_params(event_dim, num_bins, parameterisation="softplus"):
    """(event_dim, 3 * num_bins - 1) raw params whose `rational_quadratic_spline` is the identity:
    equal bins and unit slopes."""
    if check_parameterisation(parameterisation) == "bounded":
        return np.zeros((event_dim, spline_param_count(num_bins)), "float32")
    raw_unit_slope = np.log(np.expm1(1.0 - MIN_KNOT_SLOPE))  # softplus(raw) + min slope = 1
    row = np.concatenate([np.zeros(2 * num_bins), np.full(num_bins - 1, raw_unit_slope)])
    return np.tile(row, (event_dim, 1)).astype("float32")


def _soft_bound(raw, limit):
    return raw / (1.0 + tf.abs(raw) / limit)


def rational_quadratic_spline(params, num_bins, bound, parameterisation="softplus"):
    """An elementwise `RationalQuadratic` spline on [-bound, bound] (identity outside) from raw
    params (..., 3 * num_bins - 1) in `parameterisation` ("softplus" or "bounded", see
    `SPLINE_PARAMETERISATIONS`); bins and slopes are kept away from zero."""
    widths, heights, slopes = tf.split(params, [num_bins, num_bins, num_bins - 1], axis=-1)
    if parameterisation == "bounded":
        limit = -np.log(MIN_KNOT_SLOPE)
        to_bins = lambda raw: tf.nn.softmax(_soft_bound(raw, limit / 2), -1) * 2 * bound
        return RationalQuadratic(to_bins(widths), to_bins(heights), tf.exp(_soft_bound(slopes, limit)), bound)
    min_size, min_slope = MIN_BIN_SIZE, MIN_KNOT_SLOPE
    to_bins = lambda raw: (tf.nn.softmax(raw, -1) * (1 - min_size * num_bins) + min_size) * 2 * bound
    return RationalQuadratic(to_bins(widths), to_bins(heights), tf.nn.softplus(slopes) + min_slope, bound)


def _knots(sizes, bound):
    """Knot positions (..., K + 1) on [-bound, bound] from bin sizes (..., K)."""
    return tf.concat([tf.zeros_like(sizes[..., :1]), tf.cumsum(sizes, axis=-1)], axis=-1) - bound


def _bin_parts(v, search, widths, heights, knot_slopes, bound):
    """The bin of each v among the x-knots (`search` "x") or the y-knots ("y"): its left x- and
    y-knots, width, height and the slopes at its two ends, each of v's shape. One one-hot product
    picks all six (they are stacked), so the graph and its gradient stay small."""
    k = widths.shape[-1]
    x_knots, y_knots = _knots(widths, bound), _knots(heights, bound)
    knots = x_knots if search == "x" else y_knots
    inside = tf.cast(v[..., None] >= knots[..., 1:k], v.dtype)  # interior knots passed
    onehot = tf.one_hot(tf.cast(tf.reduce_sum(inside, -1), tf.int32), k, dtype=v.dtype)
    ones = tf.ones_like(knot_slopes[..., :1])
    per_bin = tf.stack([x_knots[..., :k], y_knots[..., :k], widths, heights,
                        tf.concat([ones, knot_slopes], -1), tf.concat([knot_slopes, ones], -1)],
                       axis=-2)  # (..., 6, K)
    return tf.unstack(tf.reduce_sum(onehot[..., None, :] * per_bin, -1), num=6, axis=-1)


def _log_slope(xi, s, d0, d1):
    """log dy/dx of the bin's rational quadratic at relative position xi in [0, 1]."""
    t = xi * (1.0 - xi)
    return 2.0 * tf.math.log(s) + tf.math.log(d1 * xi**2 + 2.0 * s * t + d0 * (1.0 - xi) ** 2) \
        - 2.0 * tf.math.log(s + (d1 + d0 - 2.0 * s) * t)


def _spline_forward(x, widths, heights, knot_slopes, bound):
    """(y, log dy/dx): the spline inside [-bound, bound], identity and 0 outside."""
    xk, yk, w, h, d0, d1 = _bin_parts(x, "x", widths, heights, knot_slopes, bound)
    s = h / w
    xi = tf.clip_by_value((x - xk) / w, 0.0, 1.0)
    t = xi * (1.0 - xi)
    y = yk + h * (s * xi**2 + d0 * t) / (s + (d1 + d0 - 2.0 * s) * t)
    inside = tf.abs(x) < bound
    return tf.where(inside, y, x), tf.where(inside, _log_slope(xi, s, d0, d1), tf.zeros_like(x))


def _spline_inverse(y, widths, heights, knot_slopes, bound):
    """(x, log dx/dy): the spline's inverse inside [-bound, bound], identity and 0 outside. The bin of
    y among the y-knots is the bin of x among the x-knots (the spline is monotone), so the log-slope
    comes from the same bin quantities at the solved xi."""
    inside_y = tf.clip_by_value(y, -bound, bound)  # finite values (and gradients) outside
    xk, yk, w, h, d0, d1 = _bin_parts(inside_y, "y", widths, heights, knot_slopes, bound)
    s = h / w
    dy = inside_y - yk
    a = h * (s - d0) + dy * (d1 + d0 - 2.0 * s)
    b = h * d0 - dy * (d1 + d0 - 2.0 * s)
    c = -s * dy
    xi = tf.clip_by_value(2.0 * c / (-b - tf.sqrt(tf.maximum(b**2 - 4.0 * a * c, 0.0))), 0.0, 1.0)
    inside = tf.abs(y) < bound
    return tf.where(inside, xk + xi * w, y), tf.where(inside, -_log_slope(xi, s, d0, d1), tf.zeros_like(y))


class RationalQuadratic(tfb.Bijector):
    """Elementwise monotone rational-quadratic spline (Durkan et al. 2019) on [-bound, bound],
    identity outside, with unit slopes at both ends: the map of `tfb.RationalQuadraticSpline`.

    Bins are selected with one-hot masks rather than TFP's batched gathers and searchsorted, so
    the graph compiles under XLA and converts to ONNX.

    Args:
        bin_widths, bin_heights: (..., K) positive, each summing to 2 * bound.
        knot_slopes: (..., K - 1) positive slopes at the interior knots.
        bound: half-width of the interval.
    """

    def __init__(self, bin_widths, bin_heights, knot_slopes, bound, name="rational_quadratic"):
        parameters = dict(locals())
        self._widths, self._heights, self._knot_slopes = bin_widths, bin_heights, knot_slopes
        self._bound = float(bound)
        self._memo = {}  # direction -> (tensor, (value, log-det)): TFP asks for each in separate calls
        super().__init__(forward_min_event_ndims=0, validate_args=False, parameters=parameters, name=name)

    def _remember(self, direction, v, compute):
        memo = self._memo.get(direction)
        if memo is None or memo[0] is not v:
            memo = self._memo[direction] = (v, compute(v, self._widths, self._heights, self._knot_slopes,
                                                      self._bound))
        return memo[1]

    def _forward_parts(self, x):
        """(y, log dy/dx), computed once per tensor x."""
        return self._remember("forward", x, _spline_forward)

    def _inverse_parts(self, y):
        """(x, log dx/dy), computed once per tensor y; the forward log-det at that x comes with it."""
        x, log_dx = self._remember("inverse", y, _spline_inverse)
        self._memo["forward"] = (x, (y, -log_dx))  # TFP's density asks for the forward log-det at x next
        return x, log_dx

    def _forward(self, x):
        return self._forward_parts(x)[0]

    def _forward_log_det_jacobian(self, x):
        return self._forward_parts(x)[1]

    def _inverse(self, y):
        return self._inverse_parts(y)[0]

    def _inverse_log_det_jacobian(self, y):
        return self._inverse_parts(y)[1]


def _sum_event(t, event_ndims):
    return tf.reduce_sum(t, axis=list(range(-event_ndims, 0))) if event_ndims else t


class MaskedCoupling(tfb.Bijector):
    """x = m * z + (1 - m) * g(z; theta(m * z)): the masked part conditions an elementwise
    transform g of the rest (Dinh et al. 2015 additive, 2017 affine; Durkan et al. 2019 spline).

    Args:
        mask: 0/1 tensor of the event shape; 1 = passed through and conditioned on.
        conditioner: callable (masked input of the event shape) -> params (..., *event, P),
            P = 2 (affine: shift, log-scale), 1 (additive) or 3 * num_bins - 1 (spline).
        transform: "affine", "additive" or "spline".
        num_bins, bound: the spline's bins and half-width.
        event_ndims: 1 for vectors, 3 for images.
        parameterisation: spline only; how raw parameters become bins and slopes
            (`SPLINE_PARAMETERISATIONS`).
        passthrough_params: spline only; raw spline params (*event, P) of an unconditional spline on
            the masked part, or None (the masked part passes through unchanged). With them the step
            is x_m = s(z_m), x_r = g(z_r; theta(x_m)): the conditioner reads the masked part's
            output, so the density direction evaluates one spline over every dimension (the masked
            part's rows of the parameters are these, the rest the conditioner's); sampling runs
            the masked part's spline first. In 2-D with alternating masks this is an
            autoregressive spline flow whose first dimension gets an unconditional spline.
    """

    def __init__(self, mask, conditioner, transform="affine", num_bins=8, bound=3.0, event_ndims=1,
                 passthrough_params=None, parameterisation="softplus", name="masked_coupling"):
        parameters = dict(locals())
        if passthrough_params is not None and transform != "spline":
            raise ValueError(f"a spline on the passed-through part needs the spline transform, not {transform!r}")
        self._mask = tf.cast(mask, tf.float32)
        self._conditioner = conditioner
        self._transform = transform
        self._num_bins, self._bound = num_bins, bound
        self._passthrough = passthrough_params
        self._parameterisation = check_parameterisation(parameterisation)
        self._memo = self._inverted = self._sampled = None
        super().__init__(forward_min_event_ndims=event_ndims, is_constant_jacobian=transform == "additive",
                         validate_args=False, parameters=parameters, name=name)

    def _elementwise(self, conditioned_on):
        # TFP asks for the transform and its log-det in separate calls on the same tensor:
        # run the conditioner once per tensor
        if self._memo is not None and self._memo[0] is conditioned_on:
            return self._memo[1]
        params = self._conditioner(conditioned_on * self._mask)
        # unstack / squeeze rather than params[..., i]: the gradient of a strided slice writes each
        # parameter into a zero tensor of the full shape (a seventh of Glow's step on a CPU)
        if self._transform == "additive":
            g = tfb.Shift(tf.squeeze(params, axis=-1))
        elif self._transform == "affine":
            shift, raw_log_scale = tf.unstack(params, num=2, axis=-1)
            log_scale = LOG_SCALE_BOUND * tf.tanh(raw_log_scale / LOG_SCALE_BOUND)
            g = tfb.Chain([tfb.Shift(shift), tfb.Scale(log_scale=log_scale)])
        else:
            if self._passthrough is not None:  # the masked rows: the unconditional spline's own params
                keep = self._mask[..., None]
                params = keep * tf.cast(self._passthrough, params.dtype) + (1 - keep) * params
            g = rational_quadratic_spline(params, self._num_bins, self._bound, self._parameterisation)
        self._memo = (conditioned_on, g)
        return g

    def _passthrough_output(self, z):
        """The masked part of x: z itself, or its unconditional spline s(z_m) (once per tensor z)."""
        if self._passthrough is None:
            return z
        if self._sampled is None or self._sampled[0] is not z:
            spline = rational_quadratic_spline(tf.cast(self._passthrough, z.dtype), self._num_bins, self._bound,
                                               self._parameterisation)
            self._sampled = (z, spline.forward(z))
        return self._sampled[1]

    def _forward(self, z):
        g = self._elementwise(self._passthrough_output(z))  # theta reads m * x
        if self._passthrough is not None:  # g's masked rows are the unconditional spline
            return g.forward(z)
        return self._mask * z + (1 - self._mask) * g.forward(z)

    def _inverse(self, x):
        g = self._elementwise(x)  # m * x == m * z without a passthrough spline
        z = g.inverse(x)
        if self._passthrough is None:
            z = self._mask * x + (1 - self._mask) * z
        self._inverted = (z, x)  # TFP's density asks for forward_log_det_jacobian(z) next
        return z

    def _transformed(self):
        """Which dimensions carry a log-det: all with a passthrough spline, else the unmasked ones."""
        return 1.0 if self._passthrough is not None else 1 - self._mask

    def _forward_log_det_jacobian(self, z):
        if self._inverted is not None and self._inverted[0] is z:  # from the inverse's own bins, no second pass
            return -self._inverse_log_det_jacobian(self._inverted[1])
        g = self._elementwise(self._passthrough_output(z))
        return _sum_event(self._transformed() * g.forward_log_det_jacobian(z, event_ndims=0),
                          self.forward_min_event_ndims)

    def _inverse_log_det_jacobian(self, x):
        g = self._elementwise(x)
        return _sum_event(self._transformed() * g.inverse_log_det_jacobian(x, event_ndims=0),
                          self.forward_min_event_ndims)


@keras.saving.register_keras_serializable(package="kerasgen")
class CouplingMLP(keras.layers.Layer):
    """MLP x (B, D) [, context (B, C)] -> params (B, D, num_params), the last layer starting at zero
    (so the coupling starts as the identity).

    Args:
        event_dim: D.
        num_params: parameters per dimension.
        hidden: widths of the ReLU hidden layers.
    """

    def __init__(self, event_dim, num_params, hidden=(64, 64), **kwargs):
        super().__init__(**kwargs)
        self.event_dim, self.num_params, self.hidden = int(event_dim), int(num_params), tuple(hidden)
        self.dense = [layers.Dense(w, activation="relu", dtype=self.dtype_policy, name=f"dense_{i}") for i, w in enumerate(self.hidden)]
        self.out = layers.Dense(self.event_dim * self.num_params, kernel_initializer="zeros",
                                  dtype=self.dtype_policy, name="out")

    def build(self, input_shape, context_shape=None):
        width = input_shape[-1] + (context_shape[-1] if context_shape else 0)
        for layer in self.dense:
            layer.build((None, width))
            width = layer.units
        self.out.build((None, width))
        self.built = True

    def call(self, x, context=None):
        h = x if context is None else ops.concatenate([x, ops.cast(context, x.dtype)], axis=-1)
        for layer in self.dense:
            h = layer(h)
        return ops.reshape(self.out(h), (-1, self.event_dim, self.num_params))

    def get_config(self):
        return {**super().get_config(), "event_dim": self.event_dim, "num_params": self.num_params,
                "hidden": list(self.hidden)}


@keras.saving.register_keras_serializable(package="kerasgen")
class CouplingConvNet(keras.layers.Layer):
    """Convolutional conditioner of image coupling steps: masked image (B, H, W, C) [, context (B, K)]
    -> params (B, H, W, C, num_params). A 3x3 ReLU conv, a 1x1 ReLU conv and a zero-initialised
    3x3 output conv (so the coupling starts as the identity), as in Glow's coupling network.
    The context is broadcast over the pixels and joins the input as extra channels.

    Args:
        channels: C of the images.
        num_params: parameters per value.
        hidden: channels of the hidden convolutions.
    """

    def __init__(self, channels, num_params, hidden=64, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.num_params, self.hidden = int(channels), int(num_params), int(hidden)
        self.convs = [layers.Conv2D(self.hidden, 3, padding="same", activation="relu", dtype=self.dtype_policy,
                                    name="conv_in"),
                      layers.Conv2D(self.hidden, 1, activation="relu", dtype=self.dtype_policy, name="conv_mid")]
        self.out = layers.Conv2D(self.channels * self.num_params, 3, padding="same", kernel_initializer="zeros",
                                 dtype=self.dtype_policy, name="conv_out")

    def build(self, input_shape, context_shape=None):
        width = input_shape[-1] + (context_shape[-1] if context_shape else 0)
        for conv in self.convs:
            conv.build((None, None, None, width))
            width = conv.filters
        self.out.build((None, None, None, width))
        self.built = True

    def call(self, x, context=None):
        h = x
        if context is not None:
            context = ops.cast(context, x.dtype)[:, None, None, :]
            h = ops.concatenate([x, ops.broadcast_to(context, (*ops.shape(x)[:3], ops.shape(context)[-1]))], axis=-1)
        for conv in self.convs:
            h = conv(h)
        out = self.out(h)
        return ops.reshape(out, (*ops.shape(x)[:3], self.channels, self.num_params))

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "num_params": self.num_params,
                "hidden": self.hidden}


@keras.saving.register_keras_serializable(package="kerasgen")
class CouplingStep(FlowStep):
    """Coupling step with an alternating mask: "additive" (NICE), "affine" (RealNVP) or
    "spline" (rational-quadratic, neural spline flows), conditioned by an MLP.

    Args:
        event_dim, context_dim: as in `FlowStep`.
        parity: which half (even or odd dimensions) passes through.
        transform: "additive", "affine" or "spline".
        hidden: widths of the conditioner MLP.
        num_bins, bound: spline bins on [-bound, bound] (identity outside).
        passthrough_spline: spline only; the passed-through half gets a learned unconditional spline
            (starting as the identity) and the conditioner reads its output (`MaskedCoupling`'s
            `passthrough_params`): every dimension changes in every step at the cost of one spline
            in the density direction.
        parameterisation: spline only; "softplus" or "bounded" (`SPLINE_PARAMETERISATIONS`).
    """

    def __init__(self, event_dim, parity=0, transform="affine", hidden=(64, 64), num_bins=8, bound=4.0,
                 context_dim=0, passthrough_spline=False, parameterisation="softplus", **kwargs):
        super().__init__(event_dim, context_dim, **kwargs)
        if transform not in (*TRANSFORMS, "spline"):
            raise ValueError(f"unknown coupling transform {transform!r}; use additive, affine or spline")
        if self.event_dim < 2:
            raise ValueError("coupling steps need at least 2 dimensions")
        self.parity, self.transform, self.hidden = int(parity), transform, tuple(hidden)
        self.num_bins, self.bound = int(num_bins), float(bound)
        params = spline_param_count(self.num_bins) if transform == "spline" else TRANSFORMS[transform]
        self.net = CouplingMLP(self.event_dim, params, self.hidden, dtype=self.dtype_policy, name="conditioner")
        self.net.build((None, self.event_dim), (None, self.context_dim) if self.context_dim else None)
        self.mask = alternating_mask(self.event_dim, self.parity)
        self.passthrough_spline = bool(passthrough_spline)
        self.parameterisation = check_parameterisation(parameterisation)
        self.passthrough = None
        if self.passthrough_spline:
            if transform != "spline":
                raise ValueError(f"passthrough_spline needs transform='spline', not {transform!r}")
            # rows of the transformed half are unused (the conditioner's parameters replace them)
            self.passthrough = self.add_weight(shape=(self.event_dim, params), initializer="zeros",
                                               name="passthrough_spline")
            self.passthrough.assign(identity_spline_params(self.event_dim, self.num_bins, self.parameterisation))
        self.built = True

    def bijector(self, context=None, seed=None):
        passthrough = None if self.passthrough is None else tf.convert_to_tensor(self.passthrough)
        return MaskedCoupling(self.mask, lambda masked: self.net(masked, context), self.transform,
                              self.num_bins, self.bound, event_ndims=1, passthrough_params=passthrough,
                              parameterisation=self.parameterisation)

    def get_config(self):
        return {**super().get_config(), "parity": self.parity, "transform": self.transform,
                "hidden": list(self.hidden), "num_bins": self.num_bins, "bound": self.bound,
                "passthrough_spline": self.passthrough_spline, "parameterisation": self.parameterisation}


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
        parameterisation: spline only; "softplus" or "bounded" (`SPLINE_PARAMETERISATIONS`).
    """

    def __init__(self, event_shape, mask="checkerboard", parity=0, transform="affine", hidden=64, num_bins=8,
                 bound=4.0, context_dim=0, parameterisation="softplus", **kwargs):
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
        self.parameterisation = check_parameterisation(parameterisation)
        self.built = True

    def bijector(self, context=None, seed=None):
        return MaskedCoupling(self.mask, lambda masked: self.net(masked, context), self.transform,
                              self.num_bins, self.bound, event_ndims=3, parameterisation=self.parameterisation)

    def get_config(self):
        return {**super().get_config(), "mask": self.mask_kind, "parity": self.parity, "transform": self.transform,
                "hidden": self.hidden, "num_bins": self.num_bins, "bound": self.bound,
                "parameterisation": self.parameterisation}
