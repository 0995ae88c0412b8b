"""`GAN`: the one adversarial train_step behind every GAN preset.

One step = `n_critic` discriminator updates, then one generator update (on fresh noise, or on
the generated batch of the last discriminator update with `reuse_fakes`).
The loss (minimax, non-saturating, Wasserstein, hinge, least squares), the
penalty (gradient, R1, weight clipping) and the conditioning (labels to G and D
for cGAN; an auxiliary classifier for ACGAN; latent codes with a
mutual-information head for InfoGAN) are options of this one step.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kerasgen import noise as noise_lib
from kerasgen.losses import adversarial, information, penalties
from kerasgen.models.adversarial.codes import LatentCodes, split_outputs  # noqa: F401 - split_outputs re-exported
from kerasgen.models.base import GenerativeModel
from kerasgen.models.network_args import data_shape_of, network_attr, resolve_network
from kerasgen.models.optimizers import adam, loss_scale
from kerasgen.models.players import Player
from kerasgen.registry import register_algorithm


@register_algorithm
class GAN(GenerativeModel):
    """Generative adversarial network with pluggable loss, penalty and conditioning.

    Args:
        generator: Keras model z (B, latent_dim + code size) [, labels (B,)] ->
            x (B, *data_shape); or a registered generator name ("dcgan", "mlp"), a builder, or a
            serialised model (see `kerasgen.models.network_args.resolve_network`).
        discriminator: Keras model x [, labels] -> logits (B, 1) or a dict with
            "logit" and the heads the options need ("class_logits" for ACGAN,
            "code_logits"/"code_mean" for InfoGAN); or a name, builder or serialised model.
        latent_dim: size of the noise vector z ~ N(0, I).
        data_shape: shape of one example; inferred from a generator model when None (needed
            when the networks are given by name or builder).
        loss: "minimax", "non_saturating", "wasserstein", "hinge" or "least_squares".
        penalty: None, "gradient" (WGAN-GP), "r1" or "clip" (WGAN weight clipping).
        penalty_weight: lambda of the gradient penalty; gamma of R1 (applied as gamma/2).
        clip_value: bound of the weight clipping.
        n_critic: discriminator updates per generator update.
        num_classes: number of label classes; when set, the generator takes labels.
        label_to_discriminator: the discriminator also takes labels (cGAN).
        auxiliary_weight: weight of the auxiliary classifier loss (ACGAN) when > 0.
        categorical_codes: sizes of InfoGAN categorical codes, e.g. (10,).
        continuous_codes: number of InfoGAN continuous codes, uniform in [-1, 1].
        info_weight: weight of the mutual-information loss.
        standardize: learn feature-wise standardisation of vector data.
        g_optimizer_config, d_optimizer_config: serialised optimisers that
            `compile()` uses by default (Adam 2e-4, beta_1 0.5 when None).
        reuse_fakes: when True, the generator update reuses the noise and the generated batch of
            the last discriminator update (as the PyTorch DCGAN reference does): one generator
            forward pass fewer per step (about 10% of a DCGAN step on a CPU), scored by the updated
            discriminator. False (the default, Goodfellow et al.'s algorithm) draws fresh noise for
            the generator update; on a 2-D Gaussian, reuse gave less stable fits across seeds.
        preset: the preset name, kept in the config.
        seed: seed of the training noise.

    Example:
        >>> gan = GAN(generator="mlp", discriminator="mlp", latent_dim=8, data_shape=(2,), loss="hinge")
        >>> gan.compile()
        >>> gan.sample(4, seed=0).shape
        (4, 2)
    """

    def __init__(self, generator, discriminator, latent_dim, data_shape=None, loss="non_saturating",
                 penalty=None, penalty_weight=10.0, clip_value=0.01, n_critic=1, num_classes=None,
                 label_to_discriminator=False, auxiliary_weight=0.0, categorical_codes=(),
                 continuous_codes=0, info_weight=1.0, standardize=False, g_optimizer_config=None,
                 d_optimizer_config=None, reuse_fakes=False, preset=None, seed=None, **kwargs):
        if int(n_critic) < 1:
            raise ValueError(f"n_critic must be >= 1, got {n_critic}")
        if (label_to_discriminator or auxiliary_weight > 0) and not num_classes:
            raise ValueError("label_to_discriminator and auxiliary_weight need num_classes")
        self.penalty_fn = penalties.get(penalty)
        codes = LatentCodes(int(latent_dim), tuple(int(k) for k in categorical_codes), int(continuous_codes))
        num_classes = None if num_classes is None else int(num_classes)
        generator = resolve_network(generator, "generator", data_shape=data_shape, latent_dim=codes.input_dim,
                                    num_classes=num_classes)
        if data_shape is None:
            data_shape = data_shape_of(generator, "generator")
        discriminator = resolve_network(
            discriminator, "discriminator", data_shape=data_shape,
            label_input_classes=num_classes if label_to_discriminator else None,
            num_classes=num_classes if auxiliary_weight > 0 else None, categorical_codes=codes.categorical,
            continuous_codes=codes.continuous)
        super().__init__(data_shape=data_shape, standardize=standardize, preset=preset, seed=seed, **kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.codes = codes
        self.latent_dim = codes.latent_dim
        self.loss_name = loss
        self.adversarial_loss = adversarial.get(loss)
        self.penalty = penalty
        self.penalty_weight = float(penalty_weight)
        self.clip_value = float(clip_value)
        self.n_critic = int(n_critic)
        self.reuse_fakes = bool(reuse_fakes)
        self.num_classes = num_classes
        self.label_to_discriminator = bool(label_to_discriminator)
        self.auxiliary_weight = float(auxiliary_weight)
        self.categorical_codes = codes.categorical
        self.continuous_codes = codes.continuous
        self.info_weight = float(info_weight)
        self.g_optimizer_config = g_optimizer_config or adam()
        self.d_optimizer_config = d_optimizer_config or adam()
        self._check_networks()
        names = ["d_loss", "g_loss"] + ["penalty"] * self.penalty_fn.reported
        names += ["class_loss"] * (self.auxiliary_weight > 0) + ["info_loss"] * self.uses_info
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}
        self.g_optimizer = None
        self.d_optimizer = None
        self.built = True

    def players(self):
        """Generator and discriminator, each with its own optimiser (`g_optimizer`, `d_optimizer`)."""
        return (Player("g_optimizer", lambda: self.generator.trainable_variables, self.g_optimizer_config,
                       "generator"),
                Player("d_optimizer", lambda: self.discriminator.trainable_variables, self.d_optimizer_config,
                       "discriminator"))

    # ---- structure ---------------------------------------------------------
    @property
    def code_dim(self) -> int:
        """Size of the InfoGAN code block appended to z."""
        return self.codes.code_dim

    @property
    def generator_input_dim(self) -> int:
        """Size of the generator's vector input: latent_dim + code_dim."""
        return self.codes.input_dim

    @property
    def uses_info(self) -> bool:
        """Whether InfoGAN codes are used."""
        return self.code_dim > 0

    def _check_networks(self):
        """Checks the networks' inputs and heads where Keras knows them (functional models)."""
        g_inputs = network_attr(self.generator, "inputs")
        want = 2 if self.num_classes else 1
        if g_inputs is not None:
            if len(g_inputs) != want:
                raise ValueError(
                    f"generator must take {'[z, labels]' if self.num_classes else 'z'} "
                    f"({want} input(s)), it takes {len(g_inputs)}"
                )
            if g_inputs[0].shape[-1] != self.generator_input_dim:
                raise ValueError(
                    f"generator input size is {g_inputs[0].shape[-1]} but latent_dim + code size "
                    f"is {self.generator_input_dim}"
                )
        g_outputs = network_attr(self.generator, "outputs")
        if g_outputs is not None and tuple(g_outputs[0].shape[1:]) != self.data_shape:
            raise ValueError(f"generator makes shape {tuple(g_outputs[0].shape[1:])} but data_shape is {self.data_shape}")
        d_inputs = network_attr(self.discriminator, "inputs")
        if d_inputs is not None and len(d_inputs) != (2 if self.label_to_discriminator else 1):
            raise ValueError(
                f"discriminator takes {len(d_inputs)} input(s); label_to_discriminator={self.label_to_discriminator}"
            )
        d_output = network_attr(self.discriminator, "output")
        heads = d_output if isinstance(d_output, dict) else {}
        if d_output is None:
            return
        if self.auxiliary_weight > 0 and "class_logits" not in heads:
            raise ValueError("auxiliary_weight > 0 (ACGAN) needs a discriminator with a 'class_logits' head")
        if self.categorical_codes and "code_logits" not in heads:
            raise ValueError("categorical_codes (InfoGAN) need a discriminator with a 'code_logits' head")
        if self.continuous_codes and "code_mean" not in heads:
            raise ValueError("continuous_codes (InfoGAN) need a discriminator with a 'code_mean' head")

    # ---- forward -------------------------------------------------------------------
    def _generate(self, z_full, labels, training):
        inputs = [z_full, labels] if self.num_classes else z_full
        return self.generator(inputs, training=training)

    def _discriminate(self, x, labels, training):
        inputs = [x, labels] if self.label_to_discriminator else x
        return split_outputs(self.discriminator(inputs, training=training))

    def call(self, inputs, training=False):
        """Generator in data space: z_full (B, generator_input_dim) [, labels (B,)] -> x."""
        if self.num_classes:
            z, labels = inputs
        else:
            z, labels = inputs, None
        return self.to_data_space(self._generate(z, labels, training))

    def make_latent(self, noise, categorical=None, continuous=None, seed=None):
        """Generator input from noise and InfoGAN codes (numpy).

        Args:
            noise: (B, latent_dim).
            categorical: int (B, n_categorical) code values; random when None.
            continuous: (B, continuous_codes) in [-1, 1]; random when None.
            seed: seed of the random codes.

        Returns:
            float32 (B, generator_input_dim).
        """
        return self.codes.combine(noise, categorical, continuous, seed)

    def _class_loss(self, heads, labels):
        """ACGAN's per-example class loss from a discriminator's heads (0 without the auxiliary head)."""
        if self.auxiliary_weight > 0:
            return information.class_cross_entropy(labels, heads["class_logits"])
        return tf.zeros_like(tf.cast(tf.reshape(heads["logit"], (-1,)), tf.float32))

    # ---- training ---------------------------------------------------------------------
    def _discriminator_step(self, real, labels, seed, drawn=None):
        """One discriminator update; `drawn` = (fake batch, InfoGAN codes) to score instead of drawing
        and generating a batch here."""
        batch = tf.shape(real)[0]
        s_noise, s_alpha = tf.unstack(tf.random.experimental.stateless_split(seed, num=2))
        if drawn is None:
            z_full, cat, cont = self.codes.draw(batch, s_noise)
            fake = tf.cast(self._generate(z_full, labels, True), tf.float32)
        else:
            fake, cat, cont = drawn
        fake = tf.stop_gradient(fake)
        d_vars = self.discriminator.trainable_variables
        with tf.GradientTape() as tape:
            real_heads = self._discriminate(real, labels, True)
            fake_heads = self._discriminate(fake, labels, True)
            per_example = self.adversarial_loss.discriminator(real_heads["logit"], fake_heads["logit"])
            penalty = tf.zeros_like(per_example)
            if self.penalty_fn.term is not None:
                critic = lambda x: self._discriminate(x, labels, True)["logit"]  # noqa: E731
                penalty = self.penalty_fn.term(critic, real, fake, s_alpha, loss_scale(self.d_optimizer))
                per_example = per_example + self.penalty_fn.factor * self.penalty_weight * penalty
            info = self.codes.loss(fake_heads, cat, cont)
            class_loss = self._class_loss(fake_heads, labels)
            if self.auxiliary_weight > 0:  # ACGAN's discriminator also classifies real data
                class_loss = class_loss + self._class_loss(real_heads, labels)
            per_example = per_example + self.auxiliary_weight * class_loss + self.info_weight * info
            loss = self.global_mean(per_example)
            scaled = self.d_optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, d_vars)
        self.d_optimizer.apply(grads, d_vars)
        if self.penalty_fn.constraint is not None:
            self.penalty_fn.constraint(d_vars, self.clip_value)
        return per_example, penalty, class_loss, info

    def _generator_step(self, labels, batch, seed, real=None, critic_seed=None):
        """One generator update with fresh noise from `seed`; or, with `real` and `critic_seed`, the last
        discriminator update and then the generator update on the same generated batch (`reuse_fakes`).
        Returns the generator's per-example loss and the discriminator step's outputs (or None)."""
        noise_seed = seed if real is None else tf.unstack(tf.random.experimental.stateless_split(critic_seed, num=2))[0]
        z_full, cat, cont = self.codes.draw(batch, noise_seed)
        g_vars = self.generator.trainable_variables
        d_out = None
        with tf.GradientTape() as tape:
            fake = tf.cast(self._generate(z_full, labels, True), tf.float32)
            if real is not None:
                with tape.stop_recording():
                    d_out = self._discriminator_step(real, labels, critic_seed, drawn=(fake, cat, cont))
            heads = self._discriminate(fake, labels, True)
            per_example = self.adversarial_loss.generator(heads["logit"])
            class_loss, info = self._class_loss(heads, labels), self.codes.loss(heads, cat, cont)
            per_example = per_example + self.auxiliary_weight * class_loss + self.info_weight * info
            loss = self.global_mean(per_example)
            scaled = self.g_optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, g_vars)
        self.g_optimizer.apply(grads, g_vars)
        return per_example, d_out

    def train_step(self, data):
        self.require_compiled()
        real, labels = self.unpack_batch(data)
        batch = tf.shape(real)[0]
        seeds = self.step_seeds(self.n_critic + 1)
        separate = self.n_critic - 1 if self.reuse_fakes else self.n_critic
        for i in range(separate):
            d_out = self._discriminator_step(real, labels, seeds[i])
        if self.reuse_fakes:  # the last discriminator update shares its generated batch with G's
            g_per_example, d_out = self._generator_step(labels, batch, seeds[-1], real, seeds[separate])
        else:
            g_per_example, _ = self._generator_step(labels, batch, seeds[-1])
        d_per_example, penalty, class_loss, info = d_out
        terms = {"d_loss": d_per_example, "g_loss": g_per_example, "penalty": penalty, "class_loss": class_loss,
                 "info_loss": info}
        return self.report({name: terms[name] for name in self.trackers})

    def test_step(self, data):
        return self.metric_results()

    # ---- sampling -------------------------------------------------------------------------
    def sample_noise(self, n, seed=None, truncation=None):
        """Noise z (n, latent_dim) float32; truncated to |z| <= truncation when set."""
        spec = {"kind": "normal", "shape": [self.latent_dim]}
        return noise_lib.draw(spec, n, seed, truncation)

    def sample(self, n, seed=None, labels=None, truncation=None, batch_size=256):
        """Draws n samples in data space.

        Args:
            n: number of samples.
            seed: the same seed gives the same samples (and the same as the ONNX export's
                `OnnxGenerator.sample(n, seed)`: both draw with `kerasgen.noise.draw`).
            labels: int (n,) classes for conditional models; when None, classes
                cycle 0, 1, ..., num_classes - 1.
            truncation: truncate the noise to |z| <= truncation (the truncation trick).
            batch_size: generator batch size.

        Returns:
            float32 numpy array (n, *data_shape); images in [-1, 1], vectors on
            the training data's scale.
        """
        z = noise_lib.draw(self.export_noise(), n, seed, truncation)
        labels = self.sample_labels(len(z), labels)
        return self.generate(z, labels, batch_size)

    def generate(self, z, labels=None, batch_size=256):
        """Data-space samples from generator inputs z (B, generator_input_dim) [and labels]."""
        z = np.asarray(z, np.float32)
        if z.ndim != 2 or z.shape[1] != self.generator_input_dim:
            raise ValueError(f"z must have shape (B, {self.generator_input_dim}), got {z.shape}")
        out = []
        for i in range(0, len(z), batch_size):
            zb = z[i : i + batch_size]
            inputs = [zb, labels[i : i + batch_size]] if self.num_classes else zb
            out.append(ops.convert_to_numpy(self(inputs, training=False)))
        return np.concatenate(out) if out else np.zeros((0, *self.data_shape), np.float32)

    # ---- export hooks ---------------------------------------------------------------------
    def export_noise(self) -> dict:
        return self.codes.noise_spec()

    def prior_noise(self, n, seed):
        return self.codes.draw(n, seed)[0]

    def get_config(self):
        return {
            **super().get_config(),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "latent_dim": self.latent_dim,
            "loss": self.loss_name,
            "penalty": self.penalty,
            "penalty_weight": self.penalty_weight,
            "clip_value": self.clip_value,
            "n_critic": self.n_critic,
            "reuse_fakes": self.reuse_fakes,
            "num_classes": self.num_classes,
            "label_to_discriminator": self.label_to_discriminator,
            "auxiliary_weight": self.auxiliary_weight,
            "categorical_codes": list(self.categorical_codes),
            "continuous_codes": self.continuous_codes,
            "info_weight": self.info_weight,
            "g_optimizer_config": self.g_optimizer_config,
            "d_optimizer_config": self.d_optimizer_config,
        }
