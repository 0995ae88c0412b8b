"""`BiGAN` (ALI): a GAN that also learns an encoder, judged on joint (x, z) pairs.

The discriminator D(x, z) tells encoder pairs (x, E(x)), x from the data, from generator pairs
(G(z), z), z ~ N(0, I); the generator and the encoder together play against it. At the optimum
E inverts G (Donahue et al. 2017, theorem 2), which makes E(x) a learned representation of x.
"""

from __future__ import annotations

from functools import partial

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kerasgen.losses import adversarial
from kerasgen.models.adversarial import ema
from kerasgen.models.adversarial.latent_generator import LatentGenerator
from kerasgen.models.network_args import data_shape_of, network_attr, resolve_network
from kerasgen.models.optimizers import adam
from kerasgen.registry import register_algorithm


def encoder_generator_loss(loss, real_logit, fake_logit):
    """The generator and encoder's per-example loss (B,) from the discriminator's logits on
    encoder pairs (x, E(x)) (`real_logit`) and generator pairs (G(z), z) (`fake_logit`).

    "minimax" is the game as written, -(log D(x, E(x)) + log(1 - D(G(z), z))); every other loss
    is the discriminator's own loss with the two kinds of pair swapped (the "inverted labels" of
    Donahue et al.'s non-saturating objective: -log D(G(z), z) - log(1 - D(x, E(x))) for
    "non_saturating"; D(x, E(x)) - D(G(z), z) for "wasserstein").

    Args:
        loss: an `AdversarialLoss` (`kerasgen.losses.adversarial.get(name)`).
        real_logit, fake_logit: logits (B,) or (B, 1).

    Returns:
        float32 (B,), to be minimised by the generator and the encoder; reduce over the global batch.
    """
    if loss.name == "minimax":
        return -loss.discriminator(real_logit, fake_logit)
    return loss.discriminator(fake_logit, real_logit)


SCORES = ("logit", "x_logit", "z_logit")
"""A joint discriminator's scores: the joint one, and BigBiGAN's unary scores of x alone and of z alone."""


def _check_score_names(names):
    if "logit" not in names or not set(names) <= set(SCORES):
        raise ValueError(f"a discriminator returning a dict must return 'logit' and may return 'x_logit' and "
                         f"'z_logit', got {sorted(names)}")


def check_joint_scores(discriminator):
    """Raise ValueError unless a functional joint discriminator returning a dict returns "logit" and only `SCORES`,
    each of shape (B, 1). (A subclassed one is checked by `joint_scores` when it runs.)"""
    output = network_attr(discriminator, "output")
    if isinstance(output, dict):
        _check_score_names(output)
        shapes = {name: tuple(score.shape[1:]) for name, score in output.items()}
        if any(shape != (1,) for shape in shapes.values()):
            raise ValueError(f"each score of the discriminator must have shape (B, 1), got {shapes}")


def joint_scores(discriminator, x, z, training):
    """A joint discriminator's logits of pairs (x, z), each (B, 1) float32: {"logit"}, and for one with
    BigBiGAN's unary scores also "x_logit" and "z_logit" (keys sorted)."""
    out = discriminator([x, z], training=training)
    if not isinstance(out, dict):
        out = {"logit": out}
    _check_score_names(out)
    return {name: tf.cast(out[name], tf.float32) for name in sorted(out)}


def sum_over_scores(loss, real_scores, fake_scores):
    """`loss(real, fake)` (B,) of each score, summed: every score plays the game with its own loss (Donahue &
    Simonyan 2019); with the joint logit alone, that loss."""
    return tf.add_n([loss(real_scores[name], fake_scores[name]) for name in real_scores])


