"""`VectorQuantizer`: nearest-codebook quantisation with straight-through gradients (VQ-VAE)."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="kerasgen")
class VectorQuantizer(keras.layers.Layer):
    """Replaces each vector of the last axis by its nearest codebook entry.

    Gradients pass straight through the quantisation (z_e + stop_gradient(e - z_e)).
    The codebook learns either by gradient (the codebook loss) or, with `ema=True`,
    by exponential moving averages of the vectors assigned to each code (call
    `update_ema` after the optimiser step; under `tf.distribute` the statistics are
    summed over replicas first, so every replica keeps the same codebook).

    Codebooks collapse onto a few codes when left alone. `restart_dead_codes` (call it
    after each training step) keeps a moving average of each code's share of the
    assignments and moves any code whose share falls below `dead_threshold` / K onto
    a vector of the current batch. Every code starts dead, so the first call also
    initialises the codebook from the data.

    Args:
        num_codes: codebook size K.
        code_dim: size D of each code (the last axis of the input).
        ema: learn the codebook by moving averages instead of gradients.
        decay: the moving averages' decay (codebook and usage).
        epsilon: Laplace smoothing of the code counts.
        dead_threshold: a code is restarted when its usage share is below this / K.

    Call:
        z_e (B, ..., D) float -> dict with "quantized" (B, ..., D) (straight-through),
        "indices" int32 (B, ...), and per-example (B,) "commitment"
        ||z_e - sg(e)||^2 and "codebook" ||sg(z_e) - e||^2, summed over positions.

    Reference: van den Oord et al. 2017, "Neural Discrete Representation Learning".
    """

    def __init__(self, num_codes, code_dim, ema=False, decay=0.99, epsilon=1e-5, dead_threshold=0.03, **kwargs):
        kwargs.setdefault("dtype", "float32")  # distances and codes stay float32 under mixed precision
        super().__init__(**kwargs)
        if num_codes < 2 or code_dim < 1 or not 0.0 < decay < 1.0:
            raise ValueError("num_codes must be >= 2, code_dim >= 1 and decay in (0, 1)")
        self.num_codes, self.code_dim = int(num_codes), int(code_dim)
        self.ema, self.decay, self.epsilon = bool(ema), float(decay), float(epsilon)
        self.dead_threshold = float(dead_threshold)
        init = keras.initializers.RandomUniform(-1.0 / self.num_codes, 1.0 / self.num_codes)
        if self.ema:
            init = keras.initializers.RandomNormal(stddev=1.0)
        self.codebook = self.add_weight(shape=(self.num_codes, self.code_dim), initializer=init, dtype="float32",
                                        trainable=not self.ema, name="codebook", aggregation="only_first_replica")
        self.usage = self.add_weight(shape=(self.num_codes,), initializer="zeros", dtype="float32",
                                     trainable=False, name="usage", aggregation="only_first_replica")
        if self.ema:
            self.ema_count = self.add_weight(shape=(self.num_codes,), initializer="zeros", dtype="float32",
                                             trainable=False, name="ema_count", aggregation="only_first_replica")
            self.ema_sum = self.add_weight(shape=(self.num_codes, self.code_dim), dtype="float32",
                                           initializer=keras.initializers.Zeros(), trainable=False,
                                           name="ema_sum", aggregation="only_first_replica")
        self.built = True

    def nearest(self, z_e):
        """Indices int32 (B, ...) of the nearest code to each vector of z_e (B, ..., D)."""
        flat = tf.reshape(tf.cast(z_e, tf.float32), (-1, self.code_dim))
        codebook = tf.convert_to_tensor(self.codebook)
        distances = (tf.reduce_sum(flat**2, 1, keepdims=True) - 2.0 * tf.matmul(flat, codebook, transpose_b=True)
                     + tf.reduce_sum(codebook**2, 1)[None])
        return tf.reshape(tf.argmin(distances, axis=1, output_type=tf.int32), tf.shape(z_e)[:-1])

    def lookup(self, indices):
        """Code vectors (B, ..., D) for int indices (B, ...)."""
        return tf.gather(tf.convert_to_tensor(self.codebook), tf.cast(indices, tf.int32))

    def call(self, z_e):
        if z_e.shape[-1] != self.code_dim:
            raise ValueError(f"VectorQuantizer expects vectors of size {self.code_dim}, got {z_e.shape[-1]}")
        z_e = tf.cast(z_e, tf.float32)
        indices = self.nearest(z_e)
        z_q = self.lookup(indices)
        per_example = lambda t: tf.reduce_sum(tf.reshape(t, (tf.shape(t)[0], -1)), axis=1)
        return {
            "quantized": z_e + tf.stop_gradient(z_q - z_e),
            "indices": indices,
            "commitment": per_example(tf.square(z_e - tf.stop_gradient(z_q))),
            "codebook": per_example(tf.square(tf.stop_gradient(z_e) - z_q)),
        }

    def code_counts(self, indices):
        """How often each code occurs in `indices`, float32 (K,), summed over replicas."""
        counts = tf.reduce_sum(tf.one_hot(tf.reshape(indices, [-1]), self.num_codes, dtype=tf.float32), 0)
        return tf.distribute.get_replica_context().all_reduce("sum", counts)

    def update_ema(self, z_e, indices):
        """Moves each code towards the mean of the vectors assigned to it (ema=True only)."""
        if not self.ema:
            raise ValueError("update_ema needs a VectorQuantizer built with ema=True")
        flat = tf.reshape(tf.cast(tf.stop_gradient(z_e), tf.float32), (-1, self.code_dim))
        one_hot = tf.one_hot(tf.reshape(indices, [-1]), self.num_codes, dtype=tf.float32)
        context = tf.distribute.get_replica_context()
        counts = context.all_reduce("sum", tf.reduce_sum(one_hot, 0))
        sums = context.all_reduce("sum", tf.matmul(one_hot, flat, transpose_a=True))
        new_count = self.decay * self.ema_count + (1.0 - self.decay) * counts
        new_sum = self.decay * self.ema_sum + (1.0 - self.decay) * sums
        total = tf.reduce_sum(new_count)
        smoothed = (new_count + self.epsilon) / (total + self.num_codes * self.epsilon) * total
        self.ema_count.assign(new_count)
        self.ema_sum.assign(new_sum)
        # codes never assigned yet keep their initial value
        used = tf.cast(new_count > 0, tf.float32)[:, None]
        self.codebook.assign(used * new_sum / tf.maximum(smoothed, 1e-12)[:, None] + (1 - used) * self.codebook)

    def restart_dead_codes(self, z_e, indices, seed, counts=None):
        """Updates the usage averages and moves dead codes onto vectors of the batch z_e.

        Args:
            z_e: the encoder's vectors of this step (B, ..., D); indices: their codes (B, ...).
            seed: a stateless seed (2,) choosing the batch vectors; under `tf.distribute` the
                first replica's choice is used on every replica.
            counts: `code_counts(indices)` when the caller has them already.

        Returns:
            The number of codes restarted (float32 scalar).
        """
        counts = self.code_counts(indices) if counts is None else counts
        usage = self.decay * self.usage + (1.0 - self.decay) * counts / tf.maximum(tf.reduce_sum(counts), 1.0)
        dead = usage < self.dead_threshold / self.num_codes
        flat = tf.reshape(tf.cast(tf.stop_gradient(z_e), tf.float32), (-1, self.code_dim))
        pick = tf.random.stateless_uniform((self.num_codes,), seed, 0, tf.shape(flat)[0], dtype=tf.int32)
        candidates = tf.gather(flat, pick)
        dead_col = dead[:, None]
        self.codebook.assign(tf.where(dead_col, candidates, self.codebook))
        self.usage.assign(tf.where(dead, 1.0 / self.num_codes, usage))
        if self.ema:
            typical = tf.maximum(tf.reduce_mean(self.ema_count), self.epsilon)
            self.ema_count.assign(tf.where(dead, typical, self.ema_count))
            self.ema_sum.assign(tf.where(dead_col, candidates * typical, self.ema_sum))
        return tf.reduce_sum(tf.cast(dead, tf.float32))

    def get_config(self):
        return {**super().get_config(), "num_codes": self.num_codes, "code_dim": self.code_dim, "ema": self.ema,
                "decay": self.decay, "epsilon": self.epsilon, "dead_threshold": self.dead_threshold}
