"""`BEGAN`: the boundary equilibrium GAN, whose discriminator is an autoencoder.

The discriminator D reconstructs its input; the loss of an example v is its reconstruction error
L(v) = mean over features of |v - D(v)|^eta (eta = 1: pixel-wise L1). One training step, on a
batch x and noise z:

    L_D = L(x) - k_t L(G(z))                      (minimised over D's weights)
    L_G = L(G(z))                                 (minimised over G's weights)
    k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1)
    M_global = L(x) + |gamma L(x) - L(G(z))|      (the convergence measure)

with each L the mean over the *global* batch (so every replica of a `tf.distribute` strategy holds
the same k). Both players' gradients come from the same forward pass, and k_t is updated from the
losses of that pass, as in the paper's algorithm. gamma = E[L(G(z))] / E[L(x)] at equilibrium is
the diversity ratio: lower values give sharper, less diverse samples. k_t is a model variable:
saved in `.keras` files and restored on resume.

Reference: Berthelot, Schumm & Metz 2017, "BEGAN: Boundary Equilibrium Generative Adversarial
Networks", arXiv:1703.10717 (equations 4-5 and section 3.4).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kerasgen.models.adversarial.gan import GAN, refuse_unused_options
from kerasgen.models.base import GenerativeModel
from kerasgen.models.network_args import data_shape_of, network_attr, resolve_network
from kerasgen.models.optimizers import adam
from kerasgen.registry import register_algorithm


def reconstruction_error(x, reconstruction, eta=1):
    """Per-example mean of |x - reconstruction|^eta over every feature, float32 (B,) >= 0."""
    diff = tf.abs(tf.cast(x, tf.float32) - tf.cast(reconstruction, tf.float32))
    if eta == 2:
        diff = tf.square(diff)
    return tf.reduce_mean(tf.reshape(diff, (tf.shape(diff)[0], -1)), axis=-1)


@register_algorithm
class BEGAN(GAN):
    """Boundary equilibrium GAN: an autoencoder discriminator balanced by the proportional control k_t.

    Args:
        generator: Keras model z (B, latent_dim) -> x (B, *data_shape); or a registered generator
            name ("dcgan", "mlp"), a builder or a serialised model.
        discriminator: the autoencoder, a Keras model x (B, *data_shape) -> reconstruction
            (B, *data_shape); or a registered autoencoder name ("conv", "mlp"), a builder or a
            serialised model.
        latent_dim: size of the noise z ~ N(0, I).
        data_shape: shape of one example; read from a generator model when None.
        gamma: diversity ratio in [0, 1] (the paper uses 0.3 to 0.7).
        lambda_k: proportional gain of the k_t update (0.001 in the paper), >= 0.
        k_initial: k_0 in [0, 1] (0 in the paper).
        eta: 1 (L1) or 2 (squared) reconstruction error.
        standardize: learn feature-wise standardisation of vector data.
        g_optimizer_config, d_optimizer_config: serialised default optimisers (Adam 1e-4, beta_1 0.5).
        preset, seed: as for `GAN`.

    Metrics: d_loss (L(x) - k_t L(G(z))), g_loss (L(G(z))), real_error (L(x)), fake_error
    (L(G(z))), k (k_{t+1}, after the step) and m_global (M_global), each averaged over the epoch.

    Example:
        >>> model = BEGAN(generator="mlp", discriminator="mlp", latent_dim=4, data_shape=(2,), gamma=0.5)
        >>> model.compile()
        >>> float(model.k.numpy())
        0.0
    """

    def __init__(self, generator, discriminator, latent_dim, data_shape=None, gamma=0.5, lambda_k=0.001,
                 k_initial=0.0, eta=1, standardize=False, g_optimizer_config=None, d_optimizer_config=None,
                 preset=None, seed=None, **kwargs):
        refuse_unused_options("BEGAN", kwargs)
        if not 0.0 <= float(gamma) <= 1.0:
            raise ValueError(f"gamma (the diversity ratio) must lie in [0, 1], got {gamma}")
        if float(lambda_k) < 0.0:
            raise ValueError(f"lambda_k must be >= 0, got {lambda_k}")
        if not 0.0 <= float(k_initial) <= 1.0:
            raise ValueError(f"k_initial must lie in [0, 1], got {k_initial}")
        if eta not in (1, 2):
            raise ValueError(f"eta must be 1 (L1) or 2 (squared error), got {eta}")
        generator = resolve_network(generator, "generator", data_shape=data_shape, latent_dim=int(latent_dim))
        if data_shape is None:
            data_shape = data_shape_of(generator, "generator")
        data_shape = tuple(int(s) for s in data_shape)
        discriminator = resolve_network(discriminator, "autoencoder", data_shape=data_shape, latent_dim=int(latent_dim))
        outputs = network_attr(discriminator, "outputs")
        if outputs is not None and (len(outputs) != 1 or tuple(outputs[0].shape[1:]) != data_shape):
            raise ValueError(f"the BEGAN discriminator must be an autoencoder returning one tensor of the data's shape "
                             f"{data_shape}, it returns {[tuple(o.shape[1:]) for o in outputs]}")
        super().__init__(generator, discriminator, latent_dim, data_shape=data_shape, standardize=standardize,
                         g_optimizer_config=g_optimizer_config or adam(1e-4, 0.5, 0.999),
                         d_optimizer_config=d_optimizer_config or adam(1e-4, 0.5, 0.999), preset=preset, seed=seed,
                         **kwargs)
        self.loss_name = "began"
        self.gamma = float(gamma)
        self.lambda_k = float(lambda_k)
        self.k_initial = float(k_initial)
        self.eta = int(eta)
        names = ("d_loss", "g_loss", "real_error", "fake_error", "k", "m_global")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}
        # one value on every replica: the update assigns what each replica computes from global means
        self.k = self.add_weight(shape=(), initializer=keras.initializers.Constant(self.k_initial), dtype="float32",
                                 trainable=False, autocast=False, aggregation="only_first_replica", name="k")

    # ---- the energy -------------------------------------------------------------------
    def _error(self, x, training):
        return reconstruction_error(x, self.discriminator(x, training=training), self.eta)

    def reconstruction_error(self, x, batch_size=256):
        """L(x): the discriminator's per-example reconstruction error, numpy (B,), for data-space x
        (standardised first, as in training)."""
        x = np.asarray(x, np.float32)
        self.check_data(x)
        out = [ops.convert_to_numpy(self._error(self.to_model_space(x[i:i + batch_size]), False))
               for i in range(0, len(x), batch_size)]
        return np.concatenate(out) if out else np.zeros((0,), np.float32)

    def equilibrium_update(self, k, real_error, fake_error):
        """(k_{t+1}, M_global) from k_t and the batch means L(x), L(G(z)) (scalars)."""
        balance = self.gamma * real_error - fake_error
        return tf.clip_by_value(k + self.lambda_k * balance, 0.0, 1.0), real_error + tf.abs(balance)

    # ---- training -----------------------------------------------------------------------
    def train_step(self, data):
        self.require_compiled()
        real, _ = self.unpack_batch(data)
        (seed,) = self.step_seeds(1)
        z = self.codes.draw(tf.shape(real)[0], seed)[0]
        k = tf.convert_to_tensor(self.k)
        g_vars, d_vars = self.generator.trainable_variables, self.discriminator.trainable_variables
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = tf.cast(self.generator(z, training=True), tf.float32)
            real_error = self._error(real, True)
            fake_error = self._error(fake, True)
            d_per_example = real_error - k * fake_error
            real_mean, fake_mean = self.global_mean(real_error), self.global_mean(fake_error)
            d_scaled = self.d_optimizer.scale_loss(self.global_mean(d_per_example))
            g_scaled = self.g_optimizer.scale_loss(fake_mean)
        d_grads = d_tape.gradient(d_scaled, d_vars)
        g_grads = g_tape.gradient(g_scaled, g_vars)
        self.d_optimizer.apply(d_grads, d_vars)
        self.g_optimizer.apply(g_grads, g_vars)
        # the global batch's means (each replica holds its share of the sum)
        means = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, tf.stack([real_mean, fake_mean]))
        new_k, m_global = self.equilibrium_update(k, means[0], means[1])
        new_k = tf.where(tf.math.is_finite(new_k), new_k, k)  # a skipped non-finite step keeps k
        self.k.assign(new_k)
        return self.report({"d_loss": d_per_example, "g_loss": fake_error, "real_error": real_error,
                            "fake_error": fake_error, "k": new_k, "m_global": m_global})

    def get_config(self):
        return {
            **GenerativeModel.get_config(self),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "latent_dim": self.latent_dim,
            "gamma": self.gamma,
            "lambda_k": self.lambda_k,
            "k_initial": self.k_initial,
            "eta": self.eta,
            "g_optimizer_config": self.g_optimizer_config,
            "d_optimizer_config": self.d_optimizer_config,
        }
