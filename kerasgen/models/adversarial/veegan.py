"""`VEEGAN`: a GAN with a reconstructor network F: x -> z that learns to invert the generator.

A joint discriminator D(x, z) (the BiGAN networks of `kerasgen.networks.joint`) tells reconstructor
pairs (x, F(x)), x from the data, from generator pairs (G(z), z), z ~ N(0, I). The generator and the reconstructor, one player, minimise

    O(G, F) = E_z[ -D(G(z), z) ] + E_z[ ||z - F(G(z))||^2 ]

(the paper's Algorithm 1 with its discriminator D_omega = -D, the log density ratio of generator
over reconstructor pairs at the optimum; the second term is the l2 reconstruction of the noise,
the paper's d(z, x) written for a Gaussian reconstructor: its cross-entropy up to constants). The
first term does not depend on F, so F minimises the reconstruction alone and G both terms, as in
Algorithm 1. D minimises the logistic loss with the reconstructor pairs labelled 1 (real) and the
generator pairs 0. One forward pass feeds both players' gradients (simultaneous updates).

A generator that misses a mode leaves the reconstructor pairs of that mode's data alone in their
region of (x, z), where D then tells them apart; and the reconstruction term stops G from
mapping many z to one x, since F could not send them back.

Reference: Srivastava, Valkov, Russell, Gutmann & Sutton 2017, "VEEGAN: Reducing Mode Collapse in
GANs using Implicit Variational Learning", arXiv:1705.07761 (Algorithm 1, equation 8).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kerasgen.losses import adversarial
from kerasgen.models.adversarial.bigan import check_joint_scores, joint_scores, sum_over_scores
from kerasgen.models.adversarial.gan import GAN, refuse_unused_options
from kerasgen.models.base import GenerativeModel
from kerasgen.models.network_args import data_shape_of, network_attr, resolve_network
from kerasgen.models.optimizers import adam
from kerasgen.models.players import Player
from kerasgen.registry import register_algorithm

LOG_RATIO = adversarial.AdversarialLoss("log_ratio", adversarial.minimax_d, adversarial.wasserstein_g)
"""The paper's game: D trained with the logistic loss, G minimising -D (the log-ratio estimate)."""


def latent_reconstruction(z, z_reconstructed):
    """||z - F(G(z))||^2 per example: float32 (B,) from (B, latent_dim) tensors."""
    return tf.reduce_sum(tf.square(tf.cast(z, tf.float32) - tf.cast(z_reconstructed, tf.float32)), axis=-1)


