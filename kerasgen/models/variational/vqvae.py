"""`VQVAE`: an autoencoder with a discrete latent grid (vector-quantised codes).

encoder -> z_e (B, ..., code_dim) -> nearest codebook entries (straight-through)
-> decoder. Loss per example: -log p(x | z_q) + ||sg(z_e) - e||^2 (unless the
codebook learns by moving averages) + commitment_weight ||z_e - sg(e)||^2.
Dead codes are restarted on batch vectors (see `VectorQuantizer`), which also
initialises the codebook from the first batch. Codebook usage is reported each epoch as the perplexity of the code histogram
(K means every code equally used) and the fraction of codes in use.

Sampling needs a prior over codes. The model keeps a moving average of how often
each code occurs at each position and samples positions independently from it:
an honest, cheap prior whose samples show what the codebook holds, not the
quality an autoregressive prior (PixelCNN over codes) would give.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kerasgen import noise as noise_lib
from kerasgen.layers.likelihood import DecoderLikelihood
from kerasgen.layers.vector_quantizer import VectorQuantizer
from kerasgen.models.base import GenerativeModel
from kerasgen.models.network_args import data_shape_of, deserialize_network, network_attr
from kerasgen.models.optimizers import adam
from kerasgen.registry import register_algorithm


@register_algorithm
class VQVAE(GenerativeModel):
    """Vector-quantised VAE.

    Args:
        encoder: Keras model x (B, *data_shape) -> z_e (B, *grid, code_dim).
        decoder: Keras model z_q (B, *grid, code_dim) -> (B, *data_shape) (logits or means).
        num_codes: codebook size K.
        commitment_weight: beta of the commitment loss (0.25 in the paper).
        ema: learn the codebook by moving averages (decay `ema_decay`) instead of gradients.
        likelihood, decoder_scale: the decoder's observation model (see `DecoderLikelihood`).
        prior_decay: decay of the per-position code frequencies used for sampling.
        dead_threshold: codes whose usage share falls below this / K are restarted (0: never).
        data_shape: read from the decoder when None.
        standardize, optimizer_config, preset, seed: as for `VAE`.
    """

    has_encoder = False  # `encode` gives discrete codes, not a continuous latent space

    def __init__(self, encoder, decoder, num_codes=128, commitment_weight=0.25, ema=False, ema_decay=0.99,
                 likelihood="gaussian", decoder_scale=None, prior_decay=0.99, dead_threshold=0.03, data_shape=None, standardize=False,
                 optimizer_config=None, preset=None, seed=None, **kwargs):
        encoder = deserialize_network(encoder)
        decoder = deserialize_network(decoder)
        if network_attr(encoder, "outputs") is None:
            raise ValueError("the VQ-VAE encoder must be a functional Keras model (its output shape is read)")
        if data_shape is None:
            data_shape = data_shape_of(decoder, "decoder")
        super().__init__(data_shape=data_shape, standardize=standardize, preset=preset, seed=seed, **kwargs)
        if likelihood == "bernoulli" and standardize:
            raise ValueError("the bernoulli likelihood needs data in [-1, 1], not standardised vectors")
        if commitment_weight < 0 or not 0 < prior_decay < 1:
            raise ValueError("commitment_weight must be >= 0 and prior_decay in (0, 1)")
        self.encoder, self.decoder = encoder, decoder
        self.latent_shape = tuple(int(s) for s in data_shape_of(encoder, "encoder"))
        self.num_codes, self.commitment_weight = int(num_codes), float(commitment_weight)
        self.ema, self.ema_decay, self.prior_decay = bool(ema), float(ema_decay), float(prior_decay)
        self.likelihood = likelihood
        self.observation = DecoderLikelihood(likelihood, self.data_shape, decoder_scale, name="likelihood")
        self.decoder_scale = self.observation.scale
        self.dead_threshold = float(dead_threshold)
        self.quantizer = VectorQuantizer(self.num_codes, self.latent_shape[-1], ema=self.ema, decay=self.ema_decay,
                                         dead_threshold=self.dead_threshold, name="quantizer")
        grid = self.latent_shape[:-1]
        self.code_frequencies = self.add_weight(
            shape=(*grid, self.num_codes), initializer=keras.initializers.Constant(1.0 / self.num_codes),
            trainable=False, name="code_frequencies", aggregation="only_first_replica")
        self.optimizer_config = optimizer_config or adam(1e-3, 0.9, 0.999)
        self.trackers = {n: keras.metrics.Mean(name=n) for n in
                         ("reconstruction", "quantization", "perplexity", "codes_used")}
        self.built = True

    @property
    def grid_shape(self):
        """Shape of the code grid of one example (the latent shape without code_dim)."""
        return self.latent_shape[:-1]

    def _update_prior(self, indices):
        one_hot = tf.one_hot(indices, self.num_codes, dtype=tf.float32)  # (B, *grid, K)
        context = tf.distribute.get_replica_context()
        total = context.all_reduce("sum", tf.reduce_sum(one_hot, 0))
        count = context.all_reduce("sum", tf.cast(tf.shape(indices)[0], tf.float32))
        self.code_frequencies.assign(self.prior_decay * self.code_frequencies
                                     + (1 - self.prior_decay) * total / count)

    @staticmethod
    def _usage(counts):
        probs = counts / tf.reduce_sum(counts)
        entropy = -tf.reduce_sum(tf.where(probs > 0, probs * tf.math.log(tf.maximum(probs, 1e-12)), 0.0))
        return tf.exp(entropy), tf.reduce_mean(tf.cast(counts > 0, tf.float32))

    def _forward(self, x_model, training):
        z_e = tf.cast(self.encoder(x_model, training=training), tf.float32)
        q = self.quantizer(z_e)
        recon = self.observation.nll(x_model, self.decoder(q["quantized"], training=training))
        per_example = recon + self.commitment_weight * q["commitment"]
        if not self.ema:
            per_example = per_example + q["codebook"]
        return per_example, recon, z_e, q

    def train_step(self, data):
        x_model, _ = self.unpack_batch(data)
        (seed,) = self.step_seeds(1)
        variables = self.trainable_variables
        with tf.GradientTape() as tape:
            per_example, recon, z_e, q = self._forward(x_model, True)
            scaled = self.optimizer.scale_loss(self.global_mean(per_example))
        self.optimizer.apply(tape.gradient(scaled, variables), variables)
        if self.ema:
            self.quantizer.update_ema(z_e, q["indices"])
        counts = self.quantizer.code_counts(q["indices"])
        self.quantizer.restart_dead_codes(z_e, q["indices"], seed, counts=counts)
        self._update_prior(q["indices"])
        return self._report(recon, q, counts)

    def test_step(self, data):
        x_model, _ = self.unpack_batch(data)
        _, recon, _, q = self._forward(x_model, False)
        return self._report(recon, q, self.quantizer.code_counts(q["indices"]))

    def _report(self, recon, q, counts):
        perplexity, used = self._usage(counts)
        return self.report({"reconstruction": recon, "quantization": q["codebook"], "perplexity": perplexity,
                            "codes_used": used})

    def call(self, indices, training=False):
        """Decoder mean in data space from code indices int (B, *grid)."""
        z_q = self.quantizer.lookup(indices)
        return self.to_data_space(self.observation.mean(self.decoder(z_q, training=training)))

    # ---- inference ----------------------------------------------------------------
    def encode(self, x):
        """Code indices int32 (B, *grid) of data-space x."""
        x = np.asarray(x, np.float32)
        self.check_data(x)
        z_e = self.encoder(self.to_model_space(x), training=False)
        return ops.convert_to_numpy(self.quantizer.nearest(z_e))

    def decode(self, indices, batch_size=256):
        """Data-space decoder means for code indices (B, *grid), numpy."""
        indices = np.asarray(indices)
        if indices.shape[1:] != self.grid_shape or not np.issubdtype(indices.dtype, np.integer):
            raise ValueError(f"indices must be integers of shape (B, {', '.join(map(str, self.grid_shape))}), "
                             f"got {indices.dtype} {indices.shape}")
        if indices.size and (indices.min() < 0 or indices.max() >= self.num_codes):
            raise ValueError(f"indices must lie in [0, {self.num_codes - 1}]")
        out = [ops.convert_to_numpy(self(indices[i:i + batch_size].astype(np.int32)))
               for i in range(0, len(indices), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, *self.data_shape), np.float32)

    def reconstruct(self, x):
        """decode(encode(x))."""
        return self.decode(self.encode(x))

    def sample(self, n, seed=None, labels=None, batch_size=256):
        """n samples with each grid position's code drawn from its learned frequencies, numpy (n, *data_shape)."""
        if labels is not None:
            raise ValueError("labels were given but this model is not conditional")
        n = int(n)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        codes = noise_lib.draw(self.export_noise(), n, seed)  # the ONNX export's `sample` draws the same
        return self.decode(codes, batch_size)

    # ---- export hooks -----------------------------------------------------------------
    def export_noise(self) -> dict:
        return {"name": "codes", "shape": list(self.grid_shape), "dtype": "int32", "kind": "codes",
                "num_codes": self.num_codes,
                "code_frequencies": ops.convert_to_numpy(self.code_frequencies).astype(float).round(6).tolist()}

    def prior_noise(self, n, seed):
        logits = tf.math.log(tf.reshape(tf.convert_to_tensor(self.code_frequencies), (-1, self.num_codes)) + 1e-12)
        draws = tf.random.stateless_categorical(logits, n, seed, dtype=tf.int32)  # (positions, n)
        return tf.reshape(tf.transpose(draws), tf.concat([[n], self.grid_shape], 0))

    def export_generate(self, noise, labels=None):
        return self(noise, training=False)

    def export_functions(self) -> dict:
        def encode(x):
            return {"codes": tf.cast(self.quantizer.nearest(self.encoder(self.to_model_space(x), training=False)),
                                     tf.int32)}

        return {"encode": (encode, {"x": tf.TensorSpec([None, *self.data_shape], tf.float32, name="x")}, None)}

    def codebook_usage(self, x):
        """Perplexity of the code histogram and fraction of codes used, over data-space x."""
        counts = np.bincount(self.encode(x).ravel(), minlength=self.num_codes)
        probs = counts[counts > 0] / counts.sum()
        return {"perplexity": float(np.exp(-(probs * np.log(probs)).sum())),
                "codes_used": float((counts > 0).mean())}

    def get_config(self):
        return {
            **super().get_config(),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "num_codes": self.num_codes,
            "commitment_weight": self.commitment_weight,
            "ema": self.ema,
            "ema_decay": self.ema_decay,
            "likelihood": self.likelihood,
            "decoder_scale": self.decoder_scale,
            "prior_decay": self.prior_decay,
            "dead_threshold": self.dead_threshold,
            "optimizer_config": self.optimizer_config,
        }
