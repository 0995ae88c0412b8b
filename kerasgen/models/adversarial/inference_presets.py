"""Presets of the GANs that infer or classify: `bigan` (BiGAN / ALI) and `ssgan` (the
semi-supervised GAN)."""

from __future__ import annotations

from kerasgen.models.adversarial.bigan import BiGAN
from kerasgen.models.adversarial.presets import VECTOR_EMA_DECAY, _defaults, set_default_optimizers, vector_optimizer
from kerasgen.models.adversarial.ssgan import SemiSupervisedGAN
from kerasgen.models.optimizers import adam
from kerasgen.networks import (
    conv_joint_discriminator,
    conv_latent_encoder,
    dcgan_generator,
    mlp_classifier,
    mlp_generator,
    mlp_joint_discriminator,
    mlp_latent_encoder,
)
from kerasgen.registry import register_preset


# On vectors `bigan` takes the GAN presets' vector recipe (`presets.VECTOR_RECIPE`: a latent of the data's size, at
# least 2, three hidden layers of 256, Adam 1e-3) and BigBiGAN's unary scores (Donahue & Simonyan 2019: the
# discriminator also scores x alone and z alone, each score with its own loss). On the 25-Gaussian grid (batch 256,
# 4,000 steps, seeds 0-2; `benchmarks/mode_coverage.py`) the joint score alone spread the samples as clouds: 14-15
# modes with 2% of samples near one at the image recipe (latent 8, two layers, Adam 2e-4), 8-16 and 1-2% with the
# vector recipe. The unary scores with the vector recipe found 14-22 modes with 35-77%; with a latent of 8, 2-13 and
# 1-7%; at the image recipe, 12-19 and 1-2%.
VECTOR_UNARY_SCORES = True
# `bigan` also samples from its generator's weight average on vectors (`presets.VECTOR_EMA_DECAY`). Seeds 0-5 of the
# same benchmark: 16-23 modes (mean 19.7) with 58-81% of samples near one (mean 68.6) against 10-22 (17.3) and 27-77%
# (51.8) for the raw generator; higher on every seed, more modes on two, one fewer on one, as many on three.


@register_preset("bigan", "adversarial", "BiGAN/ALI: generator, encoder and a joint (x, z) discriminator (on vectors "
                 "with BigBiGAN's unary scores of x and of z and a weight average of the generator)",
                 small=dict(base_filters=8, hidden=(32, 32)),
                 reference="Donahue et al. 2017, Adversarial Feature Learning, arXiv:1605.09782; Dumoulin et al. "
                           "2017, Adversarially Learned Inference, arXiv:1606.00704; Donahue & Simonyan 2019, Large "
                           "Scale Adversarial Representation Learning, arXiv:1907.02544 (unary scores)")
def bigan(data_shape, latent_dim=None, num_classes=None, base_filters=64, hidden=None, unary_scores=None, **kw):
    """BiGAN: DCGAN generator, conv encoder and conv joint discriminator for images, non-saturating loss with
    the inverted labels, Adam 2e-4 / 0.5 for both sides. Vectors (standardised) get MLPs with the GAN presets'
    vector recipe, a discriminator with BigBiGAN's unary scores (`VECTOR_UNARY_SCORES`), and sampling from the
    generator's weight average (`ema_decay` `VECTOR_EMA_DECAY` unless given, None included).

    Args:
        data_shape: (H, W, C) images or (D,) vectors.
        latent_dim: size of z (default 50 for images, as Donahue et al.'s MNIST model; for vectors the data's
            size, at least 2).
        base_filters: width of the conv stacks (images).
        hidden: widths of the MLPs (vectors; three layers of 256 when None).
        unary_scores: BigBiGAN's discriminator, with scores of x alone and of z alone beside the joint one
            (None: on vectors only).
        **kw: `BiGAN` arguments (loss, seed, optimiser configs, ...).

    Returns:
        An uncompiled `BiGAN`.
    """
    data_shape = tuple(data_shape)
    is_image = len(data_shape) == 3
    if unary_scores is None:
        unary_scores = VECTOR_UNARY_SCORES and not is_image
    latent_dim, hidden = _defaults(data_shape, latent_dim, hidden, 50)
    recipe = adam(2e-4, 0.5)
    if is_image:
        g = dcgan_generator(data_shape, latent_dim, base_filters=base_filters)
        e = conv_latent_encoder(data_shape, latent_dim, base_filters=base_filters)
        d = conv_joint_discriminator(data_shape, latent_dim, base_filters=base_filters, hidden=(8 * base_filters,),
                                     unary_scores=unary_scores)
    else:
        recipe = vector_optimizer(recipe)
        kw.setdefault("ema_decay", VECTOR_EMA_DECAY)
        g = mlp_generator(data_shape, latent_dim, hidden=hidden)
        e = mlp_latent_encoder(data_shape, latent_dim, hidden=hidden)
        d = mlp_joint_discriminator(data_shape, latent_dim, hidden=hidden, unary_scores=unary_scores)
    set_default_optimizers(kw, recipe)
    return BiGAN(g, e, d, latent_dim=latent_dim, data_shape=data_shape, standardize=not is_image, preset="bigan",
                 **kw)


