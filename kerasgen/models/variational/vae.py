"""`VAE`: one variational train_step maximising the ELBO.

encode -> reparameterise -> decode; the decoder likelihood is pluggable
("bernoulli" for data in [0, 1] (images in [-1, 1] are mapped there), "gaussian"
with a fixed standard deviation); the KL to N(0, I) is analytic; beta and a
linear KL warm-up are part of the model's config, and the current beta is
reported each epoch.

References:
    Kingma & Welling 2014; Higgins et al. 2017 (beta-VAE); Bowman et al. 2016 (KL annealing).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kerasgen.losses import divergences
from kerasgen.models.base import GenerativeModel, adam, deserialize_network, resolve_optimizer, uses_float16
from kerasgen.registry import register_algorithm

LIKELIHOODS = ("bernoulli", "gaussian")


@register_algorithm
class VAE(GenerativeModel):
    """Variational autoencoder with a diagonal Gaussian posterior.

    Args:
        encoder: Keras model x (B, *data_shape) -> {"mean", "log_var"} (B, latent_dim) each, or
            a pair [mean, log_var].
        decoder: Keras model z (B, latent_dim) -> (B, *data_shape): logits for "bernoulli",
            the mean for "gaussian".
        latent_dim: size of z.
        data_shape: shape of one example (read from the decoder when None).
        likelihood: "bernoulli" or "gaussian".
        decoder_std: standard deviation of the fixed-variance Gaussian likelihood.
        beta: weight of the KL term (1 is the ELBO; > 1 is a beta-VAE).
        kl_warmup_steps: beta rises linearly from 0 over this many steps (0: no warm-up).
        standardize: learn feature-wise standardisation of vector data.
        optimizer_config: serialised optimiser `compile()` uses by default (Adam 1e-3).
        preset, seed: as in every kerasgen model.
    """

    def __init__(self, encoder, decoder, latent_dim, data_shape=None, likelihood="bernoulli", decoder_std=1.0,
                 beta=1.0, kl_warmup_steps=0, standardize=False, optimizer_config=None, preset=None, seed=None,
                 **kwargs):
        encoder = deserialize_network(encoder)
        decoder = deserialize_network(decoder)
        if data_shape is None:
            data_shape = tuple(decoder.outputs[0].shape[1:])
        super().__init__(data_shape=data_shape, standardize=standardize, preset=preset, seed=seed, **kwargs)
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"unknown likelihood {likelihood!r}; use one of {', '.join(LIKELIHOODS)}")
        if beta < 0 or kl_warmup_steps < 0 or decoder_std <= 0:
            raise ValueError("beta and kl_warmup_steps must be >= 0 and decoder_std > 0")
        self.encoder, self.decoder = encoder, decoder
        self.latent_dim = int(latent_dim)
        self.likelihood = likelihood
        self.decoder_std = float(decoder_std)
        self.beta = float(beta)
        self.kl_warmup_steps = int(kl_warmup_steps)
        self.optimizer_config = optimizer_config or adam(1e-3, 0.9, 0.999)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("neg_elbo", "reconstruction", "kl", "beta")}
        self.built = True

    # ---- pieces -------------------------------------------------------------------
    def _posterior(self, x_model, training):
        out = self.encoder(x_model, training=training)
        if isinstance(out, dict):
            return out["mean"], out["log_var"]
        return out[0], out[1]

    def _reconstruction_nll(self, x_model, decoded):
        if self.likelihood == "bernoulli":
            return divergences.bernoulli_nll((x_model + 1.0) / 2.0, decoded)
        return divergences.gaussian_nll(x_model, decoded, np.log(self.decoder_std))

    def _decoded_mean(self, decoded):
        decoded = ops.cast(decoded, "float32")
        if self.likelihood == "bernoulli":
            return ops.sigmoid(decoded) * 2.0 - 1.0
        return self.to_data_space(decoded)

    def current_beta(self, step):
        """beta at optimiser step `step`: linear warm-up from 0, then `beta`."""
        if self.kl_warmup_steps == 0:
            return tf.constant(self.beta, tf.float32)
        frac = tf.minimum(tf.cast(step, tf.float32) / float(self.kl_warmup_steps), 1.0)
        return self.beta * frac

    # ---- training ------------------------------------------------------------------
    def compile(self, optimizer="auto", **kwargs):
        """Sets the optimiser ("auto": the preset default) and builds it; kwargs go to Keras."""
        kwargs.setdefault("jit_compile", False)
        opt = resolve_optimizer(optimizer, self.optimizer_config, uses_float16(self.encoder, self.decoder))
        super().compile(optimizer=opt, **kwargs)
        self.optimizer.build(self.trainable_variables)

    def get_compile_config(self):
        optimizer = getattr(self, "optimizer", None)
        return None if optimizer is None else {"optimizer": keras.saving.serialize_keras_object(optimizer)}

    def compile_from_config(self, config):
        self.compile(optimizer=keras.saving.deserialize_keras_object(config["optimizer"]))

    @property
    def metrics(self):
        return list(self.trackers.values())

    def train_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        self.check_data(x)
        x_model = self.to_model_space(x)
        (seed,) = self.step_seeds(1)
        beta = self.current_beta(self.optimizer.iterations)
        variables = self.trainable_variables
        with tf.GradientTape() as tape:
            mean, log_var = self._posterior(x_model, True)
            mean, log_var = tf.cast(mean, tf.float32), tf.cast(log_var, tf.float32)
            eps = tf.random.stateless_normal(tf.shape(mean), seed=seed)
            z = mean + tf.exp(0.5 * log_var) * eps
            recon = self._reconstruction_nll(x_model, self.decoder(z, training=True))
            kl = divergences.gaussian_kl(mean, log_var)
            loss = self.global_mean(recon + beta * kl)
            scaled = self.optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, variables)
        self.optimizer.apply(grads, variables)
        self.trackers["neg_elbo"].update_state(tf.reduce_mean(recon + kl))
        self.trackers["reconstruction"].update_state(tf.reduce_mean(recon))
        self.trackers["kl"].update_state(tf.reduce_mean(kl))
        self.trackers["beta"].update_state(beta)
        return {m.name: m.result() for m in self.metrics}

    def call(self, z, training=False):
        """Decoder mean in data space: z (B, latent_dim) -> (B, *data_shape)."""
        return self._decoded_mean(self.decoder(z, training=training))

    # ---- inference ------------------------------------------------------------------
    def encode(self, x):
        """Posterior (mean, log_var), numpy (B, latent_dim) each, for data-space x."""
        x = np.asarray(x, np.float32)
        self.check_data(x)
        mean, log_var = self._posterior(self.to_model_space(x), False)
        return ops.convert_to_numpy(mean), ops.convert_to_numpy(log_var)

    def decode(self, z):
        """Decoder mean in data space for z (B, latent_dim), numpy."""
        z = np.asarray(z, np.float32)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (B, {self.latent_dim}), got {z.shape}")
        return ops.convert_to_numpy(self(z))

    def reconstruct(self, x):
        """decode(posterior mean of x)."""
        return self.decode(self.encode(x)[0])

    def sample(self, n, seed=None, labels=None):
        """n samples (decoder means for z ~ N(0, I)) in data space, numpy (n, *data_shape)."""
        if labels is not None:
            raise ValueError("labels were given but this model is not conditional")
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        z = np.random.default_rng(seed).standard_normal((int(n), self.latent_dim)).astype(np.float32)
        return self.decode(z)

    def get_config(self):
        return {
            **super().get_config(),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "latent_dim": self.latent_dim,
            "likelihood": self.likelihood,
            "decoder_std": self.decoder_std,
            "beta": self.beta,
            "kl_warmup_steps": self.kl_warmup_steps,
            "optimizer_config": self.optimizer_config,
        }
