"""`SemiSupervisedGAN`: a discriminator that classifies K classes and tells data from samples,
trained on a few labels and unlabelled data; the generator learns by feature matching."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kerasgen.layers.weight_norm import initialize_weight_norm, weight_norm_layers
from kerasgen.losses import adversarial
from kerasgen.losses import semi_supervised as ssl
from kerasgen.models.adversarial.latent_generator import LatentGenerator
from kerasgen.models.base import leading_examples
from kerasgen.models.network_args import data_shape_of, network_attr, resolve_network
from kerasgen.models.optimizers import adam
from kerasgen.registry import register_algorithm

UNLABELLED = -1
INIT_EXAMPLES = 500  # Salimans et al. initialise on 500 training digits


def _first_examples(x, n):
    """The first n (or fewer) examples of fit's x: an array, or a dataset of x or (x, labels) batches."""
    return leading_examples(x[0] if isinstance(x, tuple) else x, n)[:n]


@register_algorithm
class SemiSupervisedGAN(LatentGenerator):
    """Semi-supervised GAN with the K-logit discriminator of Salimans et al. 2016.

    Training data yield x, or (x, labels) with int labels (B,) in [0, K) and -1 for unlabelled
    examples (`kerasgen.data.load(..., labels_per_class=n)` makes such data). Per step:

    - the discriminator minimises L_supervised + unsupervised_weight * L_unsupervised
      (`kerasgen.losses.semi_supervised`): the cross-entropy of the K classes averaged over the
      labelled examples of the global batch, plus the adversarial loss on the real/fake logit
      logsumexp(l) (Salimans et al.'s D(x) = Z(x) / (Z(x) + 1)) over every example and as many
      generated ones;
    - the generator, on fresh noise, minimises feature matching, ||E f(x) - E f(G(z))||^2 on the
      discriminator's "features" layer (the means over each replica's batch; under N replicas the
      loss is the mean of the N replicas' losses), or with `feature_matching=False` the adversarial
      generator loss on the real/fake logit.

    Args:
        generator: z (B, latent_dim) -> x (B, *data_shape); a Keras model, a registered generator
            name ("mlp", "dcgan"), a builder or a serialised model.
        discriminator: x -> {"class_logits": (B, K) or, with `fake_class`, (B, K + 1), "features":
            (B, F)}; a model, a registered classifier name ("mlp", "dcgan"), a builder or a
            serialised model.
        latent_dim: size of z ~ N(0, I).
        classes: K, the number of classes (as `keras.applications` names it: the model is not
            conditional, its generator takes no labels).
        data_shape: shape of one example; read from a generator model when None.
        loss: the adversarial loss of the real/fake logit (`kerasgen.losses.adversarial`); the
            default "non_saturating" gives the paper's L_unsupervised exactly.
        feature_matching: train the generator by feature matching (the paper's choice for
            semi-supervised learning) instead of the adversarial generator loss.
        fake_class: the discriminator has K + 1 logits, the last one the generated class's (the
            K+1-way classifier); False (default) fixes that logit at 0 (the K-logit form, which
            removes the softmax's redundant degree of freedom).
        unsupervised_weight: weight of L_unsupervised (1 as written in the paper).
        standardize: learn feature-wise standardisation of vector data.
        g_optimizer_config, d_optimizer_config: the players' default optimisers (Adam 2e-4, 0.5).
        preset, seed: as in every kerasgen model.

    References:
        Salimans et al. 2016, "Improved Techniques for Training GANs", arXiv:1606.03498;
        Odena 2016, "Semi-Supervised Learning with Generative Adversarial Networks", arXiv:1606.01583.
    """

    onnx_functions = ("classify",)

    def __init__(self, generator, discriminator, latent_dim, classes, data_shape=None, loss="non_saturating",
                 feature_matching=True, fake_class=False, unsupervised_weight=1.0, standardize=False,
                 g_optimizer_config=None, d_optimizer_config=None, preset=None, seed=None, **kwargs):
        latent_dim = int(latent_dim)
        if latent_dim < 1:
            raise ValueError(f"latent_dim must be >= 1, got {latent_dim}")
        if classes is None or int(classes) < 2:
            raise ValueError(f"classes must be an int >= 2 (the number of label classes), got {classes}")
        if unsupervised_weight < 0:
            raise ValueError(f"unsupervised_weight must be >= 0, got {unsupervised_weight}")
        classes = int(classes)
        self.adversarial_loss = adversarial.get(loss)
        generator = resolve_network(generator, "generator", data_shape=data_shape, latent_dim=latent_dim)
        if data_shape is None:
            data_shape = data_shape_of(generator, "generator")
        discriminator = resolve_network(discriminator, "classifier", data_shape=data_shape, num_classes=classes,
                                        fake_class=bool(fake_class))
        super().__init__(data_shape=data_shape, standardize=standardize, preset=preset, seed=seed, **kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim = latent_dim
        self.classes = classes
        self.loss_name = loss
        self.feature_matching = bool(feature_matching)
        self.fake_class = bool(fake_class)
        self.unsupervised_weight = float(unsupervised_weight)
        self.g_optimizer_config = g_optimizer_config or adam()
        self.d_optimizer_config = d_optimizer_config or adam()
        self.check_generator()
        self._check_discriminator()
        names = ("d_loss", "supervised_loss", "unsupervised_loss", "g_loss")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}
        self.g_optimizer = None
        self.d_optimizer = None
        self.built = True

    def _check_discriminator(self):
        out = network_attr(self.discriminator, "output")
        if out is None:
            return
        if not isinstance(out, dict) or not {"class_logits", "features"} <= set(out):
            raise ValueError("the discriminator must return a dict with 'class_logits' and 'features', got "
                             f"{sorted(out) if isinstance(out, dict) else type(out).__name__}")
        want = self.classes + self.fake_class
        if out["class_logits"].shape[-1] != want:
            raise ValueError(f"the discriminator's class_logits must have {want} entries (classes={self.classes}, "
                             f"fake_class={self.fake_class}), it has {out['class_logits'].shape[-1]}")

    # ---- data ---------------------------------------------------------------------------
    def labels_from_batch(self, y):
        """int32 labels (B,) in [0, classes) or -1 (unlabelled); None (no labels): all -1."""
        if y is None:
            return None
        labels = tf.cast(tf.reshape(y, (-1,)), tf.int32)
        message = f"labels must lie in [0, {self.classes - 1}] or be -1 (unlabelled)"
        if tf.executing_eagerly():
            values = ops.convert_to_numpy(labels)
            if values.size and (values.min() < UNLABELLED or values.max() >= self.classes):
                raise ValueError(message)
            return labels
        checks = [tf.debugging.assert_greater_equal(labels, UNLABELLED, message=message),
                  tf.debugging.assert_less(labels, self.classes, message=message)]
        with tf.control_dependencies(checks):
            return tf.identity(labels)

    # ---- losses ---------------------------------------------------------------------------
    def _discriminate(self, x, training):
        out = self.discriminator(x, training=training)
        return tf.cast(out["class_logits"], tf.float32), tf.cast(out["features"], tf.float32)

    def discriminator_terms(self, real_logits, fake_logits, labels):
        """The discriminator's loss terms on this replica's batch.

        Args:
            real_logits, fake_logits: class logits (B, K [+ 1]) of data and of generated examples.
            labels: int (B,), -1 where unlabelled; or None (all unlabelled).

        Returns:
            dict of scalars: "supervised" (this replica's share of the mean cross-entropy over the
            labelled examples of the global batch: the shares sum to that mean), "unsupervised"
            (its share of the global batch mean of the adversarial loss) and "d_loss" (supervised +
            unsupervised_weight * unsupervised), and "labelled" (labelled examples in the global batch).
        """
        context = tf.distribute.get_replica_context()
        if labels is None:
            supervised, labelled = tf.constant(0.0), tf.constant(0.0)
        else:
            ce = ssl.supervised_cross_entropy(labels, real_logits, self.classes)
            labelled = context.all_reduce(tf.distribute.ReduceOp.SUM, tf.reduce_sum(tf.cast(labels >= 0, tf.float32)))
            supervised = tf.reduce_sum(ce) / tf.maximum(labelled, 1.0)
        unsupervised = self.global_mean(self.adversarial_loss.discriminator(
            ssl.real_fake_logit(real_logits, self.classes), ssl.real_fake_logit(fake_logits, self.classes)))
        return {"supervised": supervised, "unsupervised": unsupervised,
                "d_loss": supervised + self.unsupervised_weight * unsupervised, "labelled": labelled}

    # ---- training -------------------------------------------------------------------------
    def train_step(self, data):
        self.require_compiled()
        x, labels = self.unpack_batch(data)
        batch = tf.shape(x)[0]
        d_seed, g_seed = self.step_seeds(2)
        replicas = float(tf.distribute.get_strategy().num_replicas_in_sync)
        fake = tf.stop_gradient(tf.cast(self.generator(tf.random.stateless_normal((batch, self.latent_dim), d_seed),
                                                       training=True), tf.float32))
        d_vars = self.discriminator.trainable_variables
        with tf.GradientTape() as tape:
            real_logits, _ = self._discriminate(x, True)
            fake_logits, _ = self._discriminate(fake, True)
            terms = self.discriminator_terms(real_logits, fake_logits, labels)
            scaled = self.d_optimizer.scale_loss(terms["d_loss"])
        self.d_optimizer.apply(tape.gradient(scaled, d_vars), d_vars)

        g_vars = self.generator.trainable_variables
        z = tf.random.stateless_normal((batch, self.latent_dim), g_seed)
        with tf.GradientTape() as tape:
            generated = tf.cast(self.generator(z, training=True), tf.float32)
            fake_logits, fake_features = self._discriminate(generated, True)
            if self.feature_matching:
                _, real_features = self._discriminate(x, True)
                g_loss = ssl.feature_matching(tf.stop_gradient(real_features), fake_features) / replicas
            else:
                g_loss = self.global_mean(self.adversarial_loss.generator(
                    ssl.real_fake_logit(fake_logits, self.classes)))
            scaled = self.g_optimizer.scale_loss(g_loss)
        self.g_optimizer.apply(tape.gradient(scaled, g_vars), g_vars)
        # each replica reports its estimate of the global value (the trackers average the replicas)
        return self.report({"d_loss": terms["d_loss"] * replicas, "supervised_loss": terms["supervised"] * replicas,
                            "unsupervised_loss": terms["unsupervised"] * replicas, "g_loss": g_loss * replicas})

    def fit(self, x=None, *args, **kwargs):
        """`keras.Model.fit`, after (on first use) the data-dependent initialisation of the networks'
        `kerasgen.layers.WeightNormDense` layers on up to 500 training examples (see
        `initialize_networks`)."""
        if x is not None and (weight_norm_layers(self.discriminator) or weight_norm_layers(self.generator)):
            self._adapt_on_first_fit(x, kwargs)
            self.initialize_networks(_first_examples(x, INIT_EXAMPLES))
        return super().fit(x, *args, **kwargs)

    def initialize_networks(self, x) -> bool:
        """Data-dependent initialisation (Salimans & Kingma 2016) of the generator's and the
        discriminator's uninitialised `WeightNormDense` layers: the generator's on as many noise
        vectors, the discriminator's on data-space examples x (N, *data_shape), as Salimans et al.'s
        code does before training. Returns whether any layer was initialised; `fit` calls it."""
        x = tf.cast(self.to_model_space(np.asarray(x, np.float32)), tf.float32)
        z = tf.random.stateless_normal((int(x.shape[0]), self.latent_dim), (int(self.seed or 0), 1))
        done_g = initialize_weight_norm(self.generator, z)
        done_d = initialize_weight_norm(self.discriminator, x)
        return done_g or done_d

    # ---- inference --------------------------------------------------------------------------
    def classify(self, x, batch_size=256):
        """Class probabilities p(y | x, y < K + 1), numpy float32 (B, classes), rows summing to 1, for
        data-space x (B, *data_shape)."""
        x = np.asarray(x, np.float32)
        self.check_data(x)
        out = [ops.convert_to_numpy(self._probabilities(self.to_model_space(x[i:i + batch_size])))
               for i in range(0, len(x), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, self.classes), np.float32)

    def _probabilities(self, x_model):
        logits, _ = self._discriminate(x_model, False)
        return tf.nn.softmax(ssl.class_logits_of(logits, self.classes), axis=-1)

    def export_functions(self) -> dict:
        def classify(x):
            return {"probabilities": self._probabilities(self.to_model_space(x))}

        return {"classify": (classify, {"x": tf.TensorSpec([None, *self.data_shape], tf.float32, name="x")}, None)}

    def get_config(self):
        return {
            **super().get_config(),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "latent_dim": self.latent_dim,
            "classes": self.classes,
            "loss": self.loss_name,
            "feature_matching": self.feature_matching,
            "fake_class": self.fake_class,
            "unsupervised_weight": self.unsupervised_weight,
            "g_optimizer_config": self.g_optimizer_config,
            "d_optimizer_config": self.d_optimizer_config,
        }
