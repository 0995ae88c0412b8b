"""Spatial layers of the image-to-image networks that Keras lacks: reflection padding and sub-pixel
upsampling. Both are registered under package "kerasgen", so models holding them load from `.keras`
files (safe mode included) once `kerasgen.layers` (or `kerasgen.networks`) is imported."""

from __future__ import annotations

import keras
from keras import ops


def _pair(value, what):
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or any(not isinstance(v, int) or v < 0 for v in pair):
        raise ValueError(f"{what} must be a non-negative int or a pair of them, got {value!r}")
    return pair


@keras.saving.register_keras_serializable(package="kerasgen")
class ReflectionPadding2D(keras.layers.Layer):
    """Pads the height and width of (B, H, W, C) maps by mirroring the border (excluding the edge
    pixel itself, like `numpy.pad(mode="reflect")`): (B, H + 2 ph, W + 2 pw, C).

    The padding used by the ResNet generators of Johnson et al. 2016 and CycleGAN (Zhu et al. 2017)
    in front of their 7x7 and 3x3 convolutions, so borders see image-like values, not zeros.
    Reflection needs the padding to be smaller than the side: ph < H and pw < W.

    Args:
        padding: int, or (ph, pw), pixels added on each side.
    """

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        self.padding = _pair(padding, "ReflectionPadding2D padding")

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"ReflectionPadding2D needs (B, H, W, C) inputs, got shape {tuple(input_shape)}")
        for side, pad, what in zip(input_shape[1:3], self.padding, ("height", "width")):
            if side is not None and pad >= side:
                raise ValueError(f"ReflectionPadding2D: reflecting {pad} pixels needs a {what} above {pad}, "
                                 f"got {side}")
        self.built = True

    def call(self, x):
        ph, pw = self.padding
        return ops.pad(x, [[0, 0], [ph, ph], [pw, pw], [0, 0]], mode="reflect")

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        ph, pw = self.padding
        return (b, None if h is None else h + 2 * ph, None if w is None else w + 2 * pw, c)

    def get_config(self):
        return {**super().get_config(), "padding": list(self.padding)}


@keras.saving.register_keras_serializable(package="kerasgen")
class SubPixelUpsampling(keras.layers.Layer):
    """Sub-pixel convolution's shuffle (Shi et al. 2016, used by SRGAN): (B, H, W, C r^2) ->
    (B, H r, W r, C), the same arrangement as `tf.nn.depth_to_space(x, r)` (NHWC, "DCR" order:
    output[b, h r + i, w r + j, c] = input[b, h, w, (i r + j) C + c]).

    Written with `keras.ops` reshapes and a transpose (no weights), so it runs under any dtype policy.

    Args:
        factor: the upsampling factor r (>= 1).
    """

    def __init__(self, factor=2, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(factor, int) or factor < 1:
            raise ValueError(f"SubPixelUpsampling factor must be an int >= 1, got {factor!r}")
        self.factor = factor

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"SubPixelUpsampling needs (B, H, W, C) inputs, got shape {tuple(input_shape)}")
        channels = input_shape[-1]
        if channels is None or channels % (self.factor**2):
            raise ValueError(f"SubPixelUpsampling(factor={self.factor}) needs a known number of channels "
                             f"divisible by {self.factor**2}, got {channels}")
        self.built = True

    def call(self, x):
        r = self.factor
        shape = ops.shape(x)
        h, w, c = shape[1], shape[2], x.shape[-1] // (r * r)
        x = ops.reshape(x, (-1, h, w, r, r, c))
        x = ops.transpose(x, (0, 1, 3, 2, 4, 5))  # (B, H, r, W, r, C)
        return ops.reshape(x, (-1, h * r, w * r, c))

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        r = self.factor
        return (b, None if h is None else h * r, None if w is None else w * r, c // (r * r))

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}
