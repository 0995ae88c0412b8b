"""Presets of the GAN step's remedies for mode collapse, and of the f-GAN divergences.

Each is the `dcgan` recipe (DCGAN conv stacks on images, MLPs on standardised vectors, Adam 2e-4 /
0.5, the shared `presets._build`) with one option of `kerasgen.models.GAN` set; every option also
works on any other preset or on the user's networks, e.g.
`kg.models.get("lsgan", data_shape=(2,), pack=2)` (the discriminator is sized for it).

A two time-scale update rule (TTUR, Heusel et al. 2017, arXiv:1706.08500) is only a choice of
optimiser defaults, so it is no preset: pass `g_optimizer_config=adam(1e-4)` and
`d_optimizer_config=adam(4e-4)` (`kerasgen.models.optimizers.adam`) to any preset, or
`compile(g_optimizer=..., d_optimizer=...)`.
"""

from __future__ import annotations

from kerasgen.models.adversarial.presets import SMALL, _build, is_vector
from kerasgen.models.optimizers import adam
from kerasgen.registry import register_preset

_FGAN_REFERENCE = ("Nowozin, Cseke & Tomioka 2016, f-GAN: Training Generative Neural Samplers using Variational "
                   "Divergence Minimization, arXiv:1606.00709")


# Discriminator updates per generator update of `pacgan` on vectors. Packs of 4 leave the discriminator a quarter of
# the batch's examples; on the 25-Gaussian grid (batch 256, 4,000 generator steps, model seed 0, data shuffles 0-2)
# one update found 8-19 modes with 1-4% of samples near one, two updates 17-22 with 6-20%, four 15-18 with 9-27%.
# Also measured with one update, and kept out: Adam 2e-4, a 2e-3 discriminator, 512-wide layers, least squares, R1
# 1, feature matching (8-22 modes, 1-8%), and with two updates the weight average (15-24, 6-21%).
VECTOR_PACK_CRITIC_STEPS = 2

# How `pacgan` forms its packs on vectors. Disjoint packs (the paper's) give the discriminator a quarter of the batch's
# examples as packs; cyclic packs (`pack_mode="cyclic"`: pack i holds examples i to i + 3) are the same objective
# estimated from every example. On the 25-Gaussian grid (batch 256, 4,000 generator steps, model seed = data shuffle,
# two discriminator updates) disjoint packs found 10-22 modes with 1.5-11% of samples near one (shuffles 0-2), cyclic
# packs 20-25 modes with 37-70% (shuffles 0-5; `gan` 16-24 and 13-89% there); with one discriminator update cyclic
# packs found 10-18 modes with 1-10% (shuffles 0-2).
# With cyclic packs `pacgan` also samples from the generator's weight average on vectors (`presets.VECTOR_EMA_DECAY`):
# same protocol, shuffles 0-5, 20-25 modes and 39-79% high quality (mean 63.0%) against 20-25 and 37-70% (54.1%), higher
# on every shuffle.
VECTOR_PACK_MODE = "cyclic"


@register_preset("pacgan", "adversarial",
                 "PacGAN: the discriminator judges packs of 4 samples (concatenated on channels; on vectors "
                 "cyclic packs, two discriminator updates per step and a weight average of the generator)",
                 small=SMALL, reference="Lin, Khetan, Fanti & Oh 2018, PacGAN: The Power of Two Samples in Generative "
                 "Adversarial Networks, arXiv:1712.04086")
def pacgan(data_shape, latent_dim=None, num_classes=None, base_filters=64, hidden=None, pack=4, **kw):
    """PacGAN: real and generated batches are judged in packs of `pack` samples (disjoint on images, where
    the batch size must divide by it; on vectors `VECTOR_PACK_MODE`, every sample opening a pack);
    non-saturating loss; on vectors `VECTOR_PACK_CRITIC_STEPS` discriminator updates per generator update,
    and `sample` and export use the generator's weight average (`presets.VECTOR_EMA_DECAY`). Returns an
    uncompiled `GAN`."""
    if is_vector(data_shape):
        kw.setdefault("n_critic", VECTOR_PACK_CRITIC_STEPS)
        kw.setdefault("pack_mode", VECTOR_PACK_MODE)
    return _build("pacgan", data_shape, latent_dim, 100, base_filters=base_filters, hidden=hidden,
                  loss="non_saturating", pack=pack, ema_on_vectors=True, **kw)


