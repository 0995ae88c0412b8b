"""GAN presets: each pairs the `GAN` algorithm with networks and settings known to train.

Image presets use the DCGAN conv stacks; `gan` and every preset on vector data
use the MLPs, with the data standardised inside the model. Each builder takes
`data_shape`, `latent_dim` and `num_classes` plus network-size overrides
(`base_filters` for conv stacks, `hidden` for MLPs).
"""

from __future__ import annotations

from kerasgen.models.adversarial.gan import GAN
from kerasgen.models.adversarial.options import discriminator_builder_options
from kerasgen.models.optimizers import adam, rmsprop
from kerasgen.networks import dcgan_discriminator, dcgan_generator, mlp_discriminator, mlp_generator
from kerasgen.registry import register_preset


SMALL = dict(base_filters=8, hidden=(32, 32))  # conv stacks and MLPs small enough for tests


def _networks(data_shape, latent_input, conv, num_classes=None, label_to_d=False, aux_classes=None,
              categorical_codes=(), continuous_codes=0, spectral_norm=False, base_filters=64,
              hidden=(256, 256), **d_options):
    is_image = len(data_shape) == 3
    d_kwargs = dict(label_input_classes=num_classes if label_to_d else None, num_classes=aux_classes,
                    categorical_codes=categorical_codes, continuous_codes=continuous_codes,
                    spectral_norm=spectral_norm, **d_options)
    if conv and is_image:
        g = dcgan_generator(data_shape, latent_input, base_filters=base_filters, num_classes=num_classes)
        d = dcgan_discriminator(data_shape, base_filters=base_filters, **d_kwargs)
    else:
        g = mlp_generator(data_shape, latent_input, hidden=hidden, num_classes=num_classes)
        d = mlp_discriminator(data_shape, hidden=hidden, **d_kwargs)
    return g, d


def _build(name, data_shape, latent_dim, conv=True, num_classes=None, label_to_d=False,
           auxiliary_weight=0.0, categorical_codes=(), continuous_codes=0, spectral_norm=False,
           base_filters=64, hidden=(256, 256), **gan_kwargs):
    data_shape = tuple(data_shape)
    code_dim = sum(categorical_codes) + continuous_codes
    g, d = _networks(
        data_shape, latent_dim + code_dim, conv, num_classes=num_classes, label_to_d=label_to_d,
        aux_classes=num_classes if auxiliary_weight > 0 else None, categorical_codes=categorical_codes,
        continuous_codes=continuous_codes, spectral_norm=spectral_norm, base_filters=base_filters,
        hidden=hidden, **discriminator_builder_options(**gan_kwargs))  # sized for pack, minibatch layers, features
    return GAN(g, d, latent_dim=latent_dim, data_shape=data_shape, num_classes=num_classes,
               label_to_discriminator=label_to_d, auxiliary_weight=auxiliary_weight,
               categorical_codes=categorical_codes, continuous_codes=continuous_codes,
               standardize=len(data_shape) == 1, preset=name, **gan_kwargs)


def _require_classes(name, num_classes):
    if not num_classes:
        raise ValueError(f"preset {name!r} is conditional: pass num_classes (labelled data)")


@register_preset("gan", "adversarial", "MLP GAN, non-saturating loss (Goodfellow et al. 2014)",
                 small=SMALL, reference="Goodfellow et al. 2014, Generative Adversarial Nets, arXiv:1406.2661")
def gan(data_shape, latent_dim=None, num_classes=None, hidden=(256, 256), **kw):
    """MLP generator and discriminator, non-saturating loss. Returns an uncompiled `GAN`."""
    return _build("gan", data_shape, latent_dim or 64, conv=False, hidden=hidden, loss="non_saturating", **kw)


@register_preset("dcgan", "adversarial", "DCGAN conv stacks, non-saturating loss, Adam 2e-4 / 0.5",
                 small=SMALL, reference="Radford et al. 2016, Unsupervised Representation Learning with DCGANs, arXiv:1511.06434")
def dcgan(data_shape, latent_dim=None, num_classes=None, base_filters=64, hidden=(256, 256), **kw):
    """DCGAN conv stacks (MLPs for vectors), non-saturating loss. Returns an uncompiled `GAN`."""
    return _build("dcgan", data_shape, latent_dim or 100, base_filters=base_filters, hidden=hidden,
                  loss="non_saturating", **kw)


@register_preset("wgan", "adversarial", "Wasserstein GAN with weight clipping 0.01, 5 critic steps, RMSprop 5e-5",
                 small=SMALL, reference="Arjovsky et al. 2017, Wasserstein GAN, arXiv:1701.07875")
