"""GAN presets: each pairs the `GAN` algorithm with networks and settings known to train.

Image presets use the DCGAN conv stacks; `gan` and every preset on vector data
use the MLPs, with the data standardised inside the model. Each builder takes
`data_shape`, `latent_dim` and `num_classes` plus network-size overrides
(`base_filters` for conv stacks, `hidden` for MLPs).

On vector data every preset uses `VECTOR_RECIPE` unless told otherwise: a latent of the data's own size,
three hidden layers of 256 and both learning rates five times the image recipe's (Adam 2e-4 becomes 1e-3) (each optimiser
keeps its kind and betas). The image recipes (latent 64-128, two layers, Adam 2e-4) are sized for
images; on the 25-Gaussian grid at batch 256 and 4,000 steps they found 0-5 of 25 modes with about 1%
of samples near a mode, against 20-24 of 25 and 70-80% with these settings
(`benchmarks/mode_coverage.py`).
"""

from __future__ import annotations

import copy

from kerasgen.models.adversarial.gan import GAN
from kerasgen.models.adversarial.options import discriminator_builder_options
from kerasgen.models.optimizers import adam, rmsprop
from kerasgen.networks import dcgan_discriminator, dcgan_generator, mlp_discriminator, mlp_generator
from kerasgen.registry import register_preset


SMALL = dict(base_filters=8, hidden=(32, 32))  # conv stacks and MLPs small enough for tests
IMAGE_HIDDEN = (256, 256)  # MLP layers of `gan` on images
VECTOR_RECIPE = dict(hidden=(256, 256, 256), learning_rate_factor=5.0, min_latent_dim=2)
# The decay of the generator's weight average that `fm-gan`, `wgan-gp`, `wgan`, `pacgan`, `sngan`, `unrolled-gan`,
# `fgan-kl`, `fgan-pearson`, `lsgan` and `veegan` sample from on vectors (`ema_decay`). On the 25-Gaussian grid (batch 256,
# 4,000 generator steps, model seed 0, data shuffles 0-2) `fm-gan`'s raw generator put 68-77% of its samples near a mode and its average at 0.98, 0.99 and 0.995 85-91%
# (25/25 modes each), at 0.998 82-88%; 0.999 averaged generators that had moved on, 16-20 modes and 17-23%.
# `wgan-gp` went from 24-25 modes and 41-68% (20-25 and 32-68% over six runs) to 25/25 and 75-77%, `wgan` at a
# clip of 0.05 from 21-22 modes and 5-11% to 22-25 and 12-21%; `pacgan` with cyclic packs (`remedies.VECTOR_PACK_MODE`)
# from 37-70% to 39-79% (shuffles 0-5); `lsgan` from 57-83% to 74-93% (shuffles 0-5; see `lsgan`). Not for the others:
# `gan`'s average found 4-25 modes, 1-Lipschitz `sngan`'s and disjoint-packed `pacgan`'s stayed clouds (13-17 modes,
# 1-3%; `sngan` samples it with `VECTOR_SPECTRAL_GAIN`). (`veegan`'s, measured at one mode, was never updated by its step then.)
VECTOR_EMA_DECAY = 0.99


def is_vector(data_shape) -> bool:
    """Vector data (one axis) rather than images."""
    return len(tuple(data_shape)) == 1


def vector_optimizer(config):
    """A serialised optimiser with the learning rate of `VECTOR_RECIPE` (same kind and betas)."""
    rate = config["config"]["learning_rate"] * VECTOR_RECIPE["learning_rate_factor"]
    return {**config, "config": {**config["config"], "learning_rate": rate}}


def set_default_optimizers(kwargs: dict, recipe: dict) -> None:
    """A copy of the serialised optimiser `recipe` for each player whose config (`g_optimizer_config`,
    `d_optimizer_config`) `kwargs` leaves None; the user's win."""
    for key in ("g_optimizer_config", "d_optimizer_config"):
        if kwargs.get(key) is None:
            kwargs[key] = copy.deepcopy(recipe)


def _defaults(data_shape, latent_dim, hidden, image_latent_dim):
    """The preset's latent size and MLP layers: the user's where given, else the recipe of the data kind."""
    if latent_dim is None:
        latent_dim = (max(VECTOR_RECIPE["min_latent_dim"], int(data_shape[0])) if is_vector(data_shape)
                      else image_latent_dim)
    if hidden is None:
        hidden = VECTOR_RECIPE["hidden"] if is_vector(data_shape) else IMAGE_HIDDEN
    return int(latent_dim), tuple(hidden)


