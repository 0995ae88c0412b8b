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
from scipy.stats import truncnorm

from kerasgen.losses import adversarial, information, penalties
from kerasgen.models.base import (
    GenerativeModel,
    set_compile_defaults,
    adam,
    data_shape_of,
    deserialize_network,
    network_attr,
    resolve_optimizer,
    uses_float16,
)
from kerasgen.registry import register_algorithm


def split_outputs(out) -> dict:
    """Discriminator output as a dict with at least "logit"."""
    if isinstance(out, dict):
        if "logit" not in out:
            raise ValueError(f"a discriminator returning a dict must have a 'logit' entry, got {sorted(out)}")
        return out
    if isinstance(out, (list, tuple)):
        return {"logit": out[0]}
    return {"logit": out}


@register_algorithm
class GAN(GenerativeModel):
    """Generative adversarial network with pluggable loss, penalty and conditioning.

    Args:
        generator: Keras model z (B, latent_dim + code size) [, labels (B,)] ->
            x (B, *data_shape); or its serialised config.
        discriminator: Keras model x [, labels] -> logits (B, 1) or a dict with
            "logit" and the heads the options need ("class_logits" for ACGAN,
            "code_logits"/"code_mean" for InfoGAN).
        latent_dim: size of the noise vector z ~ N(0, I).
        data_shape: shape of one example; inferred from the generator when None.
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
        >>> g = kerasgen.networks.mlp_generator((2,), 8)
        >>> d = kerasgen.networks.mlp_discriminator((2,))
        >>> gan = GAN(g, d, latent_dim=8, loss="hinge")
        >>> gan.compile()
        >>> gan.sample(4, seed=0).shape
        (4, 2)
    """

    def __init__(self, generator, discriminator, latent_dim, data_shape=None, loss="non_saturating",
                 penalty=None, penalty_weight=10.0, clip_value=0.01, n_critic=1, num_classes=None,
                 label_to_discriminator=False, auxiliary_weight=0.0, categorical_codes=(),
                 continuous_codes=0, info_weight=1.0, standardize=False, g_optimizer_config=None,
                 d_optimizer_config=None, reuse_fakes=False, preset=None, seed=None, **kwargs):
        generator = deserialize_network(generator)
        discriminator = deserialize_network(discriminator)
        if data_shape is None:
            data_shape = data_shape_of(generator, "generator")
        super().__init__(data_shape=data_shape, standardize=standardize, preset=preset, seed=seed, **kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        self.loss_name = loss
        self.adversarial_loss = adversarial.get(loss)
        if penalty not in (None, *penalties.PENALTIES):
            raise ValueError(f"unknown penalty {penalty!r}; use None or one of {', '.join(penalties.PENALTIES)}")
        self.penalty = penalty
        self.penalty_weight = float(penalty_weight)
        self.clip_value = float(clip_value)
        if int(n_critic) < 1:
            raise ValueError(f"n_critic must be >= 1, got {n_critic}")
        self.n_critic = int(n_critic)
        self.reuse_fakes = bool(reuse_fakes)
        self.num_classes = None if num_classes is None else int(num_classes)
        self.label_to_discriminator = bool(label_to_discriminator)
        self.auxiliary_weight = float(auxiliary_weight)
        self.categorical_codes = tuple(int(k) for k in categorical_codes)
        self.continuous_codes = int(continuous_codes)
        self.info_weight = float(info_weight)
        self.g_optimizer_config = g_optimizer_config or adam()
        self.d_optimizer_config = d_optimizer_config or adam()
        if (self.label_to_discriminator or self.auxiliary_weight > 0) and not self.num_classes:
            raise ValueError("label_to_discriminator and auxiliary_weight need num_classes")
        self._check_networks()
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.penalty_tracker = keras.metrics.Mean(name="penalty")
        self.class_tracker = keras.metrics.Mean(name="class_loss")
        self.info_tracker = keras.metrics.Mean(name="info_loss")
        self.g_optimizer = None
        self.d_optimizer = None
        self.built = True

    # ---- structure ---------------------------------------------------------
    @property
    def code_dim(self) -> int:
        """Size of the InfoGAN code block appended to z."""
        return sum(self.categorical_codes) + self.continuous_codes

    @property
    def generator_input_dim(self) -> int:
        """Size of the generator's vector input: latent_dim + code_dim."""
        return self.latent_dim + self.code_dim

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
        noise = np.asarray(noise, np.float32)
        if noise.ndim != 2 or noise.shape[1] != self.latent_dim:
            raise ValueError(f"noise must have shape (B, {self.latent_dim}), got {noise.shape}")
        if not self.uses_info:
            return noise
        rng = np.random.default_rng(None if seed is None else seed + 1)
        b = len(noise)
        parts = [noise]
        if self.categorical_codes:
            if categorical is None:
                categorical = np.stack([rng.integers(0, k, b) for k in self.categorical_codes], 1)
            categorical = np.asarray(categorical).reshape(b, len(self.categorical_codes))
            parts += [np.eye(k, dtype=np.float32)[categorical[:, i]] for i, k in enumerate(self.categorical_codes)]
        if self.continuous_codes:
            if continuous is None:
                continuous = rng.uniform(-1, 1, (b, self.continuous_codes))
            parts.append(np.asarray(continuous, np.float32).reshape(b, self.continuous_codes))
        return np.concatenate(parts, axis=1).astype(np.float32)

    # ---- training noise --------------------------------------------------------------
    def _draw(self, batch, seed, labels):
        """Noise, InfoGAN codes and generator labels for one update."""
        s = tf.unstack(tf.random.experimental.stateless_split(seed, num=3))
        z = tf.random.stateless_normal((batch, self.latent_dim), seed=s[0])
        parts, cat, cont = [z], None, None
        if self.categorical_codes:
            cat = tf.stack(
                [tf.random.stateless_uniform((batch,), seed=s[1] + i, minval=0, maxval=k, dtype=tf.int32)
                 for i, k in enumerate(self.categorical_codes)], axis=1)
            parts += [tf.one_hot(cat[:, i], k) for i, k in enumerate(self.categorical_codes)]
        if self.continuous_codes:
            cont = tf.random.stateless_uniform((batch, self.continuous_codes), seed=s[2], minval=-1.0, maxval=1.0)
            parts.append(cont)
        z_full = tf.concat(parts, axis=1) if len(parts) > 1 else z
        return z_full, cat, cont

    def _head_losses(self, heads, labels, cat, cont):
        """Per-example ACGAN class loss and InfoGAN code loss (zeros when unused)."""
        zero = tf.zeros_like(tf.cast(tf.reshape(heads["logit"], (-1,)), tf.float32))
        class_loss = information.class_cross_entropy(labels, heads["class_logits"]) if self.auxiliary_weight > 0 else zero
        info = zero
        if self.categorical_codes:
            info = info + information.categorical_codes_nll(cat, heads["code_logits"], self.categorical_codes)
        if self.continuous_codes:
            info = info + information.continuous_codes_nll(cont, heads["code_mean"])
        return class_loss, info

    # ---- training ---------------------------------------------------------------------
    def compile(self, g_optimizer="auto", d_optimizer="auto", **kwargs):
        """Sets both optimisers and builds their variables.

        Args:
            g_optimizer, d_optimizer: "auto" (the preset defaults), an optimiser
                name, config or instance. Under mixed_float16 each is wrapped in
                a `LossScaleOptimizer` that scales its own loss.
            **kwargs: passed to `keras.Model.compile` (e.g. `jit_compile`,
                `steps_per_execution`; defaults in `kerasgen.models.base.set_compile_defaults`).
        """
        super().compile(optimizer=None, **set_compile_defaults(kwargs))
        float16 = uses_float16(self.generator, self.discriminator)
        self.g_optimizer = resolve_optimizer(g_optimizer, self.g_optimizer_config, float16)
        self.d_optimizer = resolve_optimizer(d_optimizer, self.d_optimizer_config, float16)
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)

    def get_compile_config(self):
        if self.g_optimizer is None:
            return None
        return {
            "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
            "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
        }

    def compile_from_config(self, config):
        self.compile(
            g_optimizer=keras.saving.deserialize_keras_object(config["g_optimizer"]),
            d_optimizer=keras.saving.deserialize_keras_object(config["d_optimizer"]),
        )

    @property
    def metrics(self):
        trackers = [self.d_loss_tracker, self.g_loss_tracker]
        if self.penalty in ("gradient", "r1"):
            trackers.append(self.penalty_tracker)
        if self.auxiliary_weight > 0:
            trackers.append(self.class_tracker)
        if self.uses_info:
            trackers.append(self.info_tracker)
        return trackers

    def _loss_scale(self, optimizer):
        return tf.cast(optimizer.dynamic_scale, tf.float32) if hasattr(optimizer, "dynamic_scale") else 1.0

    def _discriminator_step(self, real, labels, seed, drawn=None):
        """One discriminator update; `drawn` = (fake batch, InfoGAN codes) to score instead of drawing
        and generating a batch here."""
        batch = tf.shape(real)[0]
        s_noise, s_alpha = tf.unstack(tf.random.experimental.stateless_split(seed, num=2))
        if drawn is None:
            z_full, cat, cont = self._draw(batch, s_noise, labels)
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
            critic = lambda x: self._discriminate(x, labels, True)["logit"]
            scale = self._loss_scale(self.d_optimizer)
            if self.penalty == "gradient":
                alpha_shape = tf.concat([[batch], tf.ones(len(self.data_shape), tf.int32)], 0)
                alpha = tf.random.stateless_uniform(alpha_shape, seed=s_alpha)
                penalty = penalties.gradient_penalty(critic, real, fake, alpha, scale)
                per_example = per_example + self.penalty_weight * penalty
            elif self.penalty == "r1":
                penalty = penalties.r1_penalty(critic, real, scale)
                per_example = per_example + 0.5 * self.penalty_weight * penalty
            class_fake, info = self._head_losses(fake_heads, labels, cat, cont)
            class_loss = class_fake
            if self.auxiliary_weight > 0:  # ACGAN's discriminator also classifies real data
                class_loss = class_loss + information.class_cross_entropy(labels, real_heads["class_logits"])
            per_example = per_example + self.auxiliary_weight * class_loss + self.info_weight * info
            loss = self.global_mean(per_example)
            scaled = self.d_optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, d_vars)
        self.d_optimizer.apply(grads, d_vars)
        if self.penalty == "clip":
            self._clip_discriminator()
        return per_example, penalty, class_loss, info

    def _clip_discriminator(self):
        clip = self.clip_value

        def update(strategy, variables):
            for v in variables:
                strategy.extended.update(v, lambda var: var.assign(tf.clip_by_value(var, -clip, clip)))

        variables = [getattr(v, "value", v) for v in self.discriminator.trainable_variables]
        tf.distribute.get_replica_context().merge_call(update, args=(variables,))

    def _generator_step(self, labels, batch, seed, real=None, critic_seed=None):
        """One generator update with fresh noise from `seed`; or, with `real` and `critic_seed`, the last
        discriminator update and then the generator update on the same generated batch (`reuse_fakes`).
        Returns the generator's per-example loss and the discriminator step's outputs (or None)."""
        noise_seed = seed if real is None else tf.unstack(tf.random.experimental.stateless_split(critic_seed, num=2))[0]
        z_full, cat, cont = self._draw(batch, noise_seed, labels)
        g_vars = self.generator.trainable_variables
        d_out = None
        with tf.GradientTape() as tape:
            fake = tf.cast(self._generate(z_full, labels, True), tf.float32)
            if real is not None:
                with tape.stop_recording():
                    d_out = self._discriminator_step(real, labels, critic_seed, drawn=(fake, cat, cont))
            heads = self._discriminate(fake, labels, True)
            per_example = self.adversarial_loss.generator(heads["logit"])
            class_loss, info = self._head_losses(heads, labels, cat, cont)
            per_example = per_example + self.auxiliary_weight * class_loss + self.info_weight * info
            loss = self.global_mean(per_example)
            scaled = self.g_optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, g_vars)
        self.g_optimizer.apply(grads, g_vars)
        return per_example, d_out

    def train_step(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        if self.g_optimizer is None:
            raise RuntimeError("call compile() before fit()")
        x = self.check_data(x)
        labels = self.labels_from_batch(y)
        real = self.to_model_space(x)
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
        # Trackers take this replica's mean; Keras averages them across replicas.
        self.d_loss_tracker.update_state(tf.reduce_mean(d_per_example))
        self.g_loss_tracker.update_state(tf.reduce_mean(g_per_example))
        if self.penalty in ("gradient", "r1"):
            self.penalty_tracker.update_state(tf.reduce_mean(penalty))
        if self.auxiliary_weight > 0:
            self.class_tracker.update_state(tf.reduce_mean(class_loss))
        if self.uses_info:
            self.info_tracker.update_state(tf.reduce_mean(info))
        return self.metric_results()

    def test_step(self, data):
        return self.metric_results()

    # ---- sampling -------------------------------------------------------------------------
    def sample_noise(self, n, seed=None, truncation=None):
        """Noise z (n, latent_dim) float32; truncated to |z| <= truncation when set."""
        rng = np.random.default_rng(seed)
        if truncation is None:
            return rng.standard_normal((n, self.latent_dim)).astype(np.float32)
        if truncation <= 0:
            raise ValueError(f"truncation must be > 0, got {truncation}")
        return truncnorm.rvs(-truncation, truncation, size=(n, self.latent_dim), random_state=rng).astype(np.float32)

    def sample(self, n, seed=None, labels=None, truncation=None, batch_size=256):
        """Draws n samples in data space.

        Args:
            n: number of samples.
            seed: the same seed gives the same samples.
            labels: int (n,) classes for conditional models; when None, classes
                cycle 0, 1, ..., num_classes - 1.
            truncation: truncate the noise to |z| <= truncation (the truncation trick).
            batch_size: generator batch size.

        Returns:
            float32 numpy array (n, *data_shape); images in [-1, 1], vectors on
            the training data's scale.
        """
        n = int(n)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        z = self.make_latent(self.sample_noise(n, seed, truncation), seed=seed)
        labels = self.sample_labels(n, labels)
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
        if not self.uses_info:
            return {"name": "z", "shape": [self.generator_input_dim], "dtype": "float32", "kind": "normal"}
        return {"name": "z", "shape": [self.generator_input_dim], "dtype": "float32", "kind": "infogan",
                "latent_dim": self.latent_dim, "categorical_codes": list(self.categorical_codes),
                "continuous_codes": self.continuous_codes}

    def prior_noise(self, n, seed):
        return self._draw(n, seed, None)[0]

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
