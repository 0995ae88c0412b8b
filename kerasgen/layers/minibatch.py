"""Layers that let a discriminator see its whole minibatch, so it can tell a batch that lacks variety
(a collapsed generator's) from a real one.

- `MinibatchStdDev` (Karras et al. 2018): one extra channel holding the mean, over features, of
  each feature's standard deviation across the batch (or across groups of it).
- `MinibatchDiscrimination` (Salimans et al. 2016): per example, B kernel features measuring how
  close it lies to the other examples of the batch.

Both mix examples of a batch: call the discriminator on real and generated batches separately
(as `kerasgen.models.GAN` does).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops


@keras.saving.register_keras_serializable(package="kerasgen")
class MinibatchStdDev(keras.layers.Layer):
    """Appends the batch's mean feature standard deviation as one extra channel (ProGAN).

    For groups of `group_size` examples (example i belongs to group i mod (B / group_size), as in
    Karras et al.'s code; the whole batch when None), each feature's standard deviation over the
    group's members, averaged over all features (every non-batch axis), is broadcast to one
    channel appended on the last axis.

    Args:
        group_size: examples per group; None (the default) uses the whole batch. The batch size must
            divide by it (a smaller batch uses one group of all its examples).
        epsilon: added to the variance inside the square root (a finite gradient at zero spread).

    Input: (B, ..., C) of any rank >= 2. Output: (B, ..., C + 1), same dtype; the new channel is
    >= 0 and equal within a group.

    References:
        Karras et al. 2018, Progressive Growing of GANs for Improved Quality, Stability, and
        Variation, arXiv:1710.10196 (section 3).
    """

    def __init__(self, group_size=None, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        if group_size is not None and int(group_size) < 1:
            raise ValueError(f"group_size must be >= 1 or None, got {group_size}")
        self.group_size = None if group_size is None else int(group_size)
        self.epsilon = float(epsilon)

    def call(self, x):
        rest = tuple(x.shape[1:])
        if any(d is None for d in rest):
            raise ValueError(f"MinibatchStdDev needs known non-batch dimensions, got {rest}")
        batch = tf.shape(x)[0]
        if self.group_size is None:
            members = batch
        else:
            members = tf.minimum(self.group_size, batch)
            tf.debugging.assert_equal(batch % members, 0, message=(
                f"MinibatchStdDev(group_size={self.group_size}) needs a batch size that divides by the group size"))
        xf = ops.cast(x, "float32")
        groups = tf.reshape(xf, (members, -1, *rest))  # (members, groups, ...): example i -> group i mod groups
        std = ops.sqrt(ops.var(groups, axis=0) + self.epsilon)  # (groups, ...)
        stat = ops.mean(ops.reshape(std, (ops.shape(std)[0], -1)), axis=1)  # (groups,)
        stat = ops.reshape(ops.tile(stat[None, :], (members, 1)), (-1,))  # (B,)
        channel = ops.broadcast_to(ops.reshape(stat, (-1,) + (1,) * len(rest)), (batch, *rest[:-1], 1))
        return ops.concatenate([x, ops.cast(channel, x.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="kerasgen")
class MinibatchDiscrimination(keras.layers.Layer):
    """Minibatch discrimination (Salimans et al. 2016): features of closeness to the other examples.

    With a learned tensor T (A, num_kernels, kernel_dim), each example's features f (A,) give rows
    M = f T (num_kernels, kernel_dim); kernel b compares examples i and j by
    c_b(i, j) = exp(-||M_i,b - M_j,b||_1), and o(i)_b = sum over j != i of c_b(i, j) + bias_b (the
    reference code leaves out j = i, which would add the constant 1). The output is [f, o].

    Args:
        num_kernels: B, the number of closeness features appended.
        kernel_dim: C, the size of each kernel's rows.

    Input: (B, A) features. Output: (B, A + num_kernels), the input's dtype; each o(i)_b - bias_b
    lies in [0, B - 1]. Memory grows as B^2 * num_kernels * kernel_dim.

    References:
        Salimans et al. 2016, Improved Techniques for Training GANs, arXiv:1606.03498 (section 3.2).
    """

    def __init__(self, num_kernels, kernel_dim=5, **kwargs):
        super().__init__(**kwargs)
        if int(num_kernels) < 1 or int(kernel_dim) < 1:
            raise ValueError(f"num_kernels and kernel_dim must be >= 1, got {num_kernels} and {kernel_dim}")
        self.num_kernels = int(num_kernels)
        self.kernel_dim = int(kernel_dim)

    def build(self, input_shape):
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise ValueError(f"MinibatchDiscrimination takes (B, features) inputs, got {tuple(input_shape)}")
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.num_kernels * self.kernel_dim),
                                      initializer=keras.initializers.RandomNormal(stddev=0.05), autocast=False)
        self.bias = self.add_weight(name="bias", shape=(self.num_kernels,), initializer="zeros", autocast=False)

    def call(self, x):
        xf = ops.cast(x, "float32")
        m = ops.reshape(ops.matmul(xf, self.kernel), (-1, self.num_kernels, self.kernel_dim))  # (B, K, C)
        distance = ops.sum(ops.abs(m[:, None] - m[None, :]), axis=-1)  # (B, B, K)
        closeness = ops.sum(ops.exp(-distance), axis=1) - 1.0  # the j = i term is exp(0) = 1
        return ops.concatenate([x, ops.cast(closeness + self.bias, x.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1] + self.num_kernels)

    def get_config(self):
        return {**super().get_config(), "num_kernels": self.num_kernels, "kernel_dim": self.kernel_dim}