@register_algorithm
class BiGAN(LatentGenerator):
    """Bidirectional GAN / adversarially learned inference.

    One step updates the discriminator and, on the same pairs, the generator with the encoder
    (the simultaneous gradient step of both papers); the logits are computed once per step.

    Args:
        generator: z (B, latent_dim) -> x (B, *data_shape); a Keras model, a registered generator
            name ("mlp", "dcgan"), a builder or a serialised model.
        encoder: x (B, *data_shape) -> z (B, latent_dim) (BiGAN's deterministic encoder), or ->
            {"mean", "log_var"} (ALI's Gaussian encoder: z = mean + exp(log_var / 2) eps in
            training; `encode` returns the mean); a model, a registered encoder name
            ("mlp-latent", "conv-latent" deterministic; "mlp", "conv" Gaussian), a builder or a
            serialised model.
        discriminator: [x (B, *data_shape), z (B, latent_dim)] -> logit (B, 1), or a dict of
            "logit" with BigBiGAN's unary scores "x_logit" (of x alone) and "z_logit" (of z alone),
            each (B, 1): each score then plays the game with its own loss, and the losses add
            (Donahue & Simonyan 2019); a model, a registered joint discriminator name ("mlp",
            "dcgan"), a builder or a serialised model.
        latent_dim: size of z ~ N(0, I).
        data_shape: shape of one example; read from a generator model when None.
        loss: a loss of `kerasgen.losses.adversarial` ("non_saturating", the papers' choice, by
            default); the generator and encoder minimise `encoder_generator_loss`.
        standardize: learn feature-wise standardisation of vector data (x is standardised before
            the encoder and the discriminator see it).
        g_optimizer_config: the generator and encoder's optimiser (Adam 2e-4, beta_1 0.5).
        d_optimizer_config: the discriminator's optimiser (Adam 2e-4, beta_1 0.5).
        ema_decay: d in [0, 1): keep an exponential moving average of the generator's weights
            (`ema_generator`, updated after each generator update with the decay warmed up as
            min(d, (1 + t) / (10 + t)); `ema.py`); `sample`, `generate`, `reconstruct` and the
            exported generator use it. The encoder and the discriminator train against the raw
            generator. None (default): no average.
        preset, seed: as in every kerasgen model.

    Example:
        >>> model = BiGAN("mlp", "mlp-latent", "mlp", latent_dim=2, data_shape=(4,))
        >>> model.compile()
        >>> model.encode(np.zeros((3, 4), "float32")).shape
        (3, 2)

    References:
        Donahue, Kraehenbuehl & Darrell 2017, "Adversarial Feature Learning", arXiv:1605.09782;
        Dumoulin et al. 2017, "Adversarially Learned Inference", arXiv:1606.00704.
    """

    generator_role = "generator and encoder"
    onnx_functions = ("encode",)

    def __init__(self, generator, encoder, discriminator, latent_dim, data_shape=None, loss="non_saturating",
                 standardize=False, g_optimizer_config=None, d_optimizer_config=None, ema_decay=None, preset=None,
                 seed=None, **kwargs):
        latent_dim = int(latent_dim)
        if latent_dim < 1:
            raise ValueError(f"latent_dim must be >= 1, got {latent_dim}")
        self.adversarial_loss = adversarial.get(loss)
        generator = resolve_network(generator, "generator", data_shape=data_shape, latent_dim=latent_dim)
        if data_shape is None:
            data_shape = data_shape_of(generator, "generator")
        encoder = resolve_network(encoder, "encoder", data_shape=data_shape, latent_dim=latent_dim)
        discriminator = resolve_network(discriminator, "joint_discriminator", data_shape=data_shape,
                                        latent_dim=latent_dim)
        super().__init__(data_shape=data_shape, standardize=standardize, preset=preset, seed=seed, **kwargs)
        self.generator, self.encoder, self.discriminator = generator, encoder, discriminator
        self.latent_dim = latent_dim
        self.loss_name = loss
        self.g_optimizer_config = g_optimizer_config or adam()
        self.d_optimizer_config = d_optimizer_config or adam()
        self.check_generator()
        self._check_networks()
        self.ema_decay = ema.check_decay(ema_decay)
        self.ema_generator = ema.ema_copy(generator) if self.ema_decay is not None else None
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("d_loss", "g_loss")}
        self.g_optimizer = None
        self.d_optimizer = None
        self.built = True

    def _check_networks(self):
        d_inputs = network_attr(self.discriminator, "inputs")
        if d_inputs is not None and len(d_inputs) != 2:
            raise ValueError(f"the discriminator must take [x, z] (2 inputs), it takes {len(d_inputs)}")
        check_joint_scores(self.discriminator)
        e_inputs, e_output = network_attr(self.encoder, "inputs"), network_attr(self.encoder, "output")
        if e_inputs is not None and len(e_inputs) != 1:
            raise ValueError(f"the encoder must take x alone, it takes {len(e_inputs)} inputs")
        if isinstance(e_output, dict) and not {"mean", "log_var"} <= set(e_output):
            raise ValueError(f"an encoder returning a dict must return 'mean' and 'log_var', got {sorted(e_output)}")
        width = (e_output["mean"] if isinstance(e_output, dict) else e_output).shape[-1] if e_output is not None else None
        if width is not None and width != self.latent_dim:
            raise ValueError(f"the encoder makes codes of size {width} but latent_dim is {self.latent_dim}")

    def generator_side_variables(self):
        """The generator's and the encoder's variables (one optimiser, `g_optimizer`)."""
        return self.generator.trainable_variables + self.encoder.trainable_variables

    # ---- networks -------------------------------------------------------------------------
    def _encode(self, x_model, training, seed=None):
        """E(x) (B, latent_dim) float32: the code, or for a Gaussian encoder the mean (no `seed`) or a
        reparameterised draw (with `seed`)."""
        out = self.encoder(x_model, training=training)
        if not isinstance(out, dict):
            return tf.cast(out, tf.float32)
        mean = tf.cast(out["mean"], tf.float32)
        if seed is None:
            return mean
        log_var = tf.cast(out["log_var"], tf.float32)
        return mean + tf.exp(0.5 * log_var) * tf.random.stateless_normal(tf.shape(mean), seed)

    # ---- training -------------------------------------------------------------------------
    def train_step(self, data):
        self.require_compiled()
        x, _ = self.unpack_batch(data)
        noise_seed, encoder_seed = self.step_seeds(2)
        z = tf.random.stateless_normal((tf.shape(x)[0], self.latent_dim), noise_seed)
        g_vars, d_vars = self.generator_side_variables(), self.discriminator.trainable_variables
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            encoded = self._encode(x, True, encoder_seed)
            generated = tf.cast(self.generator(z, training=True), tf.float32)
            real_scores = joint_scores(self.discriminator, x, encoded, True)  # encoder pairs (x, E(x)): "real"
            fake_scores = joint_scores(self.discriminator, generated, z, True)  # generator pairs (G(z), z): "fake"
            d_per_example = sum_over_scores(self.adversarial_loss.discriminator, real_scores, fake_scores)
            g_per_example = sum_over_scores(partial(encoder_generator_loss, self.adversarial_loss), real_scores,
                                            fake_scores)
            d_scaled = self.d_optimizer.scale_loss(self.global_mean(d_per_example))
            g_scaled = self.g_optimizer.scale_loss(self.global_mean(g_per_example))
        d_grads = d_tape.gradient(d_scaled, d_vars)
        g_grads = g_tape.gradient(g_scaled, g_vars)
        self.d_optimizer.apply(d_grads, d_vars)
        self.g_optimizer.apply(g_grads, g_vars)
        if self.ema_generator is not None:
            ema.update_ema(self.ema_generator, self.generator, self.ema_decay, self.g_optimizer.iterations)
        return self.report({"d_loss": d_per_example, "g_loss": g_per_example})

    # ---- inference --------------------------------------------------------------------------
    def encode(self, x, batch_size=256):
        """E(x): codes (B, latent_dim) float32 numpy of data-space x (B, *data_shape) (a Gaussian
        encoder's mean)."""
        x = np.asarray(x, np.float32)
        self.check_data(x)
        out = [ops.convert_to_numpy(self._encode(self.to_model_space(x[i:i + batch_size]), False))
               for i in range(0, len(x), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, self.latent_dim), np.float32)

    def reconstruct(self, x, batch_size=256):
        """G(E(x)) in data space, numpy (B, *data_shape) (G: the weight average, with `ema_decay`)."""
        return self.generate(self.encode(x, batch_size), batch_size)

    def export_functions(self) -> dict:
        def encode(x):
            return {"z": self._encode(self.to_model_space(x), False)}

        return {"encode": (encode, {"x": tf.TensorSpec([None, *self.data_shape], tf.float32, name="x")}, None)}

    def get_config(self):
        return {
            **super().get_config(),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "latent_dim": self.latent_dim,
            "loss": self.loss_name,
            "g_optimizer_config": self.g_optimizer_config,
            "d_optimizer_config": self.d_optimizer_config,
            "ema_decay": self.ema_decay,
        }
