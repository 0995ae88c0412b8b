"""`CycleGAN`: unpaired translation between two image domains A and B, and its history pool.

One step, as in Zhu et al. 2017 (arXiv:1703.10593):
1. both generators, G: A -> B and F: B -> A, update on
   adv(D_B(G(a))) + adv(D_A(F(b)))                                  (least squares by default)
   + cycle_weight * (|F(G(a)) - a| + |G(F(b)) - b|)                   (cycle consistency, lambda 10)
   + identity_weight * cycle_weight * (|G(b) - b| + |F(a) - a|)       (identity, 0.5 lambda; only
     when A and B have the same shape, where it is defined);
2. both discriminators update: D_A on real a against a fake F(b) drawn from A's history pool, D_B
   likewise; each loss is halved, as in the paper.

The history pool (Shrivastava et al. 2017) keeps the last `pool_size` (50) generated images per
domain. While it fills, each new fake is stored and passed through; once full, each new fake is,
with probability 1/2, swapped for a uniformly chosen stored one (which the discriminator then sees,
the new fake taking its place; when two fakes of one batch pick the same stored image, both get it and
the later fake is stored), and otherwise passed through. The pools are model variables: they
are saved with the model, and a resumed run continues with them. Under a tf.distribute strategy
each replica keeps its own pool.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from kerasgen.losses import adversarial
from kerasgen.models.translation.base import TranslationModel
from kerasgen.models.network_args import data_shape_of, network_attr, resolve_network
from kerasgen.models.optimizers import adam
from kerasgen.models.players import Player
from kerasgen.models.translation.paired import check_images, check_source, patch_loss, pixel_loss, run_in_batches
from kerasgen.registry import register_algorithm

DIRECTIONS = ("a_to_b", "b_to_a")


class HistoryPool(keras.layers.Layer):
    """The last `size` generated images of one domain, and the paper's query rule (see the module).

    Args:
        shape: shape of one image (H, W, C).
        size: images kept; 0 passes every fake through.
    """

    def __init__(self, shape, size=50, **kwargs):
        super().__init__(**kwargs)
        self.image_shape = tuple(int(s) for s in shape)
        self.size = int(size)
        if self.size < 0:
            raise ValueError(f"pool size must be >= 0, got {size}")
        local = dict(trainable=False, synchronization="on_read", aggregation="only_first_replica")  # one per replica
        self.images = keras.Variable("zeros", shape=(max(self.size, 1), *self.image_shape), dtype="float32",
                                     name="images", **local)
        self.count = keras.Variable("zeros", shape=(), dtype="int32", name="count", **local)
        self.built = True

    def query(self, fakes, seed):
        """Images for the discriminator (B, *shape): fakes or stored ones, per the rule; updates the pool.

        Args:
            fakes: generated images (B, *shape) float32.
            seed: stateless seed (2,) of the coin flips and the choice of stored images.
        """
        if self.size == 0:
            return fakes
        batch = tf.shape(fakes)[0]
        s_coin, s_pick = tf.unstack(tf.random.experimental.stateless_split(seed, num=2))
        coin = tf.random.stateless_uniform([batch], s_coin)
        pick = tf.random.stateless_uniform([batch], s_pick, maxval=self.size, dtype=tf.int32)
        position = self.count + tf.range(batch, dtype=tf.int32)
        filling = position < self.size
        swap = tf.logical_and(tf.logical_not(filling), coin > 0.5)
        stored = tf.gather(self.images, pick)
        swap_images = tf.reshape(swap, [-1] + [1] * len(self.image_shape))
        returned = tf.where(swap_images, stored, fakes)
        write = tf.logical_or(filling, swap)
        rows = tf.where(filling, position, pick)
        # two fakes of one batch may pick the same stored image: the later one is stored (a scatter with
        # duplicate rows would store either, differently from run to run, and break exact resume)
        order = tf.range(batch, dtype=tf.int32)
        latest = tf.math.unsorted_segment_max(tf.where(write, order, -1), tf.where(write, rows, 0), self.size)
        write = tf.logical_and(write, tf.equal(tf.gather(latest, tf.where(write, rows, 0)), order))
        self.images.assign(tf.tensor_scatter_nd_update(self.images, tf.boolean_mask(rows, write)[:, None],
                                                       tf.boolean_mask(fakes, write)))
        self.count.assign(tf.minimum(self.count + batch, self.size))
        return returned

    def get_config(self):
        return {**super().get_config(), "shape": list(self.image_shape), "size": self.size}


@register_algorithm
class CycleGAN(TranslationModel):
    """Unpaired translation A <-> B with cycle consistency.

    Args:
        generator_ab, generator_ba: Keras models (B, *shape_a) -> (B, *shape_b) and back, outputs in
            [-1, 1]; or registered generator names / builders (given both shapes).
        discriminator_a, discriminator_b: Keras models image -> logits (B, ...) of each domain; or names.
        shape_a, shape_b: image shapes of the domains (read from functional generators when None).
        loss: adversarial loss name (least squares, as the paper).
        cycle_weight: lambda of the cycle-consistency loss (10).
        identity_weight: the identity loss' weight relative to `cycle_weight` (0.5); used only when
            the domains have the same shape.
        pool_size: images in each history pool (50; 0 turns the pools off).
        g_optimizer_config, d_optimizer_config: serialised optimisers of the two generators together
            and of the two discriminators together (Adam 2e-4, beta_1 0.5).
        preset, seed: as for every kerasgen model.
    """

    def __init__(self, generator_ab, generator_ba, discriminator_a, discriminator_b, shape_a=None, shape_b=None,
                 loss="least_squares", cycle_weight=10.0, identity_weight=0.5, pool_size=50, g_optimizer_config=None,
                 d_optimizer_config=None, preset=None, seed=None, **kwargs):
        generator_ab = resolve_network(generator_ab, "generator", source_shape=shape_a, target_shape=shape_b)
        generator_ba = resolve_network(generator_ba, "generator", source_shape=shape_b, target_shape=shape_a)
        shape_a = tuple(shape_a) if shape_a is not None else data_shape_of(generator_ba, "generator")
        shape_b = tuple(shape_b) if shape_b is not None else data_shape_of(generator_ab, "generator")
        self.shape_a = tuple(int(s) for s in shape_a)
        shape_b = tuple(int(s) for s in shape_b)
        if len(self.shape_a) != 3 or len(shape_b) != 3:
            raise ValueError(f"CycleGAN translates images (H, W, C); got {self.shape_a} and {shape_b}")
        discriminator_a = resolve_network(discriminator_a, "discriminator", target_shape=self.shape_a)
        discriminator_b = resolve_network(discriminator_b, "discriminator", target_shape=shape_b)
        if float(cycle_weight) < 0 or float(identity_weight) < 0:
            raise ValueError("cycle_weight and identity_weight must be >= 0")
        super().__init__(data_shape=shape_b, preset=preset, seed=seed, **kwargs)
        self.generator_ab, self.generator_ba = generator_ab, generator_ba
        self.discriminator_a, self.discriminator_b = discriminator_a, discriminator_b
        self.loss_name = loss
        self.adversarial_loss = adversarial.get(loss)
        self.cycle_weight = float(cycle_weight)
        self.identity_weight = float(identity_weight)
        self.pool_size = int(pool_size)
        self.pool_a = HistoryPool(self.shape_a, self.pool_size, name="pool_a")
        self.pool_b = HistoryPool(shape_b, self.pool_size, name="pool_b")
        self.g_optimizer_config = g_optimizer_config or adam()
        self.d_optimizer_config = d_optimizer_config or adam()
        for net, source, target, name in ((generator_ab, self.shape_a, shape_b, "generator_ab"),
                                           (generator_ba, shape_b, self.shape_a, "generator_ba")):
            inputs, outputs = network_attr(net, "inputs"), network_attr(net, "outputs")
            if inputs is not None and tuple(inputs[0].shape[1:]) != source:
                raise ValueError(f"{name} takes {tuple(inputs[0].shape[1:])}, expected {source}")
            if outputs is not None and tuple(outputs[0].shape[1:]) != target:
                raise ValueError(f"{name} makes {tuple(outputs[0].shape[1:])}, expected {target}")
        names = ["d_loss", "g_loss", "cycle"] + ["identity"] * self.uses_identity
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}
        self.g_optimizer = None
        self.d_optimizer = None
        self.built = True

    @property
    def shape_b(self) -> tuple:
        return self.data_shape

    @property
    def uses_identity(self) -> bool:
        """The identity loss applies: same-shaped domains and a positive weight."""
        return self.shape_a == self.shape_b and self.identity_weight > 0

    def players(self):
        """Both generators (`g_optimizer`) and both discriminators (`d_optimizer`)."""
        return (Player("g_optimizer", lambda: self.generator_ab.trainable_variables
                       + self.generator_ba.trainable_variables, self.g_optimizer_config, "generators"),
                Player("d_optimizer", lambda: self.discriminator_a.trainable_variables
                       + self.discriminator_b.trainable_variables, self.d_optimizer_config, "discriminators"))

    def call(self, a, training=False):
        """G(a): domain A images (B, *shape_a) -> domain B (B, *shape_b), float32."""
        return tf.cast(self.generator_ab(tf.cast(a, tf.float32), training=training), tf.float32)

    def _ab(self, a, training):
        return tf.cast(self.generator_ab(a, training=training), tf.float32)

    def _ba(self, b, training):
        return tf.cast(self.generator_ba(b, training=training), tf.float32)

    def cycle_loss(self, a, b, training=False, fakes=None):
        """Per-example |F(G(a)) - a| + |G(F(b)) - b| (pixel means), (B,), before the weight.

        `fakes`: (G(a), F(b)) when already computed (the train step's), else computed here."""
        a, b = tf.cast(a, tf.float32), tf.cast(b, tf.float32)
        fake_b, fake_a = fakes if fakes is not None else (self._ab(a, training), self._ba(b, training))
        return pixel_loss("l1", self._ba(fake_b, training), a) + pixel_loss("l1", self._ab(fake_a, training), b)

    def identity_loss(self, a, b, training=False):
        """Per-example |G(b) - b| + |F(a) - a|, (B,), before the weights; defined for same-shaped domains."""
        if self.shape_a != self.shape_b:
            raise ValueError(f"the identity loss needs domains of one shape; A is {self.shape_a}, B {self.shape_b}")
        a, b = tf.cast(a, tf.float32), tf.cast(b, tf.float32)
        return pixel_loss("l1", self._ab(b, training), b) + pixel_loss("l1", self._ba(a, training), a)

    def train_step(self, data):
        self.require_compiled()
        a, b, _ = keras.utils.unpack_x_y_sample_weight(data)
        if b is None:
            raise ValueError("CycleGAN data must yield (a, b) batches: use kerasgen.data.unpaired")
        a, b = check_images(a, self.shape_a, "domain A"), check_images(b, self.shape_b, "domain B")
        seed_a, seed_b = self.step_seeds(2)
        g_vars = self.generator_ab.trainable_variables + self.generator_ba.trainable_variables
        with tf.GradientTape() as tape:
            fake_b, fake_a = self._ab(a, True), self._ba(b, True)
            adv = (patch_loss(self.adversarial_loss.generator, self.discriminator_b(fake_b, training=True))
                   + patch_loss(self.adversarial_loss.generator, self.discriminator_a(fake_a, training=True)))
            cycle = self.cycle_loss(a, b, True, fakes=(fake_b, fake_a))
            total = adv + self.cycle_weight * cycle
            terms = {"g_loss": adv, "cycle": cycle}
            if self.uses_identity:
                identity = self.identity_loss(a, b, training=True)
                total += self.identity_weight * self.cycle_weight * identity
                terms["identity"] = identity
            scaled = self.g_optimizer.scale_loss(self.global_mean(total))
        self.g_optimizer.apply(tape.gradient(scaled, g_vars), g_vars)
        pooled_a = self.pool_a.query(tf.stop_gradient(fake_a), seed_a)
        pooled_b = self.pool_b.query(tf.stop_gradient(fake_b), seed_b)
        d_vars = self.discriminator_a.trainable_variables + self.discriminator_b.trainable_variables
        with tf.GradientTape() as tape:
            d_a = patch_loss(self.adversarial_loss.discriminator, self.discriminator_a(a, training=True),
                             self.discriminator_a(pooled_a, training=True))
            d_b = patch_loss(self.adversarial_loss.discriminator, self.discriminator_b(b, training=True),
                             self.discriminator_b(pooled_b, training=True))
            d_total = 0.5 * (d_a + d_b)
            scaled = self.d_optimizer.scale_loss(self.global_mean(d_total))
        self.d_optimizer.apply(tape.gradient(scaled, d_vars), d_vars)
        terms["d_loss"] = d_total
        return self.report({name: terms[name] for name in self.trackers})

    def translate(self, source, direction="a_to_b", batch_size=256) -> np.ndarray:
        """Images of the other domain, float32 in [-1, 1]: G(source) for "a_to_b", F(source) for "b_to_a".

        Raises:
            ValueError: an unknown direction or a source of the wrong shape.
        """
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
        shape = self.shape_a if direction == "a_to_b" else self.shape_b
        net = self._ab if direction == "a_to_b" else self._ba
        return run_in_batches(lambda x, training: net(tf.constant(x), training), check_source(source, shape),
                              batch_size)

    def export_translations(self) -> dict:
        """Both directions: "translate" (A -> B) and "translate_b_to_a"."""
        return {"translate": (self.shape_a, lambda x: self._ab(x, False)),
                "translate_b_to_a": (self.shape_b, lambda x: self._ba(x, False))}

    def get_config(self):
        ser = keras.saving.serialize_keras_object
        return {
            **super().get_config(),
            "generator_ab": ser(self.generator_ab), "generator_ba": ser(self.generator_ba),
            "discriminator_a": ser(self.discriminator_a), "discriminator_b": ser(self.discriminator_b),
            "shape_a": list(self.shape_a), "shape_b": list(self.shape_b), "loss": self.loss_name,
            "cycle_weight": self.cycle_weight, "identity_weight": self.identity_weight, "pool_size": self.pool_size,
            "g_optimizer_config": self.g_optimizer_config, "d_optimizer_config": self.d_optimizer_config,
        }
