"""TFP bijectors that TFP lacks: masked coupling (affine / additive / spline), planar, radial,
leaky ReLU, and the multi-scale pieces of image flows (squeeze, factor-out).

Each follows the `tfp.bijectors.Bijector` contract (forward z -> x, inverse, log-det
Jacobians over the event) and takes its parameters as tensors or callables, so the
weights live in Keras 3 layers that the model tracks (see `steps.py`).
"""

from __future__ import annotations

import math

import tensorflow as tf
import tensorflow_probability as tfp

tfb = tfp.bijectors

TRANSFORMS = {"affine": 2, "additive": 1}
LOG_SCALE_BOUND = 3.0


def spline_param_count(num_bins: int) -> int:
    """Parameters per dimension of a rational-quadratic spline: widths, heights, inner slopes."""
    return 3 * num_bins - 1


def rational_quadratic_spline(params, num_bins, bound):
    """An elementwise `RationalQuadratic` spline on [-bound, bound] (identity outside) from raw
    params (..., 3 * num_bins - 1); bins and slopes are kept away from zero."""
    widths, heights, slopes = tf.split(params, [num_bins, num_bins, num_bins - 1], axis=-1)
    min_size, min_slope = 1e-3, 1e-3
    to_bins = lambda raw: (tf.nn.softmax(raw, -1) * (1 - min_size * num_bins) + min_size) * 2 * bound
    return RationalQuadratic(to_bins(widths), to_bins(heights), tf.nn.softplus(slopes) + min_slope, bound)


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
        self._widths, self._heights = bin_widths, bin_heights
        ones = tf.ones_like(knot_slopes[..., :1])
        self._slopes = tf.concat([ones, knot_slopes, ones], axis=-1)  # (..., K + 1) with the boundary slopes
        self._bound = float(bound)
        self._x_knots, self._y_knots = self._knots(bin_widths), self._knots(bin_heights)
        self._memo = {}  # direction -> (tensor, (value, log-det)): TFP asks for each in separate calls
        super().__init__(forward_min_event_ndims=0, validate_args=False, parameters=parameters, name=name)

    def _knots(self, sizes):
        return tf.concat([tf.zeros_like(sizes[..., :1]), tf.cumsum(sizes, axis=-1)], axis=-1) - self._bound

    def _bin(self, v, knots):
        """Per-bin quantities at the bin of each v: one-hot over the K bins of `knots` (..., K + 1)."""
        k = self._widths.shape[-1]
        inside = tf.cast(v[..., None] >= knots[..., 1:k], v.dtype)  # interior knots passed
        onehot = tf.one_hot(tf.cast(tf.reduce_sum(inside, -1), tf.int32), k, dtype=v.dtype)
        pick = lambda a: tf.reduce_sum(onehot * a, -1)
        return (pick(self._x_knots[..., :k]), pick(self._y_knots[..., :k]), pick(self._widths),
                pick(self._heights), pick(self._slopes[..., :k]), pick(self._slopes[..., 1:]))

    def _remember(self, direction, v, compute):
        memo = self._memo.get(direction)
        if memo is None or memo[0] is not v:
            memo = self._memo[direction] = (v, compute(v))
        return memo[1]

    def _forward_parts(self, x):
        """(y, log dy/dx): the spline inside the interval, identity and 0 outside."""
        def compute(x):
            xk, yk, w, h, d0, d1 = self._bin(x, self._x_knots)
            s = h / w
            xi = tf.clip_by_value((x - xk) / w, 0.0, 1.0)
            t = xi * (1.0 - xi)
            denom = s + (d1 + d0 - 2.0 * s) * t
            y = yk + h * (s * xi**2 + d0 * t) / denom
            log_dy = 2.0 * tf.math.log(s) + tf.math.log(d1 * xi**2 + 2.0 * s * t + d0 * (1.0 - xi) ** 2) \
                - 2.0 * tf.math.log(denom)
            inside = tf.abs(x) < self._bound
            return tf.where(inside, y, x), tf.where(inside, log_dy, tf.zeros_like(x))

        return self._remember("forward", x, compute)

    def _inverse_parts(self, y):
        """(x, log dx/dy): the spline's inverse inside the interval, identity and 0 outside."""
        def compute(y):
            xk, yk, w, h, d0, d1 = self._bin(y, self._y_knots)
            s = h / w
            dy = y - yk
            a = h * (s - d0) + dy * (d1 + d0 - 2.0 * s)
            b = h * d0 - dy * (d1 + d0 - 2.0 * s)
            c = -s * dy
            xi = 2.0 * c / (-b - tf.sqrt(tf.maximum(b**2 - 4.0 * a * c, 0.0)))
            x = tf.where(tf.abs(y) < self._bound, xk + xi * w, y)
            return x, -self._forward_parts(x)[1]

        return self._remember("inverse", y, compute)

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
    """

    def __init__(self, mask, conditioner, transform="affine", num_bins=8, bound=3.0, event_ndims=1,
                 name="masked_coupling"):
        parameters = dict(locals())
        self._mask = tf.cast(mask, tf.float32)
        self._conditioner = conditioner
        self._transform = transform
        self._num_bins, self._bound = num_bins, bound
        self._memo = None
        super().__init__(forward_min_event_ndims=event_ndims, is_constant_jacobian=transform == "additive",
                         validate_args=False, parameters=parameters, name=name)

    def _elementwise(self, conditioned_on):
        # TFP asks for the transform and its log-det in separate calls on the same tensor:
        # run the conditioner once per tensor
        if self._memo is not None and self._memo[0] is conditioned_on:
            return self._memo[1]
        params = self._conditioner(conditioned_on * self._mask)
        if self._transform == "additive":
            g = tfb.Shift(params[..., 0])
        elif self._transform == "affine":
            log_scale = LOG_SCALE_BOUND * tf.tanh(params[..., 1] / LOG_SCALE_BOUND)
            g = tfb.Chain([tfb.Shift(params[..., 0]), tfb.Scale(log_scale=log_scale)])
        else:
            g = rational_quadratic_spline(params, self._num_bins, self._bound)
        self._memo = (conditioned_on, g)
        return g

    def _forward(self, z):
        g = self._elementwise(z)
        return self._mask * z + (1 - self._mask) * g.forward(z)

    def _inverse(self, x):
        g = self._elementwise(x)  # m * x == m * z
        return self._mask * x + (1 - self._mask) * g.inverse(x)

    def _forward_log_det_jacobian(self, z):
        g = self._elementwise(z)
        return _sum_event((1 - self._mask) * g.forward_log_det_jacobian(z, event_ndims=0),
                          self.forward_min_event_ndims)

    def _inverse_log_det_jacobian(self, x):
        g = self._elementwise(x)
        return _sum_event((1 - self._mask) * g.inverse_log_det_jacobian(x, event_ndims=0),
                          self.forward_min_event_ndims)


def planar_u_hat(u, w):
    """u adjusted so that w.u_hat > -1, the invertibility condition for h = tanh (Rezende & Mohamed
    2015, appendix A): w.u_hat = m(w.u) with m(a) = -1 + softplus(a + log(e - 1)). The shift inside
    the softplus makes m(0) = 0, so u = 0 is exactly the identity (the paper's m(a) = -1 + softplus(a)
    moves u by ~0.3 / |w| even then). u, w: (..., D), one flow per leading index."""
    wu = _dot(w, u)
    m = -1.0 + tf.nn.softplus(wu + math.log(math.e - 1.0))
    return u + (m - wu) * w / (_dot(w, w) + 1e-8)


def _dot(a, b):
    return tf.reduce_sum(a * b, -1, keepdims=True)


class Planar(tfb.Bijector):
    """x = z + u_hat tanh(w.z + b) on vectors; log|det J| = log|1 + (1 - tanh^2) w.u_hat|.

    Parameters are global (u, w (D,), b (1,)) or per example (u, w (B, D), b (B, 1)), the
    latter for amortised posteriors whose encoder gives each example its own flow.
    The inverse solves the scalar equation a + (w.u_hat) tanh(a + b) = w.x for a = w.z
    (monotone because w.u_hat >= -1) by bisection, then z = x - u_hat tanh(a + b); a final
    Newton step carries the exact gradient through the solve.
    """

    def __init__(self, u, w, b, bisection_steps=32, name="planar"):
        parameters = dict(locals())
        self._u = planar_u_hat(u, w)
        self._w, self._b = w, b
        self._steps = bisection_steps
        super().__init__(forward_min_event_ndims=1, validate_args=False, parameters=parameters, name=name)

    def _forward(self, z):
        return z + self._u * tf.tanh(_dot(z, self._w) + self._b)

    def _inverse(self, x):
        target = _dot(x, self._w)
        wu = _dot(self._w, self._u)
        f = lambda a: a + wu * tf.tanh(a + self._b) - target
        span = tf.stop_gradient(tf.abs(wu) + 1.0)  # |wu tanh| <= |wu|: the root is within target -+ span
        lo, hi = tf.stop_gradient(target - span), tf.stop_gradient(target + span)
        for _ in range(self._steps):
            mid = 0.5 * (lo + hi)
            below = tf.stop_gradient(f(mid)) < 0
            lo, hi = tf.where(below, mid, lo), tf.where(below, hi, mid)
        root = tf.stop_gradient(0.5 * (lo + hi))
        # one Newton step from the root: the same value, and the implicit-function gradient
        # da/dtheta = -(df/dtheta) / (df/da) for every parameter and for x
        a = root - f(root) / (1.0 + wu * (1.0 - tf.tanh(root + self._b) ** 2))
        return x - self._u * tf.tanh(a + self._b)

    def _forward_log_det_jacobian(self, z):
        a = _dot(z, self._w) + self._b
        psi_u = (1.0 - tf.tanh(a) ** 2) * _dot(self._w, self._u)
        return tf.math.log(tf.abs(1.0 + psi_u) + 1e-12)[..., 0]


class Radial(tfb.Bijector):
    """x = z + beta (z - z0) / (alpha + r), r = |z - z0|, with alpha > 0 and beta >= -alpha (invertible).

    log|det J| = (d - 1) log(1 + beta h) + log(1 + beta h + beta h' r), h = 1 / (alpha + r).
    The inverse solves |x - z0| = r (1 + beta / (alpha + r)) for r in closed form (a quadratic).
    """

    def __init__(self, z0, alpha, beta, name="radial"):
        parameters = dict(locals())
        self._z0, self._alpha, self._beta = z0, alpha, beta
        super().__init__(forward_min_event_ndims=1, validate_args=False, parameters=parameters, name=name)

    def _r(self, z):
        return tf.norm(z - self._z0, axis=-1, keepdims=True)

    def _forward(self, z):
        return z + self._beta * (z - self._z0) / (self._alpha + self._r(z))

    def _inverse(self, x):
        rho = tf.norm(x - self._z0, axis=-1, keepdims=True)
        # r^2 + (alpha + beta - rho) r - rho alpha = 0, the non-negative root
        c = self._alpha + self._beta - rho
        r = 0.5 * (-c + tf.sqrt(c**2 + 4.0 * rho * self._alpha))
        return self._z0 + (x - self._z0) * r / tf.maximum(rho, 1e-12)

    def _forward_log_det_jacobian(self, z):
        d = tf.cast(tf.shape(z)[-1], z.dtype)
        r = self._r(z)[..., 0]
        h = 1.0 / (self._alpha + r)
        bh = self._beta * h
        return (d - 1.0) * tf.math.log1p(bh) + tf.math.log1p(bh - self._beta * h**2 * r)


class LeakyReLU(tfb.Bijector):
    """Elementwise x = z for z >= 0 and alpha z otherwise (alpha > 0); log|det J| = sum over the
    negative coordinates of log alpha."""

    def __init__(self, log_alpha, name="leaky_relu"):
        parameters = dict(locals())
        self._log_alpha = log_alpha
        super().__init__(forward_min_event_ndims=1, validate_args=False, parameters=parameters, name=name)

    def _forward(self, z):
        return tf.where(z >= 0, z, tf.exp(self._log_alpha) * z)

    def _inverse(self, x):
        return tf.where(x >= 0, x, tf.exp(-self._log_alpha) * x)

    def _forward_log_det_jacobian(self, z):
        return tf.reduce_sum(tf.where(z >= 0, tf.zeros_like(z), self._log_alpha + tf.zeros_like(z)), -1)


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


def _unit_triangular_inverse(nilpotent):
    """(I + N)^-1 for a strictly triangular (C, C) N: the finite series sum_k (-N)^k (N^C = 0),
    as prod_j (I + (-N)^(2^j)) over ceil(log2 C) factors: matrix products only."""
    size = nilpotent.shape[-1]
    eye = tf.eye(size, dtype=nilpotent.dtype)
    result, power = eye, -nilpotent
    for _ in range(max(0, math.ceil(math.log2(size)))):
        result = tf.matmul(result, eye + power)
        power = tf.matmul(power, power)
    return result


class LUMatvec(tfb.Bijector):
    """x = W z on the last axis with W = P L U from a packed LU matrix and a permutation (the
    convention of `tfb.ScaleMatvecLU`); log|det W| = sum log|diag U|.

    The inverse multiplies by W^-1 = U^-1 L^-1 P^T, with the triangular inverses as finite
    matrix series instead of triangular solves: the same values, and graphs that ONNX can run.
    """

    def __init__(self, lower_upper, permutation, name="lu_matvec"):
        parameters = dict(locals())
        self._lower_upper = tf.convert_to_tensor(lower_upper)
        self._permutation = tf.convert_to_tensor(permutation)
        super().__init__(forward_min_event_ndims=1, is_constant_jacobian=True, validate_args=False,
                         parameters=parameters, name=name)

    def _factors(self):
        lu = self._lower_upper
        strict_lower = tf.linalg.band_part(lu, -1, 0) - tf.linalg.band_part(lu, 0, 0)
        diag = tf.linalg.diag_part(lu)
        strict_upper = tf.linalg.band_part(lu, 0, -1) - tf.linalg.diag(diag)
        rows = tf.gather(tf.eye(lu.shape[-1], dtype=lu.dtype), tf.math.invert_permutation(self._permutation))
        return strict_lower, diag, strict_upper, rows

    def _matrix(self):
        strict_lower, diag, strict_upper, rows = self._factors()
        eye = tf.eye(diag.shape[-1], dtype=diag.dtype)
        return tf.matmul(rows, tf.matmul(eye + strict_lower, tf.linalg.diag(diag) + strict_upper))

    def _inverse_matrix(self):
        strict_lower, diag, strict_upper, rows = self._factors()
        upper_inv = _unit_triangular_inverse(strict_upper / diag[:, None]) / diag[None, :]
        return tf.matmul(upper_inv, tf.matmul(_unit_triangular_inverse(strict_lower), rows, transpose_b=True))

    def _forward(self, z):
        return tf.linalg.matvec(self._matrix(), z)

    def _inverse(self, x):
        return tf.linalg.matvec(self._inverse_matrix(), x)

    def _forward_log_det_jacobian(self, z):
        return tf.reduce_sum(tf.math.log(tf.abs(tf.linalg.diag_part(self._lower_upper))))
