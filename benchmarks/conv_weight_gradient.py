"""Weight-gradient convolutions of DCGAN-style networks: TensorFlow's kernel against the forward form and im2col.

A TensorFlow profile of the default DCGAN step (28x28x1, batch 64) found the weight-gradient convolutions
(`Conv2DBackpropFilter`) no faster in bfloat16 than in float32 on a CPU where the forward convolutions ran
1.65x faster. This times, for the convolutions of the `dcgan` networks at 28x28 and 64x64 (batch 64),
TensorFlow's kernel against two other ways to the same gradient, and checks that they agree:

- the forward form (`kerasgen.layers.conv.kernel_gradient`): one forward convolution of the input read as
  (C_in, H, W, batch) with the output gradient read as a (P, Q, batch, C_out) filter at dilation = stride;
  `kerasgen.layers.Conv2D` and `Conv2DTranspose` use it in bfloat16 where the output has at most
  `FORWARD_FORM_MAX_PIXELS` pixels;
- im2col (`tf.image.extract_patches`) and one matrix product.

A transposed convolution's kernel gradient is the same computation with the roles of input and output
gradient swapped, so the generator's layers appear as the convolutions they transpose.

    python benchmarks/conv_weight_gradient.py --batch 64 --repeats 30
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

from kerasgen.layers.conv import FORWARD_FORM_MAX_PIXELS, kernel_gradient  # noqa: E402

from common import machine, print_table  # noqa: E402

# (name, input (H, W, C_in), kernel (kh, kw, C_in, C_out), stride): the `dcgan` networks' convolutions
DCGAN_CONVOLUTIONS = [
    ("D 28x28, 1 -> 64, 4x4 s2 (and G's last)", (28, 28, 1), (4, 4, 1, 64), 2),
    ("D 14x14, 64 -> 128, 4x4 s2 (and G 7 -> 14)", (14, 14, 64), (4, 4, 64, 128), 2),
    ("D 7x7, 128 -> 256, 3x3 s1", (7, 7, 128), (3, 3, 128, 256), 1),
    ("G 7x7, 128 -> 128, 4x4 s1", (7, 7, 128), (4, 4, 128, 128), 1),
    ("D 64x64, 3 -> 64, 4x4 s2 (and G's last)", (64, 64, 3), (4, 4, 3, 64), 2),
    ("D 32x32, 64 -> 128, 4x4 s2 (and G 16 -> 32)", (32, 32, 64), (4, 4, 64, 128), 2),
    ("D 16x16, 128 -> 256, 4x4 s2 (and G 8 -> 16)", (16, 16, 128), (4, 4, 128, 256), 2),
    ("D 8x8, 256 -> 512, 4x4 s2 (and G 4 -> 8)", (8, 8, 256), (4, 4, 256, 512), 2),
    ("D 4x4, 512 -> 1024, 3x3 s1", (4, 4, 512), (3, 3, 512, 1024), 1),
]


def native(x, dy, kernel_shape, stride):
    """dL/dW by TensorFlow's kernel ("SAME" padding): (kh, kw, C_in, C_out)."""
    return tf.raw_ops.Conv2DBackpropFilter(input=x, filter_sizes=kernel_shape, out_backprop=dy,
                                           strides=[1, stride, stride, 1], padding="SAME")


def im2col(x, dy, kernel_shape, stride):
    """The same gradient as patches^T @ dy: x (B, H, W, C_in) padded as "SAME", its (kh, kw) patches at the
    stride flattened to (B * H_out * W_out, kh * kw * C_in), times dy flattened to (B * H_out * W_out, C_out)."""
    kh, kw, c_in, c_out = kernel_shape
    pads = []
    for size, k in ((x.shape[1], kh), (x.shape[2], kw)):
        out = -(-size // stride)
        total = max((out - 1) * stride + k - size, 0)
        pads.append([total // 2, total - total // 2])
    padded = tf.pad(x, [[0, 0], *pads, [0, 0]])
    patches = tf.image.extract_patches(padded, [1, kh, kw, 1], [1, stride, stride, 1], [1, 1, 1, 1], "VALID")
    gradient = tf.matmul(tf.reshape(patches, [-1, kh * kw * c_in]), tf.reshape(dy, [-1, c_out]), transpose_a=True)
    return tf.reshape(gradient, kernel_shape)


def milliseconds(fn, repeats):
    """Mean wall time of one call after one warm-up call."""
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats * 1e3


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--repeats", type=int, default=30)
    args = p.parse_args()
    forms = (("native", native), ("forward", lambda x, dy, k, s: kernel_gradient(x, dy, k, s, "SAME")),
             ("im2col", im2col))
    rows = []
    for name, input_shape, kernel_shape, stride in DCGAN_CONVOLUTIONS:
        for dtype in (tf.float32, tf.bfloat16):
            x = tf.cast(tf.random.stateless_normal((args.batch, *input_shape), (0, 0)), dtype)
            out = [args.batch, -(-input_shape[0] // stride), -(-input_shape[1] // stride), kernel_shape[3]]
            dy = tf.cast(tf.random.stateless_normal(out, (0, 1)), dtype)
            kernels = {form: tf.function(lambda f=f: f(x, dy, kernel_shape, stride)) for form, f in forms}
            reference = tf.cast(kernels["native"](), tf.float32)
            errors = [float(tf.reduce_max(tf.abs(tf.cast(kernels[form](), tf.float32) - reference))
                            / tf.reduce_max(tf.abs(reference))) for form in ("forward", "im2col")]
            times = {form: milliseconds(fn, args.repeats) for form, fn in kernels.items()}
            used = "forward" if dtype == tf.bfloat16 and out[1] * out[2] <= FORWARD_FORM_MAX_PIXELS else "native"
            rows.append([name, dtype.name, f"{out[1]}x{out[2]}", *(f"{times[form]:.2f}" for form, _ in forms),
                         f"{times['native'] / times['forward']:.2f}x", f"{max(errors):.1e}", used])
            print(f"# {rows[-1]}", flush=True)
    print(f"\nMachine: {machine()}; batch {args.batch}; mean of {args.repeats} calls after a warm-up; "
          f"error = the larger of max |form - native| / max |native| over the two forms; 'kerasgen' is what "
          f"kerasgen.layers uses (bfloat16 outputs of at most {FORWARD_FORM_MAX_PIXELS} pixels take the forward "
          f"form where KERASGEN_CONV_WEIGHT_GRADIENT allows).\n")
    print_table(["convolution", "precision", "output", "native ms", "forward ms", "im2col ms", "forward speed-up",
                 "relative error", "kerasgen"], rows)


if __name__ == "__main__":
    main()
