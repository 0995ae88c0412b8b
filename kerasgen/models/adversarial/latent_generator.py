"""`LatentGenerator`: what adversarial algorithms with a plain generator G(z), z ~ N(0, I), share
beyond `GenerativeModel` (BiGAN and the semi-supervised GAN): sampling, generating from given
noise, the export hooks, and the two players (generator side and discriminator)."""

from __future__ import annotations

import numpy as np
from keras import ops

from kerasgen import noise as noise_lib
from kerasgen.models.base import GenerativeModel
from kerasgen.models.network_args import network_attr
from kerasgen.models.players import Player


class LatentGenerator(GenerativeModel):
    """Base of unconditional generators G: z (B, latent_dim) -> x (B, *data_shape), z ~ N(0, I).

    Subclasses set `self.generator`, `self.discriminator`, `self.latent_dim`,
    `self.g_optimizer_config` and `self.d_optimizer_config`, and may extend
    `generator_side_variables` (BiGAN's encoder trains with the generator).
    """

    generator_role = "generator"
    ema_generator = None
    """The generator's weight average that sampling and export use (set by a subclass taking `ema_decay`), or None."""

    def players(self):
        """The generator side (`g_optimizer`) and the discriminator (`d_optimizer`)."""
        return (Player("g_optimizer", self.generator_side_variables, self.g_optimizer_config, self.generator_role),
                Player("d_optimizer", lambda: self.discriminator.trainable_variables, self.d_optimizer_config,
                       "discriminator"))

    def generator_side_variables(self) -> list:
        """The variables `g_optimizer` updates."""
        return self.generator.trainable_variables

    def check_generator(self):
        """Raises ValueError when a functional generator's input or output size is wrong."""
        inputs, outputs = network_attr(self.generator, "inputs"), network_attr(self.generator, "outputs")
        if inputs is not None and (len(inputs) != 1 or inputs[0].shape[-1] != self.latent_dim):
            raise ValueError(f"generator must take z (B, {self.latent_dim}) alone, it takes "
                             f"{[tuple(t.shape) for t in inputs]}")
        if outputs is not None and tuple(outputs[0].shape[1:]) != self.data_shape:
            raise ValueError(f"generator makes shape {tuple(outputs[0].shape[1:])} but data_shape is {self.data_shape}")

    @property
    def sampling_generator(self):
        """The generator that `call`, `sample`, `generate` and export use: its weight average when there is one."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    def call(self, inputs, training=False):
        """Generator in data space: z (B, latent_dim) -> x (B, *data_shape) (the weight average's, when kept)."""
        return self.to_data_space(self.sampling_generator(inputs, training=training))

    def generate(self, z, batch_size=256):
        """Data-space samples (B, *data_shape), numpy, from z (B, latent_dim)."""
        z = np.asarray(z, np.float32)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (B, {self.latent_dim}), got {z.shape}")
        out = [ops.convert_to_numpy(self(z[i:i + batch_size], training=False)) for i in range(0, len(z), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, *self.data_shape), np.float32)

    def sample_noise(self, n, seed=None, truncation=None):
        """Noise z (n, latent_dim) float32; truncated to |z| <= truncation when set."""
        return noise_lib.draw(self.export_noise(), n, seed, truncation)

    def sample(self, n, seed=None, truncation=None, batch_size=256):
        """n samples in data space, numpy (n, *data_shape): images in [-1, 1], vectors on the
        training data's scale. The same seed gives the same samples (and the ONNX export's
        `OnnxGenerator.sample(n, seed)` gives them too)."""
        return self.generate(self.sample_noise(n, seed, truncation), batch_size)

    def test_step(self, data):
        return self.metric_results()