@register_algorithm
class VEEGAN(GAN):
    """VEEGAN: generator, reconstructor and a discriminator of (latent, data) pairs.

    Args:
        generator: Keras model z (B, latent_dim) -> x (B, *data_shape); or a registered generator
            name ("dcgan", "mlp"), a builder or a serialised model.
        reconstructor: Keras model x (B, *data_shape) -> z (B, latent_dim); or a registered
            reconstructor name ("conv", "mlp"), a builder or a serialised model.
        discriminator: Keras model [x (B, *data_shape), z (B, latent_dim)] -> logits (B, 1), or a dict
            of "logit" with BigBiGAN's unary scores "x_logit" and "z_logit", each (B, 1), each with its
            own loss (the losses add; "z_logit" of the generator's pairs (G(z), z) sees prior noise
            alone, so it trains the discriminator only); or a registered joint_discriminator name
            ("conv", "mlp"), a builder or a serialised model.
        latent_dim: size of the noise z ~ N(0, I).
        data_shape: shape of one example; read from a generator model when None.
        loss: "log_ratio" (the paper's: logistic discriminator, generator minimising -D) or any
            adversarial loss of `kerasgen.losses.LOSSES` ("non_saturating", "hinge", ...).
        reconstruction_weight: weight of ||z - F(G(z))||^2 in the generator player's loss (1 in the paper).
        standardize: learn feature-wise standardisation of vector data.
        g_optimizer_config: default optimiser of the generator and reconstructor (one player);
            d_optimizer_config that of the discriminator (both Adam 1e-3, beta_1 0.5 when None).
        ema_decay: as for `GAN`: `sample` and export use a weight average of the generator, updated after
            each step. `GAN`'s other options (packing, penalties, feature matching, ...) are not part of
            this step and raise ValueError.
        preset, seed: as for `GAN`.

    Metrics: d_loss, g_loss (the adversarial term of the generator) and reconstruction
    (||z - F(G(z))||^2), each averaged over the epoch.

    Example:
        >>> model = VEEGAN("mlp", "mlp", "mlp", latent_dim=2, data_shape=(2,))
        >>> model.compile()
        >>> model.reconstruct_noise(np.zeros((3, 2), np.float32)).shape
        (3, 2)
    """

    def __init__(self, generator, reconstructor, discriminator, latent_dim, data_shape=None, loss="log_ratio",
                 reconstruction_weight=1.0, standardize=False, g_optimizer_config=None, d_optimizer_config=None,
                 ema_decay=None, preset=None, seed=None, **kwargs):
        refuse_unused_options("VEEGAN", kwargs)
        adversarial_loss = LOG_RATIO if loss == "log_ratio" else adversarial.get(loss)
        if float(reconstruction_weight) < 0:
            raise ValueError(f"reconstruction_weight must be >= 0, got {reconstruction_weight}")
        latent_dim = int(latent_dim)
        generator = resolve_network(generator, "generator", data_shape=data_shape, latent_dim=latent_dim)
        if data_shape is None:
            data_shape = data_shape_of(generator, "generator")
        data_shape = tuple(int(s) for s in data_shape)
        context = dict(data_shape=data_shape, latent_dim=latent_dim)
        reconstructor = resolve_network(reconstructor, "reconstructor", **context)
        discriminator = resolve_network(discriminator, "joint_discriminator", **context)
        super().__init__(generator, discriminator, latent_dim, data_shape=data_shape, standardize=standardize,
                         g_optimizer_config=g_optimizer_config or adam(1e-3, 0.5, 0.999),
                         d_optimizer_config=d_optimizer_config or adam(1e-3, 0.5, 0.999), ema_decay=ema_decay,
                         preset=preset, seed=seed, **kwargs)
        self.reconstructor = reconstructor
        self.loss_name = loss
        self.adversarial_loss = adversarial_loss
        self.reconstruction_weight = float(reconstruction_weight)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("d_loss", "g_loss", "reconstruction")}
        self._check_networks()

    def _check_networks(self):
        """Shapes the three networks must agree on, where Keras knows them (functional models)."""
        if getattr(self, "reconstructor", None) is None:  # (`GAN.__init__` calls this before the reconstructor is set)
            return
        checks = [(self.generator, "generator", 1, (self.latent_dim,), self.data_shape),
                  (self.reconstructor, "reconstructor", 1, self.data_shape, (self.latent_dim,)),
                  (self.discriminator, "discriminator", 2, None, (1,))]
        check_joint_scores(self.discriminator)
        for network, role, n_inputs, input_shape, output_shape in checks:
            inputs, outputs = network_attr(network, "inputs"), network_attr(network, "outputs")
            if inputs is not None and len(inputs) != n_inputs:
                want = "[x, z]" if n_inputs == 2 else "one input"
                raise ValueError(f"the VEEGAN {role} must take {want}, it takes {len(inputs)} input(s)")
            if input_shape is not None and inputs is not None and tuple(inputs[0].shape[1:]) != input_shape:
                raise ValueError(f"the VEEGAN {role} takes shape {tuple(inputs[0].shape[1:])}, expected {input_shape}")
            if isinstance(network_attr(network, "output"), dict):  # scores, checked by `check_joint_scores`
                continue
            if outputs is not None and (len(outputs) != 1 or tuple(outputs[0].shape[1:]) != output_shape):
                raise ValueError(f"the VEEGAN {role} must return one tensor of shape {output_shape}, it returns "
                                 f"{[tuple(o.shape[1:]) for o in outputs]}")

    def _generator_variables(self):
        return self.generator.trainable_variables + self.reconstructor.trainable_variables

    def players(self):
        """Generator and reconstructor (one player, `g_optimizer`) and the discriminator (`d_optimizer`)."""
        return (Player("g_optimizer", self._generator_variables, self.g_optimizer_config, "generator and reconstructor"),
                Player("d_optimizer", lambda: self.discriminator.trainable_variables, self.d_optimizer_config,
                       "discriminator"))

    # ---- training --------------------------------------------------------------------------
    def _terms(self, real, z, training):
        """Per-example (d_loss, generator adversarial term, ||z - F(G(z))||^2), each (B,)."""
        fake = tf.cast(self.generator(z, training=training), tf.float32)
        z_real = tf.cast(self.reconstructor(real, training=training), tf.float32)
        z_fake = tf.cast(self.reconstructor(fake, training=training), tf.float32)
        real_scores = joint_scores(self.discriminator, real, z_real, training)
        fake_scores = joint_scores(self.discriminator, fake, z, training)
        d_loss = sum_over_scores(self.adversarial_loss.discriminator, real_scores, fake_scores)
        g_loss = sum_over_scores(lambda _, fake_logit: self.adversarial_loss.generator(fake_logit), real_scores,
                                 fake_scores)
        return d_loss, g_loss, latent_reconstruction(z, z_fake)

    def train_step(self, data):
        self.require_compiled()
        real, _ = self.unpack_batch(data)
        (seed,) = self.step_seeds(1)
        z = self.codes.draw(tf.shape(real)[0], seed)[0]
        g_vars, d_vars = self._generator_variables(), self.discriminator.trainable_variables
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            d_loss, g_loss, reconstruction = self._terms(real, z, True)
            g_scaled = self.g_optimizer.scale_loss(self.global_mean(g_loss + self.reconstruction_weight * reconstruction))
            d_scaled = self.d_optimizer.scale_loss(self.global_mean(d_loss))
        g_grads = g_tape.gradient(g_scaled, g_vars)
        d_grads = d_tape.gradient(d_scaled, d_vars)
        self.g_optimizer.apply(g_grads, g_vars)
        self.d_optimizer.apply(d_grads, d_vars)
        self._update_weight_average()
        return self.report({"d_loss": d_loss, "g_loss": g_loss, "reconstruction": reconstruction})

    # ---- inference ---------------------------------------------------------------------------
    def reconstruct_noise(self, x, batch_size=256):
        """F(x): the reconstructor's latent point for data-space x (B, *data_shape), numpy (B, latent_dim)."""
        x = np.asarray(x, np.float32)
        self.check_data(x)
        out = [ops.convert_to_numpy(self.reconstructor(self.to_model_space(x[i:i + batch_size]), training=False))
               for i in range(0, len(x), batch_size)]
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, self.latent_dim), np.float32)

    def get_config(self):
        return {
            **GenerativeModel.get_config(self),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "reconstructor": keras.saving.serialize_keras_object(self.reconstructor),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "latent_dim": self.latent_dim,
            "loss": self.loss_name,
            "reconstruction_weight": self.reconstruction_weight,
            "ema_decay": self.options.ema_decay,
            "g_optimizer_config": self.g_optimizer_config,
            "d_optimizer_config": self.d_optimizer_config,
        }