# The inner SGD step of the unrolled discriminator on vectors, where the vector recipe trains both players with
# Adam 1e-3: on the 25-Gaussian grid (batch 256, 4,000 steps, seeds 0-2) GAN's 0.005 let the generator settle on
# 1-2 modes; 0.001 found 24 / 16 / 18 modes with 37 / 18 / 55% of samples near one; 0.002 found 17 and 2 (seeds
# 0, 1), 0.0002 and 0.02 1-4 (seed 0), as did 2 unrolled steps at 0.005 (8).
VECTOR_UNROLLED_LEARNING_RATE = 0.001
# `unrolled-gan` also samples from the generator's weight average on vectors (`presets.VECTOR_EMA_DECAY`): same
# protocol, seeds 0-2, 19 / 25 / 8 modes with 65 / 39 / 75% high quality against 16 / 22 / 8 and 40 / 22 / 67% from the
# raw generator, more on every seed.


@register_preset("unrolled-gan", "adversarial",
                 "Unrolled GAN: the generator's loss through 5 unrolled discriminator updates (on vectors a weight "
                 "average of the generator)",
                 small={**SMALL, "unrolled_steps": 2}, reference="Metz, Poole, Pfau & Sohl-Dickstein 2017, Unrolled Generative Adversarial "
                 "Networks, arXiv:1611.02163")
def unrolled_gan(data_shape, latent_dim=None, num_classes=None, base_filters=64, hidden=None, unrolled_steps=5,
                 **kw):
    """Unrolled GAN: the generator is scored by the discriminator after `unrolled_steps` differentiable
    SGD updates (`unrolled_learning_rate`: `GAN`'s 0.005 on images, `VECTOR_UNROLLED_LEARNING_RATE` on
    vectors, where `sample` and export also use the generator's weight average, `presets.VECTOR_EMA_DECAY`);
    non-saturating loss. Returns an uncompiled `GAN`."""
    if is_vector(data_shape):
        kw.setdefault("unrolled_learning_rate", VECTOR_UNROLLED_LEARNING_RATE)
    return _build("unrolled-gan", data_shape, latent_dim, 100, base_filters=base_filters, hidden=hidden,
                  loss="non_saturating", unrolled_steps=unrolled_steps, ema_on_vectors=True, **kw)


# The discriminator's Adam rate of `fm-gan` on vectors (the generator keeps the vector recipe's 1e-3). On the
# 25-Gaussian grid (batch 256, 4,000 generator steps, model seed 0, data shuffles 0-5, sampling the weight average)
# 1e-3 for both put 73-90% of samples near a mode (mean 82.3%), a 5e-4 discriminator 81-92% (mean 88.5%, higher on
# every shuffle), 3e-4 71-79% (shuffles 0-2), and 2e-3 48-90%; all found the 25 modes on every run.
VECTOR_FM_DISCRIMINATOR_RATE = 5e-4

# The generator's feature-matching weight of `fm-gan` on vectors, and the generator update at which it has faded
# linearly to 0 (`feature_matching_steps`; images hold a weight of 1). Matching feature means keeps every mode fed
# while the modes form; the non-saturating loss alone then sharpens them. With the 5e-4 discriminator and the weight
# average, over twelve shuffles of the data (25-Gaussian grid, batch 256, 4,000 steps, model seed = shuffle): weight 1
# fading to 0 at step 4,000 found all 25 modes on every run with 82-94% of samples near one (mean 90.3%, 8 runs of 12
# at 90% or more); 0.5 held (the previous default) 25 modes and 73-92% (88.2%, 5 of 12), 1 held 78-92% (85.6%); 0.5
# fading to 0 at 4,000 83-93% (89.7%) but 22 and 24 modes on two runs. Over shuffles 0-5 with the weight held, 0.3 and
# 0.2 lost a mode or three on one run each and 2 gave 54-87% (docs/gan-vector-recipes.md, "Fading feature matching").
VECTOR_FEATURE_MATCHING = 1.0
VECTOR_FEATURE_MATCHING_STEPS = 4000


@register_preset("fm-gan", "adversarial",
                 "Feature matching (weight 1; on vectors fading to 0 over 4,000 steps) for the generator, minibatch "
                 "stddev in the discriminator; on vectors a weight average of the generator and a discriminator at "
                 "half its rate",
                 small=SMALL, reference="Salimans et al. 2016, Improved Techniques for Training GANs, "
                 "arXiv:1606.03498; Karras et al. 2018, Progressive Growing of GANs, arXiv:1710.10196 (minibatch stddev)")