def _networks(data_shape, latent_input, conv, num_classes=None, label_to_d=False, aux_classes=None,
              categorical_codes=(), continuous_codes=0, spectral_norm=False, spectral_gain=1.0, base_filters=64,
              hidden=(256, 256), **d_options):
    is_image = len(data_shape) == 3
    d_kwargs = dict(label_input_classes=num_classes if label_to_d else None, num_classes=aux_classes,
                    categorical_codes=categorical_codes, continuous_codes=continuous_codes,
                    spectral_norm=spectral_norm, spectral_gain=spectral_gain, **d_options)
    if conv and is_image:
        g = dcgan_generator(data_shape, latent_input, base_filters=base_filters, num_classes=num_classes)
        d = dcgan_discriminator(data_shape, base_filters=base_filters, **d_kwargs)
    else:
        g = mlp_generator(data_shape, latent_input, hidden=hidden, num_classes=num_classes)
        d = mlp_discriminator(data_shape, hidden=hidden, **d_kwargs)
    return g, d


def _build(name, data_shape, latent_dim, image_latent_dim, conv=True, num_classes=None, label_to_d=False,
           auxiliary_weight=0.0, categorical_codes=(), continuous_codes=0, spectral_norm=False, spectral_gain=1.0,
           base_filters=64, hidden=None, optimizer=None, optimizer_on_vectors=None, ema_on_vectors=False,
           **gan_kwargs):
    """A `GAN` with the preset's networks and recipe.

    `latent_dim` / `hidden` None take the recipe of the data kind (`image_latent_dim` and two layers of
    256 on images, `VECTOR_RECIPE` on vectors); `optimizer` is the preset's serialised optimiser for
    images (Adam 2e-4, beta_1 0.5 when None), its rate raised by `VECTOR_RECIPE` on vectors unless the
    preset gives `optimizer_on_vectors`; both players get it unless the user passes
    `g_optimizer_config` / `d_optimizer_config`. `ema_on_vectors`: on vectors, sample from the generator's
    weight average at `VECTOR_EMA_DECAY` unless the user passes `ema_decay`.
    """
    data_shape = tuple(data_shape)
    if ema_on_vectors and is_vector(data_shape):
        gan_kwargs.setdefault("ema_decay", VECTOR_EMA_DECAY)
    latent_dim, hidden = _defaults(data_shape, latent_dim, hidden, image_latent_dim)
    recipe = optimizer or adam()
    if is_vector(data_shape):
        recipe = optimizer_on_vectors or vector_optimizer(recipe)
    set_default_optimizers(gan_kwargs, recipe)
    code_dim = sum(categorical_codes) + continuous_codes
    g, d = _networks(
        data_shape, latent_dim + code_dim, conv, num_classes=num_classes, label_to_d=label_to_d,
        aux_classes=num_classes if auxiliary_weight > 0 else None, categorical_codes=categorical_codes,
        continuous_codes=continuous_codes, spectral_norm=spectral_norm, spectral_gain=spectral_gain,
        base_filters=base_filters, hidden=hidden,
        **discriminator_builder_options(**gan_kwargs))  # sized for pack, minibatch layers, features
    return GAN(g, d, latent_dim=latent_dim, data_shape=data_shape, num_classes=num_classes,
               label_to_discriminator=label_to_d, auxiliary_weight=auxiliary_weight,
               categorical_codes=categorical_codes, continuous_codes=continuous_codes,
               standardize=is_vector(data_shape), preset=name, **gan_kwargs)


def _require_classes(name, num_classes):
    if not num_classes:
        raise ValueError(f"preset {name!r} is conditional: pass num_classes (labelled data)")


@register_preset("gan", "adversarial", "MLP GAN, non-saturating loss (Goodfellow et al. 2014)",
                 small=SMALL, reference="Goodfellow et al. 2014, Generative Adversarial Nets, arXiv:1406.2661")
def gan(data_shape, latent_dim=None, num_classes=None, hidden=None, **kw):
    """MLP generator and discriminator, non-saturating loss. Returns an uncompiled `GAN`."""
    return _build("gan", data_shape, latent_dim, 64, conv=False, hidden=hidden, loss="non_saturating", **kw)


@register_preset("dcgan", "adversarial", "DCGAN conv stacks, non-saturating loss, Adam 2e-4 / 0.5",
                 small=SMALL, reference="Radford et al. 2016, Unsupervised Representation Learning with DCGANs, arXiv:1511.06434")
def dcgan(data_shape, latent_dim=None, num_classes=None, base_filters=64, hidden=None, **kw):
    """DCGAN conv stacks (MLPs for vectors), non-saturating loss. Returns an uncompiled `GAN`."""
    return _build("dcgan", data_shape, latent_dim, 100, base_filters=base_filters, hidden=hidden,
                  loss="non_saturating", **kw)


