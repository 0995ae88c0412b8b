"""`Translation`: the paired image-to-image train step behind pix2pix, SRGAN, SRResNet and inpainting.

One step = one discriminator update on (source, target) against (source, G(source)), then one
generator update on a weighted sum of
- the adversarial loss of G(source) (any loss of `kerasgen.losses.adversarial`; weight
  `adversarial_weight`, 0 for no discriminator at all: SRResNet);
- a reconstruction loss to the target ("l1" or "l2", per pixel; weight `reconstruction_weight`);
- a content loss: the squared distance of target and output in a fixed feature space
  (`kerasgen.models.translation.content`; weight `content_weight`).

With `warmup_steps=n` the first n generator updates use the reconstruction loss alone (the adversarial
and content terms are weighted by 0 until then, while the discriminator already learns): SRGAN
starts from the PSNR-oriented SRResNet, as its paper initialises it.

With `masked=True` (inpainting) the source's last channel is the hole mask (1 in the hole): the
output keeps the source image outside the hole and takes the generator's pixels inside it, and the
reconstruction loss is taken over the hole only (its mean over hole pixels).

Discriminators return logits of any shape (B, ...): a PatchGAN's (B, h, w, 1) patches are averaged
per example after the loss.

References: Isola et al. 2017 (pix2pix, arXiv:1611.07004); Ledig et al. 2017 (SRGAN,
arXiv:1609.04802); Pathak et al. 2016 (context encoders, arXiv:1604.07379).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kerasgen.losses import adversarial
from kerasgen.models.translation.base import TranslationModel
from kerasgen.models.base import checked_batch
from kerasgen.models.network_args import data_shape_of, network_attr, resolve_network
from kerasgen.models.optimizers import adam
from kerasgen.models.players import Player
from kerasgen.models.translation import content as content_lib
from kerasgen.registry import register_algorithm

RECONSTRUCTIONS = ("l1", "l2")


def patch_loss(fn, *logits):
    """A per-example adversarial loss (B,) of patch logits (B, ...): the loss of every patch, averaged."""
    flat = [ops.reshape(ops.cast(l, "float32"), (ops.shape(l)[0], -1)) for l in logits]
    per_patch = fn(*[ops.reshape(f, (-1,)) for f in flat])
    return ops.mean(ops.reshape(per_patch, (ops.shape(flat[0])[0], -1)), axis=1)


def pixel_loss(kind, a, b, weights=None):
    """Per-example mean |a - b| ("l1") or (a - b)^2 ("l2") over pixels; with `weights` (B, H, W, 1) the
    weighted mean (the hole of an inpainting mask)."""
    diff = tf.abs(a - b) if kind == "l1" else tf.square(a - b)
    if weights is None:
        return tf.reduce_mean(tf.reshape(diff, (tf.shape(diff)[0], -1)), axis=1)
    weights = tf.broadcast_to(weights, tf.shape(diff))
    total = tf.reduce_sum(tf.reshape(diff * weights, (tf.shape(diff)[0], -1)), axis=1)
    return total / tf.maximum(tf.reduce_sum(tf.reshape(weights, (tf.shape(diff)[0], -1)), axis=1), 1.0)


@register_algorithm
class Translation(TranslationModel):
    """Paired image-to-image translation: G(source) -> target, with an optional conditional discriminator.

    Args:
        generator: Keras model source (B, *source_shape) -> (B, *target_shape) in [-1, 1]; or a
            registered generator name or builder (given `source_shape` and `target_shape`).
        discriminator: Keras model [source, image] -> logits (B, ...) (pix2pix: judges pairs), or
            image -> logits (SRGAN); None when `adversarial_weight` is 0 (SRResNet).
        source_shape, target_shape: example shapes; read from functional networks when None.
        loss: adversarial loss name (`kerasgen.losses.adversarial`).
        adversarial_weight: weight of the generator's adversarial loss.
        reconstruction: "l1" or "l2".
        reconstruction_weight: weight of the reconstruction loss (pix2pix: 100).
        content: feature space of the content loss: "digits", "inception", "vgg19", a Keras model, or None.
        content_weight: weight of the content loss.
        masked: inpainting: the source's last channel is the hole mask; the output replaces the hole only.
        warmup_steps: generator updates trained on the reconstruction loss alone before the adversarial
            and content terms join (counted by the generator optimiser's iterations, so it resumes).
        g_optimizer_config, d_optimizer_config: serialised optimisers `compile()` uses by default
            (Adam 2e-4, beta_1 0.5).
        preset, seed: as for every kerasgen model.
    """

    def __init__(self, generator, discriminator=None, source_shape=None, target_shape=None,
                 loss="non_saturating", adversarial_weight=1.0, reconstruction="l1", reconstruction_weight=100.0,
                 content=None, content_weight=0.0, masked=False, warmup_steps=0, g_optimizer_config=None,
                 d_optimizer_config=None, preset=None, seed=None, **kwargs):
        if reconstruction not in RECONSTRUCTIONS:
            raise ValueError(f"reconstruction must be one of {RECONSTRUCTIONS}, got {reconstruction!r}")
        if float(adversarial_weight) < 0 or float(reconstruction_weight) < 0 or float(content_weight) < 0:
            raise ValueError("loss weights must be >= 0")
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, (int, np.integer)) or warmup_steps < 0:
            raise ValueError(f"warmup_steps must be an int >= 0, got {warmup_steps!r}")
        if float(adversarial_weight) > 0 and discriminator is None:
            raise ValueError("adversarial_weight > 0 needs a discriminator (or pass adversarial_weight=0)")
        if float(content_weight) > 0 and content is None:
            raise ValueError("content_weight > 0 needs a content feature space (content=...)")
        context = dict(source_shape=source_shape, target_shape=target_shape)
        generator = resolve_network(generator, "generator", **context)
        if source_shape is None:
            inputs = network_attr(generator, "inputs")
            if inputs is None:
                raise ValueError("pass source_shape: it cannot be read from this generator")
            source_shape = tuple(inputs[0].shape[1:])
        if target_shape is None:
            target_shape = data_shape_of(generator, "generator")
        self.source_shape = tuple(int(s) for s in source_shape)
        target_shape = tuple(int(s) for s in target_shape)
        if len(self.source_shape) != 3 or len(target_shape) != 3:
            raise ValueError(f"translation works on images (H, W, C); got source {self.source_shape}, "
                             f"target {target_shape}")
        if masked and (self.source_shape[:2] != target_shape[:2] or self.source_shape[2] != target_shape[2] + 1):
            raise ValueError(f"masked (inpainting) needs a source of the target's size with one more channel (the "
                             f"mask); got source {self.source_shape}, target {target_shape}")
        if discriminator is not None:
            discriminator = resolve_network(discriminator, "discriminator", target_shape=target_shape,
                                            source_shape=self.source_shape)
        super().__init__(data_shape=target_shape, preset=preset, seed=seed, **kwargs)
        self.generator = generator
        self.discriminator = discriminator
        d_inputs = network_attr(discriminator, "inputs") if discriminator is not None else None
        self.pair_discriminator = bool(d_inputs is not None and len(d_inputs) == 2)
        self.loss_name = loss
        self.adversarial_loss = adversarial.get(loss)
        self.adversarial_weight = float(adversarial_weight)
        self.reconstruction = reconstruction
        self.reconstruction_weight = float(reconstruction_weight)
        if isinstance(content, dict):  # a user feature model from a saved config: rebuilt as it was saved
            content = keras.saving.deserialize_keras_object(content)
        self.content = content
        self.content_weight = float(content_weight)
        self.content_features = content_lib.resolve(content) if self.content_weight > 0 else None
        self.masked = bool(masked)
        self.warmup_steps = int(warmup_steps)
        self.g_optimizer_config = g_optimizer_config or adam()
        self.d_optimizer_config = d_optimizer_config or adam()
        self._check_generator()
        names = (["d_loss", "g_loss"] if self.discriminator is not None else []) + ["reconstruction"]
        names += ["content"] * (self.content_features is not None)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}
        self.g_optimizer = None
        self.d_optimizer = None
        self.built = True

    def players(self):
        """The generator (`g_optimizer`) and, when there is one, the discriminator (`d_optimizer`)."""
        out = [Player("g_optimizer", lambda: self.generator.trainable_variables, self.g_optimizer_config,
                      "generator")]
        if self.discriminator is not None:
            out.append(Player("d_optimizer", lambda: self.discriminator.trainable_variables, self.d_optimizer_config,
                              "discriminator"))
        return tuple(out)

    def _check_generator(self):
        inputs, outputs = network_attr(self.generator, "inputs"), network_attr(self.generator, "outputs")
        if inputs is not None and tuple(inputs[0].shape[1:]) != self.source_shape:
            raise ValueError(f"generator takes {tuple(inputs[0].shape[1:])} but source_shape is {self.source_shape}")
        if outputs is not None and tuple(outputs[0].shape[1:]) != self.data_shape:
            raise ValueError(f"generator makes {tuple(outputs[0].shape[1:])} but target_shape is {self.data_shape}")

    @property
    def target_shape(self) -> tuple:
        """Shape of one target (and output) image, (H, W, C)."""
        return self.data_shape

    # ---- forward ---------------------------------------------------------------------
    def _translate(self, source, training):
        out = tf.cast(self.generator(source, training=training), tf.float32)
        if not self.masked:
            return out
        mask = source[..., -1:]
        return source[..., :-1] * (1.0 - mask) + out * mask

    def call(self, source, training=False):
        """Translated images (B, *target_shape) float32 from sources (B, *source_shape)."""
        return self._translate(tf.cast(source, tf.float32), training)

    def _discriminate(self, source, image, training):
        inputs = [source, image] if self.pair_discriminator else image
        return self.discriminator(inputs, training=training)

    # ---- training --------------------------------------------------------------------
    def unpack_pairs(self, data):
        """(source, target) float32 from a batch, with both shapes checked."""
        source, target, _ = keras.utils.unpack_x_y_sample_weight(data)
        if target is None:
            raise ValueError("translation data must yield (source, target) pairs: use kerasgen.data.pairs")
        return check_images(source, self.source_shape, "source"), check_images(target, self.data_shape, "target")

    def _content(self, output, target):
        fo, ft = self.content_features(output), self.content_features(target)
        diff = tf.square(tf.cast(fo, tf.float32) - tf.cast(ft, tf.float32))
        return tf.reduce_mean(tf.reshape(diff, (tf.shape(diff)[0], -1)), axis=1)

    def train_step(self, data):
        self.require_compiled()
        source, target = self.unpack_pairs(data)
        terms = {}
        if self.discriminator is not None:
            fake = tf.stop_gradient(self._translate(source, True))
            d_vars = self.discriminator.trainable_variables
            with tf.GradientTape() as tape:
                per_example = patch_loss(self.adversarial_loss.discriminator, self._discriminate(source, target, True),
                                         self._discriminate(source, fake, True))
                scaled = self.d_optimizer.scale_loss(self.global_mean(per_example))
            self.d_optimizer.apply(tape.gradient(scaled, d_vars), d_vars)
            terms["d_loss"] = per_example
        g_vars = self.generator.trainable_variables
        # 0 during the reconstruction-only warm-up, 1 after it
        joined = tf.cast(self.g_optimizer.iterations >= self.warmup_steps, tf.float32)
        with tf.GradientTape() as tape:
            output = self._translate(source, True)
            weights = source[..., -1:] if self.masked else None
            rec = pixel_loss(self.reconstruction, output, target, weights)
            total = self.reconstruction_weight * rec
            terms["reconstruction"] = rec
            if self.discriminator is not None:
                adv = patch_loss(self.adversarial_loss.generator, self._discriminate(source, output, True))
                total += joined * self.adversarial_weight * adv
                terms["g_loss"] = adv
            if self.content_features is not None:
                content = self._content(output, target)
                total += joined * self.content_weight * content
                terms["content"] = content
            scaled = self.g_optimizer.scale_loss(self.global_mean(total))
        self.g_optimizer.apply(tape.gradient(scaled, g_vars), g_vars)
        return self.report({name: terms[name] for name in self.trackers})

    # ---- use ---------------------------------------------------------------------------
    def translate(self, source, direction="a_to_b", batch_size=256) -> np.ndarray:
        """Translated images (N, *target_shape) float32 in [-1, 1] from sources (N, *source_shape).

        Raises:
            ValueError: a source of the wrong shape, or a direction other than "a_to_b".
        """
        if direction != "a_to_b":
            raise ValueError(f"a paired translation model maps sources to targets only (direction='a_to_b'), "
                             f"got {direction!r}")
        return run_in_batches(self, check_source(source, self.source_shape), batch_size)

    # ---- export hooks --------------------------------------------------------------------
    def export_translations(self) -> dict:
        """Exported translation signatures: name -> (source shape, fn (B, *source) -> (B, *target))."""
        return {"translate": (self.source_shape, lambda source: self(source, training=False))}

    def get_config(self):
        return {
            **super().get_config(),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": None if self.discriminator is None else keras.saving.serialize_keras_object(
                self.discriminator),
            "source_shape": list(self.source_shape),
            "target_shape": list(self.data_shape),
            "loss": self.loss_name,
            "adversarial_weight": self.adversarial_weight,
            "reconstruction": self.reconstruction,
            "reconstruction_weight": self.reconstruction_weight,
            "content": content_lib.content_config(self.content),
            "content_weight": self.content_weight,
            "masked": self.masked,
            "warmup_steps": self.warmup_steps,
            "g_optimizer_config": self.g_optimizer_config,
            "d_optimizer_config": self.d_optimizer_config,
        }


def check_images(x, shape, what):
    """`x` as float32 after checking its example shape is `shape` (statically, or when the step runs)
    and that it is finite."""
    x = tf.cast(x, tf.float32)
    return checked_batch(x, tuple(shape), f"{what} images must have shape {tuple(shape)}, got {tuple(x.shape[1:])}",
                         f"the {what} images contain NaN or infinite values")


def check_source(source, shape) -> np.ndarray:
    """Numpy float32 (N, *shape) images, finite, or a ValueError naming the problem."""
    x = np.asarray(source, dtype=np.float32)
    if x.ndim == len(shape):
        raise ValueError(f"pass a batch of images (N, {', '.join(map(str, shape))}), got one image of shape {x.shape}")
    if x.shape[1:] != tuple(shape):
        raise ValueError(f"source images must have shape (N, {', '.join(map(str, shape))}), got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("source images contain NaN or infinite values")
    return x


def run_in_batches(fn, x, batch_size) -> np.ndarray:
    """`fn(batch)` over `x` in batches of `batch_size`, concatenated as float32 numpy."""
    if len(x) == 0:
        raise ValueError("no source images given")
    return np.concatenate([np.asarray(ops.convert_to_numpy(fn(x[i:i + batch_size], training=False)), np.float32)
                           for i in range(0, len(x), batch_size)])