def wgan(data_shape, latent_dim=None, num_classes=None, base_filters=64, hidden=(256, 256), **kw):
    """WGAN: Wasserstein loss, weight clipping at 0.01, 5 critic steps, RMSprop 5e-5."""
    kw.setdefault("g_optimizer_config", rmsprop())
    kw.setdefault("d_optimizer_config", rmsprop())
    return _build("wgan", data_shape, latent_dim or 100, base_filters=base_filters, hidden=hidden,
                  loss="wasserstein", penalty="clip", clip_value=0.01, n_critic=5, **kw)


@register_preset("wgan-gp", "adversarial", "WGAN with gradient penalty 10, 5 critic steps, Adam 1e-4 / (0.5, 0.9)",
                 small=SMALL, reference="Gulrajani et al. 2017, Improved Training of Wasserstein GANs, arXiv:1704.00028")
def wgan_gp(data_shape, latent_dim=None, num_classes=None, base_filters=64, hidden=(256, 256), **kw):
    """WGAN-GP: Wasserstein loss, gradient penalty 10, 5 critic steps, Adam 1e-4 (0.5, 0.9)."""
    kw.setdefault("g_optimizer_config", adam(1e-4, 0.5, 0.9))
    kw.setdefault("d_optimizer_config", adam(1e-4, 0.5, 0.9))
    return _build("wgan-gp", data_shape, latent_dim or 100, base_filters=base_filters, hidden=hidden,
                  loss="wasserstein", penalty="gradient", penalty_weight=10.0, n_critic=5, **kw)


@register_preset("lsgan", "adversarial", "Least-squares GAN (a=0, b=c=1), Adam 2e-4 / 0.5",
                 small=SMALL, reference="Mao et al. 2017, Least Squares Generative Adversarial Networks, arXiv:1611.04076")
def lsgan(data_shape, latent_dim=None, num_classes=None, base_filters=64, hidden=(256, 256), **kw):
    """LSGAN: least-squares loss with the 0-1 coding."""
    return _build("lsgan", data_shape, latent_dim or 100, base_filters=base_filters, hidden=hidden,
                  loss="least_squares", **kw)


@register_preset("sngan", "adversarial", "Spectrally normalised discriminator, hinge loss, Adam 2e-4 / (0.5, 0.999)",
                 small=SMALL, reference="Miyato et al. 2018, Spectral Normalization for GANs, arXiv:1802.05957")
def sngan(data_shape, latent_dim=None, num_classes=None, base_filters=64, hidden=(256, 256), **kw):
    """SNGAN: spectrally normalised discriminator with the hinge loss."""
    return _build("sngan", data_shape, latent_dim or 128, base_filters=base_filters, hidden=hidden,
                  loss="hinge", spectral_norm=True, **kw)


@register_preset("cgan", "adversarial", "Conditional GAN: labels to generator and discriminator", labels="required",
                 small=SMALL, reference="Mirza & Osindero 2014, Conditional Generative Adversarial Nets, arXiv:1411.1784")
def cgan(data_shape, latent_dim=None, num_classes=None, base_filters=64, hidden=(256, 256), **kw):
    """Conditional GAN: int labels (B,) to both generator and discriminator; needs num_classes."""
    _require_classes("cgan", num_classes)
    return _build("cgan", data_shape, latent_dim or 100, base_filters=base_filters, hidden=hidden,
                  num_classes=num_classes, label_to_d=True, loss="non_saturating", **kw)


@register_preset("acgan", "adversarial", "Auxiliary-classifier GAN: labels to G, class head on D", labels="required",
                 small=SMALL, reference="Odena et al. 2017, Conditional Image Synthesis with Auxiliary Classifier GANs, arXiv:1610.09585")
def acgan(data_shape, latent_dim=None, num_classes=None, base_filters=64, hidden=(256, 256), **kw):
    """ACGAN: labels to the generator, an auxiliary class head on the discriminator; needs num_classes."""
    _require_classes("acgan", num_classes)
    return _build("acgan", data_shape, latent_dim or 100, base_filters=base_filters, hidden=hidden,
                  num_classes=num_classes, auxiliary_weight=1.0, loss="non_saturating", **kw)


@register_preset("infogan", "adversarial", "InfoGAN: a 10-way categorical and 2 continuous codes with a Q head",
                 small=SMALL, reference="Chen et al. 2016, InfoGAN, arXiv:1606.03657")
def infogan(data_shape, latent_dim=None, num_classes=None, base_filters=64, hidden=(256, 256),
            categorical_codes=(10,), continuous_codes=2, **kw):
    """InfoGAN: categorical and continuous codes appended to z, recovered by a Q head."""
    return _build("infogan", data_shape, latent_dim or 62, base_filters=base_filters, hidden=hidden,
                  categorical_codes=tuple(categorical_codes), continuous_codes=continuous_codes,
                  loss="non_saturating", info_weight=1.0, **kw)
