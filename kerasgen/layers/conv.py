"""2-D convolutions whose bfloat16 weight gradients run as forward convolutions where that is faster.

`Conv2D` and `Conv2DTranspose` are Keras' layers (same arguments, weights, names and saved form)
with one change to training under a bfloat16 compute dtype. The gradient with respect to a
convolution's kernel,

    dW[i, j, c_in, c_out] = sum over n, p, q of x_pad[n, s * p + i, s * q + j, c_in] * dy[n, p, q, c_out],

is itself a convolution, with the batch and channel axes swapped: the padded input read as
(c_in, H, W, batch) convolved, at dilation s, with the output gradient read as a (P, Q, batch, c_out)
filter gives (c_in, kh, kw, c_out). TensorFlow computes it with oneDNN's weight-gradient kernel, which
on a CPU with AVX512-BF16 but no AMX is barely faster in bfloat16 than in float32, while the forward
kernel is 1.6-1.9x faster; where the layer's output is small (at most `FORWARD_FORM_MAX_PIXELS`
pixels: the later layers of DCGAN-style networks), the forward form took 1.1-3.0x less time at batch 64
(`python benchmarks/conv_weight_gradient.py`), and on larger outputs it took more, so those keep
TensorFlow's kernel. The forward pass, the input gradient and every float32 computation are Keras' own.

When the forward form is used is `weight_gradient_form()`: the environment variable
`KERASGEN_CONV_WEIGHT_GRADIENT` set to `forward` (wherever the shapes allow), `native` (never), or
`auto` (the default): on CPUs without AMX only, since AMX machines have not been measured, and never
where TensorFlow sees a GPU.
"""

from __future__ import annotations

import functools
import os

import keras
import tensorflow as tf

FORWARD_FORM_MAX_PIXELS = 64  # output H * W at or below which the bfloat16 weight gradient is a forward conv
FORMS = ("auto", "forward", "native")
FORM_ENV = "KERASGEN_CONV_WEIGHT_GRADIENT"


def weight_gradient_form() -> str:
    """`forward` or `native`: how bfloat16 kernel gradients of small outputs are computed here."""
    form = os.environ.get(FORM_ENV, "auto").strip().lower() or "auto"
    if form not in FORMS:
        raise ValueError(f"{FORM_ENV}={form!r}: expected one of {', '.join(FORMS)}")
    if form == "auto":
        return _auto_form()
    return form


@functools.lru_cache(maxsize=1)
def _auto_form() -> str:
    from kerasgen.precision import cpu_flags

    if tf.config.list_physical_devices("GPU") or "amx_bf16" in cpu_flags():
        return "native"
    return "forward"