# The critic's weight clip on vectors, where `wgan` also samples from the generator's weight average. On the
# 25-Gaussian grid (batch 256, 4,000 generator steps, model seed 0, data shuffles 0-2) the paper's 0.01 spread 18-19
# modes as clouds (2% of samples near a mode); 0.03 found 19-23 modes with 4-9%, 0.05 21-22 with 5-11%, 0.1 15-17
# with 4-7%; 0.05 with the weight average 22-25 with 12-21%. Clipping stays the weakest of the critic constraints
# here: `wgan-gp` covers the grid.
VECTOR_CLIP_VALUE = 0.05


@register_preset("wgan", "adversarial",
                 "Wasserstein GAN with weight clipping 0.01 (0.05 and a weight average on vectors), 5 critic steps, "
                 "RMSprop 5e-5",
                 small=SMALL, reference="Arjovsky et al. 2017, Wasserstein GAN, arXiv:1701.07875")
def wgan(data_shape, latent_dim=None, num_classes=None, base_filters=64, hidden=None, **kw):
    """WGAN: Wasserstein loss, weight clipping at 0.01 (`VECTOR_CLIP_VALUE` on vectors, where `sample` and export
    also use the generator's weight average), 5 critic steps, RMSprop 5e-5."""
    kw.setdefault("clip_value", VECTOR_CLIP_VALUE if is_vector(data_shape) else 0.01)
    return _build("wgan", data_shape, latent_dim, 100, base_filters=base_filters, hidden=hidden,
                  optimizer=rmsprop(), loss="wasserstein", penalty="clip", n_critic=5, ema_on_vectors=True, **kw)


# The gradient penalty's weight on vectors. The paper's 10 holds the critic's gradient norm near 1 on standardised
# data, where a grid mode is 0.018 wide: on the 25-Gaussian grid (batch 256, 4,000 generator steps, seeds 0-2) it
# spread 11-18 modes as clouds (1-2% of samples near a mode), as did 3 (seed 0). 1 found 22-25 modes with 18-60%,
# 0.3 24-25 with 41-68%, 0.1 23-25 with 32-40%. The authors' code for their toy datasets uses 0.1 ("smaller
# lambda seems to help for toy tasks").
VECTOR_GRADIENT_PENALTY = 0.3


@register_preset("wgan-gp", "adversarial",
                 "WGAN with gradient penalty 10 (0.3 and a weight average on vectors), 5 critic steps, "
                 "Adam 1e-4 / (0.5, 0.9)",
                 small=SMALL, reference="Gulrajani et al. 2017, Improved Training of Wasserstein GANs, arXiv:1704.00028")
def wgan_gp(data_shape, latent_dim=None, num_classes=None, base_filters=64, hidden=None, **kw):
    """WGAN-GP: Wasserstein loss, gradient penalty 10 (`VECTOR_GRADIENT_PENALTY` on vectors), 5 critic
    steps, Adam 1e-4 (0.5, 0.9); on vectors `sample` and export use the generator's weight average
    (`VECTOR_EMA_DECAY`)."""
    kw.setdefault("penalty_weight", VECTOR_GRADIENT_PENALTY if is_vector(data_shape) else 10.0)
    return _build("wgan-gp", data_shape, latent_dim, 100, base_filters=base_filters, hidden=hidden,
                  optimizer=adam(1e-4, 0.5, 0.9), loss="wasserstein", penalty="gradient", n_critic=5,
                  ema_on_vectors=True, **kw)


# `lsgan` samples from the generator's weight average on vectors (`VECTOR_EMA_DECAY`). On the 25-Gaussian grid (batch
# 256, 4,000 generator steps, model seed = data shuffle 0-5) it put 74-93% of samples near a mode (mean 87.3%) against
# the raw generator's 57-83% (71.1%), more on five seeds of six (74.0 against 75.8% on the sixth), and found 19-23
# modes (mean 21.0) against 18-23 (20.7): more on two seeds, one fewer on one (20 against 21), level on three.


@register_preset("lsgan", "adversarial", "Least-squares GAN (a=0, b=c=1), Adam 2e-4 / 0.5 (on vectors a weight "
                 "average of the generator)",
                 small=SMALL, reference="Mao et al. 2017, Least Squares Generative Adversarial Networks, arXiv:1611.04076")
