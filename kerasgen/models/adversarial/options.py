"""The GAN step's options against mode collapse and unstable training, as small pure pieces.

`GANOptions` holds and checks them; the step (`kerasgen.models.adversarial.gan`) calls its hooks:
what the discriminator sees of a batch (instance noise, then packing), its loss's real target
(one-sided label smoothing), the feature-matching term, and what the discriminator builders add
(`discriminator_builder_options`). Unrolling lives in `unrolled.py`, the weight average in `ema.py`.
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from kerasgen.models.adversarial import ema
from kerasgen.networks.discriminator_options import check_pack

# the GAN arguments that change how a discriminator is built (see `discriminator_builder_options`)
DISCRIMINATOR_ARGUMENTS = ("pack", "minibatch_stddev", "minibatch_discrimination", "feature_matching")
PACK_MODES = ("disjoint", "cyclic")


def pack(x, m: int):
    """PacGAN packing: m consecutive examples become one, concatenated on the last axis.

    Args:
        x: (B, ..., C) with B divisible by m (checked: ValueError when B is known while tracing,
            else an InvalidArgumentError when the step runs).
        m: examples per pack.

    Returns:
        (B / m, ..., C * m) with packed[i, ..., k * C + c] = x[i * m + k, ..., c].
    """
    if m == 1:
        return x
    shape = tuple(x.shape[1:])
    message = f"pack={m} needs batches whose size divides by {m} (batch size a multiple of {m}, remainder dropped)"
    if x.shape[0] is not None:
        if x.shape[0] % m:
            raise ValueError(f"{message}, got a batch of {x.shape[0]}")
    else:
        tf.debugging.assert_equal(tf.shape(x)[0] % m, 0, message=message)
    grouped = tf.reshape(x, (-1, m, *shape))  # (B/m, m, ..., C)
    rank = len(shape) + 2
    moved = tf.transpose(grouped, (0, *range(2, rank - 1), 1, rank - 1))  # (B/m, ..., m, C)
    return tf.reshape(moved, (-1, *shape[:-1], shape[-1] * m))


def pack_cyclic(x, m: int):
    """PacGAN packing in which every example opens a pack: pack i holds examples i, i + 1, ..., i + m - 1
    (indices modulo B), concatenated on the last axis.

    Each pack is still m distinct examples of the batch, so its distribution is the one `pack` gives
    (m independent draws, real with real, generated with generated) and the discriminator's loss has
    the same expectation; it is averaged over B overlapping packs instead of B / m disjoint ones, and
    the batch size need not divide by m.

    Args:
        x: (B, ..., C) with B >= m, this replica's batch (checked like `pack`: a ValueError when B is
            known while tracing, else an InvalidArgumentError when the step runs; XLA drops that
            assertion, and a smaller batch would repeat examples within a pack).
        m: examples per pack.

    Returns:
        (B, ..., C * m) with packed[i, ..., k * C + c] = x[(i + k) mod B, ..., c].
    """
    if m == 1:
        return x
    message = f"pack={m} with pack_mode='cyclic' needs batches of at least {m} examples"
    if x.shape[0] is not None:
        if x.shape[0] < m:
            raise ValueError(f"{message}, got a batch of {x.shape[0]}")
    else:
        tf.debugging.assert_greater_equal(tf.shape(x)[0], m, message=message)
    return tf.concat([x] + [tf.roll(x, -k, axis=0) for k in range(1, m)], axis=-1)


def add_instance_noise(x, scale, seed):
    """x + scale * N(0, I) from a stateless seed (2,); x unchanged when scale is 0."""
    noise = tf.random.stateless_normal(tf.shape(x), seed, dtype=tf.float32)
    return tf.cast(x, tf.float32) + tf.cast(scale, tf.float32) * noise


def linear_decay(value, steps, step):
    """`value` * max(0, 1 - step / steps) as a float32 scalar: `value` at step 0, exactly 0 from step
    `steps` on; `value` at every step when `steps` is None."""
    if steps is None:
        return tf.constant(value, tf.float32)
    left = 1.0 - tf.cast(step, tf.float32) / float(steps)
    return value * tf.maximum(left, 0.0)


def feature_matching_loss(real_features, fake_features):
    """||mean_batch f(x) - mean_batch f(G(z))||^2 (Salimans et al. 2016), a scalar float32.

    Args:
        real_features, fake_features: (B, ...) discriminator features of this replica's real and
            generated batches (the real side carries no gradient).
    """
    def batch_mean(f):
        f = tf.cast(f, tf.float32)
        return tf.reduce_mean(tf.reshape(f, (tf.shape(f)[0], -1)), axis=0)

    difference = tf.stop_gradient(batch_mean(real_features)) - batch_mean(fake_features)
    return tf.reduce_sum(tf.square(difference))


def discriminator_builder_options(pack=1, minibatch_stddev=False, minibatch_discrimination=0,
                                  feature_matching=0.0, **_) -> dict:
    """The keywords a discriminator builder (`kerasgen.networks.mlp_discriminator`,
    `dcgan_discriminator` or the user's) takes for these GAN options; only those that are set."""
    out = {"pack": int(pack), "minibatch_stddev": bool(minibatch_stddev),
           "minibatch_discrimination": int(minibatch_discrimination or 0), "features": float(feature_matching) > 0}
    return {k: v for k, v in out.items() if v and not (k == "pack" and v == 1)}


@dataclasses.dataclass(frozen=True)
class GANOptions:
    """The GAN step's options (each is a `GAN` argument of the same name; see its docstring)."""

    pack: int = 1
    pack_mode: str = "disjoint"
    minibatch_stddev: bool = False
    minibatch_discrimination: int = 0
    feature_matching: float = 0.0
    feature_matching_steps: int | None = None
    label_smoothing: float = 0.0
    instance_noise: float = 0.0
    instance_noise_steps: int | None = None
    unrolled_steps: int = 0
    unrolled_learning_rate: float = 0.005
    ema_decay: float | None = None

    @classmethod
    def checked(cls, loss, label_to_discriminator=False, auxiliary_weight=0.0, uses_info=False, **values):
        """Options from `GAN` arguments, each checked (ValueError naming the problem)."""
        opts = cls(
            pack=check_pack(values.get("pack", 1), label_to_discriminator),
            pack_mode=str(values.get("pack_mode") or "disjoint"),
            minibatch_stddev=bool(values.get("minibatch_stddev", False)),
            minibatch_discrimination=int(values.get("minibatch_discrimination") or 0),
            feature_matching=float(values.get("feature_matching") or 0.0),
            feature_matching_steps=None if values.get("feature_matching_steps") is None
            else int(values["feature_matching_steps"]),
            label_smoothing=float(values.get("label_smoothing") or 0.0),
            instance_noise=float(values.get("instance_noise") or 0.0),
            instance_noise_steps=None if values.get("instance_noise_steps") is None
            else int(values["instance_noise_steps"]),
            unrolled_steps=int(values.get("unrolled_steps") or 0),
            unrolled_learning_rate=float(values.get("unrolled_learning_rate", 0.005)),
            ema_decay=None if values.get("ema_decay") is None else float(values["ema_decay"]),
        )
        if opts.pack > 1 and (auxiliary_weight > 0 or uses_info):
            raise ValueError("pack > 1 cannot be combined with per-example heads (ACGAN's auxiliary classifier, "
                             "InfoGAN codes): a packed example holds several examples")
        if opts.pack_mode not in PACK_MODES:
            raise ValueError(f"pack_mode must be one of {', '.join(map(repr, PACK_MODES))}, got {opts.pack_mode!r}")
        if opts.minibatch_discrimination < 0:
            raise ValueError(f"minibatch_discrimination must be >= 0 kernels, got {opts.minibatch_discrimination}")
        if opts.feature_matching < 0:
            raise ValueError(f"feature_matching must be >= 0, got {opts.feature_matching}")
        if opts.feature_matching_steps is not None:
            if opts.feature_matching_steps < 1:
                raise ValueError(f"feature_matching_steps must be >= 1 or None, got {opts.feature_matching_steps}")
            if not opts.feature_matching:
                raise ValueError("feature_matching_steps schedules feature matching: set feature_matching > 0 too")
        if not 0.0 <= opts.label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must lie in [0, 1), got {opts.label_smoothing}")
        if opts.label_smoothing and not loss.targets:
            raise ValueError(f"label_smoothing needs a loss with a real target (minimax, non_saturating, "
                             f"least_squares), not {loss.name!r}")
        if opts.instance_noise < 0:
            raise ValueError(f"instance_noise must be >= 0, got {opts.instance_noise}")
        if opts.instance_noise_steps is not None and opts.instance_noise_steps < 1:
            raise ValueError(f"instance_noise_steps must be >= 1 or None, got {opts.instance_noise_steps}")
        if opts.unrolled_steps < 0:
            raise ValueError(f"unrolled_steps must be >= 0, got {opts.unrolled_steps}")
        if opts.unrolled_steps and opts.unrolled_learning_rate <= 0:
            raise ValueError(f"unrolled_learning_rate must be > 0, got {opts.unrolled_learning_rate}")
        ema.check_decay(opts.ema_decay)
        return opts

    def config(self) -> dict:
        """The options as `GAN.get_config` entries."""
        return dataclasses.asdict(self)

    def discriminator_loss(self, loss):
        """The discriminator's per-example loss: `loss.discriminator`, with the real target moved to
        1 - label_smoothing (one-sided: the fake target stays 0)."""
        if not self.label_smoothing:
            return loss.discriminator
        target = 1.0 - self.label_smoothing
        return lambda real, fake: loss.discriminator(real, fake, real_target=target)

    def noise_scale(self, step):
        """Instance-noise standard deviation after `step` generator updates: `instance_noise`, falling
        linearly to 0 at `instance_noise_steps` (constant when None); float32 scalar."""
        return linear_decay(self.instance_noise, self.instance_noise_steps, step)

    def feature_matching_weight(self, step):
        """Weight of the generator's feature-matching term after `step` generator updates:
        `feature_matching`, falling linearly to 0 at `feature_matching_steps` (constant when None);
        float32 scalar."""
        return linear_decay(self.feature_matching, self.feature_matching_steps, step)

    def discriminator_input(self, x, step, seed):
        """What the discriminator sees of a batch x (B, ...): with instance noise (after `step`
        generator updates, drawn from `seed`), then packed: (B / pack, ..., C * pack) in disjoint packs,
        (B, ..., C * pack) in cyclic ones (`pack_mode`)."""
        if self.instance_noise:
            x = add_instance_noise(x, self.noise_scale(step), seed)
        return (pack_cyclic if self.pack_mode == "cyclic" else pack)(x, self.pack)