def _same_padding(size: int, kernel: int, stride: int) -> list[int]:
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return [total // 2, total - total // 2]


def kernel_gradient(x, dy, kernel_shape, stride: int, padding: str):
    """dL/dW of `conv2d(x, W, stride, padding)` computed as one forward convolution.

    Args:
        x: the convolution's input (B, H, W, C_in), static H and W.
        dy: the gradient of its output (B, P, Q, C_out), static P and Q.
        kernel_shape: (kh, kw, C_in, C_out).
        stride: the same stride on both axes.
        padding: "SAME" or "VALID", as in the convolution.

    Returns:
        (kh, kw, C_in, C_out), `x`'s dtype; equal to `Conv2DBackpropFilter` up to summation order.
    """
    kh, kw = int(kernel_shape[0]), int(kernel_shape[1])
    pads = [[0, 0], [0, 0]]
    if padding == "SAME":
        pads = [_same_padding(x.shape[1], kh, stride), _same_padding(x.shape[2], kw, stride)]
    # the padding inside the convolution (no padded copy of x); rows and columns of x past the last window
    # give outputs past (kh, kw), sliced off
    gradient = tf.nn.conv2d(tf.transpose(x, [3, 1, 2, 0]), tf.transpose(dy, [1, 2, 0, 3]), strides=1,
                            padding=[[0, 0], *pads, [0, 0]], dilations=stride)
    if gradient.shape[1] != kh or gradient.shape[2] != kw:
        gradient = gradient[:, :kh, :kw, :]
    return tf.transpose(gradient, [1, 2, 0, 3])


def _kernel_gradient_differentiable(x, dy, kernel_shape, stride: int, padding: str):
    """`kernel_gradient` whose own gradients (second order: gradient penalties through the step, unrolled
    updates) are TensorFlow's gradients of `Conv2DBackpropFilter`, with no dilated convolution."""

    @tf.custom_gradient
    def forward(x, dy):
        def backward(grad):
            strides = [1, stride, stride, 1]
            dx = tf.raw_ops.Conv2DBackpropInput(input_sizes=tf.shape(x), filter=grad, out_backprop=dy, strides=strides,
                                                padding=padding)
            return dx, tf.nn.conv2d(x, grad, strides, padding)

        return kernel_gradient(x, dy, kernel_shape, stride, padding), backward

    return forward(x, dy)


def conv2d(x, kernel, stride: int, padding: str):
    """`tf.nn.conv2d(x, kernel, stride, padding)` whose kernel gradient is `kernel_gradient`."""

    @tf.custom_gradient
    def forward(x, kernel):
        def backward(dy):
            dx = tf.raw_ops.Conv2DBackpropInput(input_sizes=tf.shape(x), filter=kernel, out_backprop=dy,
                                                strides=[1, stride, stride, 1], padding=padding)
            return dx, _kernel_gradient_differentiable(x, dy, kernel.shape, stride, padding)

        return tf.nn.conv2d(x, kernel, stride, padding), backward

    return forward(x, tf.convert_to_tensor(kernel))


def conv2d_transpose(x, kernel, output_shape, stride: int, padding: str):
    """`tf.nn.conv2d_transpose(x, kernel, output_shape, stride, padding)` (kernel (kh, kw, C_out, C_in))
    whose kernel gradient is `kernel_gradient`, with the roles of input and output gradient swapped."""

    @tf.custom_gradient
    def forward(x, kernel):
        def backward(dy):
            dx = tf.nn.conv2d(dy, kernel, stride, padding)
            return dx, _kernel_gradient_differentiable(dy, x, kernel.shape, stride, padding)

        return tf.nn.conv2d_transpose(x, kernel, output_shape, stride, padding), backward

    return forward(x, tf.convert_to_tensor(kernel))


def _forward_form_applies(layer, out_rows, out_cols) -> bool:
    """Whether `layer` (channels last, no dilation or groups, the same stride on both axes) computes its
    kernel gradient by `kernel_gradient` where that gradient's output side has (out_rows, out_cols) pixels."""
    return (keras.backend.backend() == "tensorflow" and layer.compute_dtype == "bfloat16"
            and layer.data_format == "channels_last" and tuple(layer.dilation_rate) == (1, 1)
            and getattr(layer, "groups", 1) == 1 and layer.strides[0] == layer.strides[1]
            and layer.padding in ("same", "valid") and out_rows is not None and out_cols is not None
            and out_rows * out_cols <= FORWARD_FORM_MAX_PIXELS and weight_gradient_form() == "forward")


@keras.saving.register_keras_serializable(package="kerasgen")
class Conv2D(keras.layers.Conv2D):
    """`keras.layers.Conv2D` whose bfloat16 kernel gradient is a forward convolution where the output
    has at most `FORWARD_FORM_MAX_PIXELS` pixels (see the module). Input (B, H, W, C_in), output
    (B, H', W', filters), as Keras' layer."""

    def call(self, inputs):
        _, rows, cols, _ = self.compute_output_shape(inputs.shape)
        if not _forward_form_applies(self, rows, cols):
            return super().call(inputs)
        outputs = conv2d(inputs, self.kernel, int(self.strides[0]), self.padding.upper())
        return _bias_and_activation(self, outputs)


def _bias_and_activation(layer, outputs):
    """The layer's bias and activation on `outputs`.

    The bias is a broadcast addition (its gradient a sum), not Keras' `BiasAdd`: oneDNN's graph pass merges
    a `BiasAddGrad` with a `Conv2DBackpropFilter` that reads the same output gradient. With the kernel
    gradient a forward convolution, the only such filter gradient left is a second-order one (unrolled
    updates differentiate `Conv2DBackpropInput`), whose input depends on the bias gradient, and the merged
    graph had a cycle."""
    if layer.use_bias:
        outputs = outputs + layer.bias
    return layer.activation(outputs) if layer.activation is not None else outputs


@keras.saving.register_keras_serializable(package="kerasgen")
class Conv2DTranspose(keras.layers.Conv2DTranspose):
    """`keras.layers.Conv2DTranspose` whose bfloat16 kernel gradient is a forward convolution where
    the layer's input has at most `FORWARD_FORM_MAX_PIXELS` pixels (its kernel gradient's output side;
    see the module). Input (B, H, W, C_in), output (B, H', W', filters), as Keras' layer."""

    def call(self, inputs):
        if not (self.output_padding is None and _forward_form_applies(self, inputs.shape[1], inputs.shape[2])):
            return super().call(inputs)
        _, rows, cols, _ = self.compute_output_shape(inputs.shape)
        output_shape = tf.stack([tf.shape(inputs)[0], rows, cols, self.filters])
        outputs = conv2d_transpose(inputs, self.kernel, output_shape, int(self.strides[0]), self.padding.upper())
        return _bias_and_activation(self, tf.ensure_shape(outputs, [None, rows, cols, self.filters]))