@register_preset("ssgan", "adversarial", "Semi-supervised GAN: K-logit classifier discriminator, feature matching "
                 "(labels -1 mark unlabelled examples)", labels="classes",
                 small=dict(hidden=(32, 32), generator_hidden=(32,)),
                 reference="Salimans et al. 2016, Improved Techniques for Training GANs, arXiv:1606.03498")
def ssgan(data_shape, latent_dim=None, num_classes=None, hidden=(1000, 500, 250, 250, 250),
          generator_hidden=(500, 500), base_filters=None, **kw):
    """Salimans et al.'s MNIST recipe: an MLP classifier discriminator with Gaussian noise (std 0.3
    on the input, 0.5 after each hidden layer) and K logits, an MLP generator trained by feature
    matching on the last hidden layer; images are flattened; vectors standardised.

    Args:
        data_shape: (H, W, C) images or (D,) vectors.
        latent_dim: size of z (default 100).
        num_classes: K, from the data's labels (required).
        hidden: the discriminator's hidden widths.
        generator_hidden: the generator's hidden widths.
        base_filters: accepted like every GAN preset's conv-size override and unused: both networks
            are MLPs (images are flattened).
        **kw: `SemiSupervisedGAN` arguments (fake_class, unsupervised_weight, seed, ...).

    Returns:
        An uncompiled `SemiSupervisedGAN`.
    """
    if not num_classes:
        raise ValueError("preset 'ssgan' classifies: pass num_classes (labelled data, -1 for unlabelled examples)")
    data_shape = tuple(data_shape)
    latent_dim = int(latent_dim or 100)
    is_image = len(data_shape) == 3
    # Salimans et al.'s generator: softplus layers with batch norm (shift only), a weight-normed output
    # layer (scale 0.5 before tanh on [-1, 1] is their scale 1 before a sigmoid on [0, 1])
    g = mlp_generator(data_shape, latent_dim, hidden=generator_hidden, activation="softplus", batch_norm=True,
                      output_weight_norm=0.5 if is_image else 1.0)
    # their discriminator: weight-normed layers, data-dependent initialisation; input noise 0.3 of the
    # [0, 1] range is 0.6 on kerasgen's [-1, 1] images (standardised vectors keep 0.3)
    d = mlp_classifier(data_shape, int(num_classes), hidden=hidden, input_noise=0.6 if is_image else 0.3,
                       fake_class=kw.get("fake_class", False), weight_norm=True)
    kw.setdefault("unsupervised_weight", 0.5)  # their loss_unl: half the sum of the two terms
    # their Adam: lr 3e-3, beta_1 0.5, and 1e-8 added under the square root (an epsilon of 1e-4)
    kw.setdefault("g_optimizer_config", adam(3e-3, 0.5, epsilon=1e-4))
    kw.setdefault("d_optimizer_config", adam(3e-3, 0.5, epsilon=1e-4))
    return SemiSupervisedGAN(g, d, latent_dim=latent_dim, classes=int(num_classes), data_shape=data_shape,
                             standardize=len(data_shape) == 1, preset="ssgan", **kw)
