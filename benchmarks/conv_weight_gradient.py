"""The DCGAN discriminator's weight-gradient convolutions: oneDNN's kernel against an im2col form, per precision.

A TensorFlow profile of the default DCGAN step (28x28x1, batch 64) found the weight-gradient convolutions
(`Conv2DBackpropFilter`) no faster in bfloat16 than in float32 on a CPU where the forward convolutions ran
1.65x faster. This times, for each of the discriminator's three convolutions at batch 64, TensorFlow's own
kernel against the same gradient written as im2col (`tf.image.extract_patches`) and one matrix product,
whose bfloat16 form runs on the CPU's bfloat16 matrix units, and checks that both agree.

    python benchmarks/conv_weight_gradient.py --batch 64 --repeats 30
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

from common import machine, print_table  # noqa: E402

# (name, input (H, W, C_in), kernel (kh, kw, C_in, C_out), stride): the `dcgan` discriminator at 28x28x1
DCGAN_DISCRIMINATOR = [("28x28, 1 -> 64, 4x4 stride 2", (28, 28, 1), (4, 4, 1, 64), 2),
                       ("14x14, 64 -> 128, 4x4 stride 2", (14, 14, 64), (4, 4, 64, 128), 2),
                       ("7x7, 128 -> 256, 3x3 stride 1", (7, 7, 128), (3, 3, 128, 256), 1)]


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
    rows = []
    for name, input_shape, kernel_shape, stride in DCGAN_DISCRIMINATOR:
        for dtype in (tf.float32, tf.bfloat16):
            x = tf.cast(tf.random.stateless_normal((args.batch, *input_shape), (0, 0)), dtype)
            out = [args.batch, -(-input_shape[0] // stride), -(-input_shape[1] // stride), kernel_shape[3]]
            dy = tf.cast(tf.random.stateless_normal(out, (0, 1)), dtype)
            kernels = {form: tf.function(lambda f=f: f(x, dy, kernel_shape, stride))
                       for form, f in (("native", native), ("im2col", im2col))}
            a, b = (tf.cast(kernels[form](), tf.float32) for form in ("native", "im2col"))
            error = float(tf.reduce_max(tf.abs(a - b)) / tf.reduce_max(tf.abs(a)))
            times = {form: milliseconds(fn, args.repeats) for form, fn in kernels.items()}
            rows.append([name, dtype.name, f"{times['native']:.2f}", f"{times['im2col']:.2f}",
                         f"{times['native'] / times['im2col']:.2f}x", f"{error:.1e}"])
            print(f"# {rows[-1]}", flush=True)
    print(f"\nMachine: {machine()}; batch {args.batch}; mean of {args.repeats} calls after a warm-up; "
          f"error = max |native - im2col| / max |native|.\n")
    print_table(["convolution", "precision", "native ms", "im2col ms", "im2col speed-up", "relative error"], rows)


if __name__ == "__main__":
    main()
