"""`HierarchicalVAE`: a VAE with two stochastic layers, z1 (near the data) and z2 (on top).

Generative model p(z2) p(z1 | z2) p(x | z1) with p(z2) = N(0, I); inference
q(z1 | x) q(z2 | z1), bottom-up, as in the two-layer models of Burda et al.
2016. Only the latent part differs from `VAE`: the train step, the bounds,
the likelihoods and the evaluation are the VAE's.

KL estimators: "monte_carlo" uses log q(z1, z2 | x) - log p(z1, z2) at the
samples; "analytic" replaces the z2 part with its closed form
KL(q(z2 | z1) || N(0, I)) (the z1 part has no closed form and stays sampled).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from kerasgen.losses import divergences
from kerasgen.models.network_args import deserialize_network
from kerasgen.models.variational.vae import VAE, per_sample, posterior_outputs, reparameterise, tile_samples
from kerasgen.registry import register_algorithm


@register_algorithm
class HierarchicalVAE(VAE):
    """Two-level VAE.

    Args:
        encoder: x (B, *data_shape) -> {"mean", "log_var"} of q(z1 | x), (B, latent_dim).
        decoder: z1 (B, latent_dim) -> (B, *data_shape), as for `VAE`.
        top_encoder: z1 (B, latent_dim) -> {"mean", "log_var"} of q(z2 | z1), (B, top_latent_dim).
        top_prior: z2 (B, top_latent_dim) -> {"mean", "log_var"} of p(z1 | z2), (B, latent_dim).
        top_latent_dim: size of z2.
        **kwargs: as for `VAE` (labels are not supported: num_classes must be None).

    `encode`/`decode`/`reconstruct` work on z1; `sample` draws z2 ~ N(0, I), then
    z1 ~ p(z1 | z2), then decodes.
    """

    def __init__(self, encoder, decoder, top_encoder, top_prior, latent_dim, top_latent_dim, **kwargs):
        if kwargs.get("num_classes"):
            raise ValueError("HierarchicalVAE does not take labels (num_classes must be None)")
        super().__init__(encoder, decoder, latent_dim, **kwargs)
        self.top_encoder = deserialize_network(top_encoder)
        self.top_prior = deserialize_network(top_prior)
        self.top_latent_dim = int(top_latent_dim)

    def _latent(self, x_model, labels, seed, k, training):
        seed1, seed2 = tf.unstack(tf.random.experimental.stateless_split(seed, num=2))
        mean1, log_var1 = self._posterior(x_model, labels, training)
        z1 = reparameterise(mean1, log_var1, seed1, k)
        mean2, log_var2 = posterior_outputs(self.top_encoder(z1, training=training))
        z2 = reparameterise(mean2, log_var2, seed2, 1)
        prior_mean1, prior_log_var1 = posterior_outputs(self.top_prior(z2, training=training))
        log_q1 = divergences.gaussian_log_density(z1, tile_samples(mean1, k), tile_samples(log_var1, k))
        log_p1 = divergences.gaussian_log_density(z1, prior_mean1, prior_log_var1)
        log_q2 = divergences.gaussian_log_density(z2, mean2, log_var2)
        log_p2 = divergences.gaussian_log_density(z2, 0.0, 0.0)
        kl_mc = per_sample(log_q1 - log_p1 + log_q2 - log_p2, k)
        kl_analytic = per_sample(log_q1 - log_p1 + divergences.gaussian_kl(mean2, log_var2), k)
        return z1, kl_mc, kl_analytic

    def _latents_from_noise(self, noise):
        """z1 from noise (B, top_latent_dim + latent_dim): z2, then z1 = mean + std * eps under p(z1 | z2)."""
        z2, eps = noise[:, :self.top_latent_dim], noise[:, self.top_latent_dim:]
        if len(noise) == 0:
            return eps
        mean1, log_var1 = posterior_outputs(self.top_prior(z2, training=False))
        return ops.convert_to_numpy(mean1 + tf.exp(0.5 * log_var1) * eps)

    def export_noise(self) -> dict:
        """Noise (top_latent_dim + latent_dim): z2 and the standard-normal part of z1 | z2."""
        return {"name": "z", "shape": [self.top_latent_dim + self.latent_dim], "dtype": "float32", "kind": "normal"}

    def export_generate(self, noise, labels=None):
        z2, eps = noise[:, :self.top_latent_dim], noise[:, self.top_latent_dim:]
        mean1, log_var1 = posterior_outputs(self.top_prior(z2, training=False))
        z1 = tf.cast(mean1, tf.float32) + tf.exp(0.5 * tf.cast(log_var1, tf.float32)) * eps
        return super().export_generate(z1, labels)

    def get_config(self):
        return {
            **super().get_config(),
            "top_encoder": keras.saving.serialize_keras_object(self.top_encoder),
            "top_prior": keras.saving.serialize_keras_object(self.top_prior),
            "top_latent_dim": self.top_latent_dim,
        }