def lsgan(data_shape, latent_dim=None, num_classes=None, base_filters=64, hidden=None, **kw):
    """LSGAN: least-squares loss with the 0-1 coding; on vectors `sample` and export use the generator's
    weight average (`VECTOR_EMA_DECAY`)."""
    return _build("lsgan", data_shape, latent_dim, 100, base_filters=base_filters, hidden=hidden,
                  loss="least_squares", ema_on_vectors=True, **kw)


# The gain of each spectrally normalised layer of `sngan`'s discriminator on vectors (images keep 1). Normalised to
# 1-Lipschitz layers, the MLP on the standardised 25-Gaussian grid (modes 0.71 apart, 0.018 wide) cannot change its
# logit by more than the distance between two inputs, and loses more through every layer: it spread 11-17 modes as
# clouds with 1-3% of samples near a mode (batch 256, 4,000 generator steps, seeds 0-2), with or without the weight
# average. Layers at most 4-Lipschitz, sampling the weight average, found 22-25 modes with 9-84% of samples near one
# (mean 23.5 modes and 42%, seeds 0-5). Less good, with the average: gains 3 and 6, 19 and 15 modes with 12% and 20%
# (seeds 0-2); without it: gains 2, 4 and 8, 13, 18 and 20 modes with 2-8% (seed 0); the non-saturating loss at gain
# 4, 22 modes with 26% (seeds 0-2).
VECTOR_SPECTRAL_GAIN = 4.0


@register_preset("sngan", "adversarial",
                 "Spectrally normalised discriminator, hinge loss, Adam 2e-4 / (0.5, 0.999); on vectors "
                 "4-Lipschitz layers and a weight average of the generator",
                 small=SMALL, reference="Miyato et al. 2018, Spectral Normalization for GANs, arXiv:1802.05957")
def sngan(data_shape, latent_dim=None, num_classes=None, base_filters=64, hidden=None, spectral_gain=None, **kw):
    """SNGAN: spectrally normalised discriminator with the hinge loss. `spectral_gain` None: 1 on images
    (Miyato et al.'s 1-Lipschitz layers), `VECTOR_SPECTRAL_GAIN` on vectors, where `sample` and export also
    use the generator's weight average (`VECTOR_EMA_DECAY`). Returns an uncompiled `GAN`."""
    if spectral_gain is None:
        spectral_gain = VECTOR_SPECTRAL_GAIN if is_vector(data_shape) else 1.0
    return _build("sngan", data_shape, latent_dim, 128, base_filters=base_filters, hidden=hidden,
                  loss="hinge", spectral_norm=True, spectral_gain=spectral_gain, ema_on_vectors=True, **kw)


@register_preset("cgan", "adversarial", "Conditional GAN: labels to generator and discriminator", labels="required",
                 small=SMALL, reference="Mirza & Osindero 2014, Conditional Generative Adversarial Nets, arXiv:1411.1784")
def cgan(data_shape, latent_dim=None, num_classes=None, base_filters=64, hidden=None, **kw):
    """Conditional GAN: int labels (B,) to both generator and discriminator; needs num_classes."""
    _require_classes("cgan", num_classes)
    return _build("cgan", data_shape, latent_dim, 100, base_filters=base_filters, hidden=hidden,
                  num_classes=num_classes, label_to_d=True, loss="non_saturating", **kw)


@register_preset("acgan", "adversarial", "Auxiliary-classifier GAN: labels to G, class head on D", labels="required",
                 small=SMALL, reference="Odena et al. 2017, Conditional Image Synthesis with Auxiliary Classifier GANs, arXiv:1610.09585")
def acgan(data_shape, latent_dim=None, num_classes=None, base_filters=64, hidden=None, **kw):
    """ACGAN: labels to the generator, an auxiliary class head on the discriminator; needs num_classes."""
    _require_classes("acgan", num_classes)
    return _build("acgan", data_shape, latent_dim, 100, base_filters=base_filters, hidden=hidden,
                  num_classes=num_classes, auxiliary_weight=1.0, loss="non_saturating", **kw)


@register_preset("infogan", "adversarial", "InfoGAN: a 10-way categorical and 2 continuous codes with a Q head",
                 small=SMALL, reference="Chen et al. 2016, InfoGAN, arXiv:1606.03657")
def infogan(data_shape, latent_dim=None, num_classes=None, base_filters=64, hidden=None,
            categorical_codes=(10,), continuous_codes=2, **kw):
    """InfoGAN: categorical and continuous codes appended to z, recovered by a Q head."""
    return _build("infogan", data_shape, latent_dim, 62, base_filters=base_filters, hidden=hidden,
                  categorical_codes=tuple(categorical_codes), continuous_codes=continuous_codes,
                  loss="non_saturating", info_weight=1.0, **kw)
