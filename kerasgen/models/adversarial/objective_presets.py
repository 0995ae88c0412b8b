"""Presets of the GANs whose objective differs from `GAN`'s: `began` (images) and `veegan`.

Images get convolutional networks (BEGAN's generator and conv autoencoder; a DCGAN generator, VEEGAN's
conv reconstructor and joint discriminator), vectors (`veegan`) MLPs on standardised data. Each builder takes
`data_shape`, `latent_dim` and network sizes (`base_filters` for conv stacks, `hidden` for MLPs).
"""

from __future__ import annotations

import math

from kerasgen.models.adversarial.began import BEGAN
from kerasgen.models.adversarial.inference_presets import VECTOR_UNARY_SCORES
from kerasgen.models.adversarial.presets import VECTOR_EMA_DECAY, _defaults
from kerasgen.models.adversarial.veegan import VEEGAN
from kerasgen.networks import (
    began_generator,
    conv_autoencoder,
    conv_joint_discriminator,
    conv_reconstructor,
    dcgan_generator,
    mlp_generator,
    mlp_joint_discriminator,
    mlp_reconstructor,
)
from kerasgen.registry import register_preset

SMALL = dict(base_filters=8, hidden=(32, 32))


def _is_image(data_shape):
    return len(tuple(data_shape)) == 3


# Images only: on the 25-Gaussian grid (batch 256, 4,000 steps; `benchmarks/mode_coverage.py`) BEGAN with MLPs
# found 0-2 of 25 modes at its defaults (seeds 0-2), and 0-8 (seed 0) over twelve variants: Adam 5e-4 or 1e-3,
# a 2-number embedding, lambda_k 0.01, gamma 0.7-1.0, squared error, k_0 0.5, a 1e-3 discriminator against a
# 1e-4 generator, 64-unit layers. Its generator minimises the autoencoder's per-sample energy with no term for
# diversity, and on 2-D data that energy has a few minima the samples gather in. `kg.models.BEGAN` still
# takes MLP networks ("mlp") for users' own vector experiments.
@register_preset("began", "adversarial",
                 "Boundary equilibrium GAN: autoencoder discriminator, k_t control (gamma 0.5), M_global logged",
                 data=("images",), small=dict(base_filters=8, code_dim=8),
                 reference="Berthelot et al. 2017, BEGAN: Boundary Equilibrium Generative Adversarial Networks, "
                           "arXiv:1703.10717")
def began(data_shape, latent_dim=None, num_classes=None, base_filters=32, hidden=None, code_dim=None,
          convs_per_stage=2, **kw):
    """BEGAN on images: the paper's generator (its decoder architecture) and conv autoencoder; gamma 0.5,
    lambda_k 0.001, Adam 1e-4 (0.5, 0.999). The embedding is `code_dim` numbers, by default a sixteenth of
    the image's size (8 to 64): an autoencoder that can reconstruct anything cannot tell generated images
    from real ones. `hidden` (the MLP widths other presets take) is accepted and unused: there are no
    MLPs here. Returns an uncompiled `BEGAN`."""
    del hidden
    data_shape = tuple(data_shape)
    latent_dim = latent_dim or 64
    if code_dim is None:
        code_dim = min(64, max(8, math.prod(data_shape) // 16))
    g = began_generator(data_shape, latent_dim, base_filters=base_filters, convs_per_stage=convs_per_stage)
    d = conv_autoencoder(data_shape, base_filters=base_filters, code_dim=code_dim, convs_per_stage=convs_per_stage)
    return BEGAN(g, d, latent_dim, data_shape=data_shape, preset="began", **kw)


# On vectors `veegan` takes the GAN presets' three hidden layers of 256 (`presets.VECTOR_RECIPE`) and BigBiGAN's unary
# scores in its joint discriminator (`inference_presets.VECTOR_UNARY_SCORES`: scores of x alone and of z alone beside
# the joint one, each with its own loss). On the 25-Gaussian grid (batch 256, 4,000 steps, seeds 0-2;
# `benchmarks/mode_coverage.py`) the paper's joint discriminator with two layers found 13-16 modes with 9-13% of
# samples near one; the unary scores with two layers 20-25 and 19-25%, with a reconstruction weight of 0.3 16-25 and
# 24-36%; with three layers 25/25 on every seed and 53-56%, and sampling the generator's weight average
# (`presets.VECTOR_EMA_DECAY`) 25/25 and 66-78%, higher on every seed.
@register_preset("veegan", "adversarial",
                 "VEEGAN: reconstructor F: x -> z, joint discriminator D(x, z), l2 noise reconstruction (on vectors "
                 "with BigBiGAN's unary scores of x and of z and a weight average of the generator)",
                 small=SMALL,
                 reference="Srivastava et al. 2017, VEEGAN: Reducing Mode Collapse in GANs using Implicit Variational "
                           "Learning, arXiv:1705.07761; Donahue & Simonyan 2019, Large Scale Adversarial "
                           "Representation Learning, arXiv:1907.02544 (unary scores)")
def veegan(data_shape, latent_dim=None, num_classes=None, base_filters=64, hidden=None, unary_scores=None, **kw):
    """VEEGAN: DCGAN generator, conv reconstructor and joint discriminator for images; on vectors MLPs of three
    layers of 256, a discriminator with BigBiGAN's unary scores (`unary_scores` None: on vectors only) and
    sampling from the generator's weight average (`ema_decay`, 0.99 unless given); the paper's log-ratio game
    and unit reconstruction weight, Adam 1e-3 (beta_1 0.5). Returns an uncompiled `VEEGAN`."""
    data_shape = tuple(data_shape)
    image = _is_image(data_shape)
    latent_dim, hidden = _defaults(data_shape, latent_dim, hidden, 100)
    if unary_scores is None:
        unary_scores = VECTOR_UNARY_SCORES and not image
    if image:
        g = dcgan_generator(data_shape, latent_dim, base_filters=base_filters)
        f = conv_reconstructor(data_shape, latent_dim, base_filters=base_filters)
        d = conv_joint_discriminator(data_shape, latent_dim, base_filters=base_filters, dropout=0.0,
                                     unary_scores=unary_scores)
    else:
        kw.setdefault("ema_decay", VECTOR_EMA_DECAY)
        g = mlp_generator(data_shape, latent_dim, hidden=hidden)
        f = mlp_reconstructor(data_shape, latent_dim, hidden=hidden)
        d = mlp_joint_discriminator(data_shape, latent_dim, hidden=hidden, dropout=0.0, unary_scores=unary_scores)
    return VEEGAN(g, f, d, latent_dim, data_shape=data_shape, standardize=not image, preset="veegan", **kw)
