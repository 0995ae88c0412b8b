"""Hand-written Keras 3 training steps, the way the Keras guides write them, as speed baselines.

Each baseline is a `keras.Model` subclass with its own `train_step`, compiled with Keras' defaults
(no `jit_compile`, one step per execution), as in the keras.io examples "DCGAN overriding
train_step", "WGAN-GP overriding train_step" and "Variational AutoEncoder", with `training=True`
on every network call as the guide "Customizing what happens in fit()" writes it (Keras does not
set it by itself inside `train_step`: without it batch normalisation would run in inference mode). They take the
networks and optimisers they train from outside, so `benchmarks/speed.py` hands them clones of
a kerasgen preset's networks and the preset's optimiser settings: the same computation, written
by hand.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops


class HandGAN(keras.Model):
    """Non-saturating GAN (DCGAN): D on real and fake, then G through D; logits, binary cross-entropy."""

    def __init__(self, generator, discriminator, latent_dim):
        super().__init__()
        self.generator, self.discriminator, self.latent_dim = generator, discriminator, latent_dim
        self.seed_generator = keras.random.SeedGenerator(1337)
        self.d_loss_tracker, self.g_loss_tracker = keras.metrics.Mean(name="d_loss"), keras.metrics.Mean(name="g_loss")

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def train_step(self, real_images):
        batch_size = ops.shape(real_images)[0]
        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        fake = self.generator(z, training=True)
        combined = ops.concatenate([fake, real_images], axis=0)
        labels = ops.concatenate([ops.zeros((batch_size, 1)), ops.ones((batch_size, 1))], axis=0)
        with tf.GradientTape() as tape:
            d_loss = self.loss_fn(labels, self.discriminator(combined, training=True))
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            g_loss = self.loss_fn(ops.ones((batch_size, 1)),
                                  self.discriminator(self.generator(z, training=True), training=True))
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}


class HandWGANGP(HandGAN):
    """WGAN-GP: `d_steps` critic updates with the gradient penalty, then one generator update."""

    def __init__(self, generator, discriminator, latent_dim, d_steps=5, gp_weight=10.0):
        super().__init__(generator, discriminator, latent_dim)
        self.d_steps, self.gp_weight = d_steps, gp_weight

    def gradient_penalty(self, batch_size, real_images, fake_images):
        alpha = keras.random.uniform((batch_size, 1, 1, 1), seed=self.seed_generator)
        interpolated = real_images + alpha * (fake_images - real_images)
        with tf.GradientTape() as tape:
            tape.watch(interpolated)
            pred = self.discriminator(interpolated, training=True)
        grads = tape.gradient(pred, [interpolated])[0]
        norm = ops.sqrt(ops.sum(ops.square(grads), axis=[1, 2, 3]))
        return ops.mean((norm - 1.0) ** 2)

    def train_step(self, real_images):
        batch_size = ops.shape(real_images)[0]
        for _ in range(self.d_steps):
            z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
            with tf.GradientTape() as tape:
                fake = self.generator(z, training=True)
                d_loss = ops.mean(self.discriminator(fake, training=True)) - ops.mean(
                    self.discriminator(real_images, training=True))
                d_loss = d_loss + self.gp_weight * self.gradient_penalty(batch_size, real_images, fake)
            grads = tape.gradient(d_loss, self.discriminator.trainable_variables)
            self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_variables))
        z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            g_loss = -ops.mean(self.discriminator(self.generator(z, training=True), training=True))
        grads = tape.gradient(g_loss, self.generator.trainable_variables)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_variables))
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}


class HandVAE(keras.Model):
    """VAE with a Bernoulli decoder on images in [0, 1]: summed binary cross-entropy plus the analytic KL.

    `encoder(x)` returns the posterior (mean, log_var), as a pair or a dict; `decoder(z)` returns logits.
    """

    def __init__(self, encoder, decoder, latent_dim):
        super().__init__()
        self.encoder, self.decoder, self.latent_dim = encoder, decoder, latent_dim
        self.seed_generator = keras.random.SeedGenerator(1337)
        self.total_loss_tracker = keras.metrics.Mean(name="total_loss")

    @property
    def metrics(self):
        return [self.total_loss_tracker]

    def train_step(self, data):
        x = (data + 1.0) / 2.0  # kerasgen's [-1, 1] images to Bernoulli targets
        with tf.GradientTape() as tape:
            out = self.encoder(data, training=True)
            z_mean, z_log_var = (out["mean"], out["log_var"]) if isinstance(out, dict) else out
            eps = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
            z = z_mean + ops.exp(0.5 * z_log_var) * eps
            logits = self.decoder(z, training=True)
            reconstruction = ops.sum(ops.binary_crossentropy(x, logits, from_logits=True), axis=(1, 2, 3))
            kl = -0.5 * ops.sum(1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=1)
            total_loss = ops.mean(reconstruction + kl)
        grads = tape.gradient(total_loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.total_loss_tracker.update_state(total_loss)
        return {"loss": self.total_loss_tracker.result()}


class HandFlow(keras.Model):
    """Maximum likelihood of a TFP transformed distribution: minimise -mean log p(x).

    `distribution()` returns the `tfd.TransformedDistribution`; `dequantize(x, seed)` maps a
    batch to the continuous values the flow models (uniform dequantisation of images); `layers_`
    are the Keras layers holding the flow's variables (tracked here).
    """

    def __init__(self, distribution, dequantize, layers_):
        super().__init__()
        self.distribution_fn, self.dequantize = distribution, dequantize
        self.flow_layers = list(layers_)
        self.seed_generator = keras.random.SeedGenerator(1337)
        self.nll_tracker = keras.metrics.Mean(name="nll")

    @property
    def metrics(self):
        return [self.nll_tracker]

    def train_step(self, data):
        y = self.dequantize(data, self.seed_generator)
        with tf.GradientTape() as tape:
            nll = -ops.mean(self.distribution_fn().log_prob(y))
        grads = tape.gradient(nll, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        self.nll_tracker.update_state(nll)
        return {"nll": self.nll_tracker.result()}
