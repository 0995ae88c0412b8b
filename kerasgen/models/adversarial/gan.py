"""`GAN`: the one adversarial train_step behind every GAN preset.

One step = `n_critic` discriminator updates, then one generator update (on fresh noise, or on
the generated batch of the last discriminator update with `reuse_fakes`).
The loss (minimax, non-saturating, Wasserstein, hinge, least squares, the f-GAN divergences), the
penalty (gradient, R1, weight clipping) and the conditioning (labels to G and D
for cGAN; an auxiliary classifier for ACGAN; latent codes with a
mutual-information head for InfoGAN) are options of this one step, and so are the remedies for
mode collapse and unstable training (minibatch features, packing, feature matching, label
smoothing, instance noise, unrolling, a weight average of the generator: `options.py`).
"""

from __future__ import annotations

import inspect

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kerasgen import noise as noise_lib
from kerasgen.losses import adversarial, information, penalties
from kerasgen.layers.minibatch import MinibatchDiscrimination, MinibatchStdDev
from kerasgen.models.adversarial import ema, unrolled
from kerasgen.models.adversarial.codes import LatentCodes, split_outputs  # noqa: F401 - split_outputs re-exported
from kerasgen.models.adversarial.options import GANOptions, discriminator_builder_options, feature_matching_loss
from kerasgen.models.base import GenerativeModel
from kerasgen.models.network_args import data_shape_of, network_attr, resolve_network
from kerasgen.models.optimizers import adam, loss_scale
from kerasgen.models.players import Player
from kerasgen.networks.discriminator_options import packed_shape
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
            "code_logits"/"code_mean" for InfoGAN, "features" for feature matching); or a name,
            builder or serialised model (a builder also gets the keywords `pack`,
            `minibatch_stddev`, `minibatch_discrimination` and `features` the options need, as
            `kerasgen.networks.mlp_discriminator` and `dcgan_discriminator` take them).
        latent_dim: size of the noise vector z ~ N(0, I).
        data_shape: shape of one example; inferred from a generator model when None (needed
            when the networks are given by name or builder).
        loss: "minimax", "non_saturating", "wasserstein", "hinge", "least_squares", or an f-GAN
            divergence: "kl", "reverse_kl", "js", "pearson", "squared_hellinger",
            "total_variation" (`kerasgen.losses.fdivergence`).
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
        pack: PacGAN (Lin et al. 2018): the discriminator judges `pack` examples concatenated on
            the last axis (channels or features), real with real and generated with generated; its
            input is (B, ..., C * pack).
        pack_mode: "disjoint" (the paper's: a batch of B makes B / pack packs; B must divide by
            `pack`) or "cyclic" (pack i holds examples i to i + pack - 1, modulo B: B overlapping
            packs, each still `pack` distinct examples, so the same objective estimated from all B
            examples; any batch of at least `pack` per replica). Cyclic packs show the discriminator
            B rows instead of B / pack, so an update costs `pack` times the compute (what an unpacked
            GAN's costs). Under `jit_compile=True` the batch-size check is not run (XLA drops
            assertions): batch with `drop_remainder=True`. The `pacgan` preset packs cyclically on vectors.
        minibatch_stddev: the discriminator holds a `kerasgen.layers.MinibatchStdDev` (the
            batch's mean feature standard deviation as one more channel; Karras et al. 2018).
        minibatch_discrimination: B > 0: the discriminator holds a
            `kerasgen.layers.MinibatchDiscrimination` with B kernels (Salimans et al. 2016).
        feature_matching: weight w of the generator's extra loss
            w * ||mean f(x) - mean f(G(z))||^2 on the discriminator's "features" head (Salimans et
            al. 2016; per replica's batch under tf.distribute).
        feature_matching_steps: N: that weight falls linearly from w at the first generator update
            to 0 at update N and stays 0 (constant when None). Matching feature means keeps every
            mode fed while the modes form; the adversarial loss alone then sharpens them: on the
            25-Gaussian grid `fm-gan` (w = 1, N = 4,000, its vector default) found all 25 modes on
            each of twelve shuffles with 82-94% of its samples near one (mean 90.3%), against 73-92%
            (88.2%) with w = 0.5 held; faded from 0.5 it lost modes on two shuffles
            (docs/gan-vector-recipes.md).
        label_smoothing: a in [0, 1): one-sided smoothing, the discriminator's real target moves
            from 1 to 1 - a, the fake target stays 0 (losses with targets: minimax,
            non_saturating, least_squares).
        instance_noise: sigma of Gaussian noise added to every real and generated input of the
            discriminator (Sonderby et al. 2017), falling linearly to 0 over `instance_noise_steps`
            generator updates (constant when None).
        instance_noise_steps: length of that schedule.
        unrolled_steps: k > 0: the generator's loss is scored by the discriminator after k
            differentiable SGD updates of its adversarial loss (no penalty or auxiliary terms) on the
            current real and generated batches (Metz et al. 2017; `unrolled.py`); the
            discriminator's own update is unchanged.
        unrolled_learning_rate: step size of those inner SGD updates. On the 8-Gaussian ring (MLP
            3 x 256, Adam 1e-3, batch 256, one seed) 0.02 let the discriminator win within 500 steps
            (0 of 8 modes) while 0.005 covered 8 of 8 at 1,000 steps: keep the lookahead small.
        ema_decay: d: keep an exponential moving average of the generator's weights
            (`ema_generator`, updated after each generator update, with the decay warmed up as
            min(d, (1 + t) / (10 + t)) after t updates); `sample`, `generate`, `call` and export
            then use it. Saved with the model.
        preset: the preset name, kept in the config.
        seed: seed of the training noise.

    A two time-scale update rule (TTUR, Heusel et al. 2017) is just different learning rates:
    `compile(g_optimizer=keras.optimizers.Adam(1e-4, 0.5), d_optimizer=keras.optimizers.Adam(4e-4, 0.5))`
    or, as defaults saved with the model, `g_optimizer_config=adam(1e-4)`,
    `d_optimizer_config=adam(4e-4)` (`kerasgen.models.optimizers.adam`).

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
                 d_optimizer_config=None, reuse_fakes=False, pack=1, pack_mode="disjoint", minibatch_stddev=False,
                 minibatch_discrimination=0, feature_matching=0.0, feature_matching_steps=None, label_smoothing=0.0,
                 instance_noise=0.0, instance_noise_steps=None, unrolled_steps=0, unrolled_learning_rate=0.005, ema_decay=None,
                 preset=None, seed=None, **kwargs):
        if int(n_critic) < 1:
            raise ValueError(f"n_critic must be >= 1, got {n_critic}")
        if (label_to_discriminator or auxiliary_weight > 0) and not num_classes:
            raise ValueError("label_to_discriminator and auxiliary_weight need num_classes")
        self.penalty_fn = penalties.get(penalty)
        codes = LatentCodes(int(latent_dim), tuple(int(k) for k in categorical_codes), int(continuous_codes))
        adversarial_loss = adversarial.get(loss)
        self.options = GANOptions.checked(
            adversarial_loss, label_to_discriminator, auxiliary_weight, codes.code_dim > 0, pack=pack,
            pack_mode=pack_mode, minibatch_stddev=minibatch_stddev, minibatch_discrimination=minibatch_discrimination,
            feature_matching=feature_matching, feature_matching_steps=feature_matching_steps,
            label_smoothing=label_smoothing, instance_noise=instance_noise,
            instance_noise_steps=instance_noise_steps, unrolled_steps=unrolled_steps,
            unrolled_learning_rate=unrolled_learning_rate, ema_decay=ema_decay)
        num_classes = None if num_classes is None else int(num_classes)
        generator = resolve_network(generator, "generator", data_shape=data_shape, latent_dim=codes.input_dim,
                                    num_classes=num_classes)
        if data_shape is None:
            data_shape = data_shape_of(generator, "generator")
        discriminator = resolve_network(
            discriminator, "discriminator", data_shape=data_shape,
            label_input_classes=num_classes if label_to_discriminator else None,
            num_classes=num_classes if auxiliary_weight > 0 else None, categorical_codes=codes.categorical,
            continuous_codes=codes.continuous, **discriminator_builder_options(**self.options.config()))
        super().__init__(data_shape=data_shape, standardize=standardize, preset=preset, seed=seed, **kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.codes = codes
        self.latent_dim = codes.latent_dim
        self.loss_name = loss
        self.adversarial_loss = adversarial_loss
        self.d_loss_fn = self.options.discriminator_loss(adversarial_loss)
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
        # the weight average of the generator that sampling and export use (None without ema_decay)
        self.ema_generator = ema.ema_copy(generator) if self.options.ema_decay is not None else None
        names = ["d_loss", "g_loss"] + ["penalty"] * self.penalty_fn.reported
        names += ["class_loss"] * (self.auxiliary_weight > 0) + ["info_loss"] * self.uses_info
        names += ["feature_loss"] * (self.options.feature_matching > 0)
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
        self._check_discriminator_options(d_inputs)
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
        if self.options.feature_matching > 0 and "features" not in heads:
            raise ValueError("feature_matching needs a discriminator returning a dict with a 'features' head "
                             "(the builders add it with features=True)")

    def _check_discriminator_options(self, d_inputs):
        """The discriminator takes packed examples and holds the minibatch layers the options name."""
        opts = self.options
        want = packed_shape(self.data_shape, opts.pack)
        got = None if d_inputs is None else tuple(d_inputs[0].shape[1:])
        if opts.pack > 1 and got is not None and None not in got and got != want:
            raise ValueError(f"the discriminator takes examples of shape {got} but pack={opts.pack} gives {want} "
                             f"(data {self.data_shape}, {opts.pack} packed on the last axis)")
        found = list(self.discriminator._flatten_layers(include_self=False))
        if opts.minibatch_stddev and not any(isinstance(layer, MinibatchStdDev) for layer in found):
            raise ValueError("minibatch_stddev=True needs a discriminator holding a kerasgen.layers.MinibatchStdDev "
                             "(the builders add one with minibatch_stddev=True)")
        kernels = [layer.num_kernels for layer in found if isinstance(layer, MinibatchDiscrimination)]
        if opts.minibatch_discrimination and opts.minibatch_discrimination not in kernels:
            raise ValueError(f"minibatch_discrimination={opts.minibatch_discrimination} needs a discriminator holding "
                             f"a kerasgen.layers.MinibatchDiscrimination with that many kernels (found {kernels})")

    # ---- forward -------------------------------------------------------------------
    def _generate(self, z_full, labels, training, network=None):
        inputs = [z_full, labels] if self.num_classes else z_full
        return (network or self.generator)(inputs, training=training)

    def _discriminator_inputs(self, x, labels):
        return [x, labels] if self.label_to_discriminator else x

    def _discriminate(self, x, labels, training, network=None):
        """Heads of the discriminator (or of `network`, a functional copy) on what it sees of x."""
        return split_outputs((network or self.discriminator)(self._discriminator_inputs(x, labels), training=training))

    @property
    def sampling_generator(self):
        """The generator that `call`, `sample` and export use: the weight average with `ema_decay`."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    def call(self, inputs, training=False):
        """Generator in data space: z_full (B, generator_input_dim) [, labels (B,)] -> x (with
        `ema_decay`, the averaged generator's)."""
        if self.num_classes:
            z, labels = inputs
        else:
            z, labels = inputs, None
        return self.to_data_space(self._generate(z, labels, training, self.sampling_generator))

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
    def _updates(self):
        """Generator updates made so far (the clock of the instance-noise and feature-matching schedules and of the
        weight average's warm-up; saved with the optimiser)."""
        return self.g_optimizer.iterations

    def _seen(self, real, fake, seed):
        """What the discriminator sees of a real and a generated batch (`GANOptions.discriminator_input`:
        instance noise, then packing); the noise seeds are folded from `seed`."""
        see = self.options.discriminator_input
        fold = tf.random.experimental.stateless_fold_in
        step = self._updates()
        return see(real, step, fold(seed, 1)), see(fake, step, fold(seed, 2))

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
        real, fake = self._seen(real, tf.stop_gradient(fake), seed)
        d_vars = self.discriminator.trainable_variables
        with tf.GradientTape() as tape:
            real_heads = self._discriminate(real, labels, True)
            fake_heads = self._discriminate(fake, labels, True)
            per_example = self.d_loss_fn(real_heads["logit"], fake_heads["logit"])
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

    def _scorer(self, real, labels):
        """The discriminator that scores the generator, as a function x -> heads: the discriminator
        itself, or (with `unrolled_steps`) its functional copy after k differentiable updates on
        (real, x) (built on first use, from x). Every call also runs the discriminator itself, so its
        state (spectral norm's power iteration, batch statistics) moves exactly as in a plain step."""
        opts, unrolled_copy = self.options, []

        def d_loss(network, fake):
            real_heads, fake_heads = (self._discriminate(x, labels, True, network) for x in (real, fake))
            return self.global_mean(self.d_loss_fn(real_heads["logit"], fake_heads["logit"]))

        def score(x):
            heads = self._discriminate(x, labels, True)
            if not opts.unrolled_steps:
                return heads
            if not unrolled_copy:
                unrolled_copy.append(unrolled.unroll(self.discriminator, lambda network: d_loss(network, x),
                                                     opts.unrolled_steps, opts.unrolled_learning_rate))
            return self._discriminate(x, labels, True, unrolled_copy[0])

        return score

    def _generator_step(self, real, labels, seed, reuse_seed=None):
        """One generator update with fresh noise from `seed`; or, with `reuse_seed`, the last
        discriminator update (from that seed) and then the generator update on the same generated
        batch (`reuse_fakes`). Returns the generator's per-example adversarial loss, its feature-matching
        term and the discriminator step's outputs (or None)."""
        batch = tf.shape(real)[0]
        noise_seed = seed
        if reuse_seed is not None:  # the noise of the discriminator update it shares its batch with
            noise_seed = tf.unstack(tf.random.experimental.stateless_split(reuse_seed, num=2))[0]
        z_full, cat, cont = self.codes.draw(batch, noise_seed)
        g_vars = self.generator.trainable_variables
        d_out = None
        with tf.GradientTape() as tape:
            fake = tf.cast(self._generate(z_full, labels, True), tf.float32)
            if reuse_seed is not None:
                with tape.stop_recording():
                    d_out = self._discriminator_step(real, labels, reuse_seed, drawn=(fake, cat, cont))
            seen_real, seen_fake = self._seen(real, fake, seed)
            score = self._scorer(seen_real, labels)
            heads = score(seen_fake)
            per_example = self.adversarial_loss.generator(heads["logit"])
            class_loss, info = self._class_loss(heads, labels), self.codes.loss(heads, cat, cont)
            per_example = per_example + self.auxiliary_weight * class_loss + self.info_weight * info
            loss = self.global_mean(per_example)
            feature_loss = tf.zeros(())
            if self.options.feature_matching > 0:  # each replica's batch-mean match, averaged over replicas
                feature_loss = feature_matching_loss(self._features(score(seen_real)), self._features(heads))
                replicas = tf.distribute.get_replica_context().num_replicas_in_sync
                weight = self.options.feature_matching_weight(self._updates())
                loss = loss + weight * feature_loss / replicas
            scaled = self.g_optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, g_vars)
        self.g_optimizer.apply(grads, g_vars)
        self._update_weight_average()
        return per_example, feature_loss, d_out

    def _update_weight_average(self):
        """After a generator update: move the generator's weight average (`ema_decay`) towards its weights."""
        if self.ema_generator is not None:
            ema.update_ema(self.ema_generator, self.generator, self.options.ema_decay, self._updates())

    @staticmethod
    def _features(heads):
        if "features" not in heads:
            raise ValueError("feature_matching needs a discriminator returning a dict with a 'features' head")
        return heads["features"]

    def train_step(self, data):
        self.require_compiled()
        real, labels = self.unpack_batch(data)
        seeds = self.step_seeds(self.n_critic + 1)
        separate = self.n_critic - 1 if self.reuse_fakes else self.n_critic
        for i in range(separate):
            d_out = self._discriminator_step(real, labels, seeds[i])
        if self.reuse_fakes:  # the last discriminator update shares its generated batch with G's
            g_per_example, feature_loss, d_out = self._generator_step(real, labels, seeds[-1], seeds[separate])
        else:
            g_per_example, feature_loss, _ = self._generator_step(real, labels, seeds[-1])
        d_per_example, penalty, class_loss, info = d_out
        terms = {"d_loss": d_per_example, "g_loss": g_per_example, "penalty": penalty, "class_loss": class_loss,
                 "info_loss": info, "feature_loss": feature_loss}
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
            **self.options.config(),
        }


def refuse_unused_options(algorithm: str, kwargs: dict) -> None:
    """For an algorithm built on `GAN` with a step of its own: raise ValueError naming the `GAN` arguments in
    `kwargs` set away from `GAN`'s defaults that its step does not use, rather than accept and ignore them. Used
    by every such step: the networks, `latent_dim`, `data_shape`, `standardize`, the optimiser configs, `preset`
    and `seed` (an algorithm takes the others it uses, such as `loss`, as arguments of its own)."""
    used = {"self", "generator", "discriminator", "latent_dim", "data_shape", "standardize", "g_optimizer_config",
            "d_optimizer_config", "preset", "seed", "kwargs"}
    defaults = {name: parameter.default for name, parameter in inspect.signature(GAN.__init__).parameters.items()
                if name not in used}
    unused = sorted(name for name in set(kwargs) & set(defaults) if kwargs[name] != defaults[name])
    if unused:
        raise ValueError(f"{algorithm}'s step does not take GAN's option(s) {', '.join(unused)}")