def fm_gan(data_shape, latent_dim=None, num_classes=None, base_filters=64, hidden=None, feature_matching=None,
           **kw):
    """Feature matching: the generator's non-saturating loss plus `feature_matching` (1 on images,
    `VECTOR_FEATURE_MATCHING` on vectors when None, there fading linearly to 0 at generator update
    `VECTOR_FEATURE_MATCHING_STEPS` unless `feature_matching_steps` is given) times the squared distance of
    the batch means of the discriminator's last features; the discriminator holds a minibatch standard-deviation feature; on
    vectors `sample` and export use the generator's weight average (`presets.VECTOR_EMA_DECAY`) and the
    discriminator's Adam rate is `VECTOR_FM_DISCRIMINATOR_RATE`. Returns an uncompiled `GAN`."""
    if feature_matching is None:
        feature_matching = VECTOR_FEATURE_MATCHING if is_vector(data_shape) else 1.0
    if is_vector(data_shape) and feature_matching > 0:
        kw.setdefault("feature_matching_steps", VECTOR_FEATURE_MATCHING_STEPS)
    kw.setdefault("minibatch_stddev", True)
    if is_vector(data_shape) and kw.get("d_optimizer_config") is None:
        kw["d_optimizer_config"] = adam(VECTOR_FM_DISCRIMINATOR_RATE)
    return _build("fm-gan", data_shape, latent_dim, 100, base_filters=base_filters, hidden=hidden,
                  loss="non_saturating", feature_matching=feature_matching, ema_on_vectors=True, **kw)


# On vectors, the divergences whose critic is the raw logit (T = v: KL, whose conjugate exp(v - 1) grows
# exponentially, and Pearson, whose conjugate grows quadratically) need a regularised critic: R1 on the real data,
# Mescheder et al. 2018's (arXiv:1801.04406) real-data form of the gradient-norm regulariser Roth et al. 2017
# (arXiv:1705.09367) derived for f-GANs. On the 25-Gaussian grid at batch 256 and 4,000 steps
# (`benchmarks/mode_coverage.py`'s protocol) the plain vector recipe (Adam 1e-3) found 0-1 modes for both, Adam
# 2e-4 alone 9-21 with 1-7% of samples near one. Six shuffles of the data (model seed 0): KL at R1 1 and the
# recipe's Adam 1e-3 found 20-24 modes with 12-51% high quality; at R1 3 and Adam 5e-4 7-25 modes and 2-40%, at
# R1 10 17-24 and 13-27%. Pearson at R1 3 and Adam 5e-4 found 23-25 modes with 17-48%; R1 1 at 1e-3 left it at
# 17 (seed 0). A WGAN-GP penalty (weight 1) left KL at 0 modes.
# Both also sample from the generator's weight average on vectors (`presets.VECTOR_EMA_DECAY`). Seeds 0-5 of the
# benchmark (model seed = data shuffle): KL 24-25 modes with 14-76% high quality (mean 49.9%) against 22-25 and 11-56%
# (37.5%) from the raw generator, more on every seed; Pearson 25 on every seed with 26-74% (58.7%) against 20-25 and
# 22-63% (41.0%), higher on five seeds and level on one (48.1 against 48.7%).
VECTOR_REGULARISED = {"kl": dict(penalty="r1", penalty_weight=1.0, learning_rate=1e-3),
                      "pearson": dict(penalty="r1", penalty_weight=3.0, learning_rate=5e-4)}


def _fgan(name, divergence):
    recipe = VECTOR_REGULARISED.get(divergence)

    def build(data_shape, latent_dim=None, num_classes=None, base_filters=64, hidden=None, **kw):
        regularise = recipe is not None and is_vector(data_shape)
        if regularise:
            kw.setdefault("penalty", recipe["penalty"])
            kw.setdefault("penalty_weight", recipe["penalty_weight"])
        return _build(name, data_shape, latent_dim, 100, base_filters=base_filters, hidden=hidden, loss=divergence,
                      optimizer_on_vectors=adam(recipe["learning_rate"]) if regularise else None,
                      ema_on_vectors=recipe is not None, **kw)

    build.__name__ = name.replace("-", "_")
    regularised = (f" On vectors the critic carries an R1 penalty (weight {recipe['penalty_weight']:g}), "
                   f"both players train with Adam {recipe['learning_rate']:g}, and `sample` and export use the "
                   f"generator's weight average (`presets.VECTOR_EMA_DECAY`)." if recipe else "")
    build.__doc__ = (f"f-GAN minimising the {divergence} f-divergence (`kerasgen.losses.fdivergence`): the "
                     f"discriminator maximises its variational bound.{regularised} Returns an uncompiled `GAN`.")
    return build


fgan_kl = register_preset("fgan-kl", "adversarial", "f-GAN with the KL divergence KL(P_data || P_model)",
                          small=SMALL, reference=_FGAN_REFERENCE)(_fgan("fgan-kl", "kl"))
fgan_js = register_preset("fgan-js", "adversarial", "f-GAN with the Jensen-Shannon divergence (2 JS)",
                          small=SMALL, reference=_FGAN_REFERENCE)(_fgan("fgan-js", "js"))
fgan_pearson = register_preset("fgan-pearson", "adversarial", "f-GAN with the Pearson chi-squared divergence",
                               small=SMALL, reference=_FGAN_REFERENCE)(_fgan("fgan-pearson", "pearson"))
