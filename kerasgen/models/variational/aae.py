"""`AAE`: the adversarial autoencoder, a VAE whose KL term is replaced by a latent-space game.

A discriminator on z tells prior draws N(0, I) from encodings of the data; the
encoder, playing generator, learns to make its aggregate posterior match the
prior. The adversarial losses are those of `kerasgen.losses.adversarial`
(the GAN family's), applied in latent space. Each step updates the
autoencoder on reconstruction + `adversarial_weight` x generator loss (the
paper's reconstruction and regularisation phases, summed in one update),
then the discriminator.

Reference: Makhzani et al. 2016, "Adversarial Autoencoders" (Gaussian posterior variant).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from kerasgen.losses import adversarial
from kerasgen.models.network_args import resolve_network
from kerasgen.models.optimizers import adam
from kerasgen.models.players import KERAS_OPTIMIZER, Player
from kerasgen.models.variational.vae import VAE, reparameterise
from kerasgen.registry import register_algorithm


@register_algorithm
class AAE(VAE):
    """Adversarial autoencoder.

    Args:
        encoder, decoder: as for `VAE` (the encoder gives a Gaussian q(z|x)).
        discriminator: Keras model z (B, latent_dim) -> logits (B, 1), or a registered
            discriminator name ("mlp"), a builder or a serialised model.
        latent_dim: size of z.
        loss: adversarial loss name from `kerasgen.losses.LOSSES` ("non_saturating" default).
        adversarial_weight: weight of the encoder's adversarial loss against reconstruction.
        d_optimizer_config: serialised default optimiser of the discriminator (Adam 1e-3, beta_1 0.5).
        **kwargs: as for `VAE` (`objective` must be "elbo"; beta and the KL options are unused).

    Metrics: reconstruction (nats per example), d_loss, g_loss.
    """

    tracker_names = ("reconstruction", "d_loss", "g_loss")

    def __init__(self, encoder, decoder, discriminator, latent_dim, loss="non_saturating", adversarial_weight=1.0,
                 d_optimizer_config=None, **kwargs):
        if kwargs.get("objective", "elbo") != "elbo":
            raise ValueError("AAE trains on reconstruction plus a latent game; objective must be 'elbo'")
        adversarial_loss = adversarial.get(loss)
        super().__init__(encoder, decoder, latent_dim, **kwargs)
        self.adversarial = adversarial_loss
        self.discriminator = resolve_network(discriminator, "discriminator", data_shape=(int(latent_dim),),
                                             name="latent_discriminator")
        self.loss_name = loss
        self.adversarial_weight = float(adversarial_weight)
        self.d_optimizer_config = d_optimizer_config or adam(1e-3, 0.5, 0.999)
        self.d_optimizer = None

    def _autoencoder_variables(self):
        d_ids = {id(v) for v in self.discriminator.trainable_variables}
        return [v for v in self.trainable_variables if id(v) not in d_ids]

    def players(self):
        """The autoencoder (Keras' `optimizer`) and the latent discriminator (`d_optimizer`)."""
        return (Player(KERAS_OPTIMIZER, self._autoencoder_variables, self.optimizer_config, "autoencoder"),
                Player("d_optimizer", lambda: self.discriminator.trainable_variables, self.d_optimizer_config,
                       "discriminator"))

    def _autoencoder_terms(self, x_model, labels, seed, training):
        mean, log_var = self._posterior(x_model, labels, training)
        z = reparameterise(mean, log_var, seed, 1)
        recon = self.observation.nll(x_model, self._decode(z, labels, training))
        g_loss = self.adversarial.generator(self.discriminator(z, training=training))
        return recon, g_loss, z

    def _discriminator_loss(self, z_encoded, seed, training):
        z_prior = tf.random.stateless_normal(tf.shape(z_encoded), seed=seed)
        real = self.discriminator(z_prior, training=training)
        fake = self.discriminator(tf.stop_gradient(z_encoded), training=training)
        return self.adversarial.discriminator(real, fake)

    def train_step(self, data):
        self.require_compiled()
        x_model, labels = self.unpack_batch(data)
        seed_ae, seed_prior = self.step_seeds(2)
        ae_vars = self._autoencoder_variables()
        with tf.GradientTape() as tape:
            recon, g_loss, z = self._autoencoder_terms(x_model, labels, seed_ae, True)
            loss = self.global_mean(recon + self.adversarial_weight * g_loss)
            scaled = self.optimizer.scale_loss(loss)
        self.optimizer.apply(tape.gradient(scaled, ae_vars), ae_vars)
        d_vars = self.discriminator.trainable_variables
        with tf.GradientTape() as tape:
            d_loss = self._discriminator_loss(z, seed_prior, True)
            scaled = self.d_optimizer.scale_loss(self.global_mean(d_loss))
        self.d_optimizer.apply(tape.gradient(scaled, d_vars), d_vars)
        return self.report({"reconstruction": recon, "g_loss": g_loss, "d_loss": d_loss})

    def test_step(self, data):
        x_model, labels = self.unpack_batch(data)
        seed_ae, seed_prior = self.step_seeds(2)
        recon, g_loss, z = self._autoencoder_terms(x_model, labels, seed_ae, False)
        d_loss = self._discriminator_loss(z, seed_prior, False)
        return self.report({"reconstruction": recon, "g_loss": g_loss, "d_loss": d_loss})

    def get_config(self):
        return {
            **super().get_config(),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "loss": self.loss_name,
            "adversarial_weight": self.adversarial_weight,
            "d_optimizer_config": self.d_optimizer_config,
        }
